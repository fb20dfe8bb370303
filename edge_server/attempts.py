"""The use cases over attempts and mastery: record an answer (grade, attempt, mastery, outbox in one transaction),
import attempt files, chapter views, the nightly fit, and the queries behind the progress pages. The rows are
written by edge_server/store/attempts.py (and a new pupil's by edge_server/store/people.py)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from edge_server import clock
from edge_server.catalog import get_exercise
from edge_server.domain import grading, mastery
from edge_server.identity import load_identity
from edge_server.settings import Settings
from edge_server.store import attempts as attempt_store
from edge_server.store import outbox, people
from edge_server.store.db import rows, write
from sync import statements


class UnknownExercise(LookupError):
    """The exercise id is not in the active catalog."""


class AttemptLineError(ValueError):
    """A line of an attempts file is malformed; the message starts with its line number."""


def ts_days(ts: str) -> float:
    """A stored timestamp in days since the epoch (for forgetting gaps)."""
    moment = datetime.fromisoformat(ts)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp() / mastery.SECONDS_PER_DAY


def box_identity(settings: Settings) -> tuple[str, bytes]:
    """The box id and secret that sign its statements (read from the keys directory)."""
    identity = load_identity(settings.keys_dir)
    return identity.box_id, identity.secret


# ---------------------------------------------------------------- parameters and mastery rows

def _recompute(db: sqlite_utils.Database, pupil_id: int, kp: str, params: mastery.Params) -> list[tuple[int, float]]:
    """Refilter a pupil's whole history on a KP; return (attempt id, p) where mastery was newly reached."""
    history = attempt_store.history(db, pupil_id, kp)
    if not history:
        attempt_store.delete_mastery(db, pupil_id, kp)
        return []
    steps = mastery.trace(params, [mastery.Attempt(bool(a["correct"]), mastery.clamp_difficulty(a["difficulty"]),
                                                   ts_days(a["ts"])) for a in history])
    crossings, was = [], False
    for attempt, s in zip(history, steps, strict=True):
        now = mastery.is_mastered(s.p_mastery)
        if now and not was:
            crossings.append((attempt["id"], s.p_mastery))
        was = now
    attempt_store.save_mastery(db, pupil_id, kp, steps[-1].p_mastery, len(history), history[-1]["ts"])
    return crossings


# ---------------------------------------------------------------- recording one answer

def _fold_attempt(db: sqlite_utils.Database, box: tuple[str, bytes], pupil_id: int, kp: str, item: str,
                  correct: bool, difficulty: int, ts: str, response: str | None, source: str,
                  kind: str | None = None, choice_index: int | None = None,
                  origin: AnswerOrigin | None = None) -> tuple[int, float | None]:
    """Insert an attempt, fold it into the mastery row and enqueue its statements (inside a transaction)."""
    params = attempt_store.kp_params(db, kp) if kp else mastery.DEFAULT_PARAMS
    previous = attempt_store.mastery_row(db, pupil_id, kp) if kp else None
    last = attempt_store.latest_ts(db, pupil_id, kp) if kp else None
    origin = origin or AnswerOrigin()
    attempt_id = attempt_store.insert_attempt(db, attempt_store.NewAttempt(
        pupil_id, kp or "", item, correct, response, difficulty, ts, source, origin.client_id, origin.received_at,
        origin.tablet_id))
    box_id, secret = box
    outbox.enqueue(db, statements.answered(
        box_id, secret, pupil_id=pupil_id, attempt_id=attempt_id, item_id=item, knowledge_point=kp or None,
        correct=correct, ts=ts, kind=kind, choice_index=choice_index, difficulty=difficulty))
    if not kp:
        return attempt_id, None
    if last is not None and last > ts:
        # An answer older than the latest one (clock fixed, paper marks, a tablet's queue sent after answers given
        # later elsewhere): refilter the whole history, so that mastery follows the order the answers were given.
        crossings = _recompute(db, pupil_id, kp, params)
        p = attempt_store.mastery_row(db, pupil_id, kp)
        p_now = float(p["p_mastery"]) if p else None
        crossings = [c for c in crossings if c[0] == attempt_id]
    else:
        gap = ts_days(ts) - ts_days(last) if last else 0.0
        s = mastery.step(params, previous["p_mastery"] if previous else None, correct, difficulty, gap)
        attempt_store.save_mastery(db, pupil_id, kp, s.p_mastery, attempt_store.count(db, pupil_id, kp), ts)
        p_now = s.p_mastery
        was = bool(previous["mastered"]) if previous else False
        crossings = [(attempt_id, s.p_mastery)] if mastery.is_mastered(s.p_mastery) and not was else []
    for crossing_id, p in crossings:
        outbox.enqueue(db, statements.mastered(box_id, secret, pupil_id=pupil_id, attempt_id=crossing_id,
                                               knowledge_point=kp, p_mastery=p, ts=ts))
    return attempt_id, p_now


