"""What the admin and share views read: this box, its active packs, its job queue, and the boxes nearby."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from edge_server.settings import Settings
from edge_server.store import channels as channel_store
from edge_server.store import meta as meta_store


def meta(db: sqlite_utils.Database) -> dict[str, str]:
    """The box's meta table as a dict (box_id, box_name, rekeyed_from, ...)."""
    return meta_store.all_values(db)


def shareable_channels(db: sqlite_utils.Database) -> list[channel_store.Channel]:
    """The active channels this box offers to the boxes around it (share view, mDNS announcement): never the box's
    own channel, the teachers' classroom recordings with children's voices and names."""
    return [c for c in channel_store.all_channels(db) if not c.own]


def shared_pack_dir(db: sqlite_utils.Database, settings: Settings, channel_id: str) -> tuple[Path, int] | None:
    """The folder of a channel's active pack and its version, for another box to read; None when the channel is not
    active here or not shareable (the teachers' recordings, whatever lies in their folder)."""
    channel = channel_store.get(db, channel_id)
    if channel is None or channel.own:
        return None
    folder = channel.folder(settings.data_dir)
    return (folder, channel.version) if (folder / "manifest.json").is_file() else None


def job_counts(db: sqlite_utils.Database) -> dict[str, int]:
    """How many jobs are in each state."""
    from edge_server.store import jobs as job_store

    return job_store.counts(db)


def sync_summary(db: sqlite_utils.Database) -> dict[str, Any]:
    """Last push and pull, statements pending, last error (the sync area's own summary)."""
    from edge_server.store import sync_state

    return sync_state.summary(db)


class NearbyBoxes:
    """Discovery results cached for the admin page, refreshed in a background thread so no page waits on mDNS."""

    def __init__(self, discover: Callable[[], list[dict[str, Any]]], max_age_s: float = 30.0) -> None:
        self._discover = discover
        self._max_age_s = max_age_s
        self._lock = threading.Lock()
        self._boxes: list[dict[str, Any]] = []
        self._updated: float | None = None
        self._error = ""
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        try:
            boxes, error = self._discover(), ""
        except Exception as exc:  # noqa: BLE001 - a broken LAN is shown on the page, never raised into it
            boxes, error = None, str(exc)
        with self._lock:
            if boxes is not None:
                self._boxes = boxes
            self._error = error
            self._updated = time.time()
            self._thread = None

    def refresh(self) -> None:
        """Start a discovery in the background unless one is running."""
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="nearby-boxes", daemon=True)
            self._thread.start()

    def snapshot(self) -> dict[str, Any]:
        """The last result at once, starting a refresh when it is missing or stale."""
        with self._lock:
            stale = self._updated is None or time.time() - self._updated > self._max_age_s
        if stale:
            self.refresh()
        with self._lock:
            updated = (datetime.fromtimestamp(self._updated, UTC).isoformat(timespec="seconds")
                       if self._updated else None)
            return {"boxes": list(self._boxes), "updated": updated, "searching": self._thread is not None,
                    "error": self._error}

    def wait(self, timeout: float) -> None:
        """Block until the running refresh ends (for tests and the CLI)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
