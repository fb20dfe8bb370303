"""Rate-limit counters in box.db, which every worker process shares and a restart keeps (per-process counters gave
a guesser a fresh set of tries per worker, and a crash forgave them all)."""

from __future__ import annotations

import sqlite3

SCHEME = "box-sqlite"

# Add :amount to a fixed-window counter, starting a new window when the old one is over; returns count, expires.
HIT_SQL = ("INSERT INTO rate_limits (key, count, expires) VALUES (:key, :amount, :expires) "
           "ON CONFLICT(key) DO UPDATE SET "
           "count = CASE WHEN expires <= :now THEN :amount ELSE count + :amount END, "
           "expires = CASE WHEN expires <= :now THEN :expires ELSE expires END RETURNING count, expires")


# Used inside a caller's transaction: the PIN login and the teacher's login take a try on every counter that applies
# before they check the PIN or password, all or none (edge_server.pin_guard, edge_server.web.auth.take_login_try).


def hit(conn: sqlite3.Connection, key: str, window_s: float, now: float, amount: int = 1) -> tuple[int, float]:
    """Count amount against key in one statement; return the window's count and when the window ends."""
    # Forget windows that are over, so that tries from many addresses or made-up names do not pile up for ever.
    conn.execute("DELETE FROM rate_limits WHERE expires <= ?", (now,))
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
