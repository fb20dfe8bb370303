"""The `attempts`, `mastery`, `kp_params` and `chapter_views` tables: the only module that writes them.

Plain functions over a connection, run inside the caller's transaction (edge_server/attempts.py holds the use
cases: record an answer, import a file, the nightly fit, and opens the transactions).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from edge_server.domain import mastery
from edge_server.store.db import one, rows

# ---------------------------------------------------------------- kp_params


def kp_params(db: sqlite_utils.Database, knowledge_point: str) -> mastery.Params:
    """Fitted parameters of a KP, or the defaults before the first nightly fit."""
    row = one(db, "SELECT params FROM kp_params WHERE knowledge_point = ?", (knowledge_point,))
    return mastery.Params.from_dict(json.loads(row["params"])) if row else mastery.DEFAULT_PARAMS


def save_kp_params(db: sqlite_utils.Database, knowledge_point: str, params: mastery.Params, n_attempts: int,
                   fitted_at: str) -> None:
    """Store a KP's fitted parameters, replacing the last fit's."""
    db.execute("INSERT OR REPLACE INTO kp_params (knowledge_point, params, n_attempts, fitted_at) "
               "VALUES (?, ?, ?, ?)", (knowledge_point, json.dumps(params.to_dict()), n_attempts, fitted_at))


# ---------------------------------------------------------------- mastery


def mastery_row(db: sqlite_utils.Database, pupil_id: int, knowledge_point: str) -> dict[str, Any] | None:
    """A pupil's mastery row on one KP (p_mastery, mastered), or None before their first answer."""
    return one(db, "SELECT p_mastery, mastered FROM mastery WHERE pupil_id = ? AND knowledge_point = ?",
               (pupil_id, knowledge_point))


def save_mastery(db: sqlite_utils.Database, pupil_id: int, knowledge_point: str, p: float, n: int,
                 updated: str) -> None:
    """Store a pupil's mastery of a KP after n attempts (stuck and mastered follow from p and n)."""
    db.execute(
        "INSERT INTO mastery (pupil_id, knowledge_point, p_mastery, attempts, stuck, mastered, updated) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (pupil_id, knowledge_point) DO UPDATE SET "
        "p_mastery = excluded.p_mastery, attempts = excluded.attempts, stuck = excluded.stuck, "
        "mastered = excluded.mastered, updated = excluded.updated",
        (pupil_id, knowledge_point, p, n, int(mastery.is_stuck(n, p)), int(mastery.is_mastered(p)), updated))


def delete_mastery(db: sqlite_utils.Database, pupil_id: int, knowledge_point: str) -> None:
    """Forget a pupil's mastery of a KP (no attempt left on it)."""
    db.execute("DELETE FROM mastery WHERE pupil_id = ? AND knowledge_point = ?", (pupil_id, knowledge_point))


# ---------------------------------------------------------------- attempts


@dataclass(frozen=True)
class NewAttempt:
    """An attempt to insert: what was answered, when, and where it came from (source: "box" or "import")."""

    pupil_id: int
    knowledge_point: str
    item: str
    correct: bool
    response: str | None
    difficulty: int | None
    ts: str
    source: str
    client_id: str | None = None
    received_at: str | None = None
    tablet_id: str | None = None


def insert_attempt(db: sqlite_utils.Database, attempt: NewAttempt) -> int:
    """Insert an attempt; return its id."""
    return db.execute(
        "INSERT INTO attempts (pupil_id, knowledge_point, item, correct, response, difficulty, ts, source, "
        "client_id, received_at, tablet_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (attempt.pupil_id, attempt.knowledge_point, attempt.item, int(attempt.correct), attempt.response,
         attempt.difficulty, attempt.ts, attempt.source, attempt.client_id, attempt.received_at,
         attempt.tablet_id)).lastrowid


def set_result(db: sqlite_utils.Database, attempt_id: int, result: dict[str, Any]) -> None:
    """Keep the answer sent back for an attempt (a tablet resending it gets the same one)."""
    db.execute("UPDATE attempts SET result = ? WHERE id = ?", (json.dumps(result), attempt_id))


def by_client_id(db: sqlite_utils.Database, pupil_id: int, client_id: str) -> dict[str, Any] | None:
    """A pupil's attempt with this tablet id (its result and correct), or None."""
    return one(db, "SELECT result, correct FROM attempts WHERE pupil_id = ? AND client_id = ?", (pupil_id, client_id))


def history(db: sqlite_utils.Database, pupil_id: int, knowledge_point: str) -> list[dict[str, Any]]:
    """A pupil's attempts on a KP (id, correct, difficulty, ts) in the order they were given."""
    return rows(db, "SELECT id, correct, difficulty, ts FROM attempts WHERE pupil_id = ? AND knowledge_point = ? "
                    "ORDER BY ts, id", (pupil_id, knowledge_point))


def latest_ts(db: sqlite_utils.Database, pupil_id: int, knowledge_point: str) -> str | None:
    """When a pupil last answered on a KP, or None."""
    row = one(db, "SELECT ts FROM attempts WHERE pupil_id = ? AND knowledge_point = ? ORDER BY ts DESC, id DESC "
                  "LIMIT 1", (pupil_id, knowledge_point))
    return row["ts"] if row else None


def count(db: sqlite_utils.Database, pupil_id: int, knowledge_point: str) -> int:
    """How many attempts a pupil made on a KP."""
    return one(db, "SELECT COUNT(*) AS n FROM attempts WHERE pupil_id = ? AND knowledge_point = ?",
               (pupil_id, knowledge_point))["n"]


def attempt_ts(db: sqlite_utils.Database, attempt_id: int) -> str:
    """When an attempt was given."""
    return one(db, "SELECT ts FROM attempts WHERE id = ?", (attempt_id,))["ts"]


def is_known(db: sqlite_utils.Database, pupil_id: int, knowledge_point: str, ts: str, item: str,
             correct: bool) -> bool:
    """True when exactly this attempt is stored already (an attempts file imported twice)."""
    return one(db, "SELECT 1 AS x FROM attempts WHERE pupil_id = ? AND knowledge_point = ? AND ts = ? "
                   "AND item = ? AND correct = ?", (pupil_id, knowledge_point, ts, item, int(correct))) is not None


def all_with_knowledge_point(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Every attempt on a KP (pupil_id, knowledge_point, correct, difficulty, ts), by pupil, KP and time."""
    return rows(db, "SELECT pupil_id, knowledge_point, correct, difficulty, ts FROM attempts "
                    "WHERE knowledge_point != '' ORDER BY pupil_id, knowledge_point, ts, id")


# ---------------------------------------------------------------- chapter_views


def chapter_view_id(db: sqlite_utils.Database, pupil_id: int, client_id: str) -> int | None:
    """The id of a pupil's chapter view with this tablet id, or None."""
    row = one(db, "SELECT id FROM chapter_views WHERE pupil_id = ? AND client_id = ?", (pupil_id, client_id))
    return row["id"] if row else None


def insert_chapter_view(db: sqlite_utils.Database, pupil_id: int, lesson_id: str, knowledge_point: str | None,
                        start: float | None, end: float | None, ts: str, client_id: str | None) -> int:
    """Insert a chapter view; return its id."""
    return db.execute("INSERT INTO chapter_views (pupil_id, lesson_id, knowledge_point, start, end, ts, client_id) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?)",
                      (pupil_id, lesson_id, knowledge_point, start, end, ts, client_id)).lastrowid
