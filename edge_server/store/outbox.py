"""The `outbox` table: xAPI statements waiting for the province's LRS, the only module with SQL for it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlite_utils

from edge_server import clock
from edge_server.store.db import one
from sync.lrs_push import REJECTED
from sync.statements import canonical_json


def enqueue(db: sqlite_utils.Database, statement: dict[str, Any]) -> bool:
    """Insert a statement inside the caller's transaction; a known statement id is left as it is."""
    cur = db.conn.execute(
        "INSERT OR IGNORE INTO outbox (statement_id, statement, created) VALUES (?, ?, ?)",
        (statement["id"], canonical_json(statement), clock.now_iso()),
    )
    return cur.rowcount == 1


def counts(db: sqlite_utils.Database) -> dict[str, int]:
    """Statements pending, sent, and refused for good by the LRS."""
    row = one(db, "SELECT COUNT(*) AS total, SUM(sent_at IS NULL) AS pending, "
                  "SUM(sent_at IS NULL AND last_error LIKE ?) AS rejected FROM outbox", (REJECTED + "%",)) or {}
    total, pending = row.get("total") or 0, row.get("pending") or 0
    return {"pending": pending, "sent": total - pending, "rejected": row.get("rejected") or 0}


def prune_sent(db: sqlite_utils.Database, before: datetime) -> int:
    """Delete statements the LRS acknowledged before `before` (they live on there); unsent ones always stay."""
    return db.conn.execute("DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < ?",
                           (before.isoformat(),)).rowcount


def forget_actor(db: sqlite_utils.Database, pseudonym: str) -> int:
    """Delete every statement about one pupil (by their pseudonym), sent or not: a pupil removed from the box.

    What the LRS already holds stays there, pseudonymous; nothing on the box links it to the child any more.
    """
    return db.conn.execute("DELETE FROM outbox WHERE json_extract(statement, '$.actor.account.name') = ?",
                           (pseudonym,)).rowcount


class SqliteOutbox:
    """The box's outbox as sync.lrs_push.Outbox: each call is one statement, atomic on an autocommit connection."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self._conn = db.conn

    def pending_count(self) -> int:
        """Statements not yet acknowledged by the LRS (rejected ones included: they still need a person)."""
        return self._conn.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]

    def rejected_count(self) -> int:
        """Statements the LRS refused for good (malformed); kept unsent and skipped."""
        return self._conn.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL AND last_error LIKE ?",
                                  (REJECTED + "%",)).fetchone()[0]

    def oldest_unsent(self, limit: int) -> list[tuple[int, str, str]]:
        """Up to `limit` unsent, unrejected statements, oldest first."""
        return [tuple(r) for r in self._conn.execute(
            "SELECT id, statement_id, statement FROM outbox WHERE sent_at IS NULL "
            "AND (last_error IS NULL OR last_error NOT LIKE ?) ORDER BY id LIMIT ?", (REJECTED + "%", limit))]

    def mark_sent(self, ids: list[int], note: str | None = None) -> None:
        """The LRS acknowledged these rows."""
        marks = ",".join("?" * len(ids))
        self._conn.execute(f"UPDATE outbox SET sent_at = ?, tries = tries + 1, last_error = ? WHERE id IN ({marks})",
                           (clock.now_iso(), note, *ids))

    def mark_failed(self, ids: list[int], error: str) -> None:
        """A try of these rows failed."""
        marks = ",".join("?" * len(ids))
        self._conn.execute(f"UPDATE outbox SET tries = tries + 1, last_error = ? WHERE id IN ({marks})",
                           (error[:500], *ids))
