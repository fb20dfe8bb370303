"""Narrate a lessons file (shaped like ../shared/samples/lessons.json) into WAV files with true chapter times.

The same narration as ../shared/samples/make_samples.py (espeak-ng at 150 words a minute, sox to 16 kHz mono,
chapters joined with no pause), so the project can regenerate its own development lessons, for example the
Chinese (`cmn-latn-pinyin` reading characters) and French ones of bench/lessons_zh_fr.json:

    python -m bench.narrate bench/lessons_zh_fr.json .bench/lessons
"""

from __future__ import annotations

import sys
from pathlib import Path

from bench.ai_quality import narrate


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m bench.narrate LESSONS.json OUT_DIR", file=sys.stderr)
        return 2
    narrate(Path(args[0]), Path(args[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
