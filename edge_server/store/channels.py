"""The `channels` table and the trusted-time floor: the only module that reads or writes SQL for them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from edge_server import clock
from edge_server.store import meta
from edge_server.store.db import one, rows
from sync.packs import is_reserved_channel, iso
from sync.trust import advance_floor, floor_ahead_s, parse_floor, trusted_now

FLOOR_KEY = "trusted_time_floor"
_COLUMNS = "id, title, language, level, version, path, manifest_created, expires, key_id, activated_at, local"
_LESSONS = "(SELECT COUNT(*) FROM lessons l WHERE l.channel_id = channels.id) AS lessons"


@dataclass(frozen=True)
class Channel:
    """One active channel: the version it serves, the folder that version lies in, and its pack's dates."""

    id: str
    title: str
    language: str | None
    level: str | None
    version: int
    path: str
    manifest_created: str | None
    expires: str | None
    key_id: str | None
    activated_at: str
    local: bool
    lessons: int = 0

    @property
    def own(self) -> bool:
        """The school's own channel (teachers' recordings: children's voices and names), never shared or synced."""
        return self.local or is_reserved_channel(self.id)

    def folder(self, data_dir: Path) -> Path:
        """The folder of the active version (a stored relative path is relative to the data folder)."""
        stored = self.path or os.path.join("content", self.id, f"v{self.version}")
        return Path(os.path.join(data_dir, stored))

    def summary(self) -> dict[str, Any]:
        """The channel as the catalog API and the admin page show it."""
        return {"id": self.id, "title": self.title, "language": self.language, "level": self.level,
                "version": self.version, "manifest_created": self.manifest_created, "expires": self.expires,
                "activated_at": self.activated_at, "local": int(self.local)}

    def listing(self) -> dict[str, Any]:
        """The channel as `pack list --json` shows it."""
        return {"channel": self.id, "version": self.version, "title": self.title, "language": self.language,
                "level": self.level, "created": self.manifest_created, "expires": self.expires,
                "key_id": self.key_id, "activated_at": self.activated_at, "path": self.path,
                "lessons": self.lessons}


def _channel(row: dict[str, Any]) -> Channel:
    return Channel(**{**row, "local": bool(row["local"])})


def get(db: sqlite_utils.Database, channel_id: str) -> Channel | None:
    """One channel, or None when it is not active on this box."""
    row = one(db, f"SELECT {_COLUMNS} FROM channels WHERE id = ?", (channel_id,))
    return _channel(row) if row else None


def all_channels(db: sqlite_utils.Database, *, count_lessons: bool = False) -> list[Channel]:
    """Every active channel, by id (with how many lessons each has, when asked)."""
    columns = f"{_COLUMNS}, {_LESSONS}" if count_lessons else _COLUMNS
    return [_channel(r) for r in rows(db, f"SELECT {columns} FROM channels ORDER BY id")]


def active_version(db: sqlite_utils.Database, channel_id: str) -> int | None:
    """The active version of a channel on this box, or None."""
    row = one(db, "SELECT version FROM channels WHERE id = ?", (channel_id,))
    return int(row["version"]) if row else None


def count(db: sqlite_utils.Database) -> int:
    """How many channels are active."""
    return int(db.conn.execute("SELECT COUNT(*) FROM channels").fetchone()[0])


def of_lesson(db: sqlite_utils.Database, lesson_id: str) -> Channel | None:
    """The channel a lesson belongs to."""
    row = one(db, f"SELECT {_COLUMNS} FROM channels WHERE id = (SELECT channel_id FROM lessons WHERE id = ?)",
              (lesson_id,))
    return _channel(row) if row else None


def activate(db: sqlite_utils.Database, channel: dict[str, Any], version: int, path: Path, created: datetime,
             expires: datetime | None, key_id: str, now: datetime) -> None:
    """Make a verified pack version the channel's active one; call inside the import's transaction."""
    db.execute("INSERT OR REPLACE INTO channels (id, title, language, level, version, path, manifest_created, "
               "expires, key_id, activated_at, local) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
               (channel["id"], channel["title"], channel["language"], channel["level"], version, str(path),
                iso(created), iso(expires) if expires else None, key_id, now.isoformat(timespec="seconds")))


def add_local(db: sqlite_utils.Database, channel_id: str, title: str, version: int, path: Path) -> None:
    """Create the school's own channel once (teachers' recordings); call inside a transaction."""
    db.execute("INSERT OR IGNORE INTO channels (id, title, language, level, version, path, activated_at, local) "
               "VALUES (?, ?, 'en', '', ?, ?, ?, 1)",
               (channel_id, title, version, str(path), clock.now_iso_seconds()))


def move(db: sqlite_utils.Database, channel_id: str, path: Path) -> None:
    """Point a channel at its folder's new place (a restore onto another data folder)."""
    db.execute("UPDATE channels SET path = ? WHERE id = ?", (str(path), channel_id))


def delete(db: sqlite_utils.Database, channel_id: str) -> None:
    """Forget a channel (its catalog rows go first); call inside a transaction."""
    db.execute("DELETE FROM channels WHERE id = ?", (channel_id,))


def last_activation(db: sqlite_utils.Database) -> datetime | None:
    """When the latest pack was activated, by the system clock of that moment."""
    row = one(db, "SELECT MAX(activated_at) AS at FROM channels")
    return parse_floor(row["at"] if row else None)


# --- the trusted-time floor: the newest verified manifest date the box has seen ----------------------------------

def load_floor(db: sqlite_utils.Database) -> datetime | None:
    """The stored trusted-time floor."""
    return parse_floor(meta.get(db, FLOOR_KEY))


def write_floor(db: sqlite_utils.Database, floor: datetime) -> None:
    """Store the floor as given (raising or an operator's reset decide its value)."""
    meta.put(db, FLOOR_KEY, floor.isoformat())


def raise_floor(db: sqlite_utils.Database, created: datetime) -> None:
    """Raise the floor to a verified manifest's `created` (never lowers it); call inside a transaction."""
    write_floor(db, advance_floor(load_floor(db), created))


def box_trusted_now(db: sqlite_utils.Database, now: datetime | None = None) -> datetime:
    """max(system clock, stored floor): the time the box judges expiry by."""
    return trusted_now(now or clock.now(), load_floor(db))


def trusted_time(db: sqlite_utils.Database, now: datetime | None = None) -> dict[str, Any]:
    """The system clock, the stored floor, the trusted time and how far ahead the floor is."""
    system, floor = now or clock.now(), load_floor(db)
    return {"system_clock": system.isoformat(timespec="seconds"),
            "floor": floor.isoformat(timespec="seconds") if floor else None,
            "trusted_now": trusted_now(system, floor).isoformat(timespec="seconds"),
            "floor_ahead_s": floor_ahead_s(system, floor)}
