"""Quality of the lesson AI on narrated lessons, per language: error rate, chapter boundaries, knowledge points,
summary key terms, each beside the raw model's figure on the same audio.

Lessons come from ../shared/samples (when present) and bench/lessons_extra.json (English: other topics and voices)
and bench/lessons_zh_fr.json (Chinese and French; only its --split, "test" by default, is measured: settings were
chosen on "dev"), narrated here with espeak-ng and sox into .bench/lessons/, the same way as
../shared/samples/make_samples.py. Transcripts are cached in .bench/transcripts/ by the audio's sha256, the decoding
settings and the prompt, with the seconds they took.

Two transcripts of each lesson: "ours", the box's decoding for the lesson's language (models.asr.options_for, with
the knowledge points as prompt where that language uses one), and "raw", the same model decoded plainly (beam 5,
one decode, no prompt; Chinese turned into Simplified characters before scoring). The methods run on both.

For each lesson and each method it measures:
  wer       error rate of the transcript against the narrated text: English WER through Whisper's English
            normaliser (bench/wer.py), French WER through bench.wer.normalise_fr, Chinese CER (Simplified, digits
            as numerals); for English the plain figure (lower case, no punctuation) is printed beside it
  f1        chapter-boundary F1: a predicted boundary counts when within +-8 s of a true one (one-to-one)
  kp_acc    share of true chapters whose midpoint falls in a predicted chapter with the right knowledge point
  terms     share of the lesson's summary key terms found in the summary (stemmed words in order; Chinese: the
            term's characters)
  x_rt      seconds of transcription (when not cached) plus the methods, over the lesson's duration
Methods: ours (models.segment + models.summary; chapters aligned by words and sentence embeddings as the box does,
by words alone with --no-embed), equal (k equal parts, knowledge points in order; summary = first
sentence of each part, then more in turn, up to 150 words) and texttiling (TextTiling cohesion dips, k-1 deepest,
knowledge points in order; summary = the first 150 words).

    python -m bench.ai_quality [--json] [--no-llm] [--no-embed] [--samples DIR] [--extra FILE] [--languages FILE]
                               [--language en|fr|zh ...] [--split dev|test|all] [--cache DIR]
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

from bench.wer import error_rate, normalise_zh, raw_wer
from models.segment import cohesion_cuts, depth_scores, segment_chapters
from models.summary import chapter_titles, summarize
from models.textutil import content_terms, idf, join_text, split_sentences, stem, text_size, tfidf, words
from models.types import Chapter, KnowledgePoint, Segment

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO.parent / "shared" / "samples"
EXTRA = REPO / "bench" / "lessons_extra.json"
LANGUAGES = REPO / "bench" / "lessons_zh_fr.json"
CACHE = REPO / ".bench"
TOLERANCE = 8.0
TARGETS = {"wer": ("<=", 0.12), "f1": (">=", 0.80), "kp_acc": (">=", 0.85), "terms": (">=", 0.50)}
LANGUAGE_TARGETS = {"fr": {"wer": ("<=", 0.45), "f1": (">=", 0.75), "kp_acc": (">=", 0.85), "terms": (">=", 0.50),
                           "x_rt": ("<=", 0.5)},
                    "zh": {"wer": ("<=", 0.50), "f1": (">=", 0.75), "kp_acc": (">=", 0.85), "terms": (">=", 0.50),
                           "x_rt": ("<=", 0.5)},
                    "en": {**TARGETS, "x_rt": ("<=", 0.3)}}
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


def load_lessons(samples: Path | None, extra: Path | None, cache: Path, others: Path | None = None,
                 split: str = "test") -> list[dict[str, Any]]:
    """Every lesson with its set name, language, audio path and true chapters (others: only the given split)."""
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
    if others and others.exists():
        narrate(others, cache / "lessons")
        for lesson in json.loads(others.read_text())["lessons"]:
            if split in ("all", lesson.get("split")):
                out.append({**lesson, "set": lesson.get("split", ""),
                            "audio": cache / "lessons" / f"{lesson['id']}.wav",
                            "truth": cache / "lessons" / f"{lesson['id']}.chapters.json"})
    return [{"language": "en", **lesson} for lesson in out if lesson["audio"].exists() and lesson["truth"].exists()]


def raw_options(language: str) -> Any:
    """The raw model's decoding: beam 5, one decode, no prompt (Chinese written in Simplified characters)."""
    from models.asr import DecodeOptions

    return DecodeOptions(language=language, tempos=(1.0,), simplify=language == "zh")


