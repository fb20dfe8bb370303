"""A lesson's report for one class (pure): who watched and how far, who answered, time spent, chapters replayed.

Inputs are plain records read by edge_server.watching: each pupil's watching row (furthest point played, seconds
played: the player's beacon), the chapters they played through (chapter_views, which tablets also send when they
were offline), their answers to the lesson's exercises, and each jump back to a part already played (a position).
Replays are counted against the lesson's chapters as they are now, so a chapter a teacher corrected keeps the
replays that fall inside it: many replays of one chapter is a sign that its explanation lost the class.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from models.types import Chapter


@dataclass(frozen=True)
class Pupil:
    id: int
    name: str
    ref: str


@dataclass(frozen=True)
class Watching:
    """What the player's beacon recorded for one pupil and lesson."""

    pupil_id: int
    furthest: float
    seconds: float
    last_seen: str | None = None


@dataclass(frozen=True)
class ChapterView:
    """A chapter a pupil played through (chapter_views)."""

    pupil_id: int
    start: float | None
    end: float | None
    ts: str | None = None


@dataclass(frozen=True)
class Answer:
    """One answer to one of the lesson's exercises."""

    pupil_id: int
    exercise_id: str
    correct: bool
    ts: str | None = None


@dataclass(frozen=True)
class Replay:
    """A jump back to a part of the lesson already played: where it landed."""

    pupil_id: int
    at: float


@dataclass(frozen=True)
class PupilRow:
    pupil: Pupil
    watched: bool
    furthest: float
    percent: int | None  # of the lesson's duration; None when the duration is unknown
    seconds: float
    answered: int  # distinct exercises answered
    correct: int  # distinct exercises answered right at least once
    attempts: int
    replays: int
    last_seen: str | None
    chapter_replays: tuple[int, ...] = ()  # replays in each chapter, in the lesson's chapter order


@dataclass(frozen=True)
class ChapterRow:
    index: int
    chapter: Chapter
    replays: int
    pupils: int  # distinct pupils who replayed it


@dataclass(frozen=True)
class LessonReport:
    duration: float | None
    exercises: int
    pupils: list[PupilRow]
    chapters: list[ChapterRow]
    most_replayed: list[ChapterRow] = field(default_factory=list)  # replayed at least once, most first

    @property
    def watched(self) -> int:
        return sum(1 for p in self.pupils if p.watched)

    @property
    def answered(self) -> int:
        return sum(1 for p in self.pupils if p.answered)

    @property
    def mean_percent(self) -> int | None:
        """Mean share of the lesson watched among pupils who started it."""
        values = [p.percent for p in self.pupils if p.watched and p.percent is not None]
        return round(sum(values) / len(values)) if values else None

    @property
    def total_seconds(self) -> float:
        return sum(p.seconds for p in self.pupils)


def chapter_at(chapters: Sequence[Chapter], at: float) -> int | None:
    """The index of the chapter that holds a position (the last one holds its own end), or None without chapters."""
    if not chapters:
        return None
    found = 0
    for i, chapter in enumerate(chapters):
        if at >= chapter.start:
            found = i
    return found


def lesson_report(pupils: Sequence[Pupil], duration: float | None, chapters: Sequence[Chapter], exercises: int,
                  watching: Sequence[Watching], views: Sequence[ChapterView], answers: Sequence[Answer],
                  replays: Sequence[Replay]) -> LessonReport:
    """Aggregate one lesson for one class's pupils (records of other pupils are ignored)."""
    ids = {p.id for p in pupils}
    by_pupil = {w.pupil_id: w for w in watching if w.pupil_id in ids}
    viewed_to: dict[int, float] = {}
    viewed_last: dict[int, str] = {}
    for v in views:
        if v.pupil_id in ids:
            viewed_to[v.pupil_id] = max(viewed_to.get(v.pupil_id, 0.0), float(v.end or v.start or 0.0))
            if v.ts:
                viewed_last[v.pupil_id] = max(viewed_last.get(v.pupil_id, ""), v.ts)
    answered: dict[int, set[str]] = {}
    right: dict[int, set[str]] = {}
    attempts: Counter[int] = Counter()
    answer_last: dict[int, str] = {}
    for a in answers:
        if a.pupil_id not in ids:
            continue
        attempts[a.pupil_id] += 1
        answered.setdefault(a.pupil_id, set()).add(a.exercise_id)
        if a.correct:
            right.setdefault(a.pupil_id, set()).add(a.exercise_id)
        if a.ts:
            answer_last[a.pupil_id] = max(answer_last.get(a.pupil_id, ""), a.ts)
    mine = [(r, chapter_at(chapters, r.at)) for r in replays if r.pupil_id in ids]
    replay_count = Counter(r.pupil_id for r, _ in mine)
    pupil_chapter = Counter((r.pupil_id, index) for r, index in mine)
    rows = []
    for p in pupils:
        w = by_pupil.get(p.id)
        furthest = max(w.furthest if w else 0.0, viewed_to.get(p.id, 0.0))
        if duration:
            furthest = min(furthest, duration)
        seen = [t for t in ((w.last_seen if w else None), viewed_last.get(p.id), answer_last.get(p.id)) if t]
        rows.append(PupilRow(
            pupil=p, watched=w is not None or p.id in viewed_to, furthest=furthest,
            percent=round(100 * furthest / duration) if duration else None, seconds=w.seconds if w else 0.0,
            answered=len(answered.get(p.id, ())), correct=len(right.get(p.id, ())), attempts=attempts[p.id],
            replays=replay_count[p.id], last_seen=max(seen) if seen else None,
            chapter_replays=tuple(pupil_chapter[(p.id, i)] for i in range(len(chapters)))))
    per_chapter: Counter[int] = Counter()
    who: dict[int, set[int]] = {}
    for r, index in mine:
        if index is not None:
            per_chapter[index] += 1
            who.setdefault(index, set()).add(r.pupil_id)
    chapter_rows = [ChapterRow(i, c, per_chapter[i], len(who.get(i, ()))) for i, c in enumerate(chapters)]
    most = sorted((c for c in chapter_rows if c.replays), key=lambda c: (-c.replays, -c.pupils, c.index))
    return LessonReport(duration=duration, exercises=exercises, pupils=rows, chapters=chapter_rows,
                        most_replayed=most)


CSV_HEADER = ["pupil", "pupil_ref", "watched", "furthest_s", "watched_percent", "seconds_watched", "replays",
              "exercises_answered", "exercises_correct", "exercises_total", "answers", "last_seen"]


def csv_rows(report: LessonReport) -> list[list[object]]:
    """The report as CSV rows: a header, then one row per pupil, with one column of replays per chapter."""
    header = CSV_HEADER + [f"replays {_clock(c.chapter.start)} {c.chapter.title}" for c in report.chapters]
    out: list[list[object]] = [header]
    for row in report.pupils:
        out.append([row.pupil.name, row.pupil.ref, int(row.watched), round(row.furthest, 1),
                    "" if row.percent is None else row.percent, round(row.seconds), row.replays, row.answered,
                    row.correct, report.exercises, row.attempts, row.last_seen or "", *row.chapter_replays])
    return out


def _clock(seconds: float) -> str:
    total = int(seconds)
    return f"{total // 60}:{total % 60:02d}"
