"""The `jobs` table: the box's queue of long work (AI pipeline runs, share pulls), the only module with SQL that
writes it. Who runs the queue, and how, is edge_server/jobs.py."""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils

from edge_server.clock import now_iso
from edge_server.store.db import one, rows, write


def enqueue(db: sqlite_utils.Database, kind: str, key: str, payload: dict[str, Any]) -> bool:
    """Queue a job unless one with the same kind and key is already queued or running (in the caller's
    transaction)."""
    cur = db.execute(
        "INSERT OR IGNORE INTO jobs (kind, key, payload, status, created) VALUES (?, ?, ?, 'queued', ?)",
        (kind, key, json.dumps(payload), now_iso()),
    )
    return cur.rowcount == 1


def requeue_interrupted(db: sqlite_utils.Database, kinds: tuple[str, ...], max_tries: int, error: str) -> int:
    """Put jobs of these kinds left 'running' back in the queue; those interrupted max_tries times fail with error.

    Call only while holding the worker lock of these kinds: then no job of theirs can really be running.
    """
    marks = ",".join("?" * len(kinds))

    def requeue(tx: sqlite_utils.Database) -> int:
        tx.execute(f"UPDATE jobs SET status = 'failed', message = 'failed', finished = ?, error = ? "
                   f"WHERE status = 'running' AND tries >= ? AND kind IN ({marks})",
                   (now_iso(), error, max_tries, *kinds))
        return tx.execute(f"UPDATE jobs SET status = 'queued', message = 'interrupted; queued again', progress = 0 "
                          f"WHERE status = 'running' AND kind IN ({marks})", kinds).rowcount

    return write(db, requeue)


def claim_next(db: sqlite_utils.Database, kinds: tuple[str, ...]) -> dict[str, Any] | None:
    """Mark the oldest queued job of these kinds running and return it, payload parsed (None when there is none)."""
    marks = ",".join("?" * len(kinds))

    def claim(tx: sqlite_utils.Database) -> dict[str, Any] | None:
        job = one(tx, f"SELECT * FROM jobs WHERE status = 'queued' AND kind IN ({marks}) ORDER BY id LIMIT 1",
                  kinds)
        if job is None:
            return None
        tx.execute("UPDATE jobs SET status = 'running', tries = tries + 1, started = ?, progress = 0, "
                   "message = 'starting', error = NULL WHERE id = ?", (now_iso(), job["id"]))
        return {**job, "status": "running", "payload": json.loads(job["payload"])}

    return write(db, claim)


def set_progress(db: sqlite_utils.Database, job_id: int, fraction: float, message: str) -> None:
    """Record how far a running job is (0..1) and what it is doing."""
    write(db, lambda tx: tx.execute("UPDATE jobs SET progress = ?, message = ? WHERE id = ? AND status = 'running'",
                                    (max(0.0, min(1.0, fraction)), message, job_id)))


def mark_done(db: sqlite_utils.Database, job_id: int, message: str = "done") -> None:
    """Mark a job done (in the caller's transaction, so that its results and its status change together)."""
    db.execute("UPDATE jobs SET status = 'done', progress = 1, message = ?, finished = ? WHERE id = ?",
               (message, now_iso(), job_id))


def fail(db: sqlite_utils.Database, job_id: int, error: str) -> None:
    """Mark a job failed with a message a teacher can read."""
    write(db, lambda tx: tx.execute("UPDATE jobs SET status = 'failed', error = ?, message = 'failed', finished = ? "
                                    "WHERE id = ?", (error, now_iso(), job_id)))


def queue_again(db: sqlite_utils.Database, job_id: int, error: str, message: str) -> None:
    """Put a failed try back in the queue, its reason kept."""
    write(db, lambda tx: tx.execute("UPDATE jobs SET status = 'queued', progress = 0, error = ?, message = ? "
                                    "WHERE id = ?", (error, message, job_id)))


def forget_queued_of_lesson(db: sqlite_utils.Database, lesson_id: str) -> int:
    """Drop the queued jobs of a lesson that is going away (in the caller's transaction); how many."""
    return db.execute("DELETE FROM jobs WHERE status = 'queued' AND json_extract(payload, '$.lesson_id') = ?",
                      (lesson_id,)).rowcount


def recent(db: sqlite_utils.Database, limit: int = 100, kinds: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    """The newest jobs first (of these kinds, or all), payload parsed."""
    where = f"WHERE kind IN ({','.join('?' * len(kinds))}) " if kinds else ""
    found = rows(db, "SELECT id, kind, key, payload, status, progress, message, error, tries, created, started, "
                     f"finished FROM jobs {where}ORDER BY id DESC LIMIT ?", (*(kinds or ()), limit))
    return [{**job, "payload": json.loads(job["payload"] or "{}")} for job in found]


def latest(db: sqlite_utils.Database, kind: str, key: str) -> dict[str, Any] | None:
    """The status, progress, message and error of the newest job of this kind and key."""
    return one(db, "SELECT status, progress, message, error FROM jobs WHERE kind = ? AND key = ? "
                   "ORDER BY id DESC LIMIT 1", (kind, key))


def counts(db: sqlite_utils.Database) -> dict[str, int]:
    """How many jobs are in each status."""
    return {r["status"]: r["n"] for r in rows(db, "SELECT status, COUNT(*) AS n FROM jobs GROUP BY status")}


def pending(db: sqlite_utils.Database, kinds: tuple[str, ...] | None = None) -> int:
    """Jobs queued or running (of these kinds, or all)."""
    where = f" AND kind IN ({','.join('?' * len(kinds))})" if kinds else ""
    found = one(db, f"SELECT COUNT(*) AS n FROM jobs WHERE status IN ('queued', 'running'){where}", kinds or ())
    return int(found["n"]) if found else 0


def first_running(db: sqlite_utils.Database) -> dict[str, Any] | None:
    """The oldest running job's id, key, progress and message."""
    return one(db, "SELECT id, key, progress, message FROM jobs WHERE status = 'running' ORDER BY id LIMIT 1")
