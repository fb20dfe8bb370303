"""Teachers, classes, pupils (PINs, picture passwords) and assignments: the only module that writes their tables.

Functions named "... inside the caller's transaction" run in the caller's db.write; the others open their own.
Also the queries for a class's recent attempts (read only: edge_server/store/attempts.py writes attempts)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

import sqlite_utils

from edge_server import clock
from edge_server.store import meta
from edge_server.store.db import one, rows, write

PICTURES = ("sun", "star", "moon", "tree", "fish", "cat", "flower", "boat")


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
                         (username, display_name or username, password_hash, clock.now_iso_seconds(),
                          "admin" if first else role))
        if first:
            db.execute("UPDATE classes SET teacher_id = ? WHERE teacher_id IS NULL", (cur.lastrowid,))
        # however the first teacher is made (setup page, CLI, demo), the setup token is used up with it
        meta.delete(db, SETUP_TOKEN_KEY)
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
        meta.put(db, SETUP_TOKEN_KEY, _setup_token_digest(token))
        return token

    return write(db, _store)


def setup_token_matches(db: sqlite_utils.Database, token: str) -> bool:
    """True when token is the box's current setup token (compared as hashes, in constant time)."""
    stored = meta.get(db, SETUP_TOKEN_KEY)
    given = _setup_token_digest(token if len(token) <= SETUP_TOKEN_MAX else "")
    # no token stored: compare against a random digest, so both ways cost the same and nothing matches
    expected = stored if stored else _setup_token_digest(secrets.token_hex(16))
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


def set_class_owner(db: sqlite_utils.Database, class_id: int, teacher_id: int) -> bool:
    """Give a class to a teacher, inside the caller's transaction; False when there is no such class."""
    return db.execute("UPDATE classes SET teacher_id = ? WHERE id = ?", (teacher_id, class_id)).rowcount == 1


def set_login_kind(db: sqlite_utils.Database, class_id: int, kind: str) -> None:
    """How a class's pupils log in ("pin" or "pictures": checked by edge_server.picture_login)."""
    write(db, lambda tx: tx.execute("UPDATE classes SET login_kind = ? WHERE id = ?", (kind, class_id)))


def set_media_budget(db: sqlite_utils.Database, class_id: int, megabytes: int) -> None:
    """The most lesson media a tablet of the class keeps offline (checked by edge_server.tablets)."""
    write(db, lambda tx: tx.execute("UPDATE classes SET media_budget_mb = ? WHERE id = ?", (megabytes, class_id)))


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
                          (name, clock.now_iso_seconds(), owner)).lastrowid

    return write(db, _insert)


def get_class(db: sqlite_utils.Database, class_id: int) -> dict[str, Any] | None:
    """One class by id (id, name, teacher_id: its owner)."""
    return one(db, "SELECT id, name, teacher_id FROM classes WHERE id = ?", (class_id,))


def class_by_name(db: sqlite_utils.Database, name: str) -> dict[str, Any] | None:
    """One class by its name."""
    return one(db, "SELECT id, name, teacher_id FROM classes WHERE name = ?", (name,))


# pupils


def insert_pupil(db: sqlite_utils.Database, ref: str, class_id: int | None, name: str, *,
                 picture: str | None = None, pin_hash: str | None = None, created: str | None = None) -> int:
    """Insert a pupil row as given, inside the caller's transaction; return its id (created: now, in seconds)."""
    return db.execute("INSERT INTO pupils (ref, class_id, name, picture, pin_hash, created) VALUES (?, ?, ?, ?, ?, ?)",
                      (ref, class_id, name, picture, pin_hash, created or clock.now_iso_seconds())).lastrowid


def add_pupil(db: sqlite_utils.Database, class_id: int, name: str, pin_hash: str | None,
              picture: str | None = None) -> dict[str, Any]:
    """Create a pupil in a class with a fresh stable ref; return id and ref."""
    ref = new_ref()
    pupil_id = write(db, lambda db: insert_pupil(db, ref, class_id, name,
                                                 picture=picture if picture in PICTURES else None, pin_hash=pin_hash))
    return {"id": pupil_id, "ref": ref}


def ensure_pupil(db: sqlite_utils.Database, ref: str, name: str, created: str) -> tuple[int, bool]:
    """The id of the pupil with this ref, created without a class when new (inside the caller's transaction);
    and whether it was created."""
    found = one(db, "SELECT id FROM pupils WHERE ref = ?", (ref,))
    if found:
        return found["id"], False
    return insert_pupil(db, ref, None, name, created=created), True


