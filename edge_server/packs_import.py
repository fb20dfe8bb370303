"""Pack folders on disk: build, verify, and import with atomic activation into the catalog.

Import = verify the signed manifest, copy every listed file into content/.staging (hashing the bytes as they
are copied, so what is checked is what is served), fsync, rename to content/<channel>/v<N>, then ONE
transaction that replaces the channel's catalog rows, switches its version and queues the AI pipeline.
Old version folders are removed only after the commit. A kill -9 at any point leaves the old version serving.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import stat
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlite_utils
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from tqdm import tqdm

from edge_server import clock, jobs
from edge_server.settings import Settings
from edge_server.store import channels as channel_store
from edge_server.store.db import connect, rows, write
from sync import packs
from sync.packs import CATALOG, MANIFEST, SIGNATURE, FileEntry, FileFacts, Manifest, PackError
from sync.trust import trusted_keys

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class VerifiedPack:
    manifest: Manifest
    catalog: dict[str, Any]
    key_id: str


# --- reading a pack folder safely ---------------------------------------------------------------------------

def _facts(root: Path, rel: str) -> FileFacts:
    """lstat a listed path and each folder above it inside the pack: links anywhere are refused."""
    current = root
    parts = rel.split("/")
    for i, part in enumerate(parts):
        current = current / part
        try:
            st = os.lstat(current)
        except FileNotFoundError:
            return FileFacts(exists=False)
        except NotADirectoryError:
            return FileFacts(exists=False)
        if stat.S_ISLNK(st.st_mode):
            return FileFacts(exists=True, is_link=True)
        if i < len(parts) - 1 and not stat.S_ISDIR(st.st_mode):
            return FileFacts(exists=False)
    return FileFacts(exists=True, is_regular=stat.S_ISREG(st.st_mode), size=st.st_size)


def _read_capped(root: Path, name: str, cap: int) -> bytes:
    """Read a metadata file without following links and refusing more than cap bytes."""
    facts = _facts(root, name)
    if not facts.exists:
        raise PackError(f"missing {name} in {root}")
    if facts.is_link or not facts.is_regular:
        raise PackError(f"{name} is not a regular file (links are refused)")
    if facts.size > cap:
        raise PackError(f"{name} is {facts.size} bytes, over the {cap}-byte cap")
    fd = os.open(root / name, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as fh:
        data = fh.read(cap + 1)
    if len(data) > cap:
        raise PackError(f"{name} is over the {cap}-byte cap")
    return data


def _stream(root: Path, entry: FileEntry, bar: tqdm, dest: Path | None = None) -> FileFacts:
    """Hash one listed file (copying it to dest when given) and return what was observed."""
    facts = _facts(root, entry.path)
    if not facts.exists or facts.is_link or not facts.is_regular or facts.size != entry.size:
        return facts
    digest = hashlib.sha256()
    size = 0
    fd = os.open(root / entry.path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as src, (open(dest, "wb") if dest else contextlib.nullcontext()) as out:
        # read one byte past the listed size so a file that grew since lstat is caught
        while chunk := src.read(min(CHUNK, entry.size - size + 1)):
            digest.update(chunk)
            size += len(chunk)
            bar.update(len(chunk))
            if out is not None:
                out.write(chunk)
            if size > entry.size:
                break
        if out is not None:
            out.flush()
            os.fsync(out.fileno())
    return FileFacts(exists=True, size=size, sha256=digest.hexdigest())


def _progress(total: int, desc: str, show: bool) -> tqdm:
    # disable=None: a bar on a terminal only, so logs and the one-line refusal stay clean when piped
    return tqdm(total=total, unit="B", unit_scale=True, desc=desc, file=sys.stderr,
                disable=None if show else True, leave=False)


def check_header(pack: Path, trusted: dict[str, Ed25519PublicKey],
                 active: int | None | Callable[[str], int | None], now: datetime) -> tuple[Manifest, str]:
    """Signature, manifest schema and paths, rollback and expiry: every check that needs no file contents."""
    if not pack.is_dir():
        raise PackError(f"pack folder {pack} not found")
    manifest_bytes = _read_capped(pack, MANIFEST, packs.MAX_MANIFEST_BYTES)
    signature = packs.parse_signature(_read_capped(pack, SIGNATURE, packs.MAX_SIGNATURE_BYTES))
    key = packs.check_signature(manifest_bytes, signature, trusted)
    manifest = packs.parse_manifest(manifest_bytes)
    # a plain dict of keys (pack verify --trust, tests) has no scopes: any channel that is not reserved
    packs.check_publisher(manifest.channel_id, key, getattr(trusted, "scopes", {}).get(key))
    packs.check_version(manifest, active(manifest.channel_id) if callable(active) else active)
    packs.check_expiry(manifest, now)
    for entry in manifest.files:
        # cheap lstat pass first: a missing or wrongly sized file is refused before any hashing
        packs.check_file(entry, _facts(pack, entry.path))
    return manifest, key


def verify_pack(pack: Path, trusted: dict[str, Ed25519PublicKey], active_version: int | None = None,
                now: datetime | None = None, show_progress: bool = False) -> VerifiedPack:
    """Run every acceptance check on a pack folder in place; raise PackError with a one-line reason."""
    manifest, key = check_header(pack, trusted, active_version, now or clock.now())
    with _progress(sum(f.size for f in manifest.files), "verifying", show_progress) as bar:
        for entry in manifest.files:
            packs.check_file(entry, _stream(pack, entry, bar))
    catalog = packs.parse_catalog((pack / CATALOG).read_bytes(), {f.path for f in manifest.files})
    packs.check_channel_match(manifest, catalog)
    return VerifiedPack(manifest, catalog, key)


# --- building ----------------------------------------------------------------------------------------------

def _source_files(src: Path) -> list[str]:
    found = []
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith(".") or name in packs.RESERVED:
                continue
            path = Path(dirpath) / name
            rel = path.relative_to(src).as_posix()
            if path.is_symlink() or not path.is_file():
                raise PackError(f"{rel} in {src} is a link or not a regular file: packs hold plain files only")
            found.append(rel)
    return found


def build_pack(src: Path, out: Path, key: Ed25519PrivateKey, version: int, expires: datetime | None = None,
               created: datetime | None = None, show_progress: bool = False) -> dict[str, Any]:
    """Make a signed pack folder at out from src (catalog.json plus every non-hidden file beside it)."""
    if not (src / CATALOG).is_file():
        raise PackError(f"{src} has no catalog.json")
    if out.exists() and any(out.iterdir()):
        raise PackError(f"{out} exists and is not empty: choose a new output folder")
    names = _source_files(src)
    for name in names:
        packs.check_path(name)
    catalog = packs.parse_catalog((src / CATALOG).read_bytes(), set(names))
    tmp = out.with_name(f".{out.name}.tmp-{secrets.token_hex(4)}")
    tmp.mkdir(parents=True)
    try:
        entries = []
        with _progress(sum((src / n).stat().st_size for n in names), "packing", show_progress) as bar:
            for name in names:
                dest = tmp / name
                dest.parent.mkdir(parents=True, exist_ok=True)
                size = (src / name).stat().st_size
                facts = _stream(src, FileEntry(name, "0" * 64, size), bar, dest)
                entries.append(FileEntry(name, facts.sha256 or "", facts.size))
        manifest = packs.build_manifest(catalog["channel"], version, created or clock.now(), expires, entries)
        (tmp / MANIFEST).write_bytes(manifest)
        (tmp / SIGNATURE).write_bytes(packs.sign(manifest, key))
        if out.exists():
            out.rmdir()
        out.parent.mkdir(parents=True, exist_ok=True)
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {"pack": str(out), "channel": catalog["channel"]["id"], "version": version, "files": len(entries),
            "bytes": sum(e.size for e in entries), "key_id": packs.key_id(key.public_key())}


# --- box state ----------------------------------------------------------------------------------------------

def reset_floor(db: sqlite_utils.Database, now: datetime | None = None) -> datetime | None:
    """Lower the floor to the system clock (an operator's repair after a manifest dated in the future); return the
    old floor. The next verified manifest raises it again as usual; call inside a transaction.

    Refused while the system clock is behind the last activation, which that same clock stamped: a box that lost its
    time would otherwise judge expiry by a clock in the past.
    """
    system = now or clock.now()
    activated = channel_store.last_activation(db)
    if activated is not None and system < activated:
        raise PackError(f"the system clock ({system.isoformat(timespec='seconds')}) is behind the last pack "
                        f"activation ({activated.isoformat(timespec='seconds')}): set the clock first")
    old = channel_store.load_floor(db)
    channel_store.write_floor(db, system)
    return old


# --- import ------------------------------------------------------------------------------------------------

@contextlib.contextmanager
def _import_lock(settings: Settings) -> Iterator[None]:
    """One import at a time per box (sync pull and an operator may race)."""
    settings.content_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.content_dir / ".import.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def fsync_dir(path: Path) -> None:
    """Make a rename or a new file in this folder durable (fsync the folder itself)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_leftovers(settings: Settings, channel_id: str, keep: int | None) -> None:
    """Staging dirs and unactivated version folders left by a crashed import (caller holds the lock)."""
    if settings.staging_dir.is_dir():
        for old in settings.staging_dir.glob(".import-*"):
            shutil.rmtree(old, ignore_errors=True)
    channel_dir = settings.content_dir / channel_id
    if channel_dir.is_dir():
        for old in channel_dir.iterdir():
            if old.name != f"v{keep}":
                shutil.rmtree(old, ignore_errors=True)


def _catalog_ids(catalog: dict[str, Any]) -> dict[str, list[str]]:
    lessons = [lesson for course in catalog["courses"] for lesson in course["lessons"]]
    return {
        "lessons": [lesson["id"] for lesson in lessons],
        "courses": [c["id"] for c in catalog["courses"]],
        "knowledge_points": [kp["id"] for kp in catalog["knowledge_points"]],
        "exercises": [ex["id"] for lesson in lessons for ex in lesson["exercises"]],
    }


def _check_ids(db: sqlite_utils.Database, catalog: dict[str, Any], channel_id: str) -> None:
    """Ids are unique on a box across channels."""
    for table, ids in _catalog_ids(catalog).items():
        if not ids:
            continue
        marks = ",".join("?" * len(ids))
        owners = {r["id"]: r["channel_id"] for r in rows(
            db, f"SELECT id, channel_id FROM {table} WHERE id IN ({marks})", tuple(ids))}
        packs.check_owners(table.rstrip("s").replace("_", " "), ids, owners, channel_id)


def _replace_rows(db: sqlite_utils.Database, verified: VerifiedPack, path: Path) -> int:
    """Swap the channel's catalog rows and version; runs inside the activation transaction."""
    manifest, catalog = verified.manifest, verified.catalog
    cid = manifest.channel_id
    db.execute("DELETE FROM catalog_fts WHERE lesson_id IN (SELECT id FROM lessons WHERE channel_id = ?)", (cid,))
    db.execute("DELETE FROM lesson_knowledge_points WHERE lesson_id IN (SELECT id FROM lessons "
               "WHERE channel_id = ?)", (cid,))
    for table in ("exercises", "lessons", "courses", "knowledge_points"):
        db.execute(f"DELETE FROM {table} WHERE channel_id = ?", (cid,))
    kp_names = {kp["id"]: kp for kp in catalog["knowledge_points"]}
    for kp in catalog["knowledge_points"]:
        db.execute("INSERT INTO knowledge_points (id, channel_id, name, description) VALUES (?, ?, ?, ?)",
                   (kp["id"], cid, kp["name"], kp["description"]))
    for cpos, course in enumerate(catalog["courses"]):
        db.execute("INSERT INTO courses (id, channel_id, title, subject, grade, position) VALUES (?, ?, ?, ?, ?, ?)",
                   (course["id"], cid, course["title"], course["subject"], course["grade"], cpos))
        for lpos, lesson in enumerate(course["lessons"]):
            media = lesson["media"]
            entry = manifest.entry(media["path"]) if media else None
            db.execute("INSERT INTO lessons (id, channel_id, course_id, title, text, media_path, media_kind, "
                       "media_sha256, media_size, position, language) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (lesson["id"], cid, course["id"], lesson["title"], lesson["text"],
                        media["path"] if media else None, media["kind"] if media else None,
                        entry.sha256 if entry else None, entry.size if entry else None, lpos,
                        lesson.get("language")))
            for kpos, kp in enumerate(lesson["knowledge_points"]):
                db.execute("INSERT INTO lesson_knowledge_points (lesson_id, knowledge_point_id, position) "
                           "VALUES (?, ?, ?)", (lesson["id"], kp, kpos))
            for epos, ex in enumerate(lesson["exercises"]):
                db.execute("INSERT INTO exercises (id, lesson_id, channel_id, knowledge_point, kind, prompt, "
                           "choices, answer, tolerance, difficulty, hint, position) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           (ex["id"], lesson["id"], cid, ex["knowledge_point"], ex["kind"], ex["prompt"],
                            json.dumps(ex["choices"], ensure_ascii=False) if ex["choices"] is not None else None,
                            json.dumps(ex["answer"], ensure_ascii=False), ex["tolerance"], ex["difficulty"],
                            ex["hint"], epos))
            kp_text = " ".join(f"{kp_names[k]['name']}. {kp_names[k]['description'] or ''}"
                               for k in lesson["knowledge_points"])
            db.execute("INSERT INTO catalog_fts (kind, ref, lesson_id, title, body) VALUES ('lesson', ?, ?, ?, ?)",
                       (lesson["id"], lesson["id"], lesson["title"], f"{lesson['text'] or ''}\n{kp_text}"))
    channel_store.activate(db, {**manifest.channel, "id": cid}, manifest.version, path, manifest.created,
                      manifest.expires, verified.key_id, clock.now())
    channel_store.raise_floor(db, manifest.created)
    queued = jobs.queue_pipeline_jobs(db, cid)
    return queued


