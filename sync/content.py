"""Content pull: mirror each channel of the pack origin into its own staging folder with rsync.

The origin holds one folder per channel, each a pack (<channel-id>/manifest.json ...). Each channel is pulled
into staging/<channel-id>/, which keeps the last pulled copy as rsync's basis, so an update moves only what
changed; the active version folder is offered as a --copy-dest basis when staging is empty. Models packs are
channels like any other here. Nothing here verifies or activates: the caller hands each staged folder to the
pack importer, or to the models installer when its catalog.json declares models (edge_server.sync_runs).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync import rsync
from sync.rsync import RsyncError, RsyncOptions, RsyncStats

CHANNEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


@dataclass
class StagedPack:
    """One channel folder pulled into staging."""

    channel: str
    path: Path
    stats: RsyncStats
    salvaged: list[str] = field(default_factory=list)


@dataclass
class PullResult:
    """What a pull staged, and which channels failed and why."""

    staged: list[StagedPack] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    disk_full: bool = False
    link_down: bool = False
    not_followed: list[str] = field(default_factory=list)  # offered by the origin, not followed by this box

    @property
    def bytes_received(self) -> int:
        return sum(s.stats.bytes_received for s in self.staged)


def safe_channel(name: str) -> bool:
    """A folder name usable as a channel id on disk (no dots first, no slashes, no `..`)."""
    return bool(CHANNEL_NAME.match(name)) and ".." not in name


def ssh_key_file(box_key: Path, out: Path) -> Path:
    """Write the box's Ed25519 identity in OpenSSH format (what ssh -i reads) next to it, once."""
    if out.exists() and out.stat().st_mtime >= box_key.stat().st_mtime:
        return out
    key = serialization.load_pem_private_key(box_key.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{box_key} is not an Ed25519 key")
    data = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                             serialization.NoEncryption())
    tmp = out.with_suffix(".tmp")
    tmp.touch(mode=0o600)
    tmp.chmod(0o600)
    tmp.write_bytes(data)
    tmp.replace(out)
    return out


def list_channels(origin: str, opts: RsyncOptions) -> list[str]:
    """Channel folders the origin offers (names that are not safe on disk are ignored)."""
    return [name for name in rsync.list_dirs(origin, opts) if safe_channel(name)]


def pull_channel(origin: str, channel: str, staging_dir: Path, opts: RsyncOptions, *,
                 basis: Path | None = None, on_start: Callable | None = None) -> StagedPack:
    """rsync origin/<channel>/ into staging_dir/<channel>/; raise RsyncError on failure."""
    if not safe_channel(channel):
        raise ValueError(f"unsafe channel name {channel!r}")
    dest = staging_dir / channel
    copy_dest = basis if basis is not None and basis.is_dir() else None
    try:
        result = rsync.run(rsync.join(origin, channel), dest, opts, copy_dest=copy_dest, on_start=on_start)
    except RsyncError as exc:
        if exc.disk_full:
            # A full disk stops the whole box (SQLite, uploads): free what this pull wrote before reporting.
            rsync.drop_partials(dest)
        raise
    return StagedPack(channel=channel, path=dest, stats=result.stats, salvaged=result.salvaged)


def pull(origin: str, staging_dir: Path, opts: RsyncOptions, *, channels: Iterable[str] | None = None,
         basis: Callable[[str], Path | None] | None = None,
         follow: Callable[[str], bool] | None = None) -> PullResult:
    """Pull every channel of the origin (or the given ones) that `follow` accepts; a failed channel does not stop
    the others. Channels the box does not follow are named in `not_followed` and never transferred."""
    result = PullResult()
    try:
        wanted = list(channels) if channels is not None else list_channels(origin, opts)
    except RsyncError as exc:
        result.errors["*"] = exc.reason()
        result.link_down = exc.link_down
        result.disk_full = exc.disk_full
        return result
    if follow is not None:
        result.not_followed = [c for c in wanted if not follow(c)]
        wanted = [c for c in wanted if follow(c)]
    staging_dir.mkdir(parents=True, exist_ok=True)
    for channel in wanted:
        try:
            result.staged.append(pull_channel(origin, channel, staging_dir, opts,
                                              basis=basis(channel) if basis else None))
        except RsyncError as exc:
            result.errors[channel] = exc.reason()
            result.disk_full = result.disk_full or exc.disk_full
            result.link_down = result.link_down or exc.link_down
            if exc.disk_full or exc.link_down:
                break  # the next channel would fail the same way
    return result


def forget_channel(staging_dir: Path, channel: str) -> None:
    """Drop a channel's staging copy (e.g. after the origin stopped offering it)."""
    if safe_channel(channel):
        shutil.rmtree(staging_dir / channel, ignore_errors=True)
