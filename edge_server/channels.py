"""Channels on a box: which ones it follows, their sizes on disk, and taking one off the box.

Two ways a channel leaves the catalog, both inside the caller's transaction:

* `unlist_rows`: its catalog rows go (channel, courses, lessons, knowledge points, exercises, search rows) but what
  was computed from its media stays (AI outputs, transcript chunks, which the companion only uses through a lesson
  row) and so do teachers' assignments. A restore without the packs' files uses this: the next pull or import of the
  same pack brings the lessons back, accepted as new (no rollback), and queues no AI job.
* `remove_rows`: everything above, plus the transcript chunks and assignments of its lessons, its queued jobs, and
  the AI outputs no other lesson uses. `edge-server channel remove` uses this, then deletes the files.

Pupils' attempts, mastery and the outbox are never touched: they are the pupils' history, and statements already
written must still reach the LRS.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlite_utils

from edge_server.store import channels as channel_store
from edge_server.store import jobs as job_store
from edge_server.store import people
from edge_server.store.db import one, rows
from sync.packs import in_scope

REMOVED_PREFIX = ".removed-"


class ChannelError(Exception):
    """A channel cannot be removed; the message says why and what to do."""


def follows(followed: tuple[str, ...] | list[str], channel_id: str) -> bool:
    """Does a box with this `channels` setting follow the channel? Empty = every channel the origin offers.

    Each entry is a channel id, or a prefix ending in "." (`cn.k12.` follows every cn.k12.* channel), read like a
    trust-anchor scope line (sync.packs.in_scope).
    """
    if not followed:
        return True
    return any(in_scope(channel_id, entry) for entry in followed)


def folder_size(path: Path) -> int:
    """Bytes of the regular files under a folder (0 when it is missing)."""
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, name)).st_size
    return total


def pack_size(path: Path) -> int:
    """Bytes of an activated version: the sizes its manifest lists (no walk), else what the folder holds."""
    try:
        manifest = json.loads((path / "manifest.json").read_bytes())
        return int(sum(f["size"] for f in manifest["files"]))
    except (OSError, ValueError, KeyError, TypeError):
        return folder_size(path)


def channel_report(db: sqlite_utils.Database, settings: Any) -> list[dict[str, Any]]:
    """Each channel on the box: version, title, lessons, bytes on disk, dates, expiry by trusted time, followed."""
    from edge_server.catalog import is_expired

    trusted = channel_store.box_trusted_now(db)
    out = []
    for c in sorted(channel_store.all_channels(db, count_lessons=True), key=lambda c: (c.local, c.id)):
        path = Path(c.path)
        out.append({"channel": c.id, "title": c.title, "version": c.version, "language": c.language,
                    "activated_at": c.activated_at, "created": c.manifest_created, "expires": c.expires,
                    "lessons": c.lessons, "local": c.own, "bytes": folder_size(path) if c.own else pack_size(path),
                    "expired": is_expired(c.expires, trusted), "followed": c.own or follows(settings.channels, c.id)})
    return out


def unlist_rows(db: sqlite_utils.Database, channel_id: str) -> None:
    """Delete a channel's catalog rows, keeping AI outputs, transcript chunks and assignments."""
    db.execute("DELETE FROM catalog_fts WHERE lesson_id IN (SELECT id FROM lessons WHERE channel_id = ?)",
               (channel_id,))
    db.execute("DELETE FROM lesson_knowledge_points WHERE lesson_id IN (SELECT id FROM lessons WHERE channel_id = ?)",
               (channel_id,))
    for table in ("exercises", "lessons", "courses", "knowledge_points"):
        db.execute(f"DELETE FROM {table} WHERE channel_id = ?", (channel_id,))
    channel_store.delete(db, channel_id)