class Transcribe:
    """Transcripts by the box's Transcriber (or given decoding options), cached by audio sha256, settings, prompt."""

    def __init__(self, cache: Path, options: Any = None) -> None:
        self.cache = cache / "transcripts"
        self.cache.mkdir(parents=True, exist_ok=True)
        self.options = options
        self._runner: Any = None
        self._transcriber: Any = None
        self.settings = ""
        self.seconds: dict[Path, float] = {}  # transcription time of each audio file (0 when cached)

    def _load(self) -> Any:
        if self._runner is None:
            from models.asr import Transcriber
            from models.transcript_cache import LATE_DEFAULTS

            runner = Transcriber(threads=2, device="cpu", options=self.options)
            # options added since (at their default) leave the key as it was: English transcripts stay cached (this
            # cache predates the box's, so two more options count as late here)
            late = {"simplify": False, "hotwords": False, **LATE_DEFAULTS}
            params = {k: v for k, v in runner.params.items() if k not in late or v != late[k]}
            if runner.role != "asr":
                params["model"] = runner.model.sha256
            self.settings = json.dumps(params, sort_keys=True, default=str)
            self._transcriber = runner
            self._runner = lambda path, prompt: [(s.start, s.end, s.text)
                                                 for s in runner.transcribe(path, prompt=prompt).segments]
        return self._runner

    def __call__(self, audio: Path, prompt: str | None = None) -> list[Segment]:
        sha = hashlib.sha256(audio.read_bytes()).hexdigest()
        runner = self._load()
        key = hashlib.sha256(f"{sha} {self.settings}{'' if prompt is None else ' ' + prompt}".encode()).hexdigest()
        cached = self.cache / f"{audio.stem}-{key[:16]}.json"
        seconds_file = cached.with_suffix(".seconds")
        if not cached.exists():
            print(f"transcribing {audio.name}", file=sys.stderr)
            t0 = time.perf_counter()
            cached.write_text(json.dumps([list(s) for s in runner(audio, prompt)], ensure_ascii=False))
            seconds_file.write_text(f"{time.perf_counter() - t0:.2f}")
            if len(self._transcriber.options.voice_shifts) > 1:
                print(f"  {audio.stem}: heard {self._transcriber.voice_shift:+.0f} semitones", file=sys.stderr)
        self.seconds[audio] = float(seconds_file.read_text()) if seconds_file.exists() else 0.0
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


def term_coverage(summary: str, terms: Sequence[str], language: str = "en") -> float:
    """Share of key terms whose stemmed words occur, in order and adjacent, in the summary (Chinese: characters)."""
    if language == "zh":
        text = normalise_zh(summary)
        return sum(normalise_zh(t) in text for t in terms) / max(1, len(terms))
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
    """Baseline summary: leading sentences (of each chapter in turn when given), up to 150 words (250 Chinese
    characters)."""
    groups: list[list[str]] = []
    if chapters:
        for c in chapters:
            text = join_text(s.text for s in segments if c.start <= s.start < c.end)
            groups.append(split_sentences(text))
    else:
        groups = [split_sentences(join_text(s.text for s in segments))]
    out: list[str] = []
    used = 0.0
    for rank in range(max((len(g) for g in groups), default=0)):
        for g in groups:
            if rank < len(g):
                n = text_size(g[rank])
                if used + n > MAX_WORDS:
                    return join_text(out)
                out.append(g[rank])
                used += n
    return join_text(out)


def _ours(segments: list[Segment], kps: list[KnowledgePoint], generate: Callable[[str], str] | None,
          language: str, embed: Callable[..., Any] | None = None) -> tuple[list[Chapter], Any]:
    """The box's chapters and summary, as models.pipeline makes them (the text model phrases English only; embed:
    the sentence embedder the box aligns chapters with, None for words alone)."""
    generate = generate if language == "en" else None
    chapters = chapter_titles(segment_chapters(segments, kps, embed), segments, kps, generate)
    return chapters, summarize(segments, chapters, kps, generate, max_words=MAX_WORDS, headings=language != "en")