def move_to_class(db: sqlite_utils.Database, pupil_id: int, class_id: int) -> None:
    """Put a pupil in another class, inside the caller's transaction (the rules are edge_server.roster_ops's)."""
    db.execute("UPDATE pupils SET class_id = ? WHERE id = ?", (class_id, pupil_id))


def delete_pupil(db: sqlite_utils.Database, pupil_id: int) -> None:
    """Delete a pupil's row, inside the caller's transaction (after the rows that point at it)."""
    db.execute("DELETE FROM pupils WHERE id = ?", (pupil_id,))


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


def set_class_pin_hash(db: sqlite_utils.Database, class_id: int, pupil_id: int, pin_hash: str) -> None:
    """Replace the PIN hash of a pupil of this class (none elsewhere), inside the caller's transaction; the pupil's
    sessions end with the old PIN."""
    db.execute("UPDATE pupils SET pin_hash = ?, session_gen = session_gen + 1 WHERE id = ? AND class_id = ?",
               (pin_hash, pupil_id, class_id))


def set_picture_hash(db: sqlite_utils.Database, pupil_id: int, pictures_hash: str) -> None:
    """Replace a pupil's picture password hash; the pupil's sessions end with the old one."""
    write(db, lambda tx: tx.execute("UPDATE pupils SET picture_password_hash = ?, session_gen = session_gen + 1 "
                                    "WHERE id = ?", (pictures_hash, pupil_id)))


# PIN lockouts and wrong-PIN alerts (times in epoch seconds; the rules are edge_server.pin_guard's), all inside the
# caller's transaction


def lockout(db: sqlite_utils.Database, pupil_id: int) -> tuple[int, float] | None:
    """A pupil's last lockout: (level, locked until), or None."""
    row = db.execute("SELECT level, locked_until FROM pin_lockouts WHERE pupil_id = ?", (pupil_id,)).fetchone()
    return (row[0], row[1]) if row is not None else None


def set_lockout(db: sqlite_utils.Database, pupil_id: int, level: int, until: float) -> None:
    """Lock a pupil out until `until`, at this level of the growing lockouts."""
    db.execute("INSERT INTO pin_lockouts (pupil_id, level, locked_until) VALUES (?, ?, ?) "
               "ON CONFLICT(pupil_id) DO UPDATE SET level = excluded.level, locked_until = excluded.locked_until",
               (pupil_id, level, until))


def lift_lockout(db: sqlite_utils.Database, pupil_id: int) -> None:
    """Forget a pupil's lockouts."""
    db.execute("DELETE FROM pin_lockouts WHERE pupil_id = ?", (pupil_id,))


def lift_class_lockouts(db: sqlite_utils.Database, class_id: int) -> None:
    """Forget the lockouts of every pupil of a class."""
    db.execute("DELETE FROM pin_lockouts WHERE pupil_id IN (SELECT id FROM pupils WHERE class_id = ?)", (class_id,))


def has_open_alert(db: sqlite_utils.Database, kind: str, class_id: int | None, pupil_id: int | None,
                   since: float) -> bool:
    """True when an alert of this kind, class and pupil was made after `since` and not dealt with yet."""
    return db.execute("SELECT 1 FROM login_alerts WHERE kind = ? AND class_id IS ? AND pupil_id IS ? "
                      "AND created > ? AND cleared IS NULL", (kind, class_id, pupil_id, since)).fetchone() is not None


def add_login_alert(db: sqlite_utils.Database, kind: str, class_id: int | None, pupil_id: int | None,
                    created: float) -> None:
    """Leave a wrong-PIN alert (pupil, class or box) for the teacher."""
    db.execute("INSERT INTO login_alerts (kind, class_id, pupil_id, created) VALUES (?, ?, ?, ?)",
               (kind, class_id, pupil_id, created))


def clear_pupil_alerts(db: sqlite_utils.Database, pupil_id: int, at: float) -> None:
    """Mark a pupil's open alerts dealt with."""
    db.execute("UPDATE login_alerts SET cleared = ? WHERE pupil_id = ? AND cleared IS NULL", (at, pupil_id))


def clear_class_alerts(db: sqlite_utils.Database, class_id: int, at: float) -> None:
    """Mark a class's open alerts, and the box's, dealt with."""
    db.execute("UPDATE login_alerts SET cleared = ? WHERE (class_id = ? OR kind = 'box') AND cleared IS NULL",
               (at, class_id))


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
                       (class_id, lesson_id, clock.now_iso_seconds()))

    write(db, _replace)


def unassign_lesson(db: sqlite_utils.Database, lesson_id: str) -> int:
    """Take a lesson out of every class's assignments, inside the caller's transaction; return how many went."""
    return db.execute("DELETE FROM assignments WHERE lesson_id = ?", (lesson_id,)).rowcount


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