def remove_rows(db: sqlite_utils.Database, channel_id: str) -> dict[str, int]:
    """Delete everything the box keeps about a channel's content (not pupils' history); call in a transaction."""
    lessons = [r["id"] for r in rows(db, "SELECT id FROM lessons WHERE channel_id = ?", (channel_id,))]
    media = [r["media_sha256"] for r in rows(db, "SELECT DISTINCT media_sha256 FROM lessons WHERE channel_id = ? "
                                                 "AND media_sha256 IS NOT NULL", (channel_id,))]
    chunks = jobs = assignments = 0
    for lesson_id in lessons:
        for old in rows(db, "SELECT id, COALESCE(search_text, text) AS text FROM transcript_chunks "
                            "WHERE lesson_id = ?", (lesson_id,)):
            # external-content FTS5: a row leaves the index with the text it was indexed with
            db.execute("INSERT INTO chunks_fts (chunks_fts, rowid, text) VALUES ('delete', ?, ?)",
                       (old["id"], old["text"]))
            chunks += 1
        db.execute("DELETE FROM transcript_chunks WHERE lesson_id = ?", (lesson_id,))
        assignments += people.unassign_lesson(db, lesson_id)
        jobs += job_store.forget_queued_of_lesson(db, lesson_id)
    unlist_rows(db, channel_id)
    outputs = 0
    for sha in media:
        if one(db, "SELECT 1 AS x FROM lessons WHERE media_sha256 = ?", (sha,)) is None:
            outputs += db.execute("DELETE FROM ai_outputs WHERE media_sha256 = ?", (sha,)).rowcount
    return {"lessons": len(lessons), "transcript_chunks": chunks, "assignments": assignments, "jobs": jobs,
            "ai_outputs": outputs}


@contextlib.contextmanager
def content_lock(content_dir: Path) -> Iterator[None]:
    """The lock `pack import` holds (content/.import.lock): no import, removal or media backup at the same time."""
    content_dir.mkdir(parents=True, exist_ok=True)
    with open(content_dir / ".import.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def sweep_removed(content_dir: Path) -> None:
    """Delete folders a removal moved aside and did not finish deleting (a crash); call holding content_lock."""
    if content_dir.is_dir():
        for old in content_dir.glob(f"{REMOVED_PREFIX}*"):
            shutil.rmtree(old, ignore_errors=True)


def recordings_count(db: sqlite_utils.Database, channel_id: str) -> int:
    """Lessons of a channel (for the box's own channel: the teachers' recordings, which exist nowhere else)."""
    found = one(db, "SELECT COUNT(*) AS n FROM lessons WHERE channel_id = ?", (channel_id,))
    return int(found["n"]) if found else 0


def remove_channel(db: sqlite_utils.Database, content_dir: Path, staging_dir: Path, channel_id: str, *,
                   force: bool = False) -> dict[str, Any]:
    """Take a channel off the box: its rows in one transaction, then its files (active version, leftovers, staging).

    The switch is the commit: before it the channel serves as it did, after it nothing of it is served. Its folder
    is then renamed aside and deleted; a crash in between leaves only a `.removed-*` folder, swept next time.
    Refused (ChannelError, nothing changed) for an unknown channel, and for the teachers' recordings unless force.
    """
    from edge_server.store.db import write

    with content_lock(content_dir):
        sweep_removed(content_dir)
        channel = channel_store.get(db, channel_id)
        if channel is None:
            known = ", ".join(c.id for c in channel_store.all_channels(db)) or "none"
            raise ChannelError(f"no channel {channel_id!r} on this box (channels: {known})")
        own = channel.own
        recordings = recordings_count(db, channel_id) if own else 0
        if own and not force:
            raise ChannelError(f"{channel_id} holds the teachers' own recordings ({recordings}), which exist nowhere "
                               "else: back them up first, then pass --force to remove them")
        folder = content_dir / channel_id
        size = folder_size(folder)

        removed = write(db, lambda tx: remove_rows(tx, channel_id))
        if folder.is_dir():
            aside = content_dir / f"{REMOVED_PREFIX}{channel_id}-{secrets.token_hex(4)}"
            os.rename(folder, aside)
            shutil.rmtree(aside, ignore_errors=True)
        shutil.rmtree(staging_dir / channel_id, ignore_errors=True)
    return {"channel": channel_id, "version": channel.version, "bytes_freed": size, "recordings": recordings,
            **removed}