@dataclass(frozen=True)
class AnswerOrigin:
    """Where an answer comes from: the id its tablet gave it (attempt_id, a UUID), when it was given on the box's
    clock (edge_server.domain.offline.answer_time; None: now), when the box received it, and the tablet's id."""

    client_id: str | None = None
    ts: str | None = None
    received_at: str | None = None
    tablet_id: str | None = None


def _stored_result(db: sqlite_utils.Database, pupil_id: int, client_id: str | None) -> dict[str, Any] | None:
    """The result recorded with a pupil's answer of this tablet id, or None when it is new."""
    if client_id is None:
        return None
    found = attempt_store.by_client_id(db, pupil_id, client_id)
    if found is None:
        return None
    return json.loads(found["result"]) if found["result"] else {"correct": bool(found["correct"])}


def record_attempt(db: sqlite_utils.Database, settings: Settings, pupil_id: int, exercise_id: str,
                   response: str, origin: AnswerOrigin | None = None, *, exercise: dict[str, Any] | None = None,
                   box: tuple[str, bytes] | None = None,
                   link: Callable[[sqlite_utils.Database, int], None] | None = None) -> dict[str, Any]:
    """Grade a pupil's answer and store attempt, mastery and xAPI statements in one transaction.

    With origin.client_id, the same id sent again by the same pupil records nothing more and returns the result
    stored the first time (a tablet resending its queue after a lost acknowledgement): the key "duplicate" says so.
    exercise (catalog.get_exercise's) and box (box_identity's): what the caller already read, not read again here.
    link(db, attempt id), when given, runs in the same transaction once a new attempt is stored (a quiz ties the
    attempt to itself there, edge_server/store/quizzes.py); an exception it raises stores nothing.
    """
    origin = origin or AnswerOrigin()
    known = _stored_result(db, pupil_id, origin.client_id)
    if known is not None:
        return {**known, "duplicate": True}
    if exercise is None:
        exercise = get_exercise(db, exercise_id)
    if exercise is None:
        raise UnknownExercise(f"no exercise {exercise_id!r} in the catalog")
    result = grading.grade(exercise, response)
    box = box or box_identity(settings)
    kp = exercise.get("knowledge_point") or ""
    difficulty = mastery.clamp_difficulty(exercise.get("difficulty"))
    received = origin.received_at or clock.now_iso()
    ts = origin.ts or received
    stamped = replace(origin, ts=ts, received_at=received)

    def _write(db: sqlite_utils.Database) -> dict[str, Any]:
        again = _stored_result(db, pupil_id, origin.client_id)  # sent twice at once: the first one won the lock
        if again is not None:
            return {**again, "duplicate": True}
        attempt_id, p = _fold_attempt(db, box, pupil_id, kp, exercise_id, result.correct, difficulty, ts,
                                      str(response), "box", exercise["kind"],
                                      result.choice_index, stamped)
        answer = {"correct": result.correct, "feedback": result.feedback,
                  "hint": None if result.correct else (exercise.get("hint") or None),
                  "p_mastery": None if p is None else round(p, 4)}
        attempt_store.set_result(db, attempt_id, answer)
        if link is not None:
            link(db, attempt_id)
        return answer

    return write(db, _write)


