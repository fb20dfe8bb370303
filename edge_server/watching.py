"""Pupils' watching of lessons: the player's progress beacon, and what a lesson report is made from.

The player (static/watching.js) sends a beat every 15 s of playing, on pause and when the page goes: the position,
the furthest point played, the wall-clock seconds played since its last beat, and each jump back to a part already
played. The box believes a beat only so far: positions within the lesson, seconds played never more than the time
since the pupil's last beat (plus a little slack), a few replays per beat, BEATS_PER_MINUTE beats a minute per pupil.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from edge_server import catalog
from edge_server.domain import lesson_reports
from edge_server.domain.output_edits import read_chapters
from edge_server.store import people, rate_limits
from edge_server.store.db import one, rows, write

MAX_POSITION_S = 86_400.0
FIRST_BEAT_MAX_S = 60.0  # the first beat of a pupil and lesson: the player beats every 15 s of playing
SLACK_S = 5.0
MAX_REPLAYS = 20
BEATS_PER_MINUTE = 30


class BadBeat(ValueError):
    """A beat the box cannot read; the message says which field."""


@dataclass(frozen=True)
class Beat:
    position: float
    furthest: float
    played: float
    duration: float | None
    replays: tuple[float, ...]


def _number(payload: dict[str, Any], name: str, default: float | None = 0.0) -> float | None:
    value = payload.get(name, default)
    if value is None and default is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BadBeat(f"{name} must be a number of seconds")
    if not 0 <= value <= MAX_POSITION_S:
        raise BadBeat(f"{name} is out of range")
    return float(value)


def parse_beat(payload: Any) -> Beat:
    """A beat from the player's JSON; BadBeat when a field is missing, not a number or out of range."""
    if not isinstance(payload, dict):
        raise BadBeat("a beat is a JSON object")
    replays = payload.get("replays") or []
    if not isinstance(replays, list) or len(replays) > MAX_REPLAYS:
        raise BadBeat(f"replays must be a list of at most {MAX_REPLAYS} positions")
    positions = tuple(_number({"replay": r}, "replay") or 0.0 for r in replays)
    duration = _number(payload, "duration", None)
    return Beat(position=_number(payload, "position") or 0.0, furthest=_number(payload, "furthest") or 0.0,
                played=_number(payload, "played") or 0.0, duration=duration or None, replays=positions)


def credit(played: float, last_beat: float | None, now: float) -> float:
    """The seconds of a beat that count: at most the time since the pupil's last beat on this lesson (plus slack),
    or FIRST_BEAT_MAX_S for a first beat, so no beat can claim more time than has passed."""
    if last_beat is None:
        return min(played, FIRST_BEAT_MAX_S)
    return max(0.0, min(played, now - last_beat + SLACK_S))


def record_beat(db: sqlite_utils.Database, pupil_id: int, lesson_id: str, beat: Beat,
                now: float | None = None) -> dict[str, float] | None:
    """Store one beat in one transaction; the pupil's totals for the lesson, or None when the pupil sends beats too
    fast (then nothing but the count is stored)."""
    now = time.time() if now is None else now
    stamp = datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds")

    def store(tx: sqlite_utils.Database) -> dict[str, float] | None:
        taken, _ends = rate_limits.hit(tx.conn, f"watch/{pupil_id}", 60, now)
        if taken > BEATS_PER_MINUTE:
            return None
        old = one(tx, "SELECT furthest, seconds, duration, last_beat FROM lesson_watching "
                      "WHERE pupil_id = ? AND lesson_id = ?", (pupil_id, lesson_id))
        duration = beat.duration or (old or {}).get("duration")
        # the furthest point *played* (the player tracks it); a seek alone moves the position, not this
        reach = min(beat.furthest, duration) if duration else beat.furthest
        furthest = max((old or {}).get("furthest") or 0.0, reach)
        seconds = ((old or {}).get("seconds") or 0.0) + credit(beat.played, (old or {}).get("last_beat"), now)
        tx.execute("INSERT INTO lesson_watching (pupil_id, lesson_id, furthest, seconds, duration, first_seen, "
                   "last_seen, last_beat) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(pupil_id, lesson_id) DO UPDATE "
                   "SET furthest = excluded.furthest, seconds = excluded.seconds, duration = excluded.duration, "
                   "last_seen = excluded.last_seen, last_beat = excluded.last_beat",
                   (pupil_id, lesson_id, furthest, seconds, duration, stamp, stamp, now))
        for at in beat.replays:
            if duration is None or at <= duration:
                tx.execute("INSERT INTO lesson_replays (pupil_id, lesson_id, at, ts) VALUES (?, ?, ?, ?)",
                           (pupil_id, lesson_id, at, stamp))
        return {"furthest": furthest, "seconds": seconds}

    return write(db, store)


def known_lesson(db: sqlite_utils.Database, lesson_id: str) -> bool:
    """True when the lesson is on the box."""
    return one(db, "SELECT id FROM lessons WHERE id = ?", (lesson_id,)) is not None


