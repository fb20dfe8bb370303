"""Word-level voting between transcripts of the same audio (ROVER), keeping the first transcript's timing.

Whisper tiny mishears an unusual voice in different places when the same speech is played a little slower, so a
word two of three decodes agree on is likelier right than the first decode's alone (Fiscus 1997, "ROVER").
Pure: tokens in, segments out; the alignment is rapidfuzz's Levenshtein over normalised words.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from rapidfuzz.distance import Levenshtein

from models.types import Segment

_EDGE = re.compile(r"^([^\w']*)(.*?)([^\w']*)$", re.UNICODE)


def _parts(token: str) -> tuple[str, str, str]:
    """Leading punctuation, the word, trailing punctuation."""
    lead, core, trail = _EDGE.match(token).groups()  # type: ignore[union-attr]  # matches any string
    return lead, core, trail


def key(token: str) -> str:
    """The form words are compared in: lower case, no surrounding punctuation."""
    return _parts(token)[1].lower()


def _align(backbone: Sequence[str], other: Sequence[str]) -> tuple[list[str | None], list[tuple[str, ...]]]:
    """For each backbone position, the other's word there (None: deleted) and the words it inserts before it."""
    at: list[str | None] = [None] * len(backbone)
    before: list[list[str]] = [[] for _ in range(len(backbone) + 1)]
    ops = Levenshtein.opcodes([key(t) for t in backbone], [key(t) for t in other])
    for op in ops:
        tag, i1, i2, j1, j2 = op.tag, op.src_start, op.src_end, op.dest_start, op.dest_end
        if tag in ("equal", "replace"):
            pairs = min(i2 - i1, j2 - j1)
            for k in range(pairs):
                at[i1 + k] = other[j1 + k]
            # a replace of unequal lengths: the rest is a deletion or an insertion
            before[i1 + pairs].extend(other[j1 + pairs:j2])
        elif tag == "insert":
            before[i1].extend(other[j1:j2])
    return at, [tuple(b) for b in before]


def _vote(candidates: Sequence[str | None]) -> str | None:
    """The majority word (None: deleted); the backbone's (first) word wins every tie."""
    counts = Counter(None if c is None else key(c) for c in candidates)
    first = None if candidates[0] is None else key(candidates[0])
    best, votes = counts.most_common(1)[0]
    if votes <= counts[first] or best == first:
        return candidates[0]
    return next(c for c in candidates if c is not None and key(c) == best) if best is not None else None


def _vote_insert(candidates: Sequence[tuple[str, ...]]) -> tuple[str, ...]:
    """Words inserted before a slot, when a strict majority inserts the same ones."""
    counts = Counter(tuple(key(w) for w in c) for c in candidates)
    best, votes = counts.most_common(1)[0]
    if not best or votes * 2 <= len(candidates):
        return ()
    return next(c for c in candidates if tuple(key(w) for w in c) == best)


def _dress(word: str, like: str) -> str:
    """A replacement word in the backbone's punctuation and capitalisation (the sentence stays a sentence)."""
    core = _parts(word)[1]
    b_lead, b_core, b_trail = _parts(like)
    if b_core[:1].isupper() and core:
        core = core[0].upper() + core[1:]
    return f"{b_lead}{core}{b_trail}"


def combine(segments: Sequence[Segment], others: Sequence[Sequence[str]]) -> list[Segment]:
    """Segments of the backbone transcript whose words are those most transcripts agree on.

    others are the tokens (whitespace-split text) of further decodes of the same audio; each segment keeps its
    start and end, and a segment left with no words is dropped.
    """
    tokens = [(i, t) for i, s in enumerate(segments) for t in s.text.split()]
    if not tokens or not others:
        return list(segments)
    backbone = [t for _, t in tokens]
    aligned = [_align(backbone, other) for other in others]
    out: list[list[str]] = [[] for _ in segments]
    for n, (seg, word) in enumerate(tokens):
        inserted = _vote_insert([(), *(before[n] for _, before in aligned)])
        out[seg].extend(inserted)
        chosen = _vote([word, *(at[n] for at, _ in aligned)])
        if chosen is None:
            trail = _parts(word)[2]
            if trail and out[seg] and not _parts(out[seg][-1])[2]:
                out[seg][-1] += trail
            continue
        out[seg].append(word if key(chosen) == key(word) else _dress(chosen, word))
    last = len(segments) - 1
    out[last].extend(_vote_insert([(), *(before[len(tokens)] for _, before in aligned)]))
    return [Segment(s.start, s.end, " ".join(words)) for s, words in zip(segments, out, strict=True) if words]
