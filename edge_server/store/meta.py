"""The box's meta table, key to text: its identity, the trusted-time floor, the setup token, the scheduler's
heartbeat, the passages' generation. The table's only writer; callers pass their transaction's database."""

from __future__ import annotations

import sqlite_utils

from edge_server.store.db import one, rows


def get(db: sqlite_utils.Database, key: str) -> str | None:
    """The value stored under key, or None."""
    row = one(db, "SELECT value FROM meta WHERE key = ?", (key,))
    return row["value"] if row else None


def all_values(db: sqlite_utils.Database) -> dict[str, str]:
    """Every key and value."""
    return {r["key"]: r["value"] for r in rows(db, "SELECT key, value FROM meta")}


def put(db: sqlite_utils.Database, key: str, value: str) -> None:
    """Store value under key, replacing what was there."""
    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


def delete(db: sqlite_utils.Database, key: str) -> None:
    """Forget key (nothing happens when it is not stored)."""
    db.execute("DELETE FROM meta WHERE key = ?", (key,))


def increment(db: sqlite_utils.Database, key: str) -> None:
    """Add one to the counter under key (1 when it is not stored yet)."""
    db.execute("INSERT INTO meta (key, value) VALUES (?, '1') ON CONFLICT(key) DO UPDATE SET "
               "value = CAST(value AS INTEGER) + 1", (key,))
