"""The job queue in box.db: AI pipeline runs and other long work, surviving restarts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from edge_server.db import rows

PIPELINE = "pipeline"


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def enqueue(db: sqlite_utils.Database, kind: str, key: str, payload: dict[str, Any]) -> bool:
    """Queue a job unless one with the same kind and key is already queued or running."""
    cur = db.execute(
        "INSERT OR IGNORE INTO jobs (kind, key, payload, status, created) VALUES (?, ?, ?, 'queued', ?)",
        (kind, key, json.dumps(payload), now_iso()),
    )
    return cur.rowcount == 1


def queue_pipeline_jobs(db: sqlite_utils.Database, channel_id: str) -> int:
    """Queue the AI pipeline for each lesson medium of a channel that has no outputs yet."""
    queued = 0
    for lesson in rows(db, "SELECT id, media_sha256 FROM lessons WHERE channel_id = ? AND media_sha256 IS NOT NULL "
                           "AND media_sha256 NOT IN (SELECT media_sha256 FROM ai_outputs WHERE kind = 'chapters')",
                       (channel_id,)):
        queued += enqueue(db, PIPELINE, lesson["media_sha256"], {"lesson_id": lesson["id"]})
    return queued
