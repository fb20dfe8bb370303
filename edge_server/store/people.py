"""Queries for teachers, classes, pupils, PINs, assignments and a class's recent attempts."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from edge_server.store.db import one, rows, write

PICTURES = ("sun", "star", "moon", "tree", "fish", "cat", "flower", "boat")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_ref() -> str:
    """A stable pupil reference, unrelated to the pupil's name."""
    return "p-" + secrets.token_hex(5)


# teachers


def count_teachers(db: sqlite_utils.Database) -> int:
    """How many teacher accounts exist."""
    return db.execute("SELECT COUNT(*) FROM teachers").fetchone()[0]


ROLES = ("teacher", "admin")


def add_teacher(db: sqlite_utils.Database, username: str, password_hash: str, display_name: str | None = None,
                only_if_none: bool = False, role: str = "teacher") -> int | None:
    """Create a teacher; with only_if_none, only when no teacher exists yet (None otherwise). The box's first
    teacher is its admin, and owns the classes made before any teacher existed."""
    if role not in ROLES:
        raise ValueError(f"a teacher's role is one of {', '.join(ROLES)}")

    def _insert(db: sqlite_utils.Database) -> int | None:
        first = not count_teachers(db)
        if only_if_none and not first:
            return None
        cur = db.execute("INSERT INTO teachers (username, display_name, password_hash, created, role) "
                         "VALUES (?, ?, ?, ?, ?)",
                         (username, display_name or username, password_hash, _now(), "admin" if first else role))
        if first:
            db.execute("UPDATE classes SET teacher_id = ? WHERE teacher_id IS NULL", (cur.lastrowid,))
        # however the first teacher is made (setup page, CLI, demo), the setup token is used up with it
        db.execute("DELETE FROM meta WHERE key = ?", (SETUP_TOKEN_KEY,))
        return cur.lastrowid

    return write(db, _insert)


def teacher_by_username(db: sqlite_utils.Database, username: str) -> dict[str, Any] | None:
    """A teacher row (with its password hash) by username."""
    return one(db, "SELECT * FROM teachers WHERE username = ?", (username,))


def get_teacher(db: sqlite_utils.Database, teacher_id: int) -> dict[str, Any] | None:
    """A teacher (id, username, display_name, role) without the password hash."""
    return one(db, "SELECT id, username, display_name, role FROM teachers WHERE id = ?", (teacher_id,))


def set_password_hash(db: sqlite_utils.Database, teacher_id: int, password_hash: str) -> None:
    """Replace a teacher's password hash; the teacher's sessions end with the old password."""
    write(db, lambda db: db.execute("UPDATE teachers SET password_hash = ?, session_gen = session_gen + 1 "
                                    "WHERE id = ?", (password_hash, teacher_id)))


# the one-time token of the first-teacher setup page: only its sha256 is kept, in meta, until a teacher exists

SETUP_TOKEN_KEY = "setup_token_sha256"
# 32 symbols (5 bits each) without 0/O and 1/I, read off a terminal and typed on a tablet
SETUP_TOKEN_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
SETUP_TOKEN_GROUPS = 5  # of 4 symbols: 100 bits, and the page counts wrong tokens like wrong passwords
SETUP_TOKEN_MAX = 100  # longer input is no token: not even hashed


def _setup_token_digest(token: str) -> str:
    """The stored form of a token; spaces, dashes and case do not matter to whoever types it."""
    normal = "".join(token.split()).replace("-", "").upper()
    return hashlib.sha256(normal.encode("utf-8", "surrogatepass")).hexdigest()


def issue_setup_token(db: sqlite_utils.Database) -> str | None:
    """A new setup token replacing any earlier one; None once a teacher exists (no setup left to do)."""
    token = "-".join("".join(secrets.choice(SETUP_TOKEN_ALPHABET) for _ in range(4))
                     for _ in range(SETUP_TOKEN_GROUPS))

    def _store(db: sqlite_utils.Database) -> str | None:
        if count_teachers(db):
            return None
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                   (SETUP_TOKEN_KEY, _setup_token_digest(token)))
        return token

    return write(db, _store)


