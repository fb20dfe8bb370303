"""SQLite connections for the box: WAL, foreign keys, and one retrying writer path."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import sqlite_utils

T = TypeVar("T")

BUSY_TIMEOUT_MS = 5000
# Each server thread keeps its own connection (32 per worker), so SQLite's default 2 MiB page cache each would
# let a worker grow by 64 MiB as the database grows; the OS file cache serves re-reads anyway.
CACHE_KIB = 512
WRITE_RETRIES = 8


def connect(path: Path | str, *, readonly: bool = False) -> sqlite_utils.Database:
    """Open box.db with the PRAGMAs every connection must have."""
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False,
                               isolation_level=None)
    else:
        conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    if not readonly:
        conn.execute("PRAGMA journal_mode = WAL")
        # FULL: an acknowledged write survives a power cut, not only a crash.
        conn.execute("PRAGMA synchronous = FULL")
    return sqlite_utils.Database(conn)


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    message = str(exc).lower()
    return "locked" in message or "busy" in message


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error."""
    conn = db.conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")


def write(db: sqlite_utils.Database, fn: Callable[[sqlite_utils.Database], T],
          retries: int = WRITE_RETRIES) -> T:
    """Run fn(db) in one immediate transaction, retrying while another writer holds the lock."""
    delay = 0.05
    for attempt in range(retries + 1):
        try:
            with transaction(db):
                return fn(db)
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc) or attempt == retries:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
    raise AssertionError("unreachable")


def rows(db: sqlite_utils.Database, sql: str, params: tuple | dict = ()) -> list[dict]:
    """Run a query and return plain dicts."""
    return [dict(r) for r in db.conn.execute(sql, params).fetchall()]


def one(db: sqlite_utils.Database, sql: str, params: tuple | dict = ()) -> dict | None:
    """Run a query and return the first row as a dict, or None."""
    row = db.conn.execute(sql, params).fetchone()
    return dict(row) if row is not None else None


def open_box_db(db_path: Path | str) -> sqlite_utils.Database:
    """Connect to box.db and bring its schema up to date."""
    from edge_server.store.migrations import migrate

    db = connect(db_path)
    migrate(db)
    return db
