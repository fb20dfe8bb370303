"""Backup and restore of a box's data directory: one archive, checked before anything is replaced.

An archive is a gzip'd tar of:

    box.db                 an online SQLite backup (a consistent snapshot taken while the box serves)
    config.toml            the box's configuration
    keys/...               identity (box.key, box.secret), session secret, trust anchors, LRS CA, SSH files
    content/local.school/  the teachers' own recordings (they exist nowhere else; --without-recordings leaves them)
    content/<channel>/vN/  each active pack version, only with --with-media (the origin can send them again)
    backup.json            the last member: {"format": 1, "kind": "edge-server-backup", "created", "box_id",
                           "box_name", "with_media", "recordings", "migrations": [...], "counts": {...},
                           "files": [{"path", "sha256", "size"}]}

Restore reads the whole archive into a folder inside the data directory, checks every member against
backup.json (names, sizes, sha256, nothing missing, nothing extra, only regular files) and the database
(integrity check, schema not newer than this program), and only then swaps box.db, config.toml, keys and the
archived content folders in by rename. What they replace is kept in DATA/.pre-restore-<time>/. A refused archive
changes nothing. The restored box keeps its identity (the host is adopted, like `rekey --adopt-host`), its pupils,
their progress and the outbox as it was: statements acknowledged before the backup are not sent again, and those
sent after it are the same statements, which the LRS keeps once. Channels whose files are not in the archive nor on
the box are unlisted until `sync pull` or `pack import` brings them back (accepted as new; no AI job runs again).
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import hashlib
import io
import json
import os
import re
import secrets
import shutil
import sqlite3
import stat
import tarfile
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from edge_server import clock
from edge_server.packs_import import _progress, fsync_dir
from sync import packs
from sync.packs import FileEntry

FORMAT = 1
KIND = "edge-server-backup"
MANIFEST_NAME = "backup.json"
MAX_MANIFEST_BYTES = 64 * 1024 * 1024
NIGHTLY_PREFIX = "edge-server-backup-"
NIGHTLY_RE = re.compile(r"^edge-server-backup-[A-Za-z0-9._-]*-(\d{8}T\d{6}Z)\.tar\.gz$")
TOP_LEVEL_FILES = ("box.db", "config.toml")
TOP_LEVEL_DIRS = ("keys", "content")
CHUNK = 1024 * 1024
LAST_BACKUP = "last_backup"


class BackupError(Exception):
    """A backup cannot be written or an archive cannot be restored; nothing changed. One line says why."""


# --- pure: manifest, member names, rotation ----------------------------------------------------------------

@dataclass(frozen=True)
class BackupManifest:
    created: str
    box_id: str
    box_name: str
    with_media: bool
    recordings: bool
    migrations: tuple[str, ...]
    counts: dict[str, int]
    files: tuple[FileEntry, ...]

    def to_bytes(self) -> bytes:
        doc = {"format": FORMAT, "kind": KIND, "created": self.created, "box_id": self.box_id,
               "box_name": self.box_name, "with_media": self.with_media, "recordings": self.recordings,
               "migrations": list(self.migrations), "counts": self.counts,
               "files": [{"path": e.path, "sha256": e.sha256, "size": e.size} for e in self.files]}
        return (json.dumps(doc, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def check_member(name: str) -> str:
    """An archive member name must be a plain relative path under what a backup holds; return it or raise."""
    try:
        packs.check_path(name)
    except packs.PackError as exc:
        raise BackupError(f"archive member {name[:80]!r} is not a plain relative path") from exc
    top = name.split("/", 1)[0]
    if name in (*TOP_LEVEL_FILES, MANIFEST_NAME) or (top in TOP_LEVEL_DIRS and "/" in name):
        return name
    raise BackupError(f"archive member {name[:80]!r} is not part of a box backup")


class UnreadableManifest(BackupError):
    """backup.json is not JSON at all: in an archive that otherwise reads, a sign of damage."""


def parse_manifest(data: bytes) -> BackupManifest:
    """Parse backup.json (schema, paths, duplicates), or raise BackupError."""
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise UnreadableManifest(f"{MANIFEST_NAME} is not valid JSON") from exc
    if not isinstance(raw, dict) or raw.get("kind") != KIND:
        raise BackupError(f"{MANIFEST_NAME} does not describe an edge-server backup")
    if raw.get("format") != FORMAT:
        raise BackupError(f"backup format {raw.get('format')!r} is not one this program reads ({FORMAT})")
    files: list[FileEntry] = []
    seen: set[str] = set()
    for item in raw.get("files") or []:
        if not isinstance(item, dict):
            raise BackupError(f"{MANIFEST_NAME} lists a file that is not an object")
        path = check_member(str(item.get("path", "")))
        sha, size = item.get("sha256"), item.get("size")
        if path in seen or path == MANIFEST_NAME:
            raise BackupError(f"{MANIFEST_NAME} lists {path!r} twice")
        if not isinstance(sha, str) or not packs.SHA256_RE.match(sha) or not isinstance(size, int) or size < 0:
            raise BackupError(f"{MANIFEST_NAME} entry for {path!r} has no valid sha256 and size")
        seen.add(path)
        files.append(FileEntry(path, sha, size))
    if "box.db" not in seen:
        raise BackupError(f"{MANIFEST_NAME} lists no box.db")
    migrations = raw.get("migrations") or []
    counts = raw.get("counts") or {}
    if not isinstance(migrations, list) or not isinstance(counts, dict):
        raise BackupError(f"{MANIFEST_NAME} has malformed migrations or counts")
    return BackupManifest(str(raw.get("created", "")), str(raw.get("box_id", "")), str(raw.get("box_name", "")),
                          bool(raw.get("with_media")), bool(raw.get("recordings")),
                          tuple(str(m) for m in migrations), {str(k): int(v) for k, v in counts.items()},
                          tuple(files))


def safe_name(text: str) -> str:
    """A box name as a file-name part: letters, digits, `.`, `_`, `-`."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")[:40] or "box"


