"""Rosters and teachers in box.db: import a class list, move or remove a pupil, new PINs for a class, who may open
a class, the teachers an admin manages and handing a class over. The CSV itself is read in roster.py (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlite_utils

from edge_server import clock
from edge_server.domain import roster
from edge_server.store import outbox, people
from edge_server.store.db import one, rows, write
from sync import statements


class RosterConflict(ValueError):
    """The change would leave two pupils of one name in a class, or names a class or teacher that is not there."""


# ---------------------------------------------------------------- who may open what


def is_admin(teacher: dict[str, Any] | None) -> bool:
    """True for a logged-in teacher with the admin role."""
    return bool(teacher) and teacher.get("role") == "admin"


def may_open(teacher: dict[str, Any] | None, klass: dict[str, Any]) -> bool:
    """An admin opens every class; a teacher only the classes they own."""
    if not teacher:
        return False
    return is_admin(teacher) or (klass.get("teacher_id") is not None and klass["teacher_id"] == teacher["id"])


def classes_for(db: sqlite_utils.Database, teacher: dict[str, Any]) -> list[dict[str, Any]]:
    """The classes a teacher sees: all of them for an admin, else their own."""
    return people.list_classes(db, None if is_admin(teacher) else teacher["id"])


# ---------------------------------------------------------------- import


def class_names(db: sqlite_utils.Database, class_id: int) -> list[str]:
    """The names of a class's pupils (for the roster parser's duplicate check)."""
    return [r["name"] for r in rows(db, "SELECT name FROM pupils WHERE class_id = ?", (class_id,))]


@dataclass(frozen=True)
class Imported:
    """A pupil made by an import, with the PIN in clear (shown once on the login cards, then only hashed) and
    whether the box made it (rather than the file)."""

    id: int
    ref: str
    name: str
    picture: str | None
    pin: str
    pin_made: bool


def import_roster(db: sqlite_utils.Database, class_id: int, pupils: list[roster.RosterRow],
                  pin_hashes: dict[int, str], made_pins: set[int]) -> list[Imported]:
    """Add the parsed pupils to a class in one transaction: all of them, or none (RosterRefused) when one of their
    names was given to a pupil of the class meanwhile.

    pin_hashes: each row's PIN hash (hashed before, outside the write lock); made_pins: the rows whose PIN the box
    made.
    """

    def _insert(tx: sqlite_utils.Database) -> list[Imported]:
        taken = {roster.name_key(n) for n in class_names(tx, class_id)}
        clash = [roster.RosterError(p.row, roster.NAME_IN_CLASS, {"name": p.name}) for p in pupils
                 if roster.name_key(p.name) in taken]  # added since the file was read
        if clash:
            raise roster.RosterRefused(clash[:roster.MAX_ERRORS], max(0, len(clash) - roster.MAX_ERRORS))
        made, now = [], clock.now_iso_seconds()
        for p in pupils:
            ref = people.new_ref()
            pupil_id = people.insert_pupil(tx, ref, class_id, p.name, picture=p.picture, pin_hash=pin_hashes[p.row],
                                           created=now)
            made.append(Imported(pupil_id, ref, p.name, p.picture, p.pin or "", p.row in made_pins))
        return made

    return write(db, _insert)


def new_class_pins(db: sqlite_utils.Database, class_id: int, pins: dict[int, tuple[str, str]]) -> None:
    """Give every listed pupil of the class a new PIN hash (pupil id -> (pin, hash)) in one transaction; their
    sessions and tablets' sync tokens end with the old PINs, and wrong-PIN lockouts are lifted."""

    def _update(tx: sqlite_utils.Database) -> None:
        for pupil_id, (_pin, pin_hash) in pins.items():
            people.set_class_pin_hash(tx, class_id, pupil_id, pin_hash)
            people.lift_lockout(tx, pupil_id)

    write(db, _update)


# ---------------------------------------------------------------- move


def move_pupil(db: sqlite_utils.Database, pupil_id: int, class_id: int) -> None:
    """Move a pupil, with their answers and mastery, to another class (refused when it has a pupil of that name)."""

    def _move(tx: sqlite_utils.Database) -> None:
        pupil = one(tx, "SELECT id, name, class_id FROM pupils WHERE id = ?", (pupil_id,))
        if pupil is None or one(tx, "SELECT id FROM classes WHERE id = ?", (class_id,)) is None:
            raise RosterConflict("no such pupil or class")
        if pupil["class_id"] == class_id:
            return
        if any(roster.name_key(n) == roster.name_key(pupil["name"]) for n in class_names(tx, class_id)):
            raise RosterConflict(f"{pupil['name']!r} is already a name in that class")
        people.move_to_class(tx, pupil_id, class_id)
        tx.execute("UPDATE tablets SET class_id = ? WHERE pupil_id = ?", (class_id, pupil_id))

    write(db, _move)


