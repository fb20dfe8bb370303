"""A teacher's corrections of the AI's outputs on a recording (pure): caption lines, chapters and the summary.

What the pipeline wrote stays the shape every reader knows (models.pipeline documents the kinds); a correction is
checked here and becomes new content for the same kinds:

    caption lines  -> captions_vtt (one cue per line) and transcript (the lines as its segments, so that the
                      companion's index quotes the corrected words)
    chapters       -> chapters and chapters_vtt
    summary        -> summary (method "teacher")

edge_server.recordings.save_edits stores them marked as the teacher's, and jobs.store_outputs keeps them when the
pipeline runs again. Errors are EditError: a code the pages translate, the line it is about, and an English message.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from typing import Any

from models import vtt
from models.asr import Transcript
from models.pipeline import SUMMARY_MAX_WORDS, chapters_from_json, chapters_json
from models.textutil import split_sentences, text_size
from models.types import Chapter, Segment

MIN_CHAPTER_S = 1.0  # a chapter shorter than this is a slip of the finger, not a chapter
MAX_TITLE = 120
MAX_CAPTION = 300  # characters of one caption line (the pipeline's are at most 84)
MAX_SUMMARY_CHARS = 4000
SLACK_S = 0.05  # float times from forms and JSON: 50 ms either way is the same moment

_TIME = re.compile(r"^(?:(\d+):)?(?:(\d+):)?(\d+(?:[.,]\d*)?)$")
_CUE_TIME = re.compile(r"((?:\d+:)?\d+:\d+[.,]\d+)\s+-->\s+((?:\d+:)?\d+:\d+[.,]\d+)")

MESSAGES = {
    "bad_time": "“{value}” is not a time: write seconds (75.5) or minutes:seconds (1:15.5).",
    "empty_text": "line {line} has no text",
    "text_too_long": "line {line} is longer than {max} characters",
    "end_before_start": "line {line} ends before it starts",
    "overlap": "line {line} starts before line {previous} ends",
    "past_end": "line {line} goes past the end of the recording ({end})",
    "no_lines": "the captions need at least one line",
    "no_chapters": "the lesson needs at least one chapter",
    "empty_title": "chapter {line} has no title",
    "title_too_long": "the title of chapter {line} is longer than {max} characters",
    "first_start": "the first chapter starts at 0:00",
    "order": "chapter {line} must start at least 1 second after chapter {previous}",
    "chapter_past_end": "chapter {line} starts too close to the end of the recording ({end})",
    "unknown_kp": "chapter {line} has a knowledge point this lesson does not teach",
    "merge_last": "the last chapter has no next chapter to merge with",
    "split_outside": "{at} is not inside a chapter, at least 1 second from its start and end",
    "empty_summary": "the summary is empty",
    "summary_too_long": "the summary has {words} words; at most {max}",
}


class EditError(ValueError):
    """A correction is refused: `code` (MESSAGES) and `params` let the page say why in its language."""

    def __init__(self, code: str, **params: Any) -> None:
        self.code = code
        self.params = params
        super().__init__(MESSAGES[code].format(**params))


# -- times ---------------------------------------------------------------------------------------------------------

def parse_time(text: str) -> float:
    """Seconds from what a teacher types: 75, 75.5, 1:15, 1:15.5, 1:02:03.25 (a decimal comma too)."""
    found = _TIME.match((text or "").strip())
    if not found:
        raise EditError("bad_time", value=(text or "").strip()[:20])
    first, second, seconds = found.groups()
    hours, minutes = (first, second) if second is not None else (None, first)
    value = float(seconds.replace(",", ".")) + 60 * int(minutes or 0) + 3600 * int(hours or 0)
    if minutes is not None and float(seconds.replace(",", ".")) >= 60:
        raise EditError("bad_time", value=text.strip()[:20])
    return round(value, 3)


def format_time(seconds: float) -> str:
    """Seconds as a teacher reads them: 1:15.25, 0:07, 1:02:05.5 (milliseconds kept, trailing zeros dropped)."""
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, ms = divmod(rest, 1000)
    frac = f".{ms:03d}".rstrip("0").rstrip(".")
    return f"{hours}:{minutes:02d}:{secs:02d}{frac}" if hours else f"{minutes}:{secs:02d}{frac}"


def content_version(content: str | None) -> str:
    """A short fingerprint of stored content: a form carries it, so a save over someone else's newer one is seen."""
    return hashlib.sha256((content or "").encode()).hexdigest()[:16]