def nightly_name(box_name: str, now: datetime) -> str:
    """The file name of a scheduled backup; names sort by time."""
    return f"{NIGHTLY_PREFIX}{safe_name(box_name)}-{now.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}.tar.gz"


def to_prune(names: list[str], keep: int) -> list[str]:
    """Which scheduled backups to delete so that the newest `keep` remain (other files are never touched)."""
    ours = sorted((m.group(1), n) for n in names if (m := NIGHTLY_RE.match(n)))
    return [n for _t, n in ours[:max(0, len(ours) - max(1, keep))]]


# --- writing an archive ------------------------------------------------------------------------------------

class _Hashing(io.RawIOBase):
    """A file read through once, hashed on the way (what tar stores is what the manifest lists)."""

    def __init__(self, fh: IO[bytes], bar: Any = None) -> None:
        self.fh, self.bar = fh, bar
        self.digest = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        data = self.fh.read(n)
        self.digest.update(data)
        self.size += len(data)
        if self.bar is not None:
            self.bar.update(len(data))
        return data


def snapshot_db(db_path: Path, dest: Path) -> None:
    """An online backup of box.db into dest (consistent while the box writes; the WAL folded in), checked."""
    source = sqlite3.connect(str(db_path), timeout=30)
    target = sqlite3.connect(str(dest))
    try:
        source.backup(target)
        target.execute("PRAGMA journal_mode = DELETE")
        ok = target.execute("PRAGMA quick_check").fetchone()[0]
    finally:
        target.close()
        source.close()
    if ok != "ok":
        raise BackupError(f"the snapshot of {db_path} fails SQLite's check ({ok}): the database needs repair first")


def _snapshot_facts(path: Path) -> dict[str, Any]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        def count(sql: str) -> int:
            return int(conn.execute(sql).fetchone()[0] or 0)

        meta = {r["key"]: r["value"] for r in conn.execute("SELECT key, value FROM meta")}
        migrations = [r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations WHERE migration_set = "
                                                 "'edge_server' ORDER BY id")]
        channels = [dict(r) for r in conn.execute("SELECT id, version, local FROM channels ORDER BY id")]
        counts = {"pupils": count("SELECT COUNT(*) FROM pupils"), "teachers": count("SELECT COUNT(*) FROM teachers"),
                  "classes": count("SELECT COUNT(*) FROM classes"), "attempts": count("SELECT COUNT(*) FROM attempts"),
                  "outbox_unsent": count("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL"),
                  "outbox_sent": count("SELECT COUNT(*) FROM outbox WHERE sent_at IS NOT NULL")}
        return {"meta": meta, "migrations": migrations, "channels": channels, "counts": counts}
    finally:
        conn.close()