def furthest(db: sqlite_utils.Database, pupil_id: int, lesson_id: str) -> float:
    """How far a pupil has played a lesson (the player starts counting replays from there)."""
    found = one(db, "SELECT furthest FROM lesson_watching WHERE pupil_id = ? AND lesson_id = ?", (pupil_id, lesson_id))
    return float(found["furthest"]) if found else 0.0


# -- what a report is made from ------------------------------------------------------------------------------------

def _outputs(db: sqlite_utils.Database, lesson: dict[str, Any]) -> dict[str, Any]:
    media = lesson.get("media") or {}
    return catalog.ai_outputs(db, media.get("sha256"))


def lesson_duration(outputs: dict[str, Any], chapters: list[Any], reported: list[float]) -> float | None:
    """The lesson's length: the transcript's, else the longest the players reported, else where the chapters end."""
    try:
        transcript = json.loads(outputs["transcript"]["content"]) if "transcript" in outputs else {}
    except ValueError:
        transcript = {}
    value = float((transcript or {}).get("duration") or 0.0) or max(reported, default=0.0)
    return value or (chapters[-1].end if chapters else None) or None


def report_for(db: sqlite_utils.Database, class_id: int, lesson_id: str) -> lesson_reports.LessonReport | None:
    """The lesson's report over one class's pupils; None for an unknown lesson."""
    lesson = catalog.get_lesson(db, lesson_id)
    if lesson is None:
        return None
    pupils = [lesson_reports.Pupil(p["id"], p["name"], p["ref"]) for p in people.pupils_in_class(db, class_id)]
    of_class = "SELECT id FROM pupils WHERE class_id = ?"
    outputs = _outputs(db, lesson)
    chapters = read_chapters(outputs["chapters"]["content"]) if "chapters" in outputs else []
    watching = rows(db, f"SELECT pupil_id, furthest, seconds, duration, last_seen FROM lesson_watching "
                        f"WHERE lesson_id = ? AND pupil_id IN ({of_class})", (lesson_id, class_id))
    views = rows(db, f"SELECT pupil_id, start, end, ts FROM chapter_views WHERE lesson_id = ? "
                     f"AND pupil_id IN ({of_class})", (lesson_id, class_id))
    exercise_ids = [ex["id"] for ex in lesson["exercises"]]
    answers = []
    if exercise_ids:
        marks = ",".join("?" * len(exercise_ids))
        answers = rows(db, f"SELECT pupil_id, item, correct, ts FROM attempts WHERE item IN ({marks}) "
                           f"AND pupil_id IN ({of_class})", (*exercise_ids, class_id))
    replays = rows(db, f"SELECT pupil_id, at FROM lesson_replays WHERE lesson_id = ? AND pupil_id IN ({of_class})",
                   (lesson_id, class_id))
    duration = lesson_duration(outputs, chapters, [w["duration"] for w in watching if w["duration"]])
    return lesson_reports.lesson_report(
        pupils, duration, chapters, len(exercise_ids),
        [lesson_reports.Watching(w["pupil_id"], w["furthest"], w["seconds"], w["last_seen"]) for w in watching],
        [lesson_reports.ChapterView(v["pupil_id"], v["start"], v["end"], v["ts"]) for v in views],
        [lesson_reports.Answer(a["pupil_id"], a["item"], bool(a["correct"]), a["ts"]) for a in answers],
        [lesson_reports.Replay(r["pupil_id"], r["at"]) for r in replays])


def class_lessons(db: sqlite_utils.Database, class_id: int) -> list[dict[str, Any]]:
    """The lessons a class may open (its assigned ones, or all when none are), each with how many of its pupils
    watched it and answered its exercises."""
    assigned = people.assigned_lesson_ids(db, class_id)
    lessons = [lesson for lesson in people.lesson_titles(db) if not assigned or lesson["id"] in assigned]
    of_class = "SELECT id FROM pupils WHERE class_id = ?"
    watched = {r["lesson_id"]: r["n"] for r in rows(
        db, f"SELECT lesson_id, COUNT(DISTINCT pupil_id) AS n FROM (SELECT lesson_id, pupil_id FROM lesson_watching "
            f"UNION SELECT lesson_id, pupil_id FROM chapter_views) WHERE pupil_id IN ({of_class}) GROUP BY lesson_id",
        (class_id,))}
    answered = {r["lesson_id"]: r["n"] for r in rows(
        db, f"SELECT e.lesson_id, COUNT(DISTINCT a.pupil_id) AS n FROM attempts a JOIN exercises e ON e.id = a.item "
            f"WHERE a.pupil_id IN ({of_class}) GROUP BY e.lesson_id", (class_id,))}
    return [{**lesson, "watched": watched.get(lesson["id"], 0), "answered": answered.get(lesson["id"], 0)}
            for lesson in lessons]
