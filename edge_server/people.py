"""Queries for teachers, classes, pupils, PINs, assignments and a class's recent attempts."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from edge_server.db import one, rows, write

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


def add_teacher(db: sqlite_utils.Database, username: str, password_hash: str, display_name: str | None = None,
                only_if_none: bool = False) -> int | None:
    """Create a teacher; with only_if_none, only when no teacher exists yet (None otherwise)."""

    def _insert(db: sqlite_utils.Database) -> int | None:
        if only_if_none and count_teachers(db):
            return None
        cur = db.execute("INSERT INTO teachers (username, display_name, password_hash, created) VALUES (?, ?, ?, ?)",
                         (username, display_name or username, password_hash, _now()))
        return cur.lastrowid

    return write(db, _insert)


def teacher_by_username(db: sqlite_utils.Database, username: str) -> dict[str, Any] | None:
    """A teacher row (with its password hash) by username."""
    return one(db, "SELECT * FROM teachers WHERE username = ?", (username,))


def get_teacher(db: sqlite_utils.Database, teacher_id: int) -> dict[str, Any] | None:
    """A teacher without the password hash."""
    return one(db, "SELECT id, username, display_name FROM teachers WHERE id = ?", (teacher_id,))


# classes


def list_classes(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """All classes with their pupil counts, by name."""
    return rows(db, "SELECT c.id, c.name, COUNT(p.id) AS pupils FROM classes c "
                    "LEFT JOIN pupils p ON p.class_id = c.id GROUP BY c.id ORDER BY c.name")


def add_class(db: sqlite_utils.Database, name: str) -> int:
    """Create a class (names are unique)."""
    return write(db, lambda db: db.execute("INSERT INTO classes (name, created) VALUES (?, ?)",
                                           (name, _now())).lastrowid)


def get_class(db: sqlite_utils.Database, class_id: int) -> dict[str, Any] | None:
    """One class by id."""
    return one(db, "SELECT id, name FROM classes WHERE id = ?", (class_id,))


def class_by_name(db: sqlite_utils.Database, name: str) -> dict[str, Any] | None:
    """One class by its name."""
    return one(db, "SELECT id, name FROM classes WHERE name = ?", (name,))


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
    """Replace a pupil's PIN hash."""
    write(db, lambda db: db.execute("UPDATE pupils SET pin_hash = ? WHERE id = ?", (pin_hash, pupil_id)))


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
    """A pupil's own latest attempt per exercise of one lesson."""
    found = rows(db, "SELECT a.item, a.correct, a.response FROM attempts a JOIN exercises e ON e.id = a.item "
                     "WHERE a.pupil_id = ? AND e.lesson_id = ? ORDER BY a.ts, a.id", (pupil_id, lesson_id))
    return {r["item"]: r for r in found}