def record_chapter_view(db: sqlite_utils.Database, settings: Settings, pupil_id: int, lesson_id: str,
                        knowledge_point: str | None = None, start: float | None = None,
                        end: float | None = None, client_id: str | None = None, ts: str | None = None,
                        box: tuple[str, bytes] | None = None) -> int:
    """Store that a pupil watched a chapter, with its 'experienced' statement, in one transaction.

    With client_id (the tablet's id for this view), the same view sent again is stored once: its first id returns.
    box: box_identity's, when the caller already read it.
    """
    box_id, secret = box or box_identity(settings)
    ts = ts or clock.now_iso()

    def _write(db: sqlite_utils.Database) -> int:
        if client_id is not None:
            known = attempt_store.chapter_view_id(db, pupil_id, client_id)
            if known is not None:
                return known
        view_id = attempt_store.insert_chapter_view(db, pupil_id, lesson_id, knowledge_point, start, end, ts,
                                                    client_id)
        outbox.enqueue(db, statements.experienced(box_id, secret, pupil_id=pupil_id, view_id=view_id,
                                                  lesson_id=lesson_id, knowledge_point=knowledge_point, ts=ts,
                                                  start=start, end=end))
        return view_id

    return write(db, _write)


# ---------------------------------------------------------------- attempt files

@dataclass(frozen=True)
class AttemptLine:
    """One parsed line of an attempts file."""

    pupil: str
    pupil_name: str
    knowledge_point: str
    item: str
    correct: bool
    ts: str  # normalised ISO 8601 UTC
    difficulty: int | None = None

    def replay_line(self) -> mastery.ReplayLine:
        """The line as the replay needs it."""
        return mastery.ReplayLine(self.pupil, self.knowledge_point, self.correct, ts_days(self.ts),
                                  mastery.clamp_difficulty(self.difficulty))


def _parse_ts(value: Any) -> str:
    if isinstance(value, bool):
        raise ValueError("bad ts")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError("bad ts")
        moment = datetime.fromtimestamp(float(value), UTC)
    elif isinstance(value, str):
        text = value.strip()
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
    else:
        raise ValueError("bad ts")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _text_field(data: dict[str, Any], key: str, required: bool = True) -> str | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
        raise AttemptLineError(f'"{key}" must be a non-empty string')
    return str(value).strip()