def evaluate(lesson: dict[str, Any], segments: list[Segment], generate: Callable[[str], str] | None,
             raw: list[Segment] | None = None, asr_seconds: float = 0.0,
             embed: Callable[..., Any] | None = None) -> dict[str, Any]:
    """All measures of all methods for one lesson; with raw (the raw model's transcript) ours on it too."""
    language = lesson.get("language", "en")
    truth = json.loads(Path(lesson["truth"]).read_text())
    true_chapters = truth["chapters"]
    true_cuts = [c["start"] for c in true_chapters[1:]]
    kps = [KnowledgePoint(k["id"], k["name"], k.get("description", "")) for k in lesson["knowledge_points"]]
    terms = lesson.get("summary_key_terms", [])
    said, heard = join_text(c["text"] for c in true_chapters), join_text(s.text for s in segments)
    row: dict[str, Any] = {"lesson": lesson["id"], "language": language, "set": lesson["set"],
                           "voice": lesson.get("voice", ""), "duration": truth["duration"],
                           "wer": error_rate(language, said, heard),
                           "raw_wer": raw_wer(said, heard) if language == "en" else error_rate(language, said, heard)}
    t0 = time.perf_counter()
    ours, summary = _ours(segments, kps, generate, language, embed)
    row["method_s"] = round(time.perf_counter() - t0, 2)
    row["x_rt"] = round((asr_seconds + row["method_s"]) / truth["duration"], 3) if asr_seconds else None
    predicted = {"ours": ours, "equal": equal_split(segments, kps), "texttiling": texttiling(segments, kps)}
    summaries = {"ours": summary.text, "equal": lead_summary(segments, predicted["equal"]),
                 "texttiling": lead_summary(segments)}
    if raw is not None:
        row["model_wer"] = error_rate(language, said, join_text(s.text for s in raw))
        predicted["raw"], raw_summary = _ours(raw, kps, generate, language, embed)
        summaries["raw"] = raw_summary.text
    for name, chapters in predicted.items():
        row[name] = {"f1": boundary_f1([c.start for c in chapters[1:]], true_cuts),
                     "kp_acc": kp_accuracy(chapters, true_chapters),
                     "terms": term_coverage(summaries[name], terms, language)}
    row["summary"] = {"method": summary.method, "words": round(text_size(summary.text)),
                      "chars": len(summary.text), "text": summary.text}
    row["chapters"] = [{"start": c.start, "end": c.end, "knowledge_point": c.knowledge_point, "title": c.title}
                       for c in ours]
    row["true_boundaries"] = true_cuts
    return row


