"""Quality of the lesson AI on narrated lessons: WER, chapter boundaries, knowledge points, summary key terms.

Lessons come from ../shared/samples (when present) and bench/lessons_extra.json (other topics and voices, narrated
here with espeak-ng and sox into .bench/lessons/, the same way as ../shared/samples/make_samples.py). Transcripts
are cached in .bench/transcripts/ by the audio's sha256 and the decoding settings.

For each lesson and each method it measures:
  wer       word error rate of the transcript against the narrated text, both through Whisper's English
            normaliser (bench/wer.py); the raw figure (lower case, no punctuation) is printed beside it
  f1        chapter-boundary F1: a predicted boundary counts when within +-8 s of a true one (one-to-one)
  kp_acc    share of true chapters whose midpoint falls in a predicted chapter with the right knowledge point
  terms     share of the lesson's summary key terms found in the summary (stemmed words, in order)
Methods: ours (models.segment + models.summary), equal (k equal parts, knowledge points in order; summary = first
sentence of each part, then more in turn, up to 150 words) and texttiling (TextTiling cohesion dips, k-1 deepest,
knowledge points in order; summary = the first 150 words).

    python -m bench.ai_quality [--json] [--no-llm] [--samples DIR] [--extra FILE] [--cache DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
import wave
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.wer import raw_wer, wer
from models.segment import cohesion_cuts, depth_scores, segment_chapters
from models.summary import chapter_titles, summarize
from models.textutil import content_terms, idf, split_sentences, stem, tfidf, words
from models.types import Chapter, KnowledgePoint, Segment

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO.parent / "shared" / "samples"
EXTRA = REPO / "bench" / "lessons_extra.json"
CACHE = REPO / ".bench"
TOLERANCE = 8.0
TARGETS = {"wer": ("<=", 0.12), "f1": (">=", 0.80), "kp_acc": (">=", 0.85), "terms": (">=", 0.50)}
METHODS = ("ours", "equal", "texttiling")
MAX_WORDS = 150


# ---- lessons and audio -------------------------------------------------------------------------------------------

def narrate(lessons_file: Path, out_dir: Path) -> None:
    """Narrate lessons into 16 kHz mono WAV and chapter files, as ../shared/samples/make_samples.py does."""
    out_dir.mkdir(parents=True, exist_ok=True)
    lessons = json.loads(lessons_file.read_text())["lessons"]
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        for lesson in lessons:
            wav = out_dir / f"{lesson['id']}.wav"
            meta_file = out_dir / f"{lesson['id']}.chapters.json"
            if wav.exists() and meta_file.exists():
                continue
            print(f"narrating {lesson['id']} ({lesson['voice']})", file=sys.stderr)
            parts, chapters, clock = [], [], 0.0
            for i, chapter in enumerate(lesson["chapters"]):
                raw, part = tmp / f"{lesson['id']}-{i}.raw.wav", tmp / f"{lesson['id']}-{i}.wav"
                subprocess.run(["espeak-ng", "-v", lesson["voice"], "-s", "150", "-w", str(raw), chapter["text"]],
                               check=True, capture_output=True)
                subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(part)],
                               check=True, capture_output=True)
                length = _duration(part)
                chapters.append({"kp": chapter["kp"], "start": round(clock, 2), "end": round(clock + length, 2),
                                 "text": chapter["text"]})
                clock += length
                parts.append(str(part))
            subprocess.run(["sox", *parts, str(wav)], check=True, capture_output=True)
            meta = {"lesson": lesson["id"], "duration": round(_duration(wav), 2), "chapters": chapters}
            meta_file.write_text(json.dumps(meta, indent=2) + "\n")


def _duration(path: Path) -> float:
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


def load_lessons(samples: Path | None, extra: Path | None, cache: Path) -> list[dict[str, Any]]:
    """Every lesson with its set name, audio path and true chapters."""
    out = []
    if samples and (samples / "lessons.json").exists():
        for lesson in json.loads((samples / "lessons.json").read_text())["lessons"]:
            out.append({**lesson, "set": "samples", "audio": samples / "audio" / f"{lesson['id']}.wav",
                        "truth": samples / "audio" / f"{lesson['id']}.chapters.json"})
    if extra and extra.exists():
        narrate(extra, cache / "lessons")
        for lesson in json.loads(extra.read_text())["lessons"]:
            out.append({**lesson, "set": "extra", "audio": cache / "lessons" / f"{lesson['id']}.wav",
                        "truth": cache / "lessons" / f"{lesson['id']}.chapters.json"})
    return [lesson for lesson in out if lesson["audio"].exists() and lesson["truth"].exists()]


class Transcribe:
    """Transcripts by the box's Transcriber, cached by audio sha256 and decoding settings."""

    def __init__(self, cache: Path) -> None:
        self.cache = cache / "transcripts"
        self.cache.mkdir(parents=True, exist_ok=True)
        self._runner: Any = None
        self.settings = ""

    def _load(self) -> Any:
        if self._runner is None:
            from models.asr import Transcriber

            runner = Transcriber(threads=2, device="cpu")
            self.settings = json.dumps(runner.params, sort_keys=True, default=str)
            self._runner = lambda path: [(s.start, s.end, s.text) for s in runner.transcribe(path).segments]
        return self._runner

    def __call__(self, audio: Path) -> list[Segment]:
        sha = hashlib.sha256(audio.read_bytes()).hexdigest()
        runner = self._load()
        key = hashlib.sha256(f"{sha} {self.settings}".encode()).hexdigest()[:16]
        cached = self.cache / f"{audio.stem}-{key}.json"
        if not cached.exists():
            print(f"transcribing {audio.name}", file=sys.stderr)
            cached.write_text(json.dumps([list(s) for s in runner(audio)]))
        return [Segment(float(a), float(b), t) for a, b, t in json.loads(cached.read_text())]


