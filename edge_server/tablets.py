"""Tablets that work offline: what a pupil's tablet keeps, the answers it sends back, and what the teacher sees.

A tablet is a browser with the box's service worker (static/sw.js). It names itself with a random id kept in its
IndexedDB, and it holds, per pupil who logged in on it, a sync token: a signed, write-only credential for sending
that pupil's queued answers and chapter views after the login session has ended (a take-home lesson answered in
the evening comes back the next morning, before anyone logs in). A token names the pupil and the tablet, ends
after settings.tablet_token_days, and stops working as soon as the pupil's PIN or picture password changes.

Pure rules (answer ids and times, take-home windows) live in edge_server.domain.offline; picture passwords in
edge_server.picture_login.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils
from itsdangerous import BadSignature, URLSafeSerializer

from edge_server import attempts, catalog, clock
from edge_server.domain import offline
from edge_server.settings import Settings
from edge_server.store import people
from edge_server.store.db import one, rows, write

TOKEN_SALT = "edge-server/tablet-sync"
TABLET_ID = re.compile(r"^[A-Za-z0-9-]{8,64}$")
MAX_BATCH = 100  # answers, and views, per sync request (the client sends 50 at a time)
MAX_LESSONS_REPORTED = 500
SHELL = ("/static/box.css", "/static/box.js", "/static/tablet.js", "/static/tablet-store.js",
         "/manifest.webmanifest", "/static/icon.svg")


class SyncRefused(PermissionError):
    """The sync token is missing, forged, expired, for another tablet, or from before a new PIN."""


def valid_tablet_id(value: Any) -> str | None:
    """A tablet's id as it named itself (letters, digits and dashes), else None."""
    return value if isinstance(value, str) and TABLET_ID.match(value) else None


# ---------------------------------------------------------------- sync tokens

def _credential_mark(db: sqlite_utils.Database, pupil_id: int) -> str | None:
    """A short digest of the pupil's PIN and picture password hashes: a new one of either ends older tokens."""
    row = one(db, "SELECT pin_hash, picture_password_hash FROM pupils WHERE id = ?", (pupil_id,))
    if row is None:
        return None
    material = f"{row['pin_hash'] or ''}|{row['picture_password_hash'] or ''}".encode()
    return hashlib.sha256(material).hexdigest()[:16]


def issue_token(db: sqlite_utils.Database, secret: str, settings: Settings, pupil_id: int, tablet_id: str,
                now: float | None = None) -> str:
    """A sync token for this pupil's answers from this tablet."""
    now = time.time() if now is None else now
    expires = int(now + settings.tablet_token_days * 86_400)
    payload = {"p": pupil_id, "t": tablet_id, "e": expires, "k": _credential_mark(db, pupil_id)}
    return URLSafeSerializer(secret, salt=TOKEN_SALT).dumps(payload)


def check_token(db: sqlite_utils.Database, secret: str, token: Any, tablet_id: str,
                now: float | None = None) -> int:
    """The pupil id a sync token speaks for; SyncRefused (with the reason) otherwise."""
    now = time.time() if now is None else now
    if not isinstance(token, str) or len(token) > 500:
        raise SyncRefused("no sync token: log in on this tablet once")
    try:
        payload = URLSafeSerializer(secret, salt=TOKEN_SALT).loads(token)
    except BadSignature:
        raise SyncRefused("the sync token is not this box's") from None
    if not isinstance(payload, dict) or payload.get("t") != tablet_id or not isinstance(payload.get("p"), int):
        raise SyncRefused("the sync token belongs to another tablet")
    if not isinstance(payload.get("e"), int) or payload["e"] <= now:
        raise SyncRefused("the sync token has expired: log in on this tablet again")
    if _credential_mark(db, payload["p"]) != payload.get("k"):
        raise SyncRefused("the pupil's PIN or pictures changed since: log in on this tablet again")
    return payload["p"]


# ---------------------------------------------------------------- what a tablet keeps

def media_budget_mb(db: sqlite_utils.Database, class_id: int | None) -> int:
    """The most lesson media (MB) a tablet of this class keeps offline (0: none, or no class)."""
    row = one(db, "SELECT media_budget_mb FROM classes WHERE id = ?", (class_id,)) if class_id else None
    return row["media_budget_mb"] if row else 0


def set_media_budget(db: sqlite_utils.Database, class_id: int, megabytes: int) -> None:
    """The most lesson media a tablet of this class keeps offline (0: none)."""
    if not 0 <= megabytes <= 100_000:
        raise ValueError("a media budget is 0 to 100000 MB")
    people.set_media_budget(db, class_id, megabytes)


