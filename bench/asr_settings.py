"""Compare Whisper decoding settings on narrated lessons: WER, skipped passages and speed per setting.

Lessons: ../shared/samples/audio and, with --extra, the other voices bench/ai_quality.py narrates into
.bench/lessons (run it once first). WER is counted as in bench/wer.py (Whisper's English normaliser).

    python -m bench.asr_settings [--extra] [--only NAME ...] [--workers N] [--json]

--workers 1 decodes the tempos of a voting setting one after another on all threads instead of side by side.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from bench.wer import wer
from models.asr import DecodeOptions, Transcriber
from models.registry import resolve

SAMPLES = Path(__file__).resolve().parent.parent.parent / "shared" / "samples" / "audio"
EXTRA = Path(__file__).resolve().parent.parent / ".bench" / "lessons"


def one(**options: Any) -> DecodeOptions:
    """Settings for a single decode, as recorded."""
    return DecodeOptions(tempos=(1.0,), **options)


SETTINGS = {
    "greedy": one(beam_size=1, vad_filter=False, condition_on_previous_text=False),
    "greedy+vad": one(beam_size=1, vad_filter=True, condition_on_previous_text=False),
    "beam5": one(beam_size=5, vad_filter=False, condition_on_previous_text=False),
    "beam5+vad": one(beam_size=5, vad_filter=True, condition_on_previous_text=False),
    "beam5+prev": one(beam_size=5, vad_filter=False, condition_on_previous_text=True),
    "beam5+prev+vad": one(beam_size=5, vad_filter=True, condition_on_previous_text=True),
    "beam5+prev-nofallback": one(beam_size=5, condition_on_previous_text=True, temperature_fallback=False),
    "greedy+prev": one(beam_size=1, vad_filter=False, condition_on_previous_text=True),
    "beam5-nofallback": one(beam_size=5, condition_on_previous_text=False, temperature_fallback=False),
    "beam10+prev": one(beam_size=10, condition_on_previous_text=True),
    "beam5+prev+kp-prompt": one(beam_size=5, condition_on_previous_text=True, use_prompt=True),
    "beam5+prev tempo 0.95": DecodeOptions(tempos=(0.95,)),
    "beam5+prev vote 1/0.9/1.1": DecodeOptions(tempos=(1.0, 0.9, 1.1)),
    "beam5+prev vote 1/0.95/0.9": DecodeOptions(tempos=(1.0, 0.95, 0.9)),
    "beam5+prev vote 1/0.95/0.9/0.85/1.1 (default)": DecodeOptions(),
}
LESSON_FILES = (SAMPLES.parent / "lessons.json", Path(__file__).resolve().parent / "lessons_extra.json")


def kp_prompts() -> dict[str, str]:
    """Per lesson id, the prompt the pipeline gives Whisper: its knowledge points' names (from the lesson files)."""
    from models.pipeline import asr_prompt
    from models.types import KnowledgePoint

    prompts = {}
    for path in LESSON_FILES:
        if path.is_file():
            for lesson in json.loads(path.read_text())["lessons"]:
                kps = [KnowledgePoint(k["id"], k["name"], k.get("description", ""))
                       for k in lesson["knowledge_points"]]
                prompts[lesson["id"]] = asr_prompt(kps)
    return prompts


def reference_text(chapters_json: Path) -> str:
    return " ".join(c["text"] for c in json.loads(chapters_json.read_text())["chapters"])


def skipped_seconds(chapters_json: Path, segments: list) -> float:
    """Seconds of narrated chapters with no transcript segment overlapping them (a passage Whisper skipped)."""
    gaps, covered = 0.0, [(s.start, s.end) for s in segments]
    duration = json.loads(chapters_json.read_text())["duration"]
    t = 0.0
    for start, end in sorted(covered) + [(duration, duration)]:
        if start - t > 3.0:
            gaps += start - t
        t = max(t, end)
    return gaps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=Path, default=SAMPLES)
    parser.add_argument("--extra", action="store_true", help=f"also the other voices in {EXTRA}")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", nargs="*", help="setting names to run")
    parser.add_argument("--workers", type=int, help="decodes at once (default: the Transcriber's choice)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    wavs = sorted(args.samples.glob("*.wav")) + (sorted(EXTRA.glob("*.wav")) if args.extra else [])
    if not wavs:
        print(f"no samples in {args.samples}", file=sys.stderr)
        return 1
    model = resolve("asr")
    prompts = kp_prompts()
    results = []
    for name, options in SETTINGS.items():
        if args.only and name not in args.only:
            continue
        runner = Transcriber(model, threads=args.threads, device="cpu", options=options, workers=args.workers)
        runner.load()
        errs, skipped, wall, audio = [], 0.0, 0.0, 0.0
        for wav in wavs:
            ref = wav.with_suffix("").with_suffix(".chapters.json")
            t0 = time.perf_counter()
            tr = runner.transcribe(wav, prompt=prompts.get(wav.stem))
            wall += time.perf_counter() - t0
            audio += tr.duration
            errs.append(wer(reference_text(ref), tr.text))
            skipped += skipped_seconds(ref, tr.segments)
        results.append({"setting": name, "mean_wer": round(sum(errs) / len(errs), 4),
                        "per_lesson": {w.stem: round(e, 3) for w, e in zip(wavs, errs, strict=True)},
                        "max_wer": round(max(errs), 4), "skipped_s": round(skipped, 1),
                        "rtf": round(wall / audio, 3)})
        print(f"{name:36s} mean WER {results[-1]['mean_wer']:.3f}  max {results[-1]['max_wer']:.3f}  "
              f"skipped {skipped:5.1f}s  RTF {results[-1]['rtf']:.3f}", file=sys.stderr)
    if args.json:
        print(json.dumps({"samples": [w.name for w in wavs], "target_mean_wer": 0.12, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
