"""Speech recognition settings for French and Chinese lessons, measured on the dev lessons of bench/lessons_zh_fr.json.

Each setting decodes every dev lesson of a language with multilingual Whisper base (faster-whisper, int8 on CPU)
and reports the error rate against the narrated text (French WER through bench.wer.normalise_fr, Chinese CER in
Simplified characters through bench.wer.normalise_zh). Transcripts are cached in .bench/transcripts by audio sha256,
settings and prompt. The box's choice (models.asr.LANGUAGE_OPTIONS) is what the best of these was on dev; test
lessons are measured only by bench.ai_quality.

    python -m bench.asr_languages [--language fr|zh] [--split dev|test] [--settings NAME ...] [--lessons ID ...]

Measured on the 4 French and 4 Chinese dev lessons (means over lessons; x RT on a 2-core VM shared with other
work, so high):

    setting              French WER   x RT    Chinese CER   x RT   what it is
    raw                  0.622        0.92    0.670         0.40   beam 5, previous-text conditioning, fallback
    kp-full              0.632        0.57    0.703         0.72   + knowledge point names and descriptions as prompt
    simplified-prompt      -            -     0.716         0.44   + "以下是普通话的句子。" as prompt
    nocond               0.579        0.41    0.619         0.18   no previous-text conditioning  <- the box's choice
    hot-names-nocond     0.728        0.90    0.746*        0.47   + knowledge point names as hotwords
    hot-full-nocond      0.768        0.66      -             -    + names and descriptions as hotwords
    slow85-nocond        0.762*       1.33      -             -    decoded at 0.85x speed
    vote3-near-nocond    0.567        0.76    0.674*        1.47   3 decodes (1.0, 0.95, 1.05x) voting (ROVER)
    (* on the 2-3 lessons it was run on before it was stopped as plainly worse or too slow)

A prompt from the knowledge points (as previous text or as hotwords) is copied into the transcript on this
synthetic speech, and a vocabulary correction after decoding (words within edit distance of a knowledge point's
words replaced by them) moved French WER by less than 0.005 either way, so neither is used. Voting gains 0.012
French WER at twice the time and nothing in Chinese: the box decodes once. Chinese output is made Simplified by
OpenCC's t2s tables (opencc-python-reimplemented); the simplified prompt was not better.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from typing import Any

from bench.ai_quality import CACHE, LANGUAGES, Transcribe, narrate, raw_options
from bench.wer import error_rate
from models.asr import DecodeOptions, options_for
from models.pipeline import asr_prompt
from models.textutil import join_text
from models.types import KnowledgePoint

SIMPLIFIED_PROMPT = "以下是普通话的句子。"


def settings(language: str) -> dict[str, tuple[DecodeOptions, str]]:
    """Named decoding settings to compare: (options, prompt kind)."""
    raw = raw_options(language)
    out = {"raw": (raw, "none"),
           "kp-names": (replace(raw, use_prompt=True), "names"),
           "kp-full": (replace(raw, use_prompt=True), "full"),
           "kp-full-vote3": (replace(raw, use_prompt=True, tempos=(1.0, 0.9, 1.1)), "full"),
           "kp-full-nocond": (replace(raw, use_prompt=True, condition_on_previous_text=False), "full"),
           "nocond": (replace(raw, condition_on_previous_text=False), "none"),
           "slow85-nocond": (replace(raw, condition_on_previous_text=False, tempos=(0.85,)), "none"),
           "vote3-nocond": (replace(raw, condition_on_previous_text=False, tempos=(1.0, 0.9, 0.8)), "none"),
           "vote3-near-nocond": (replace(raw, condition_on_previous_text=False, tempos=(1.0, 0.95, 1.05)), "none"),
           "hot-names-nocond": (replace(raw, condition_on_previous_text=False, use_prompt=True, hotwords=True),
                                "names"),
           "hot-full-nocond": (replace(raw, condition_on_previous_text=False, use_prompt=True, hotwords=True),
                               "full"),
           "box": (options_for(language), "full")}
    if language == "zh":
        out["simplified-prompt"] = (replace(raw, use_prompt=True), "simplified")
    return out


def prompt_for(kind: str, kps: list[KnowledgePoint], language: str) -> str | None:
    if kind == "none":
        return None
    if kind == "simplified":
        return SIMPLIFIED_PROMPT
    if kind == "names":
        end = "。" if language == "zh" else ". "
        return end.join(kp.name for kp in kps) + end.strip()
    return asr_prompt(kps, language)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--language", choices=["fr", "zh"], action="append")
    parser.add_argument("--split", default="dev", choices=["dev", "test"])
    parser.add_argument("--settings", nargs="*")
    parser.add_argument("--lessons", nargs="*", help="only these lesson ids")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    narrate(LANGUAGES, CACHE / "lessons")
    lessons = [lesson for lesson in json.loads(LANGUAGES.read_text())["lessons"] if lesson["split"] == args.split]
    rows: list[dict[str, Any]] = []
    for language in args.language or ["fr", "zh"]:
        mine = [lesson for lesson in lessons if lesson["language"] == language
                and (not args.lessons or lesson["id"] in args.lessons)]
        for name, (options, prompt_kind) in settings(language).items():
            if args.settings and name not in args.settings:
                continue
            transcribe = Transcribe(CACHE, options)  # the transcripts bench.ai_quality caches too
            rates, spent, audio_s = [], 0.0, 0.0
            for lesson in mine:
                audio = CACHE / "lessons" / f"{lesson['id']}.wav"
                truth = json.loads((CACHE / "lessons" / f"{lesson['id']}.chapters.json").read_text())
                kps = [KnowledgePoint(k["id"], k["name"], k["description"]) for k in lesson["knowledge_points"]]
                print(f"{language} {name}: {lesson['id']}", file=sys.stderr)
                heard = join_text(s.text for s in transcribe(audio, prompt_for(prompt_kind, kps, language)))
                said = join_text(c["text"] for c in truth["chapters"])
                rates.append(error_rate(language, said, heard))
                spent += transcribe.seconds[audio]
                audio_s += truth["duration"]
            rows.append({"language": language, "settings": name, "split": args.split,
                         "error": round(sum(rates) / len(rates), 3), "per_lesson": [round(r, 3) for r in rates],
                         "x_real_time": round(spent / audio_s, 3) if spent else None})
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        for r in rows:
            measure = "CER" if r["language"] == "zh" else "WER"
            print(f"{r['language']}  {r['settings']:20s} {measure} {r['error']:.3f}  {r['per_lesson']}  "
                  f"x real time {r['x_real_time']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
