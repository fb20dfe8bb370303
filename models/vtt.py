"""WebVTT writers (pure): captions from transcript segments, a chapters track from chapters."""

from __future__ import annotations

from collections.abc import Iterable

from models.types import Chapter, Segment


def timestamp(seconds: float) -> str:
    """Seconds as a WebVTT timestamp HH:MM:SS.mmm."""
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, ms = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{ms:03d}"


def _cue_text(text: str) -> str:
    # "-->" and blank lines would end or break a cue; <, & would be read as markup
    clean = " ".join(text.split()).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return clean or "…"


def _cues(items: Iterable[tuple[float, float, str]], ids: bool = False) -> str:
    lines = ["WEBVTT", ""]
    for n, (start, end, text) in enumerate(items, 1):
        end = max(end, start + 0.001)
        if ids:
            lines.append(str(n))
        lines.extend([f"{timestamp(start)} --> {timestamp(end)}", _cue_text(text), ""])
    return "\n".join(lines)


def captions_vtt(segments: Iterable[Segment], max_chars: int = 84) -> str:
    """Captions track: one cue per segment, long segments split by words in proportion to their length."""
    cues: list[tuple[float, float, str]] = []
    for seg in segments:
        words = seg.text.split()
        if len(seg.text) <= max_chars or len(words) < 2:
            cues.append((seg.start, seg.end, seg.text))
            continue
        pieces, current = [], []
        for word in words:
            if current and len(" ".join([*current, word])) > max_chars:
                pieces.append(" ".join(current))
                current = []
            current.append(word)
        pieces.append(" ".join(current))
        total = sum(len(p) for p in pieces)
        t = seg.start
        for piece in pieces:
            span = (seg.end - seg.start) * len(piece) / total
            cues.append((t, t + span, piece))
            t += span
    return _cues(cues)


def chapters_vtt(chapters: Iterable[Chapter]) -> str:
    """Chapters track for <track kind="chapters">: one numbered cue per chapter, its title as text."""
    return _cues(((c.start, c.end, c.title) for c in chapters), ids=True)