# -- captions ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CaptionLine:
    """One caption cue: from start to end (seconds), its text."""

    start: float
    end: float
    text: str


@dataclass(frozen=True)
class CaptionRow:
    """One row of the caption editor as typed; `line` is the number the page shows. A new row left blank is no
    line."""

    line: int | None
    start: str
    end: str
    text: str
    delete: bool = False
    new: bool = False


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def parse_vtt(text: str) -> list[CaptionLine]:
    """The cues of a WebVTT captions track (as models.vtt writes them): times and plain text."""
    lines: list[CaptionLine] = []
    for block in re.split(r"\n[ \t]*\n", (text or "").replace("\r\n", "\n").strip()):
        rows = block.split("\n")
        at = next((i for i, row in enumerate(rows) if "-->" in row), None)
        if at is None:
            continue
        found = _CUE_TIME.search(rows[at])
        if not found:
            continue
        body = _unescape(" ".join(r.strip() for r in rows[at + 1:] if r.strip()))
        lines.append(CaptionLine(parse_time(found.group(1)), parse_time(found.group(2)), body))
    return lines


def caption_lines(rows: Sequence[CaptionRow], duration: float | None) -> list[CaptionLine]:
    """The lines a caption editor sent, checked: times read, text present, in time order, none overlapping the
    next, none past the end of the recording (duration, when known). Rows marked delete are dropped."""
    numbered: list[tuple[int | None, CaptionLine]] = []
    for row in rows:
        if row.delete or (row.new and not (row.start.strip() or row.end.strip() or row.text.strip())):
            continue  # a removed line, or the blank "new line" row left blank
        text = " ".join(row.text.split())
        if not text:
            raise EditError("empty_text", line=_name(row.line))
        if len(text) > MAX_CAPTION:
            raise EditError("text_too_long", line=_name(row.line), max=MAX_CAPTION)
        start, end = parse_time(row.start), parse_time(row.end)
        if end <= start:
            raise EditError("end_before_start", line=_name(row.line))
        numbered.append((row.line, CaptionLine(start, end, text)))
    if not numbered:
        raise EditError("no_lines")
    numbered.sort(key=lambda item: item[1].start)
    for (prev_no, prev), (no, line) in zip(numbered, numbered[1:], strict=False):
        if line.start < prev.end - SLACK_S:
            raise EditError("overlap", line=_name(no), previous=_name(prev_no))
    if duration:
        for no, line in numbered:
            if line.end > duration + SLACK_S:
                raise EditError("past_end", line=_name(no), end=format_time(duration))
    return [line for _, line in numbered]


def _name(line: int | None) -> str:
    return str(line) if line is not None else "+"


def captions_outputs(lines: Sequence[CaptionLine], transcript: dict[str, Any]) -> dict[str, str]:
    """Corrected caption lines as the captions_vtt and transcript contents (language and duration kept)."""
    segments = [Segment(line.start, line.end, line.text) for line in lines]
    doc = Transcript(language=transcript.get("language", ""), duration=float(transcript.get("duration") or 0.0),
                     segments=segments).to_json()
    return {"captions_vtt": vtt.captions_vtt(segments, max_chars=MAX_CAPTION),
            "transcript": json.dumps(doc, ensure_ascii=False)}


# -- chapters ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ChapterRow:
    """One row of the chapter editor as typed: where it starts, its title, its knowledge point ('' for none)."""

    start: str
    title: str
    knowledge_point: str


def lesson_end(chapters: Sequence[Chapter], transcript: dict[str, Any] | None = None) -> float:
    """Where the chapters end: the last one's end (the pipeline's chapters cover 0 to the last speech), else the
    transcript's duration."""
    if chapters:
        return chapters[-1].end
    return float((transcript or {}).get("duration") or 0.0)