def _mean(rows: Sequence[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in rows if r.get(key) is not None]
    return sum(values) / len(values) if values else None


def mean_row(rows: Sequence[dict[str, Any]], label: str) -> dict[str, Any]:
    """Mean of every measure over rows."""
    out: dict[str, Any] = {"lesson": label, "language": ",".join(sorted({r.get("language", "en") for r in rows})),
                           "set": "", "voice": "", "duration": sum(r["duration"] for r in rows),
                           "wer": _mean(rows, "wer"), "raw_wer": _mean(rows, "raw_wer"),
                           "model_wer": _mean(rows, "model_wer"), "x_rt": _mean(rows, "x_rt"),
                           "method_s": round(sum(r["method_s"] for r in rows), 2)}
    for name in (*METHODS, "raw"):
        have = [r for r in rows if name in r]
        if have:
            out[name] = {m: sum(r[name][m] for r in have) / len(have) for m in ("f1", "kp_acc", "terms")}
    out["summary"] = {"method": ",".join(sorted({r["summary"]["method"] for r in rows})),
                      "words": round(sum(r["summary"]["words"] for r in rows) / len(rows)),
                      "chars": max(r["summary"]["chars"] for r in rows)}
    return out


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def table(rows: Sequence[dict[str, Any]]) -> str:
    """One aligned table: each measure of ours beside ours on the raw model's transcript and the two baselines."""
    head = ["lesson", "lang", "set", "voice", "dur s", "WER|CER ours (raw model)", "boundary F1 o/raw/eq/tt",
            "KP acc o/raw/eq/tt", "key terms o/raw/eq/tt", "x RT", "summary"]
    lines = [head]
    for r in rows:
        def quad(m: str, r: dict[str, Any] = r) -> str:
            return " / ".join(_fmt(r[name][m]) if name in r else "-" for name in ("ours", "raw", *METHODS[1:]))

        size = f"{r['summary']['chars']}ch" if r.get("language") == "zh" else f"{r['summary']['words']}w"
        lines.append([r["lesson"], r.get("language", "en"), r["set"], r["voice"], f"{r['duration']:.0f}",
                      f"{_fmt(r['wer'], 3)} ({_fmt(r.get('model_wer'), 3)})", quad("f1"), quad("kp_acc"),
                      quad("terms"), _fmt(r.get("x_rt")), f"{r['summary']['method']} {size}"])
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(head))]
    text = ["  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines]
    text.insert(1, "  ".join("-" * w for w in widths))
    targets = "; ".join(f"{lang}: " + ", ".join(f"{k} {op} {v}" for k, (op, v) in t.items())
                        for lang, t in LANGUAGE_TARGETS.items())
    return "\n".join(text) + f"\ntargets (ours): {targets}; boundaries within +-{TOLERANCE:.0f} s; " \
        "WER|CER is CER for Chinese"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the table (or --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=Path, default=SAMPLES, help="folder with lessons.json and audio/")
    parser.add_argument("--extra", type=Path, default=EXTRA, help="extra lessons.json to narrate ('' for none)")
    parser.add_argument("--languages", type=Path, default=LANGUAGES,
                        help="Chinese and French lessons.json with splits ('' for none)")
    parser.add_argument("--language", action="append", choices=["en", "fr", "zh"], help="only these languages")
    parser.add_argument("--split", default="test", choices=["dev", "test", "all"],
                        help="which split of --languages to measure (settings were chosen on dev)")
    parser.add_argument("--no-raw", action="store_true", help="skip the raw model's transcripts")
    parser.add_argument("--cache", type=Path, default=CACHE, help="narrations and transcripts cache")
    parser.add_argument("--no-llm", action="store_true", help="extractive titles and summary only")
    parser.add_argument("--no-embed", action="store_true",
                        help="chapters aligned by words alone (the box aligns by words and sentence embeddings)")
    parser.add_argument("--json", action="store_true", help="JSON to stdout instead of the table")
    args = parser.parse_args(argv)
    from models.asr import options_for
    from models.lexicon import mend_terms
    from models.pipeline import asr_prompt

    extra = args.extra if str(args.extra) not in ("", ".") else None
    others = args.languages if str(args.languages) not in ("", ".") else None
    lessons = [lesson for lesson in load_lessons(args.samples, extra, args.cache, others, args.split)
               if not args.language or lesson["language"] in args.language]
    if not lessons:
        print("no lessons found: pass --samples DIR, --extra FILE or --languages FILE", file=sys.stderr)
        return 1
    ours: dict[str, Transcribe] = {}
    raws: dict[str, Transcribe] = {}
    generate = text_generator(not args.no_llm and any(lesson["language"] == "en" for lesson in lessons))
    embed = None
    if not args.no_embed:
        from models.embed import Embedder

        embed = Embedder(threads=1).embed  # the model the box's model process serves (its socket adds ~1 ms)
    rows = []
    for lesson in lessons:
        language = lesson["language"]
        options = options_for(language)
        if language not in ours:
            ours[language] = Transcribe(args.cache, options)
            raws[language] = Transcribe(args.cache, raw_options(language))
        kps = [KnowledgePoint(k["id"], k["name"], k.get("description", "")) for k in lesson["knowledge_points"]]
        prompt = asr_prompt(kps, language) if options.use_prompt else None
        # the box's transcript: what Whisper heard, with the lesson's words put back (models.pipeline does the same)
        segments = mend_terms(ours[language](lesson["audio"], prompt), kps, language)
        raw = None if args.no_raw else raws[language](lesson["audio"])
        rows.append(evaluate(lesson, segments, generate, raw, ours[language].seconds.get(lesson["audio"], 0.0),
                             embed))
    means = []
    english = [r for r in rows if r["language"] == "en"]
    if english:
        means.append(mean_row(english, "MEAN"))  # English, as bench/__main__.py reads it
        for name in ("samples", "extra"):
            part = [r for r in english if r["set"] == name]
            if part and len(part) < len(english):
                means.append(mean_row(part, f"mean {name}"))
    for language in ("fr", "zh"):
        part = [r for r in rows if r["language"] == language]
        if part:
            means.append(mean_row(part, f"MEAN {language}"))
    if args.json:
        json.dump({"asr": {k: v.settings for k, v in ours.items()}, "raw_asr": {k: v.settings for k, v in raws.items()},
                   "llm": generate is not None, "rows": rows, "means": means,
                   "targets": {lang: {k: list(v) for k, v in t.items()} for lang, t in LANGUAGE_TARGETS.items()}},
                  sys.stdout, indent=2, default=str, ensure_ascii=False)
        print()
    else:
        print(table([*rows, *means]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
