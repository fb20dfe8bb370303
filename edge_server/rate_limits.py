"""Rate-limit counters in box.db: a `limits` storage that every worker process shares and a restart keeps."""

from __future__ import annotations

import sqlite3
import threading
import time
from typing import Any

from limits.storage import Storage

SCHEME = "box-sqlite"
PURGE_EVERY_S = 300.0

# Add :amount to a fixed-window counter, starting a new window when the old one is over; returns count, expires.
HIT_SQL = ("INSERT INTO rate_limits (key, count, expires) VALUES (:key, :amount, :expires) "
           "ON CONFLICT(key) DO UPDATE SET "
           "count = CASE WHEN expires <= :now THEN :amount ELSE count + :amount END, "
           "expires = CASE WHEN expires <= :now THEN :expires ELSE expires END RETURNING count, expires")


class BoxDbStorage(Storage):
    """Fixed-window counters in the rate_limits table (migration 0002); `box-sqlite:///path/to/box.db`.

    Flask-Limiter's memory storage counts per process, so with two gunicorn workers a guesser got twice the tries,
    and a crash of the server forgave them all.
    """

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options: Any) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.path = uri.split("://", 1)[1]
        self._local = threading.local()
        self._purged = 0.0

    @property
    def base_exceptions(self) -> type[Exception]:
        return sqlite3.Error

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            from edge_server.db import connect

            conn = self._local.conn = connect(self.path).conn
        return conn

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add amount to the key's count, starting a new window of expiry seconds when the old one is over."""
        now = time.time()
        conn = self._conn()
        if now - self._purged > PURGE_EVERY_S:
            self._purged = now
            conn.execute("DELETE FROM rate_limits WHERE expires <= ?", (now,))
        # one statement: atomic between threads and processes without an explicit transaction
        row = conn.execute(HIT_SQL, {"key": key, "amount": amount, "expires": now + expiry, "now": now}).fetchone()
        return int(row[0])

    def get(self, key: str) -> int:
        row = self._conn().execute("SELECT count FROM rate_limits WHERE key = ? AND expires > ?",
                                   (key, time.time())).fetchone()
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._conn().execute("SELECT expires FROM rate_limits WHERE key = ? AND expires > ?",
                                   (key, time.time())).fetchone()
        return float(row[0]) if row else time.time()

    def check(self) -> bool:
        try:
            self._conn().execute("SELECT 1 FROM rate_limits LIMIT 1")
            return True
        except sqlite3.Error:
            return False

    def reset(self) -> int | None:
        return self._conn().execute("DELETE FROM rate_limits").rowcount

    def clear(self, key: str) -> None:
        self._conn().execute("DELETE FROM rate_limits WHERE key = ?", (key,))


# Counters used directly (not through Flask-Limiter), inside a caller's transaction: the PIN login takes a try on
# every counter that applies before it checks the PIN, all or none (edge_server.pin_guard).


def hit(conn: sqlite3.Connection, key: str, window_s: float, now: float, amount: int = 1) -> tuple[int, float]:
    """Count amount against key in one statement; return the window's count and when the window ends."""
    row = conn.execute(HIT_SQL, {"key": key, "amount": amount, "expires": now + window_s, "now": now}).fetchone()
    return int(row[0]), float(row[1])


def count(conn: sqlite3.Connection, key: str, now: float) -> int:
    """The key's count in its current window (0 when none)."""
    row = conn.execute("SELECT count FROM rate_limits WHERE key = ? AND expires > ?", (key, now)).fetchone()
    return int(row[0]) if row else 0


def give_back(conn: sqlite3.Connection, keys: list[str], now: float) -> None:
    """Take one try back from each key still in its window (a try that turned out right)."""
    for key in keys:
        conn.execute("UPDATE rate_limits SET count = MAX(count - 1, 0) WHERE key = ? AND expires > ?", (key, now))


def clear(conn: sqlite3.Connection, keys: list[str]) -> None:
    """Forget these counters."""
    for key in keys:
        conn.execute("DELETE FROM rate_limits WHERE key = ?", (key,))


def storage_uri(db_path: Any) -> str:
    """The Flask-Limiter storage_uri for a box.db."""
    return f"{SCHEME}://{db_path}"