def text_generator(enabled: bool) -> Callable[[str], str] | None:
    """The box's Gemma runner as a generate callable, or None when disabled or unavailable."""
    if not enabled:
        return None
    try:
        from models.llm import TextGenerator

        runner = TextGenerator(threads=2, device="cpu")
        runner.load()
    except Exception as exc:  # noqa: BLE001 - the bench still measures the extractive method
        print(f"text model unavailable ({exc}): extractive only", file=sys.stderr)
        return None

    def generate(prompt: str, max_tokens: int = 160, stop: list[str] | None = None) -> str:
        return runner.generate(prompt, max_tokens=max_tokens, stop=stop)

    return generate


# ---- measures ----------------------------------------------------------------------------------------------------

def boundary_f1(predicted: Sequence[float], true: Sequence[float], tolerance: float = TOLERANCE) -> float:
    """F1 of inner chapter boundaries, each true boundary matched at most once, within the tolerance."""
    if not predicted and not true:
        return 1.0
    unmatched = list(true)
    hits = 0
    for p in sorted(predicted):
        near = [t for t in unmatched if abs(t - p) <= tolerance]
        if near:
            unmatched.remove(min(near, key=lambda t: abs(t - p)))
            hits += 1
    if not hits:
        return 0.0
    precision, recall = hits / len(predicted), hits / len(true)
    return 2 * precision * recall / (precision + recall)


def kp_accuracy(predicted: Sequence[Chapter], true: Sequence[dict[str, Any]]) -> float:
    """Share of true chapters whose midpoint lies in a predicted chapter with the right knowledge point."""
    right = 0
    for chapter in true:
        mid = (chapter["start"] + chapter["end"]) / 2
        hit = next((p for p in predicted if p.start <= mid < p.end), predicted[-1] if predicted else None)
        right += bool(hit and hit.knowledge_point == chapter["kp"])
    return right / max(1, len(true))


def term_coverage(summary: str, terms: Sequence[str]) -> float:
    """Share of key terms whose stemmed words occur, in order and adjacent, in the summary."""
    said = [stem(w) for w in words(summary)]
    found = 0
    for term in terms:
        want = [stem(w) for w in words(term)]
        found += any(said[i:i + len(want)] == want for i in range(len(said) - len(want) + 1))
    return found / max(1, len(terms))