def import_pack(settings: Settings, pack: Path, show_progress: bool = False,
                now: datetime | None = None) -> dict[str, Any]:
    """Verify a pack folder and activate it atomically; raise PackError (nothing changed) when refused."""
    trusted = trusted_keys(settings.trusted_dir) if settings.trusted_dir.is_dir() else {}
    if not trusted:
        raise PackError(f"no trust anchors in {settings.trusted_dir}: run `edge-server init --data D --trust PUB`")
    db = connect(settings.db_path)  # the schema is migrated once, where the box starts (Box.start, cli.open_box)
    try:
        with _import_lock(settings):
            return _import_locked(settings, db, pack.resolve(), trusted, show_progress, now)
    finally:
        db.conn.close()


def _import_locked(settings: Settings, db: sqlite_utils.Database, pack: Path,
                   trusted: dict[str, Ed25519PublicKey], show_progress: bool,
                   now: datetime | None) -> dict[str, Any]:
    manifest, key = check_header(pack, trusted, lambda cid: channel_store.active_version(db, cid),
                                 channel_store.box_trusted_now(db, now))
    cid = manifest.channel_id
    previous = channel_store.active_version(db, cid)
    _remove_leftovers(settings, cid, previous)
    settings.staging_dir.mkdir(parents=True, exist_ok=True)
    staging = settings.staging_dir / f".import-{cid}-v{manifest.version}-{secrets.token_hex(4)}"
    staging.mkdir()
    try:
        with _progress(sum(f.size for f in manifest.files), f"importing {cid}", show_progress) as bar:
            for entry in manifest.files:
                dest = staging / entry.path
                dest.parent.mkdir(parents=True, exist_ok=True)
                packs.check_file(entry, _stream(pack, entry, bar, dest))
                os.chmod(dest, 0o444)  # activated pack files are read-only (DESIGN: data directory)
        for name, cap in ((MANIFEST, packs.MAX_MANIFEST_BYTES), (SIGNATURE, packs.MAX_SIGNATURE_BYTES)):
            _write_synced(staging / name, _read_capped(pack, name, cap))
        if packs.parse_manifest((staging / MANIFEST).read_bytes()) != manifest:
            raise PackError("manifest.json changed during the import: try again")
        catalog = packs.parse_catalog((staging / CATALOG).read_bytes(), {f.path for f in manifest.files})
        packs.check_channel_match(manifest, catalog)
        _check_ids(db, catalog, cid)
        for dirpath, _dirs, _files in os.walk(staging, topdown=False):
            fsync_dir(Path(dirpath))
        target = settings.content_dir / cid / f"v{manifest.version}"
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            shutil.rmtree(target)
        os.rename(staging, target)
        fsync_dir(target.parent)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    verified = VerifiedPack(manifest, catalog, key)

    def activate(tx: sqlite_utils.Database) -> int:
        # re-checked inside the transaction: another writer may have moved the channel meanwhile
        packs.check_version(manifest, channel_store.active_version(tx, cid))
        _check_ids(tx, catalog, cid)
        return _replace_rows(tx, verified, target.resolve())

    try:
        queued = write(db, activate)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    _remove_leftovers(settings, cid, manifest.version)
    return {"channel": cid, "version": manifest.version, "previous_version": previous,
            "title": manifest.channel["title"], "language": manifest.channel["language"],
            "lessons": len(packs.lesson_ids(catalog)), "files": len(manifest.files), "key_id": key,
            "jobs_queued": queued, "path": str(target.resolve())}