def parse_attempt_line(text: str, lineno: int) -> AttemptLine | None:
    """Parse one JSON line (None for a blank line); raise AttemptLineError naming the line on any fault."""
    if not text.strip():
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AttemptLineError(f"line {lineno}: not JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise AttemptLineError(f"line {lineno}: expected a JSON object")
    try:
        pupil = _text_field(data, "pupil")
        name = _text_field(data, "pupil_name", required=False) or pupil
        kp = _text_field(data, "knowledge_point")
        item = _text_field(data, "item")
        correct = data.get("correct")
        if correct not in (True, False, 0, 1) or isinstance(correct, float):
            raise AttemptLineError('"correct" must be true or false')
        try:
            ts = _parse_ts(data.get("ts"))
        except (ValueError, OverflowError, OSError):
            raise AttemptLineError('"ts" must be an ISO 8601 time or seconds since 1970') from None
        difficulty = data.get("difficulty")
        if difficulty is not None and (isinstance(difficulty, bool) or difficulty not in (1, 2, 3)):
            raise AttemptLineError('"difficulty" must be 1, 2 or 3')
    except AttemptLineError as exc:
        raise AttemptLineError(f"line {lineno}: {exc}") from None
    return AttemptLine(pupil, name, kp, item, bool(correct), ts, difficulty)  # type: ignore[arg-type]


def parse_attempt_lines(lines: Iterable[str]) -> list[AttemptLine]:
    """Parse a whole file; the first malformed line rejects it."""
    parsed = []
    for lineno, text in enumerate(lines, start=1):
        line = parse_attempt_line(text, lineno)
        if line is not None:
            parsed.append(line)
    return parsed


def import_attempts(db: sqlite_utils.Database, settings: Settings, lines: Iterable[str]) -> dict[str, Any]:
    """Import an attempts file in one transaction: all lines or none (AttemptLineError names the bad line)."""
    parsed = parse_attempt_lines(lines)
    box = box_identity(settings)
    known_kps = {r["id"] for r in rows(db, "SELECT id FROM knowledge_points")}
    items = {r["id"]: r for r in rows(db, "SELECT id, difficulty, kind FROM exercises")}

    def _write(db: sqlite_utils.Database) -> dict[str, Any]:
        created = imported = duplicates = 0
        pupil_ids: dict[str, int] = {}
        touched: set[tuple[int, str]] = set()
        new_ids: set[int] = set()
        for line in parsed:
            if line.pupil not in pupil_ids:
                pupil_ids[line.pupil], was_created = people.ensure_pupil(db, line.pupil, line.pupil_name,
                                                                         clock.now_iso())
                created += was_created
            pupil_id = pupil_ids[line.pupil]
            if attempt_store.is_known(db, pupil_id, line.knowledge_point, line.ts, line.item, line.correct):
                duplicates += 1  # the same file imported twice adds nothing
                continue
            difficulty = line.difficulty or (items[line.item]["difficulty"] if line.item in items else None)
            attempt_id = attempt_store.insert_attempt(db, attempt_store.NewAttempt(
                pupil_id, line.knowledge_point, line.item, line.correct, None, difficulty, line.ts, "import"))
            outbox.enqueue(db, statements.answered(
                box[0], box[1], pupil_id=pupil_id, attempt_id=attempt_id, item_id=line.item,
                knowledge_point=line.knowledge_point, correct=line.correct, ts=line.ts, difficulty=difficulty))
            touched.add((pupil_id, line.knowledge_point))
            new_ids.add(attempt_id)
            imported += 1
        for pupil_id, kp in sorted(touched):
            for attempt_id, p in _recompute(db, pupil_id, kp, attempt_store.kp_params(db, kp)):
                if attempt_id in new_ids:
                    ts = attempt_store.attempt_ts(db, attempt_id)
                    outbox.enqueue(db, statements.mastered(box[0], box[1], pupil_id=pupil_id,
                                                           attempt_id=attempt_id, knowledge_point=kp,
                                                           p_mastery=p, ts=ts))
        return {"imported": imported, "duplicates": duplicates, "pupils_created": created,
                "unknown_knowledge_points": len({ln.knowledge_point for ln in parsed} - known_kps),
                "unknown_items": len({ln.item for ln in parsed} - set(items))}

    return write(db, _write)


# ---------------------------------------------------------------- export

EXPORT_FIELDS = ("pupil", "pupil_name", "knowledge_point", "item", "correct", "ts", "difficulty", "attempt_id",
                 "received_at")


def export_attempts(db: sqlite_utils.Database, class_id: int | None = None) -> tuple[list[dict[str, Any]], int]:
    """Attempts as the lines `attempts import` reads (pupil = the pupil's ref), oldest first, of one class or all;
    plus attempt_id (the tablet's id, or null) and received_at (when the box got it, or null). Attempts without a
    knowledge point cannot be such lines: they are left out and counted (the second value)."""
    where, params = ("WHERE p.class_id = ?", (class_id,)) if class_id is not None else ("", ())
    found = rows(db, "SELECT p.ref AS pupil, p.name AS pupil_name, a.knowledge_point, a.item, a.correct, a.ts, "
                     "a.difficulty, a.client_id AS attempt_id, a.received_at FROM attempts a "
                     f"JOIN pupils p ON p.id = a.pupil_id {where} ORDER BY a.ts, a.id", params)
    lines = [{**r, "correct": bool(r["correct"])} for r in found if r["knowledge_point"]]
    return lines, len(found) - len(lines)


def csv_cell(value: Any) -> Any:
    """A value for a CSV cell: true/false as JSON writes them; text starting with = + - @ would run as a formula in a
    spreadsheet (None: csv.writer writes an empty cell)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


# ---------------------------------------------------------------- nightly fit

def fit_all(settings: Settings, spec: mastery.ModelSpec = mastery.EXTENDED) -> dict[str, Any]:
    """Fit every KP's parameters from all attempts (EM), store them, and recompute every mastery row."""
    from edge_server.store.db import connect

    db = connect(settings.db_path)  # migrated where the box started (the scheduler's Box, cli.open_box)
    try:
        history = attempt_store.all_with_knowledge_point(db)
        by_kp: dict[str, dict[int, list[mastery.Attempt]]] = {}
        for a in history:
            by_kp.setdefault(a["knowledge_point"], {}).setdefault(a["pupil_id"], []).append(
                mastery.Attempt(bool(a["correct"]), mastery.clamp_difficulty(a["difficulty"]), ts_days(a["ts"])))
        fitted = mastery.fit_sequences({kp: list(seqs.values()) for kp, seqs in by_kp.items()}, spec)
        counts = {kp: sum(len(s) for s in seqs.values()) for kp, seqs in by_kp.items()}
        stamp = clock.now_iso()

        def _store(db: sqlite_utils.Database) -> int:
            for kp, params in fitted.items():
                attempt_store.save_kp_params(db, kp, params, counts[kp], stamp)
            recomputed = 0
            for kp, seqs in by_kp.items():
                for pupil_id in seqs:
                    _recompute(db, pupil_id, kp, fitted[kp])
                    recomputed += 1
            return recomputed

        recomputed = write(db, _store)
        return {"knowledge_points": len(fitted), "attempts": len(history), "mastery_rows": recomputed}
    finally:
        db.conn.close()


# ---------------------------------------------------------------- queries behind the progress pages

def pupil_mastery(db: sqlite_utils.Database, pupil_id: int) -> list[dict[str, Any]]:
    """A pupil's mastery rows with knowledge point names, by name."""
    return rows(db, "SELECT m.knowledge_point, COALESCE(kp.name, m.knowledge_point) AS name, m.p_mastery, "
                    "m.attempts, m.stuck, m.mastered, m.updated FROM mastery m "
                    "LEFT JOIN knowledge_points kp ON kp.id = m.knowledge_point WHERE m.pupil_id = ? "
                    "ORDER BY name COLLATE NOCASE", (pupil_id,))


def class_mastery(db: sqlite_utils.Database, class_id: int) -> list[dict[str, Any]]:
    """Every mastery row of a class's pupils."""
    return rows(db, "SELECT m.pupil_id, m.knowledge_point, m.p_mastery, m.attempts, m.stuck, m.mastered, m.updated "
                    "FROM mastery m JOIN pupils p ON p.id = m.pupil_id WHERE p.class_id = ?", (class_id,))


def knowledge_point_names(db: sqlite_utils.Database) -> dict[str, str]:
    """Names of the catalog's knowledge points by id."""
    return {r["id"]: r["name"] for r in rows(db, "SELECT id, name FROM knowledge_points")}


def class_knowledge_points(db: sqlite_utils.Database, class_id: int) -> list[str]:
    """Knowledge points of the lessons assigned to a class (in lesson order)."""
    return [r["knowledge_point_id"] for r in rows(
        db, "SELECT DISTINCT lk.knowledge_point_id FROM assignments a "
            "JOIN lesson_knowledge_points lk ON lk.lesson_id = a.lesson_id WHERE a.class_id = ? "
            "ORDER BY lk.lesson_id, lk.position", (class_id,))]


def _chapter_list(content: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(content)
    except (TypeError, ValueError):
        return []
    if isinstance(data, dict):  # both {"chapters": [...]} and a bare list are in use
        data = data.get("chapters", [])
    return [c for c in data if isinstance(c, dict) and isinstance(c.get("start"), int | float)] \
        if isinstance(data, list) else []


def teaching_material(db: sqlite_utils.Database, kps: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """For some KPs: lessons teaching them, their AI chapters tagged with them, and their exercises."""
    wanted = sorted(set(kps))
    if not wanted:
        return {"lessons": [], "chapters": [], "exercises": []}
    marks = ",".join("?" * len(wanted))
    lessons = rows(db, f"SELECT lk.lesson_id, l.title AS lesson_title, lk.knowledge_point_id AS knowledge_point, "
                       f"l.media_sha256 FROM lesson_knowledge_points lk JOIN lessons l ON l.id = lk.lesson_id "
                       f"WHERE lk.knowledge_point_id IN ({marks}) ORDER BY l.course_id, l.position", wanted)
    chapters = []
    shas = sorted({lesson["media_sha256"] for lesson in lessons if lesson["media_sha256"]})
    if shas:
        outputs = rows(db, f"SELECT media_sha256, content FROM ai_outputs WHERE kind = 'chapters' "
                           f"AND media_sha256 IN ({','.join('?' * len(shas))})", shas)
        by_sha = {o["media_sha256"]: _chapter_list(o["content"]) for o in outputs}
        seen = set()
        for lesson in lessons:
            if lesson["lesson_id"] in seen:
                continue
            seen.add(lesson["lesson_id"])
            for c in by_sha.get(lesson["media_sha256"], []):
                if c.get("knowledge_point") in wanted:
                    chapters.append({"lesson_id": lesson["lesson_id"], "lesson_title": lesson["lesson_title"],
                                     "knowledge_point": c["knowledge_point"], "start": float(c["start"]),
                                     "end": c.get("end"), "title": c.get("title") or ""})
    exercises = rows(db, f"SELECT id, lesson_id, knowledge_point, difficulty, prompt FROM exercises "
                         f"WHERE knowledge_point IN ({marks}) ORDER BY lesson_id, position", wanted)
    return {"lessons": [{k: v for k, v in lesson.items() if k != "media_sha256"} for lesson in lessons],
            "chapters": chapters, "exercises": exercises}


def solved_items(db: sqlite_utils.Database, pupil_id: int) -> set[str]:
    """Items a pupil has answered correctly at least once."""
    return {r["item"] for r in rows(db, "SELECT DISTINCT item FROM attempts WHERE pupil_id = ? AND correct = 1",
                                    (pupil_id,))}


def class_solved_items(db: sqlite_utils.Database, class_id: int) -> dict[int, set[str]]:
    """Items each pupil of a class has answered correctly at least once."""
    solved: dict[int, set[str]] = {}
    for r in rows(db, "SELECT DISTINCT a.pupil_id, a.item FROM attempts a JOIN pupils p ON p.id = a.pupil_id "
                      "WHERE p.class_id = ? AND a.correct = 1", (class_id,)):
        solved.setdefault(r["pupil_id"], set()).add(r["item"])
    return solved


def pupil_recent_answers(db: sqlite_utils.Database, pupil_id: int, limit: int = 20) -> list[dict[str, Any]]:
    """A pupil's latest answers, newest first, with prompts and KP names."""
    return rows(db, "SELECT a.ts, a.item, a.correct, a.knowledge_point, a.source, e.prompt, "
                    "COALESCE(kp.name, a.knowledge_point) AS knowledge_point_name FROM attempts a "
                    "LEFT JOIN exercises e ON e.id = a.item LEFT JOIN knowledge_points kp ON kp.id = a.knowledge_point "
                    "WHERE a.pupil_id = ? ORDER BY a.ts DESC, a.id DESC LIMIT ?", (pupil_id, limit))


def next_for_pupil(db: sqlite_utils.Database, pupil_id: int, limit: int = 6) -> list[dict[str, Any]]:
    """The pupil's "next for you" list: chapters and easier items for KPs not yet mastered (stuck first)."""
    from edge_server.store.people import get_pupil

    states = pupil_mastery(db, pupil_id)
    pupil = get_pupil(db, pupil_id)
    if pupil and pupil.get("class_id"):
        names = knowledge_point_names(db)
        seen = {s["knowledge_point"] for s in states}
        for kp in class_knowledge_points(db, pupil["class_id"]):
            if kp not in seen:
                seen.add(kp)
                states.append({"knowledge_point": kp, "name": names.get(kp, kp), "attempts": 0, "stuck": False,
                               "p_mastery": attempt_store.kp_params(db, kp).prior})
    material = teaching_material(db, [s["knowledge_point"] for s in states])
    return mastery.recommend(states, material["chapters"], material["exercises"], solved_items(db, pupil_id),
                             limit=limit, lessons=material["lessons"])
