"""The sync summary the admin and teacher pages show."""

from __future__ import annotations

from pathlib import Path

from edge_server.store import sync_state
from edge_server.store.db import open_box_db


def test_the_summary_counts_pending_statements_and_settles_an_error_once_the_same_sync_succeeds(
        data_dir: Path) -> None:
    db = open_box_db(data_dir / "box.db")
    try:
        for i, sent in enumerate([None, None, "2026-01-01T00:00:00+00:00"]):
            db.execute("INSERT INTO outbox (statement_id, statement, created, sent_at) VALUES (?, '{}', 'x', ?)",
                       (f"id-{i}", sent))
        db.execute("UPDATE outbox SET last_error = 'rejected: HTTP 400' WHERE statement_id = 'id-1'")
        sync_state.record_push(db, {"error": "link down: ConnectionError"})
        sync_state.record_pull(db, {"error": "channel x: pack refused: bad signature"})
        summary = sync_state.summary(db)
        assert (summary["statements_pending"], summary["statements_sent"], summary["statements_rejected"]) == (2, 1, 1)
        assert summary["last_error"].startswith("pull:") and summary["last_push"] is None
        assert sync_state.get_value(db, sync_state.PUSH_FAILURES) == 1

        sync_state.record_push(db, {"error": None, "sent": 2})
        assert sync_state.summary(db)["last_error"].startswith("pull:")  # a push success does not hide a pull error
        sync_state.record_pull(db, {"error": None})
        summary = sync_state.summary(db)
        assert summary["last_error"] is None and summary["last_push"] and summary["last_pull"]
        assert sync_state.get_value(db, sync_state.PUSH_FAILURES) == 0
        assert summary["channels"] == []
    finally:
        db.conn.close()
