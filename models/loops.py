"""Whisper's repetition loops taken out of a transcript (pure: segments in, segments out).

Decoding a voice it hears badly, Whisper falls into loops: a word or phrase said over and over inside one segment
("浆浆浆浆浆…", "菲丝河横的菲丝河横的") or one sentence given again for segment after segment. Each repeat is an
inserted error (and skews chapters and summaries towards the looped words), so a phrase repeated back to back is
kept once and a segment that only repeats one of the segments just before it is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from models.textutil import CJK
from models.types import Segment

# a unit of text (a Chinese character or more, or a word or more) said again right after itself
_SAME_AGAIN = re.compile(r"(\S.*?)(?:[\s,，、.。]*\1)+", re.DOTALL)
_LETTERS = re.compile(r"[^\W\d_]")
LOOKBACK = 2  # a segment is compared with this many kept segments before it
MIN_LOOP = 4  # Chinese characters or other words a segment needs to be dropped as a repeat


def _weight(unit: str) -> int:
    """How much text a repeated unit is: its Chinese characters plus its other words (digits never count)."""
    cjk = len(CJK.findall(unit))
    rest = CJK.sub(" ", unit)
    return cjk + sum(1 for w in rest.split() if _LETTERS.search(w))


def _latin_cut(text: str, at: int) -> bool:
    """Whether position at falls inside a word of letters outside Chinese (where no repeat may start or end)."""
    if at <= 0 or at >= len(text):
        return False
    left, right = text[at - 1], text[at]
    return bool(_LETTERS.match(left) and _LETTERS.match(right) and not CJK.match(left) and not CJK.match(right))


def _collapse(match: re.Match[str]) -> str:
    whole, unit = match.group(0), match.group(1)
    if _latin_cut(match.string, match.start()) or _latin_cut(match.string, match.end()):
        return whole  # "la la lanterne" repeats no word
    times = len(re.findall(re.escape(unit), whole))
    weight = _weight(unit)
    # legitimate doubles are short ("très très", "一颗一颗", "药花，药花"): a unit of one character or word is a loop
    # from its fourth time, a longer one from its third, one of 4 or more characters or words from its second
    if weight == 0 or times < (4 if weight == 1 else 3 if weight < 4 else 2):
        return whole
    return unit


def collapse_repeats(text: str) -> str:
    """Text with each phrase that loops back to back (see _collapse for how often is a loop) kept once."""
    out = text
    for _ in range(3):  # a collapse can bring two copies of a longer unit together
        new = _SAME_AGAIN.sub(_collapse, out)
        if new == out:
            break
        out = new
    return out


def _key(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def drop_loops(segments: Sequence[Segment]) -> list[Segment]:
    """Segments with in-segment loops collapsed and segments that repeat one of the few before them dropped."""
    kept: list[Segment] = []
    for seg in segments:
        text = collapse_repeats(seg.text)
        key = _key(text)
        if not key:
            continue
        recent = [_key(s.text) for s in kept[-LOOKBACK:]]
        # only the very same text: a lesson says "因为正方形也有四个直角" just after "正方形也有四个直角"
        # and not a word or two: "头部" heard twice in a row may be two words heard alike
        if _weight(text) >= MIN_LOOP and key in recent:
            continue
        kept.append(seg if text == seg.text else Segment(seg.start, seg.end, text))
    return kept