def setup_token_matches(db: sqlite_utils.Database, token: str) -> bool:
    """True when token is the box's current setup token (compared as hashes, in constant time)."""
    stored = one(db, "SELECT value FROM meta WHERE key = ?", (SETUP_TOKEN_KEY,))
    given = _setup_token_digest(token if len(token) <= SETUP_TOKEN_MAX else "")
    # no token stored: compare against a random digest, so both ways cost the same and nothing matches
    expected = stored["value"] if stored else _setup_token_digest(secrets.token_hex(16))
    return hmac.compare_digest(given, expected) and stored is not None


# sessions: each account has a generation; a session is good only while it carries the account's current one

_ACCOUNT_TABLES = {"teacher": "teachers", "pupil": "pupils"}


def session_generation(db: sqlite_utils.Database, kind: str, account_id: int) -> int | None:
    """The current session generation of a teacher or pupil account, or None when there is no such account."""
    row = db.execute(f"SELECT session_gen FROM {_ACCOUNT_TABLES[kind]} WHERE id = ?", (account_id,)).fetchone()
    return int(row[0]) if row is not None else None


def end_sessions(db: sqlite_utils.Database, kind: str, account_id: int) -> None:
    """End every session of a teacher or pupil account (the next login starts a new generation)."""
    write(db, lambda db: db.execute(f"UPDATE {_ACCOUNT_TABLES[kind]} SET session_gen = session_gen + 1 WHERE id = ?",
                                    (account_id,)))


# classes


def list_classes(db: sqlite_utils.Database, teacher_id: int | None = None) -> list[dict[str, Any]]:
    """All classes (or one teacher's) with their pupil counts and owner, by name."""
    where = "" if teacher_id is None else "WHERE c.teacher_id = :teacher "
    return rows(db, "SELECT c.id, c.name, c.teacher_id, t.display_name AS teacher, COUNT(p.id) AS pupils "
                    "FROM classes c LEFT JOIN pupils p ON p.class_id = c.id "
                    "LEFT JOIN teachers t ON t.id = c.teacher_id "
                    f"{where}GROUP BY c.id ORDER BY c.name", {"teacher": teacher_id})


def add_class(db: sqlite_utils.Database, name: str, teacher_id: int | None = None) -> int:
    """Create a class (names are unique) owned by a teacher; without one, by the box's admin (once there is one)."""

    def _insert(db: sqlite_utils.Database) -> int:
        owner = teacher_id
        if owner is None:
            admin = one(db, "SELECT id FROM teachers WHERE role = 'admin' ORDER BY created, id LIMIT 1")
            owner = admin["id"] if admin else None
        return db.execute("INSERT INTO classes (name, created, teacher_id) VALUES (?, ?, ?)",
                          (name, _now(), owner)).lastrowid

    return write(db, _insert)


def get_class(db: sqlite_utils.Database, class_id: int) -> dict[str, Any] | None:
    """One class by id (id, name, teacher_id: its owner)."""
    return one(db, "SELECT id, name, teacher_id FROM classes WHERE id = ?", (class_id,))


def class_by_name(db: sqlite_utils.Database, name: str) -> dict[str, Any] | None:
    """One class by its name."""
    return one(db, "SELECT id, name, teacher_id FROM classes WHERE name = ?", (name,))


# pupils


def add_pupil(db: sqlite_utils.Database, class_id: int, name: str, pin_hash: str | None,
              picture: str | None = None) -> dict[str, Any]:
    """Create a pupil in a class with a fresh stable ref; return id and ref."""
    ref = new_ref()
    pupil_id = write(db, lambda db: db.execute(
        "INSERT INTO pupils (ref, class_id, name, picture, pin_hash, created) VALUES (?, ?, ?, ?, ?, ?)",
        (ref, class_id, name, picture if picture in PICTURES else None, pin_hash, _now())).lastrowid)
    return {"id": pupil_id, "ref": ref}