def _walk_files(root: Path, base: str) -> list[tuple[str, Path]]:
    """(archive path, file) for each regular file under root, links and hidden temp files left out."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not os.path.islink(os.path.join(dirpath, d)))
        for name in sorted(filenames):
            full = Path(dirpath) / name
            if name.endswith(".tmp") or not stat.S_ISREG(os.lstat(full).st_mode):
                continue
            found.append((f"{base}/{full.relative_to(root).as_posix()}", full))
    return found


def _members(data_dir: Path, snapshot: Path, facts: dict[str, Any], with_media: bool,
             recordings: bool) -> list[tuple[str, Path]]:
    members: list[tuple[str, Path]] = [("box.db", snapshot)]
    if (data_dir / "config.toml").is_file():
        members.append(("config.toml", data_dir / "config.toml"))
    members += _walk_files(data_dir / "keys", "keys")
    for channel in facts["channels"]:
        local = bool(channel["local"]) or packs.is_reserved_channel(channel["id"])
        if (local and recordings) or (with_media and not local):
            version = f"v{channel['version']}"
            folder = data_dir / "content" / channel["id"] / version
            members += _walk_files(folder, f"content/{channel['id']}/{version}")
    return members


def create_backup(data_dir: Path, out: Path, *, with_media: bool = False, recordings: bool = True,
                  show_progress: bool = False, now: datetime | None = None) -> dict[str, Any]:
    """Write one archive of the box to `out` (all or nothing: a temp file renamed at the end); return a report."""
    from edge_server.channels import content_lock

    if not (data_dir / "box.db").is_file():
        raise BackupError(f"no box in {data_dir}: nothing to back up")
    out = out.resolve()
    if out.is_dir():
        raise BackupError(f"{out} is a folder: give a file name, e.g. {out}/box.tar.gz")
    if not out.parent.is_dir():
        raise BackupError(f"folder {out.parent} does not exist (is the USB stick mounted?)")
    moment = (now or clock.now()).astimezone(UTC)
    tmp = out.with_name(f".{out.name}.tmp-{secrets.token_hex(4)}")
    snapshot = out.with_name(f".{out.name}.db-{secrets.token_hex(4)}")
    lock = content_lock(data_dir / "content") if (with_media or recordings) else contextlib.nullcontext()
    try:
        with lock:  # no pack import or channel removal moves the files while they are read
            snapshot_db(data_dir / "box.db", snapshot)
            facts = _snapshot_facts(snapshot)
            members = _members(data_dir, snapshot, facts, with_media, recordings)
            total = sum(p.stat().st_size for _n, p in members)
            entries: list[FileEntry] = []
            # packs' media is already compressed: a light level keeps a media backup quick
            level = 1 if with_media else 6
            with open(tmp, "wb") as raw, _progress(total, "backing up", show_progress) as bar:
                with tarfile.open(fileobj=raw, mode="w:gz", compresslevel=level, format=tarfile.PAX_FORMAT) as tar:
                    for name, path in members:
                        st = path.stat()
                        info = tarfile.TarInfo(name)
                        info.size, info.mtime = st.st_size, int(st.st_mtime)
                        info.mode = 0o600 if name.startswith("keys/") or name == "box.db" else st.st_mode & 0o755
                        with open(path, "rb") as fh:
                            reader = _Hashing(fh, bar)
                            tar.addfile(info, reader)
                        if reader.size != st.st_size:
                            raise BackupError(f"{path} changed while it was read: run the backup again")
                        entries.append(FileEntry(name, reader.digest.hexdigest(), reader.size))
                    manifest = BackupManifest(
                        moment.isoformat(timespec="seconds"), facts["meta"].get("box_id", ""),
                        facts["meta"].get("box_name", ""), with_media, recordings, tuple(facts["migrations"]),
                        facts["counts"], tuple(entries))
                    data = manifest.to_bytes()
                    info = tarfile.TarInfo(MANIFEST_NAME)
                    info.size, info.mtime, info.mode = len(data), int(moment.timestamp()), 0o644
                    tar.addfile(info, io.BytesIO(data))
                raw.flush()
                os.fsync(raw.fileno())
        os.replace(tmp, out)
        fsync_dir(out.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(f"{snapshot}{suffix}").unlink(missing_ok=True)
    return {"archive": str(out), "bytes": out.stat().st_size, "files": len(entries), "uncompressed_bytes": total,
            "with_media": with_media, "recordings": recordings, "box_id": manifest.box_id,
            "created": manifest.created, "counts": manifest.counts}


# --- reading and checking an archive -----------------------------------------------------------------------

class _Counting(io.RawIOBase):
    def __init__(self, fh: IO[bytes], bar: Any) -> None:
        self.fh, self.bar = fh, bar

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self.fh.readinto(buffer)
        self.bar.update(n or 0)
        return n or 0


def _damaged(archive: Path, why: str) -> BackupError:
    return BackupError(f"archive {archive} is damaged ({why}): nothing restored; use another copy")


def extract_checked(archive: Path, staging: Path, show_progress: bool = False) -> BackupManifest:
    """Unpack the archive into staging and check every member against backup.json; raise BackupError if not."""
    if not archive.is_file():
        raise BackupError(f"archive {archive} not found")
    seen: dict[str, tuple[str, int]] = {}
    manifest_data: bytes | None = None
    try:
        with open(archive, "rb") as raw, _progress(archive.stat().st_size, "checking", show_progress) as bar:
            reader = io.BufferedReader(_Counting(raw, bar), CHUNK)
            with tarfile.open(fileobj=reader, mode="r|*") as tar:
                for member in tar:
                    if manifest_data is not None:
                        raise _damaged(archive, f"{member.name[:80]!r} follows {MANIFEST_NAME}")
                    name = check_member(member.name)
                    if not member.isreg():
                        raise BackupError(f"archive member {name!r} is not a regular file (links are refused)")
                    if name in seen:
                        raise BackupError(f"archive holds {name!r} twice")
                    source = tar.extractfile(member)
                    assert source is not None
                    if name == MANIFEST_NAME:
                        if member.size > MAX_MANIFEST_BYTES:
                            raise BackupError(f"{MANIFEST_NAME} is over {MAX_MANIFEST_BYTES} bytes")
                        manifest_data = source.read()
                        continue
                    dest = staging / name
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    digest, size = hashlib.sha256(), 0
                    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                    with os.fdopen(fd, "wb") as out:
                        while chunk := source.read(CHUNK):
                            digest.update(chunk)
                            size += len(chunk)
                            out.write(chunk)
                        out.flush()
                        os.fsync(out.fileno())
                    os.chmod(dest, 0o600 if name.startswith("keys/") or name == "box.db" else member.mode & 0o755)
                    seen[name] = (digest.hexdigest(), size)
    except BackupError:
        raise
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise BackupError(f"disk full while checking the archive in {staging.parent}: free space and restore "
                              "again") from exc
        raise _damaged(archive, str(exc) or type(exc).__name__) from exc
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise _damaged(archive, str(exc) or type(exc).__name__) from exc
    if manifest_data is None:
        raise _damaged(archive, f"no {MANIFEST_NAME} at its end: it was cut short")
    try:
        manifest = parse_manifest(manifest_data)
    except UnreadableManifest as exc:
        # the stream reader stops at tar's end marker, before gzip's CRC: a flipped byte can reach this far
        raise _damaged(archive, str(exc)) from exc
    listed = {e.path: e for e in manifest.files}
    for path, entry in listed.items():
        if path not in seen:
            raise _damaged(archive, f"{path} is listed but missing")
        if seen[path] != (entry.sha256, entry.size):
            raise _damaged(archive, f"{path} does not match its sha256")
    extra = sorted(set(seen) - set(listed))
    if extra:
        raise _damaged(archive, f"{extra[0]} is not listed in {MANIFEST_NAME}")
    return manifest


def _check_database(path: Path) -> list[str]:
    """Integrity and schema of a restored box.db; bring its schema up to date; return migrations applied now."""
    from edge_server.store.db import connect
    from edge_server.store.migrations import migrate, migrations

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        result = conn.execute("PRAGMA integrity_check").fetchone()[0]
        applied = {r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations WHERE migration_set = ?",
                                              ("edge_server",))}
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"box.db in the archive is not a usable database ({exc})") from exc
    finally:
        conn.close()
    if result != "ok":
        raise BackupError(f"box.db in the archive fails SQLite's integrity check ({result})")
    import sqlite_utils

    known = {m.name for m in migrations.pending(sqlite_utils.Database(memory=True))}
    newer = sorted(applied - known)
    if newer:
        raise BackupError(f"the backup was made by a newer edge-server (schema {newer[-1]}): upgrade this box first")
    db = connect(path)
    try:
        applied_now = migrate(db)
        db.execute("PRAGMA journal_mode = DELETE")  # everything in the one file that is renamed into place
        return applied_now
    finally:
        db.conn.close()


# --- restoring ---------------------------------------------------------------------------------------------

def _running(data_dir: Path) -> list[dict[str, Any]]:
    from edge_server.supervisor import running_processes

    return running_processes(data_dir / "run")


def _chown_like(path: Path, uid: int, gid: int) -> None:
    for dirpath, dirnames, filenames in os.walk(path) if path.is_dir() else [(str(path.parent), [], [path.name])]:
        for name in [*dirnames, *filenames]:
            with contextlib.suppress(OSError):
                os.lchown(os.path.join(dirpath, name), uid, gid)
    with contextlib.suppress(OSError):
        os.lchown(path, uid, gid)


def _swap_in(data_dir: Path, staging: Path, manifest: BackupManifest, aside: Path) -> list[str]:
    """Rename the restored items into place; what they replace goes to `aside`. Return the names moved aside."""
    items = [*TOP_LEVEL_FILES, "keys"] if (staging / "config.toml").exists() else ["box.db", "keys"]
    channels = sorted({"/".join(e.path.split("/")[:2]) for e in manifest.files if e.path.startswith("content/")})
    moved: list[str] = []

    def move_aside(rel: str) -> None:
        current = data_dir / rel
        if current.exists() or current.is_symlink():
            target = aside / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            os.rename(current, target)
            moved.append(rel)

    # box.db last in, so that until then the old database (aside) is the one thing to put back
    for rel in ("box.db", "box.db-wal", "box.db-shm"):
        move_aside(rel)
    for rel in [i for i in items if i != "box.db"] + channels:
        move_aside(rel)
        (data_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        os.rename(staging / rel, data_dir / rel)
    os.rename(staging / "box.db", data_dir / "box.db")
    return moved


def _relink_channels(data_dir: Path) -> dict[str, list[str]]:
    """Point each channel at its folder in this data dir; unlist channels whose files are nowhere here."""
    from edge_server.channels import unlist_rows
    from edge_server.store import channels as channel_store
    from edge_server.store.db import open_box_db, write

    db = open_box_db(data_dir / "box.db")
    try:
        def relink(tx: Any) -> dict[str, list[str]]:
            kept, unlisted = [], []
            for channel in channel_store.all_channels(tx):
                folder = (data_dir / "content" / channel.id / f"v{channel.version}").resolve()
                if folder.is_dir():
                    channel_store.move(tx, channel.id, folder)
                    kept.append(channel.id)
                else:
                    unlist_rows(tx, channel.id)
                    unlisted.append(channel.id)
            return {"kept": kept, "unlisted": unlisted}

        return write(db, relink)
    finally:
        db.conn.close()


def restore_backup(archive: Path, data_dir: Path, *, check_only: bool = False, new_identity: bool = False,
                   show_progress: bool = False) -> dict[str, Any]:
    """Check an archive completely, then restore it into data_dir (see the module docstring); return a report."""
    from edge_server.identity import adopt_host, load_identity, rekey

    archive = archive.resolve()
    running = _running(data_dir) if data_dir.is_dir() else []
    if running and not check_only:
        raise BackupError(f"edge-server is running on {data_dir} (pid {running[0]['pid']}): stop it first "
                          "(systemctl stop edge-server)")
    created_dir = not data_dir.exists()
    data_dir.mkdir(parents=True, exist_ok=True)
    staging = data_dir / f".restore-{secrets.token_hex(4)}"
    staging.mkdir()
    done = False
    try:
        manifest = extract_checked(archive, staging, show_progress)
        migrated = _check_database(staging / "box.db")
        if not (staging / "keys" / "box.key").is_file():
            raise BackupError("the archive holds no box identity (keys/box.key): it cannot bring this box back")
        if check_only:
            return {"archive": str(archive), "ok": True, "created": manifest.created, "box_id": manifest.box_id,
                    "with_media": manifest.with_media, "recordings": manifest.recordings,
                    "files": len(manifest.files), "counts": manifest.counts}
        uid_gid = (data_dir.stat().st_uid, data_dir.stat().st_gid)
        stamp = clock.now().strftime("%Y%m%dT%H%M%SZ")
        aside = data_dir / f".pre-restore-{stamp}-{secrets.token_hex(2)}"
        moved = _swap_in(data_dir, staging, manifest, aside)
        done = True
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if created_dir and not done:
            shutil.rmtree(data_dir, ignore_errors=True)
    for sub in ("content/.staging", "models", "uploads"):
        (data_dir / sub).mkdir(parents=True, exist_ok=True)
    channels = _relink_channels(data_dir)
    # the same school's box: keep its identity here (a copied data dir would otherwise re-key at the next start)
    check = rekey(data_dir, reason="restored from a backup") if new_identity else adopt_host(data_dir)
    if os.geteuid() == 0 and uid_gid[0] != 0:
        for rel in ("box.db", "config.toml", "keys", "content"):
            _chown_like(data_dir / rel, *uid_gid)
    identity = load_identity(data_dir / "keys")
    return {"archive": str(archive), "data": str(data_dir), "created": manifest.created,
            "box_id": identity.box_id, "backup_box_id": manifest.box_id, "rekeyed": check.rekeyed,
            "counts": manifest.counts, "with_media": manifest.with_media, "recordings": manifest.recordings,
            "channels_kept": channels["kept"], "channels_to_pull": channels["unlisted"],
            "migrations_applied": migrated, "previous": str(aside) if moved else None, "moved_aside": moved}


# --- scheduled backups -------------------------------------------------------------------------------------

def backup_to_dir(data_dir: Path, folder: Path, keep: int, box_name: str, *, with_media: bool = False,
                  recordings: bool = True, show_progress: bool = False, now: datetime | None = None) -> dict[str, Any]:
    """Write a dated backup into folder, then delete the oldest of ours so that `keep` remain."""
    if not folder.is_dir():
        raise BackupError(f"backup folder {folder} is not there (is the USB stick plugged in and mounted?)")
    moment = now or clock.now()
    result = create_backup(data_dir, folder / nightly_name(box_name, moment), with_media=with_media,
                           recordings=recordings, show_progress=show_progress, now=moment)
    pruned = to_prune([p.name for p in folder.iterdir()], keep)
    for name in pruned:
        (folder / name).unlink(missing_ok=True)
    return {**result, "pruned": pruned, "kept": keep}


def _record(data_dir: Path, outcome: dict[str, Any]) -> None:
    from edge_server.store import sync_state
    from edge_server.store.db import open_box_db, write

    db = open_box_db(data_dir / "box.db")
    try:
        write(db, lambda tx: sync_state.set_value(tx, LAST_BACKUP, outcome))
    finally:
        db.conn.close()


def last_backup(db: Any) -> dict[str, Any] | None:
    """The last scheduled backup's outcome: {"at", "ok", "archive"?, "bytes"?, "error"?}."""
    from edge_server.store import sync_state

    value = sync_state.get_value(db, LAST_BACKUP)
    return value if isinstance(value, dict) else None