# ---- methods -----------------------------------------------------------------------------------------------------

def _chapters_from_cuts(segments: Sequence[Segment], cut_times: Sequence[float], kps: Sequence[KnowledgePoint]
                        ) -> list[Chapter]:
    """Chapters between cut times, knowledge points assigned in listed order."""
    end = segments[-1].end if segments else 0.0
    bounds = [0.0, *cut_times, end]
    return [Chapter(start=bounds[i], end=bounds[i + 1], knowledge_point=kps[min(i, len(kps) - 1)].id if kps else None,
                    title=kps[min(i, len(kps) - 1)].name if kps else "") for i in range(len(bounds) - 1)]


def equal_split(segments: Sequence[Segment], kps: Sequence[KnowledgePoint]) -> list[Chapter]:
    """Baseline: k equal parts of the medium."""
    end = segments[-1].end if segments else 0.0
    k = max(1, len(kps))
    return _chapters_from_cuts(segments, [end * i / k for i in range(1, k)], kps)


def texttiling(segments: Sequence[Segment], kps: Sequence[KnowledgePoint]) -> list[Chapter]:
    """Baseline: TextTiling's k-1 deepest cohesion dips (no knowledge-point text used)."""
    units = [s for s in segments if s.text.strip()]
    terms = [content_terms(u.text) for u in units]
    weights = idf(terms)
    depth = depth_scores([tfidf(t, weights) for t in terms])
    cuts = cohesion_cuts(depth, units, count=max(1, len(kps)))
    return _chapters_from_cuts(units, [units[c].start for c in cuts], kps)


def lead_summary(segments: Sequence[Segment], chapters: Sequence[Chapter] | None = None) -> str:
    """Baseline summary: leading sentences (of each chapter in turn when given), up to 150 words."""
    groups: list[list[str]] = []
    if chapters:
        for c in chapters:
            text = " ".join(s.text for s in segments if c.start <= s.start < c.end)
            groups.append(split_sentences(text))
    else:
        groups = [split_sentences(" ".join(s.text for s in segments))]
    out: list[str] = []
    used = 0
    for rank in range(max((len(g) for g in groups), default=0)):
        for g in groups:
            if rank < len(g):
                n = len(g[rank].split())
                if used + n > MAX_WORDS:
                    return " ".join(out)
                out.append(g[rank])
                used += n
    return " ".join(out)


def evaluate(lesson: dict[str, Any], segments: list[Segment], generate: Callable[[str], str] | None
             ) -> dict[str, Any]:
    """All measures of all methods for one lesson."""
    truth = json.loads(Path(lesson["truth"]).read_text())
    true_chapters = truth["chapters"]
    true_cuts = [c["start"] for c in true_chapters[1:]]
    kps = [KnowledgePoint(k["id"], k["name"], k.get("description", "")) for k in lesson["knowledge_points"]]
    terms = lesson.get("summary_key_terms", [])
    said, heard = " ".join(c["text"] for c in true_chapters), " ".join(s.text for s in segments)
    row: dict[str, Any] = {"lesson": lesson["id"], "set": lesson["set"], "voice": lesson.get("voice", ""),
                           "duration": truth["duration"], "wer": wer(said, heard), "raw_wer": raw_wer(said, heard)}
    t0 = time.perf_counter()
    ours = segment_chapters(segments, kps)
    ours = chapter_titles(ours, segments, kps, generate)
    summary = summarize(segments, ours, kps, generate, max_words=MAX_WORDS)
    row["method_s"] = round(time.perf_counter() - t0, 2)
    predicted = {"ours": ours, "equal": equal_split(segments, kps), "texttiling": texttiling(segments, kps)}
    summaries = {"ours": summary.text, "equal": lead_summary(segments, predicted["equal"]),
                 "texttiling": lead_summary(segments)}
    for name in METHODS:
        chapters = predicted[name]
        row[name] = {"f1": boundary_f1([c.start for c in chapters[1:]], true_cuts),
                     "kp_acc": kp_accuracy(chapters, true_chapters),
                     "terms": term_coverage(summaries[name], terms)}
    row["summary"] = {"method": summary.method, "words": len(summary.text.split()), "text": summary.text}
    row["chapters"] = [{"start": c.start, "end": c.end, "knowledge_point": c.knowledge_point, "title": c.title}
                       for c in ours]
    row["true_boundaries"] = true_cuts
    return row