def edit_chapters(rows: Sequence[ChapterRow], end: float, kp_ids: Collection[str]) -> list[Chapter]:
    """The chapter table as typed, checked: renamed, boundaries moved, knowledge points changed. Chapters stay in
    order, at least MIN_CHAPTER_S long, and cover the lesson from 0 to `end` with no gap."""
    if not rows:
        raise EditError("no_chapters")
    starts = []
    for n, row in enumerate(rows, 1):
        start = parse_time(row.start) if n > 1 else 0.0  # the first chapter starts at 0:00, whatever was typed
        if n == 1 and row.start.strip() and parse_time(row.start) > SLACK_S:
            raise EditError("first_start")
        if n > 1 and start < starts[-1] + MIN_CHAPTER_S - SLACK_S:
            raise EditError("order", line=n, previous=n - 1)
        if start > end - MIN_CHAPTER_S + SLACK_S:
            raise EditError("chapter_past_end", line=n, end=format_time(end))
        starts.append(start)
    chapters = []
    for n, (row, start) in enumerate(zip(rows, starts, strict=True), 1):
        title = " ".join(row.title.split())
        if not title:
            raise EditError("empty_title", line=n)
        if len(title) > MAX_TITLE:
            raise EditError("title_too_long", line=n, max=MAX_TITLE)
        kp = row.knowledge_point.strip() or None
        if kp is not None and kp not in kp_ids:
            raise EditError("unknown_kp", line=n)
        stop = starts[n] if n < len(starts) else end
        chapters.append(Chapter(start=start, end=stop, knowledge_point=kp, title=title))
    return chapters


def merge_chapters(chapters: Sequence[Chapter], index: int) -> list[Chapter]:
    """Chapter `index` and the next one as one chapter, with the first one's title and knowledge point."""
    if not 0 <= index < len(chapters) - 1:
        raise EditError("merge_last")
    merged = replace(chapters[index], end=chapters[index + 1].end, text="")
    return [*chapters[:index], merged, *chapters[index + 2:]]


def split_chapter(chapters: Sequence[Chapter], at: float, title: str = "") -> list[Chapter]:
    """The chapter that holds time `at` cut in two there; the second part takes `title` (else the same title) and
    the same knowledge point."""
    for i, chapter in enumerate(chapters):
        if chapter.start + MIN_CHAPTER_S - SLACK_S <= at <= chapter.end - MIN_CHAPTER_S + SLACK_S:
            title = " ".join(title.split())[:MAX_TITLE] or chapter.title
            first = replace(chapter, end=at, text="")
            second = replace(chapter, start=at, title=title, text="")
            return [*chapters[:i], first, second, *chapters[i + 1:]]
    raise EditError("split_outside", at=format_time(at))


def read_chapters(content: str | None) -> list[Chapter]:
    """Stored chapters (the `chapters` output) as Chapter values; [] when there are none."""
    try:
        items = json.loads(content or "[]")
    except ValueError:
        return []
    if isinstance(items, dict):  # tolerate {"chapters": [...]} as catalog.public_lesson does
        items = items.get("chapters", [])
    return chapters_from_json(items) if isinstance(items, list) else []


def chapters_outputs(chapters: Sequence[Chapter]) -> dict[str, str]:
    """Corrected chapters as the chapters and chapters_vtt contents."""
    return {"chapters": json.dumps(chapters_json(list(chapters)), ensure_ascii=False),
            "chapters_vtt": vtt.chapters_vtt(chapters)}


# -- summary -------------------------------------------------------------------------------------------------------

def check_summary(text: str) -> str:
    """A rewritten summary, trimmed, within the pipeline's length (SUMMARY_MAX_WORDS; Chinese by characters)."""
    lines = [" ".join(line.split()) for line in (text or "").replace("\r\n", "\n").split("\n")]
    clean = "\n".join(lines).strip()
    clean = re.sub(r"\n{3,}", "\n\n", clean)
    if not clean:
        raise EditError("empty_summary")
    size = text_size(clean)
    if size > SUMMARY_MAX_WORDS or len(clean) > MAX_SUMMARY_CHARS:
        raise EditError("summary_too_long", words=int(round(size)), max=SUMMARY_MAX_WORDS)
    return clean


def summary_outputs(text: str, previous: dict[str, Any] | None = None) -> dict[str, str]:
    """A checked summary as the summary content: the same document as the pipeline's, method "teacher"."""
    doc = {"summary": text, "method": "teacher", "model": None, "sentences": split_sentences(text),
           "pipeline_version": (previous or {}).get("pipeline_version")}
    return {"summary": json.dumps(doc, ensure_ascii=False)}