def backup_due(last: dict[str, Any] | None, every_h: float, now: datetime) -> bool:
    """A scheduled backup is due when none succeeded in the last every_h hours (a box may sleep at night)."""
    if not last or not last.get("ok") or not last.get("at"):
        return True
    try:
        when = datetime.fromisoformat(last["at"])
    except (TypeError, ValueError):
        return True
    return now - when >= timedelta(hours=every_h)


def scheduled_backup(settings: Any, now: datetime | None = None) -> str:
    """Scheduler job: back up into settings.backup_dir once a day, keeping the last settings.backup_keep."""
    from edge_server.store.db import connect

    if not settings.backup_dir:
        return "off"
    moment = now or clock.now()
    db = connect(settings.db_path, readonly=True)
    try:
        last = last_backup(db)
    finally:
        db.conn.close()
    if not backup_due(last, settings.backup_every_h, moment):
        return "waiting"
    at = moment.isoformat(timespec="seconds")
    try:
        done = backup_to_dir(settings.data_dir, Path(settings.backup_dir), settings.backup_keep, settings.box_name,
                             with_media=settings.backup_with_media, now=moment)
    except (BackupError, OSError) as exc:
        _record(settings.data_dir, {"at": at, "ok": False, "error": str(exc)})
        return "failed"
    _record(settings.data_dir, {"at": at, "ok": True, "archive": done["archive"], "bytes": done["bytes"],
                                "pruned": done["pruned"]})
    return "done"