def take_home(db: sqlite_utils.Database, class_id: int, now: datetime | None = None) -> dict[str, str]:
    """The class's take-home lessons still running: lesson id -> until (ISO 8601)."""
    stamp = offline.iso(now or clock.now())
    return {r["lesson_id"]: r["until"] for r in rows(
        db, "SELECT lesson_id, until FROM take_home WHERE class_id = ? AND until > ? ORDER BY lesson_id",
        (class_id, stamp))}


def set_take_home(db: sqlite_utils.Database, class_id: int, lesson_ids: set[str], days: int,
                  now: datetime | None = None) -> str:
    """Make exactly these lessons the class's take-home lessons for `days` days from now; return the end."""
    until = offline.iso(offline.take_home_until(now or clock.now(), days))
    created = offline.iso(now or clock.now())

    def _replace(tx: sqlite_utils.Database) -> None:
        tx.execute("DELETE FROM take_home WHERE class_id = ?", (class_id,))
        for lesson_id in sorted(lesson_ids):
            tx.execute("INSERT INTO take_home (class_id, lesson_id, until, created) VALUES (?, ?, ?, ?)",
                       (class_id, lesson_id, until, created))

    write(db, _replace)
    return until


def visible_lessons(db: sqlite_utils.Database, pupil: dict[str, Any]) -> set[str] | None:
    """The lessons a pupil may open: the class's assigned lessons and running take-home lessons, or None (every
    lesson) when the class has no assignment."""
    if not pupil.get("class_id"):
        return None
    assigned = people.assigned_lesson_ids(db, pupil["class_id"])
    if not assigned:
        return None
    return assigned | set(take_home(db, pupil["class_id"]))


@dataclass(frozen=True)
class KeptLesson:
    """One lesson as a tablet keeps it."""

    id: str
    title: str
    urls: tuple[str, ...]  # pages and documents, always kept
    media_url: str | None
    media_size: int
    take_home_until: str | None


def plan_media(lessons: list[KeptLesson], budget_bytes: int) -> list[str]:
    """Which lessons' media a tablet keeps: take-home lessons first, then the others in order, each one that still
    fits in the budget (pure)."""
    chosen, left = [], budget_bytes
    ordered = sorted(lessons, key=lambda lesson: lesson.take_home_until is None)  # stable: take-home first
    for lesson in ordered:
        if lesson.media_url and 0 < lesson.media_size <= left:
            chosen.append(lesson.id)
            left -= lesson.media_size
    return chosen


def _lesson_urls(lesson: dict[str, Any]) -> tuple[str, ...]:
    urls = [f"/lesson/{lesson['id']}", f"/api/v1/lessons/{lesson['id']}", f"/tablet/lesson/{lesson['id']}/keys.json"]
    urls += [u for u in (lesson.get("captions_url"), lesson.get("chapters_url")) if u]
    return tuple(urls)


def offline_plan(db: sqlite_utils.Database, pupil: dict[str, Any], visible: set[str] | None,
                 now: datetime | None = None) -> dict[str, Any]:
    """What the pupil's tablet keeps: the app shell, the lessons list, each visible lesson (page, document, answer
    keys, tracks) and, within the class's media budget, their media. `visible` is None for every lesson."""
    home = take_home(db, pupil["class_id"], now) if pupil.get("class_id") else {}
    hidden = catalog.hidden_channels(db, signed_in=True, now=now)
    kept = []
    for row in rows(db, "SELECT l.id, l.channel_id FROM lessons l LEFT JOIN courses c ON c.id = l.course_id "
                        "ORDER BY c.position, l.course_id, l.position"):
        if row["channel_id"] in hidden or (visible is not None and row["id"] not in visible):
            continue
        lesson = catalog.public_lesson(db, row["id"])
        if lesson is None:
            continue
        media = lesson.get("media") or {}
        kept.append(KeptLesson(lesson["id"], lesson["title"], _lesson_urls(lesson), media.get("url"),
                               int(media.get("size") or 0), home.get(lesson["id"])))
    budget = int(media_budget_mb(db, pupil.get("class_id"))) * 1024 * 1024
    with_media = set(plan_media(kept, budget))
    return {
        "pupil": pupil["ref"],
        "shell": list(SHELL),
        "pages": ["/lessons"],
        "media_budget_bytes": budget,
        "lessons": [{"id": k.id, "title": k.title, "urls": list(k.urls), "take_home_until": k.take_home_until,
                     "media": ({"url": k.media_url, "size": k.media_size, "keep": k.id in with_media}
                               if k.media_url else None)} for k in kept],
    }


