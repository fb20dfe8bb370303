"""Compare Whisper decoding settings on narrated samples: WER, skipped passages and speed per setting."""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import replace
from pathlib import Path

from models.asr import DecodeOptions, Transcriber
from models.registry import resolve

SAMPLES = Path(__file__).resolve().parent.parent.parent / "shared" / "samples" / "audio"

SETTINGS = {
    "greedy": DecodeOptions(beam_size=1, vad_filter=False, condition_on_previous_text=False),
    "greedy+vad": DecodeOptions(beam_size=1, vad_filter=True, condition_on_previous_text=False),
    "beam5": DecodeOptions(beam_size=5, vad_filter=False, condition_on_previous_text=False),
    "beam5+vad": DecodeOptions(beam_size=5, vad_filter=True, condition_on_previous_text=False),
    "beam5+prev": DecodeOptions(beam_size=5, vad_filter=False, condition_on_previous_text=True),
    "beam5+prev+vad": DecodeOptions(beam_size=5, vad_filter=True, condition_on_previous_text=True),
    "beam5+prev-nofallback": DecodeOptions(beam_size=5, condition_on_previous_text=True, temperature_fallback=False),
    "greedy+prev": DecodeOptions(beam_size=1, vad_filter=False, condition_on_previous_text=True),
    "beam5-nofallback": DecodeOptions(beam_size=5, temperature_fallback=False),
}


def words(text: str) -> list[str]:
    """Lower-case words without punctuation (digits kept), for WER."""
    return re.findall(r"[a-z0-9']+", text.lower().replace("-", " "))


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    """Word-level Levenshtein distance."""
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate of a hypothesis against a reference text."""
    ref = words(reference)
    return edit_distance(ref, words(hypothesis)) / max(1, len(ref))


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
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", nargs="*", help="setting names to run")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    wavs = sorted(args.samples.glob("*.wav"))
    if not wavs:
        print(f"no samples in {args.samples}", file=sys.stderr)
        return 1
    model = resolve("asr")
    results = []
    for name, options in SETTINGS.items():
        if args.only and name not in args.only:
            continue
        runner = Transcriber(model, threads=args.threads, device="cpu", options=replace(options))
        runner.load()
        errs, skipped, wall, audio = [], 0.0, 0.0, 0.0
        for wav in wavs:
            ref = wav.with_suffix("").with_suffix(".chapters.json")
            t0 = time.perf_counter()
            tr = runner.transcribe(wav)
            wall += time.perf_counter() - t0
            audio += tr.duration
            errs.append(wer(reference_text(ref), tr.text))
            skipped += skipped_seconds(ref, tr.segments)
        results.append({"setting": name, "mean_wer": round(sum(errs) / len(errs), 4),
                        "max_wer": round(max(errs), 4), "skipped_s": round(skipped, 1),
                        "rtf": round(wall / audio, 3)})
        print(f"{name:18s} mean WER {results[-1]['mean_wer']:.3f}  max {results[-1]['max_wer']:.3f}  "
              f"skipped {skipped:5.1f}s  RTF {results[-1]['rtf']:.3f}", file=sys.stderr)
    if args.json:
        print(json.dumps({"samples": [w.name for w in wavs], "target_mean_wer": 0.12, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
