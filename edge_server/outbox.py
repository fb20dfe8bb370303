"""The outbox of xAPI statements waiting to be pushed to the province."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from sync.statements import canonical_json


def enqueue(db: sqlite_utils.Database, statement: dict[str, Any]) -> bool:
    """Insert a statement inside the caller's transaction; a known statement id is left as it is."""
    cur = db.conn.execute(
        "INSERT OR IGNORE INTO outbox (statement_id, statement, created) VALUES (?, ?, ?)",
        (statement["id"], canonical_json(statement), datetime.now(UTC).isoformat()),
    )
    return cur.rowcount == 1