def offline_keys(db: sqlite_utils.Database, lesson_id: str) -> dict[str, Any]:
    """The answers a tablet needs to give feedback offline: choice and number exercises only (text answers are
    judged by the box when they arrive)."""
    lesson = catalog.get_lesson(db, lesson_id)
    keys: dict[str, Any] = {}
    for ex in (lesson or {}).get("exercises", []):
        if ex["kind"] == "choice":
            answer = ex["answer"] if isinstance(ex["answer"], list) else [ex["answer"]]
            keys[ex["id"]] = {"kind": "choice", "answer": [int(a) for a in answer]}
        elif ex["kind"] == "number":
            answer = ex["answer"] if isinstance(ex["answer"], list) else [ex["answer"]]
            keys[ex["id"]] = {"kind": "number", "answer": [a if isinstance(a, int | float) else str(a) for a in answer],
                              "tolerance": ex.get("tolerance")}
    return {"lesson": lesson_id, "exercises": keys}


# ---------------------------------------------------------------- answers and views coming back

def answer_origin(item: dict[str, Any], tablet_id: Any = None) -> attempts.AnswerOrigin:
    """An answer's attempt_id and device time (corrected by the clock offset it carries) from a request body;
    offline.BadAnswerOrigin when one is malformed."""
    received = clock.now()
    client_id = offline.attempt_id(item.get("attempt_id"))
    ts = offline.answer_time(item.get("answered_at"), item.get("clock_offset_ms"), received)
    return attempts.AnswerOrigin(client_id, offline.iso(ts), offline.iso(received), valid_tablet_id(tablet_id))