def mean_row(rows: Sequence[dict[str, Any]], label: str) -> dict[str, Any]:
    """Mean of every measure over rows."""
    out: dict[str, Any] = {"lesson": label, "set": "", "voice": "", "duration": sum(r["duration"] for r in rows),
                           "wer": sum(r["wer"] for r in rows) / len(rows),
                           "raw_wer": sum(r["raw_wer"] for r in rows) / len(rows),
                           "method_s": round(sum(r["method_s"] for r in rows), 2)}
    for name in METHODS:
        out[name] = {m: sum(r[name][m] for r in rows) / len(rows) for m in ("f1", "kp_acc", "terms")}
    out["summary"] = {"method": ",".join(sorted({r["summary"]["method"] for r in rows})),
                      "words": round(sum(r["summary"]["words"] for r in rows) / len(rows))}
    return out


def table(rows: Sequence[dict[str, Any]]) -> str:
    """One aligned table: each measure of ours beside the two baselines (ours / equal / texttiling)."""
    head = ["lesson", "set", "voice", "dur s", "WER (raw)", "boundary F1 o/eq/tt", "KP acc o/eq/tt",
            "key terms o/eq/tt", "summary"]
    lines = [head]
    for r in rows:
        def trio(m: str, r: dict[str, Any] = r) -> str:
            return " / ".join(f"{r[name][m]:.2f}" for name in METHODS)

        lines.append([r["lesson"], r["set"], r["voice"], f"{r['duration']:.0f}", f"{r['wer']:.3f} ({r['raw_wer']:.3f})",
                      trio("f1"), trio("kp_acc"), trio("terms"), f"{r['summary']['method']} {r['summary']['words']}w"])
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(head))]
    text = ["  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines]
    text.insert(1, "  ".join("-" * w for w in widths))
    target = ", ".join(f"{k} {op} {v}" for k, (op, v) in TARGETS.items())
    return "\n".join(text) + f"\ntargets (ours): {target}; boundaries within +-{TOLERANCE:.0f} s"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the table (or --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=Path, default=SAMPLES, help="folder with lessons.json and audio/")
    parser.add_argument("--extra", type=Path, default=EXTRA, help="extra lessons.json to narrate ('' for none)")
    parser.add_argument("--cache", type=Path, default=CACHE, help="narrations and transcripts cache")
    parser.add_argument("--no-llm", action="store_true", help="extractive titles and summary only")
    parser.add_argument("--json", action="store_true", help="JSON to stdout instead of the table")
    args = parser.parse_args(argv)
    extra = args.extra if str(args.extra) not in ("", ".") else None
    lessons = load_lessons(args.samples, extra, args.cache)
    if not lessons:
        print("no lessons found: pass --samples DIR or --extra FILE", file=sys.stderr)
        return 1
    transcribe = Transcribe(args.cache)
    generate = text_generator(not args.no_llm)
    rows = [evaluate(lesson, transcribe(lesson["audio"]), generate) for lesson in lessons]
    means = [mean_row(rows, "MEAN")]
    for name in ("samples", "extra"):
        part = [r for r in rows if r["set"] == name]
        if part and len(part) < len(rows):
            means.append(mean_row(part, f"mean {name}"))
    if args.json:
        json.dump({"asr": transcribe.settings, "llm": generate is not None, "rows": rows, "means": means,
                   "targets": {k: list(v) for k, v in TARGETS.items()}}, sys.stdout, indent=2, default=str)
        print()
    else:
        print(table([*rows, *means]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
