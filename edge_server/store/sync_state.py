"""The sync_state table: when the box last pushed and pulled, the last error, and a summary for the pages."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlite_utils

from edge_server.clock import now_iso_seconds
from edge_server.store.db import one

LAST_PUSH, LAST_PULL, LAST_ERROR = "last_push", "last_pull", "last_error"
LAST_PUSH_RESULT, LAST_PULL_RESULT = "last_push_result", "last_pull_result"
LINK, PUSH_FAILURES, PULL_FAILURES = "link", "push_failures", "pull_failures"
NEXT_PUSH_AT, NEXT_PULL_AT = "next_push_at", "next_pull_at"


def set_value(db: sqlite_utils.Database, key: str, value: Any) -> None:
    """Store one value (JSON-encoded unless it is a string or None)."""
    text = value if value is None or isinstance(value, str) else json.dumps(value, sort_keys=True)
    db.execute("INSERT OR REPLACE INTO sync_state (key, value, updated) VALUES (?, ?, ?)",
               (key, text, now_iso_seconds()))


def get_value(db: sqlite_utils.Database, key: str, default: Any = None) -> Any:
    """Read one value back (decoding JSON where it was stored as JSON)."""
    row = one(db, "SELECT value FROM sync_state WHERE key = ?", (key,))
    if row is None or row["value"] is None:
        return default
    try:
        return json.loads(row["value"])
    except ValueError:
        return row["value"]


def updated_at(db: sqlite_utils.Database, key: str) -> str | None:
    """When a key was last written."""
    row = one(db, "SELECT updated FROM sync_state WHERE key = ?", (key,))
    return row["updated"] if row else None


def record_error(db: sqlite_utils.Database, where: str, message: str) -> None:
    """Remember the last sync error, prefixed by what failed (push, pull, ...)."""
    set_value(db, LAST_ERROR, f"{where}: {message}")


def _clear_error(db: sqlite_utils.Database, where: str) -> None:
    # A success of the same kind settles the last error; an error of the other kind stays until it is settled.
    last = get_value(db, LAST_ERROR)
    if isinstance(last, str) and last.startswith(f"{where}:"):
        set_value(db, LAST_ERROR, None)


_KEYS = {"push": (LAST_PUSH_RESULT, PUSH_FAILURES, LAST_PUSH), "pull": (LAST_PULL_RESULT, PULL_FAILURES, LAST_PULL)}


def _record(db: sqlite_utils.Database, kind: str, result: dict[str, Any]) -> None:
    result_key, failures_key, last_key = _KEYS[kind]
    set_value(db, result_key, result)
    if result.get("error"):
        record_error(db, kind, result["error"])
        set_value(db, failures_key, int(get_value(db, failures_key, 0) or 0) + 1)
    else:
        set_value(db, last_key, now_iso_seconds())
        set_value(db, failures_key, 0)
        _clear_error(db, kind)


def record_push(db: sqlite_utils.Database, result: dict[str, Any]) -> None:
    """Remember a push attempt; a complete one clears the push failure count."""
    _record(db, "push", result)


def record_pull(db: sqlite_utils.Database, result: dict[str, Any]) -> None:
    """Remember a pull attempt (per-channel outcome), and its error if any."""
    _record(db, "pull", result)


def active_channels(db: sqlite_utils.Database, now: datetime | None = None) -> list[dict[str, Any]]:
    """Each channel's active version, when it was activated, when it expires and whether it has expired by the
    box's trusted time (an expired pack is no longer served: a newer version must be pulled)."""
    from edge_server.catalog import is_expired
    from edge_server.store import channels as channel_store

    trusted = channel_store.box_trusted_now(db, now)
    return [{"channel": c.id, "title": c.title, "version": c.version, "activated_at": c.activated_at,
             "expires": c.expires, "expired": is_expired(c.expires, trusted)}
            for c in channel_store.all_channels(db)]


def summary(db: sqlite_utils.Database) -> dict[str, Any]:
    """What teacher and admin pages show: last sync, pending statements, active versions (expired ones named in
    expired_channels), last error."""
    from edge_server.store import outbox

    counts = outbox.counts(db)
    channels = active_channels(db)
    return {
        "last_push": get_value(db, LAST_PUSH),
        "last_pull": get_value(db, LAST_PULL),
        "last_error": get_value(db, LAST_ERROR),
        "last_error_at": updated_at(db, LAST_ERROR),
        "link": get_value(db, LINK),
        "link_checked": updated_at(db, LINK),
        "statements_pending": counts["pending"],
        "statements_sent": counts["sent"],
        "statements_rejected": counts["rejected"],
        "channels": channels,
        "expired_channels": [c["channel"] for c in channels if c["expired"]],
    }