def _sync_answer(db: sqlite_utils.Database, settings: Settings, box: tuple[str, bytes] | None, pupil_id: int,
                 tablet_id: str, item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        return {"attempt_id": None, "status": "refused", "error": "not an object"}
    try:
        origin = answer_origin(item, tablet_id)
    except offline.BadAnswerOrigin as exc:
        return {"attempt_id": item.get("attempt_id"), "status": "refused", "error": str(exc)}
    if origin.client_id is None:
        return {"attempt_id": None, "status": "refused", "error": "attempt_id is required"}
    exercise = catalog.get_exercise(db, str(item.get("exercise_id", "")))
    response = str(item.get("response", "")).strip()[:200]
    if exercise is None or exercise["lesson_id"] != item.get("lesson_id"):
        return {"attempt_id": origin.client_id, "status": "refused", "error": "no such exercise in that lesson"}
    if not response:
        return {"attempt_id": origin.client_id, "status": "refused", "error": "empty response"}
    result = attempts.record_attempt(db, settings, pupil_id, exercise["id"], response, origin, exercise=exercise,
                                     box=box)
    duplicate = bool(result.pop("duplicate", False))
    return {"attempt_id": origin.client_id, "status": "duplicate" if duplicate else "recorded", "result": result}


def _sync_view(db: sqlite_utils.Database, settings: Settings, box: tuple[str, bytes] | None, pupil_id: int,
               item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        return {"view_id": None, "status": "refused", "error": "not an object"}
    try:
        client_id = offline.attempt_id(item.get("view_id"))
        ts = offline.answer_time(item.get("watched_at"), item.get("clock_offset_ms"), clock.now())
        start, end = float(item.get("start", 0)), float(item.get("end", 0))
    except (offline.BadAnswerOrigin, TypeError, ValueError) as exc:
        return {"view_id": item.get("view_id"), "status": "refused", "error": str(exc)}
    lesson = catalog.get_lesson(db, str(item.get("lesson_id", "")))
    kp = item.get("knowledge_point")
    if client_id is None or lesson is None or (kp is not None and kp not in {k["id"] for k in
                                                                               lesson["knowledge_points"]}):
        return {"view_id": client_id, "status": "refused", "error": "no such lesson or knowledge point"}
    attempts.record_chapter_view(db, settings, pupil_id, lesson["id"], kp, start, end, client_id, offline.iso(ts),
                                 box)
    return {"view_id": client_id, "status": "recorded"}


def _int_or_none(value: Any, low: int, high: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(min(max(value, low), high))


def note_tablet(db: sqlite_utils.Database, tablet_id: str, pupil_id: int, state: dict[str, Any],
                synced: int) -> None:
    """Remember what a tablet said at this contact: its pupil, clock offset, answers still waiting, the lessons it
    holds offline, its storage use and any storage error, and how many new answers it brought."""
    pupil = one(db, "SELECT class_id FROM pupils WHERE id = ?", (pupil_id,))
    lessons = state.get("lessons")
    lessons = [str(x)[:200] for x in lessons[:MAX_LESSONS_REPORTED]] if isinstance(lessons, list) else None
    error = state.get("storage_error")
    error = str(error)[:200] if error else None
    now = offline.iso(clock.now())

    def _upsert(tx: sqlite_utils.Database) -> None:
        tx.execute(
            "INSERT INTO tablets (id, pupil_id, class_id, first_seen, last_seen, clock_offset_ms, waiting, lessons, "
            "storage_bytes, storage_error, last_sync, synced_answers) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET pupil_id = excluded.pupil_id, class_id = excluded.class_id, "
            "last_seen = excluded.last_seen, clock_offset_ms = excluded.clock_offset_ms, waiting = excluded.waiting, "
            "lessons = COALESCE(excluded.lessons, tablets.lessons), storage_bytes = excluded.storage_bytes, "
            "storage_error = excluded.storage_error, last_sync = COALESCE(excluded.last_sync, tablets.last_sync), "
            "synced_answers = tablets.synced_answers + excluded.synced_answers",
            (tablet_id, pupil_id, pupil["class_id"] if pupil else None, now, now,
             _int_or_none(state.get("clock_offset_ms"), -10**12, 10**12),
             _int_or_none(state.get("waiting"), 0, 10**6) or 0,
             json.dumps(lessons) if lessons is not None else None,
             _int_or_none(state.get("storage_bytes"), 0, 10**13), error, now if synced else None, synced))

    write(db, _upsert)


def sync(db: sqlite_utils.Database, settings: Settings, secret: str, body: Any,
         box: tuple[str, bytes] | None = None) -> dict[str, Any]:
    """One sync request of a tablet: {"tablet", "token", "answers": [...], "views": [...], "state": {...}}.

    Each answer is recorded at most once whatever the number of times it is sent (its attempt_id), in the order
    given (the tablet sends them in the order they were answered); the reply says, per answer, "recorded",
    "duplicate" (with the result stored the first time) or "refused" (with why: the tablet drops it).
    Raises SyncRefused for a bad token and ValueError for a malformed body.
    """
    if not isinstance(body, dict):
        raise ValueError("expected a JSON object")
    tablet_id = valid_tablet_id(body.get("tablet"))
    if tablet_id is None:
        raise ValueError("tablet must be the tablet's id")
    answers, views = body.get("answers") or [], body.get("views") or []
    if not isinstance(answers, list) or not isinstance(views, list):
        raise ValueError("answers and views must be lists")
    if len(answers) > MAX_BATCH or len(views) > MAX_BATCH:
        raise ValueError(f"at most {MAX_BATCH} answers and {MAX_BATCH} views per request")
    pupil_id = check_token(db, secret, body.get("token"), tablet_id)
    if box is None and (answers or views):  # once per request, not once per answer (the app passes its Box's)
        box = attempts.box_identity(settings)
    answered = [_sync_answer(db, settings, box, pupil_id, tablet_id, item) for item in answers]
    watched = [_sync_view(db, settings, box, pupil_id, item) for item in views]
    state = body.get("state") if isinstance(body.get("state"), dict) else {}
    new = sum(1 for a in answered if a["status"] == "recorded")
    waiting = _int_or_none(state.get("waiting"), 0, 10**6) or 0
    note_tablet(db, tablet_id, pupil_id, {**state, "waiting": max(0, waiting - len(answers))}, new)
    return {"answers": answered, "views": watched, "time": time.time() * 1000}


# ---------------------------------------------------------------- the teacher's view

def class_tablets(db: sqlite_utils.Database, class_id: int) -> list[dict[str, Any]]:
    """The tablets of a class's pupils, last seen first: pupil, when, answers waiting and received, lessons held."""
    found = rows(db, "SELECT t.*, p.name AS pupil FROM tablets t LEFT JOIN pupils p ON p.id = t.pupil_id "
                     "WHERE t.class_id = ? ORDER BY t.last_seen DESC LIMIT 200", (class_id,))
    for tablet in found:
        tablet["lessons"] = json.loads(tablet["lessons"]) if tablet["lessons"] else []
        tablet["short_id"] = tablet["id"][:8]
    return found