def pupils_in_class(db: sqlite_utils.Database, class_id: int) -> list[dict[str, Any]]:
    """A class's roster (no PIN hashes), by name."""
    return rows(db, "SELECT id, ref, name, picture, class_id, pin_hash IS NOT NULL AS has_pin FROM pupils "
                    "WHERE class_id = ? ORDER BY name COLLATE NOCASE", (class_id,))


def get_pupil(db: sqlite_utils.Database, pupil_id: int) -> dict[str, Any] | None:
    """One pupil without the PIN hash."""
    return one(db, "SELECT id, ref, name, picture, class_id FROM pupils WHERE id = ?", (pupil_id,))


def pupil_by_ref(db: sqlite_utils.Database, ref: str) -> dict[str, Any] | None:
    """One pupil by ref, with the PIN hash (for login only)."""
    return one(db, "SELECT id, ref, name, picture, class_id, pin_hash FROM pupils WHERE ref = ?", (ref,))


def set_pin_hash(db: sqlite_utils.Database, pupil_id: int, pin_hash: str) -> None:
    """Replace a pupil's PIN hash; the pupil's sessions end with the old PIN."""
    write(db, lambda db: db.execute("UPDATE pupils SET pin_hash = ?, session_gen = session_gen + 1 WHERE id = ?",
                                    (pin_hash, pupil_id)))


# assignments


def assigned_lesson_ids(db: sqlite_utils.Database, class_id: int) -> set[str]:
    """Lessons assigned to a class."""
    return {r["lesson_id"] for r in rows(db, "SELECT lesson_id FROM assignments WHERE class_id = ?", (class_id,))}


def set_assignments(db: sqlite_utils.Database, class_id: int, lesson_ids: set[str]) -> None:
    """Make exactly these lessons the class's assignments."""

    def _replace(db: sqlite_utils.Database) -> None:
        db.execute("DELETE FROM assignments WHERE class_id = ?", (class_id,))
        for lesson_id in sorted(lesson_ids):
            db.execute("INSERT INTO assignments (class_id, lesson_id, assigned_at) VALUES (?, ?, ?)",
                       (class_id, lesson_id, _now()))

    write(db, _replace)


def lesson_titles(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Every lesson's id, title and course title, in catalog order (for assignment forms)."""
    return rows(db, "SELECT l.id, l.title, c.title AS course FROM lessons l LEFT JOIN courses c ON c.id = l.course_id "
                    "ORDER BY c.position, l.course_id, l.position")


# attempts


def recent_attempts(db: sqlite_utils.Database, class_id: int, limit: int = 50) -> list[dict[str, Any]]:
    """A class's latest attempts with pupil names and exercise prompts, newest first."""
    return rows(db, "SELECT a.id, a.ts, a.correct, a.response, a.item, a.knowledge_point, p.name AS pupil, "
                    "p.picture, e.prompt, e.choices, e.lesson_id, kp.name AS knowledge_point_name "
                    "FROM attempts a JOIN pupils p ON p.id = a.pupil_id "
                    "LEFT JOIN exercises e ON e.id = a.item "
                    "LEFT JOIN knowledge_points kp ON kp.id = a.knowledge_point "
                    "WHERE p.class_id = ? ORDER BY a.ts DESC, a.id DESC LIMIT ?", (class_id, limit))


def pupil_attempts(db: sqlite_utils.Database, pupil_id: int, lesson_id: str) -> dict[str, dict[str, Any]]:
    """A pupil's own latest attempt per exercise of one lesson; answers to a quiz whose results are not released
    yet are left out (the lesson page would tell right from wrong before the teacher does)."""
    found = rows(db, "SELECT a.item, a.correct, a.response FROM attempts a JOIN exercises e ON e.id = a.item "
                     "WHERE a.pupil_id = ? AND e.lesson_id = ? AND a.id NOT IN (SELECT qa.attempt_id "
                     "FROM quiz_answers qa JOIN quizzes q ON q.id = qa.quiz_id WHERE qa.pupil_id = ? "
                     "AND q.released = 0) ORDER BY a.ts, a.id", (pupil_id, lesson_id, pupil_id))
    return {r["item"]: r for r in found}