# ---------------------------------------------------------------- remove


def _pupil_tables(db: sqlite_utils.Database) -> list[tuple[str, str]]:
    """(table, column) of every table that holds rows of a pupil: a pupil_id column or a foreign key to pupils.

    Read from the schema, so that tables added later (quizzes, reports, ...) are erased with the rest.
    """
    found: list[tuple[str, str]] = []
    parents: dict[str, set[str]] = {}
    for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                               "AND name != 'pupils' AND sql NOT LIKE 'CREATE VIRTUAL%'").fetchall():
        columns = {r[1] for r in db.execute(f'PRAGMA table_info("{table}")').fetchall()}
        references = db.execute(f'PRAGMA foreign_key_list("{table}")').fetchall()
        parents[table] = {r[2] for r in references}
        keys = {r[3] for r in references if r[2] == "pupils"}
        found += [(table, column) for column in sorted(keys | ({"pupil_id"} & columns))]
    # a table that others point at (attempts, under quiz_answers) goes after them: each table's own rows are
    # deleted and counted before a cascade could take them, whatever order the migrations created the tables in
    pointed_at = {parent for table, _ in found for parent in parents[table]}
    return sorted(found, key=lambda item: item[0] in pointed_at)


def removal_summary(db: sqlite_utils.Database, pupil_id: int) -> dict[str, int]:
    """How many rows of each kind removing the pupil erases (for the confirmation page)."""
    return {table: one(db, f'SELECT COUNT(*) AS n FROM "{table}" WHERE "{column}" = ?', (pupil_id,))["n"]
            for table, column in _pupil_tables(db)}


def remove_pupil(db: sqlite_utils.Database, pupil_id: int, secret: bytes | None) -> dict[str, int]:
    """Erase a pupil from the box in one transaction; return how many rows of each table went.

    Everything that holds the pupil's id goes (attempts, mastery, chapter views, companion questions, pastoral
    and login alerts, lockouts, tablets, quiz answers, ...), then the pupil's row with the name, and the PIN
    counters kept under the pupil's ref. The xAPI statements about the pupil that wait in the outbox are deleted
    unsent, and the outbox's copies of those already sent too: what the LRS holds stays as it is, pseudonymous
    (an HMAC of the pupil's id under the box's secret, never the name), and nothing on the box links it to a name
    any more. The ids are never given out again (migration 0009), so no later pupil or answer takes them over.
    secret: the box's secret, to find the pupil's statements (None when the box has no identity: then it has
    never made a statement).
    """

    def _erase(tx: sqlite_utils.Database) -> dict[str, int]:
        pupil = one(tx, "SELECT id, ref FROM pupils WHERE id = ?", (pupil_id,))
        if pupil is None:
            raise RosterConflict("no such pupil")
        # tables that point at attempts (quiz answers) go with them, whatever order they are listed in
        tx.execute("PRAGMA defer_foreign_keys = ON")
        erased: dict[str, int] = {}
        for table, column in _pupil_tables(tx):
            count = tx.execute(f'DELETE FROM "{table}" WHERE "{column}" = ?', (pupil_id,)).rowcount
            erased[table] = erased.get(table, 0) + count
        tx.execute("DELETE FROM rate_limits WHERE key LIKE ?", (f"%/{pupil['ref']}",))
        if secret is not None:
            name = statements.pseudonym(secret, pupil_id)
            erased["outbox"] = outbox.forget_actor(tx, name)
        people.delete_pupil(tx, pupil_id)
        return erased

    return write(db, _erase)


# ---------------------------------------------------------------- teachers


def list_teachers(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Every teacher (no password hashes) with how many classes each owns, admins first."""
    return rows(db, "SELECT t.id, t.username, t.display_name, t.role, t.created, COUNT(c.id) AS classes "
                    "FROM teachers t LEFT JOIN classes c ON c.teacher_id = t.id GROUP BY t.id "
                    "ORDER BY t.role = 'admin' DESC, t.username COLLATE NOCASE")


def hand_over(db: sqlite_utils.Database, class_id: int, teacher_id: int) -> None:
    """Give a class to another teacher (its pupils, answers and assignments go with it)."""

    def _give(tx: sqlite_utils.Database) -> None:
        if one(tx, "SELECT id FROM teachers WHERE id = ?", (teacher_id,)) is None:
            raise RosterConflict("no such teacher")
        if not people.set_class_owner(tx, class_id, teacher_id):
            raise RosterConflict("no such class")

    write(db, _give)
