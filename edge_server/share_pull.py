"""Import a channel from a nearby box over HTTP: download its signed pack into staging, then import it as any pack.

The admin page queues a pull as a `share-pull` job (`queue_pull`); the scheduler process, or the web app where no
scheduler runs, runs it (`run_pull_job`, called by edge_server.jobs.run_pending), recording its progress and outcome
in the jobs table. `edge-server share pull` calls `pull_channel` directly, in the foreground.
"""

from __future__ import annotations

import hashlib
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
import sqlite_utils

from edge_server.settings import Settings
from edge_server.store import jobs as job_store
from edge_server.store.db import write
from sync import packs
from sync.trust import trusted_keys

CHUNK = 1024 * 1024


class ShareError(Exception):
    """A pull from another box failed; the message is one line that says why."""


def _get(session: requests.Session, url: str, timeout: float) -> requests.Response:
    try:
        response = session.get(url, stream=True, timeout=timeout)
    except requests.RequestException as exc:
        raise ShareError(f"cannot reach {url}: {exc.__class__.__name__}") from exc
    if response.status_code == 404:
        response.close()
        raise ShareError(f"{url} not found (is the channel active on that box?)")
    if response.status_code != 200:
        response.close()
        raise ShareError(f"{url} answered HTTP {response.status_code}")
    return response


def _small(session: requests.Session, url: str, cap: int, timeout: float) -> bytes:
    """A small document, refused when bigger than cap (a hostile box must not fill memory)."""
    with _get(session, url, timeout) as response:
        data = b""
        for chunk in response.iter_content(CHUNK):
            data += chunk
            if len(data) > cap:
                raise ShareError(f"{url} is over the {cap}-byte cap")
        return data


def _download(session: requests.Session, url: str, target: Path, entry: packs.FileEntry, timeout: float) -> None:
    """Stream one listed file to target, stopping as soon as it is bigger than the manifest says."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    with _get(session, url, timeout) as response, target.open("wb") as fh:
        for chunk in response.iter_content(CHUNK):
            size += len(chunk)
            if size > entry.size:
                raise ShareError(f"{entry.path} is bigger than the signed manifest says ({entry.size} bytes)")
            digest.update(chunk)
            fh.write(chunk)
    # Same wording and rule as a local pack; the import repeats the check on disk.
    packs.check_file(entry, packs.FileFacts(exists=True, size=size, sha256=digest.hexdigest()))


def _active_version(settings: Settings, channel_id: str) -> int | None:
    from edge_server.store import channels as channel_store
    from edge_server.store.db import connect

    if not settings.db_path.exists():
        return None
    db = connect(settings.db_path, readonly=True)
    try:
        return channel_store.active_version(db, channel_id)
    finally:
        db.conn.close()


def fetch_pack(settings: Settings, base_url: str, channel_id: str, staging: Path, *,
               session: requests.Session | None = None, timeout: float = 30.0,
               progress: Callable[[int, int], None] | None = None) -> packs.Manifest:
    """Download a channel's active pack from another box into staging, checking signature and version first."""
    session = session or requests.Session()
    base = f"{base_url.rstrip('/')}/share/v1/channels/{quote(channel_id, safe='')}/"
    manifest_bytes = _small(session, base + packs.MANIFEST, packs.MAX_MANIFEST_BYTES, timeout)
    sig_bytes = _small(session, base + packs.SIGNATURE, packs.MAX_SIGNATURE_BYTES, timeout)
    try:
        manifest = packs.parse_manifest(manifest_bytes)
        if manifest.channel_id != channel_id:
            raise ShareError(f"the box offered channel {manifest.channel_id} when asked for {channel_id}")
        # Refuse early, before downloading media, what the import would refuse anyway.
        trusted = trusted_keys(settings.trusted_dir)
        key = packs.check_signature(manifest_bytes, packs.parse_signature(sig_bytes), trusted)
        packs.check_publisher(channel_id, key, trusted.scope(key))
        packs.check_version(manifest, _active_version(settings, channel_id))
    except packs.PackError as exc:
        raise ShareError(str(exc)) from exc
    staging.mkdir(parents=True, exist_ok=True)
    root = staging.resolve()
    total, done = sum(f.size for f in manifest.files), 0
    for entry in manifest.files:
        target = (staging / entry.path).resolve()
        if not target.is_relative_to(root):  # parse_manifest already refuses such paths; never trust one check
            raise ShareError(f"manifest path {entry.path!r} escapes the staging folder")
        try:
            _download(session, base + quote(entry.path), target, entry, timeout)
        except packs.PackError as exc:
            raise ShareError(str(exc)) from exc
        done += entry.size
        if progress:
            progress(done, total)
    (staging / packs.MANIFEST).write_bytes(manifest_bytes)
    (staging / packs.SIGNATURE).write_bytes(sig_bytes)
    return manifest


def pull_channel(settings: Settings, base_url: str, channel_id: str, *,
                 importer: Callable[[Settings, Path], Any] | None = None, session: requests.Session | None = None,
                 timeout: float = 30.0, progress: Callable[[int, int], None] | None = None,
                 staging: Path | None = None) -> dict[str, Any]:
    """Fetch a channel from another box and import it with every check a pack from the province gets."""
    staging = staging or settings.staging_dir / f"share-{channel_id}-{secrets.token_hex(4)}"
    shutil.rmtree(staging, ignore_errors=True)  # a try the box was stopped in left its downloads here
    try:
        manifest = fetch_pack(settings, base_url, channel_id, staging, session=session, timeout=timeout,
                              progress=progress)
        result = (importer or import_pack)(settings, staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {"channel": manifest.channel_id, "version": manifest.version, "from": base_url,
            "files": len(manifest.files), "bytes": sum(f.size for f in manifest.files),
            "import": result if isinstance(result, dict) else None}


def import_pack(settings: Settings, pack_dir: Path) -> Any:
    """The packs engineer's import: signature, rollback, expiry, files, then atomic activation."""
    from edge_server import packs_import

    try:
        return packs_import.import_pack(settings, pack_dir)
    except packs.PackError as exc:
        raise ShareError(str(exc)) from exc


# -- a pull as a job in the queue (edge_server/jobs.py runs it) -------------------------------------------------

def queue_pull(db: sqlite_utils.Database, box: dict[str, Any], channel_id: str) -> bool:
    """Queue the pull of a channel from a discovered box; False when the same pull is already queued or running."""
    from edge_server.jobs import SHARE_PULL

    payload = {"url": box["url"], "channel": channel_id, "box": box.get("name") or box["box_id"],
               "box_id": box["box_id"]}
    return write(db, lambda tx: job_store.enqueue(tx, SHARE_PULL, f"{box['box_id']}:{channel_id}", payload))


def pulls(db: sqlite_utils.Database, limit: int = 20) -> list[dict[str, Any]]:
    """The recent pulls for the admin page, newest first: channel, box, status, progress, message and error."""
    from edge_server.jobs import SHARE_PULL

    return [{"id": job["id"], "channel": job["payload"].get("channel"), "box": job["payload"].get("box"),
             "status": job["status"], "progress": job["progress"], "error": job["error"],
             "message": job["error"] if job["status"] == "failed" else job["message"] or "",
             "started": job["started"], "finished": job["finished"]}
            for job in job_store.recent(db, limit, (SHARE_PULL,))]


def run_pull_job(settings: Settings, db: sqlite_utils.Database, job: dict[str, Any],
                 progress: Callable[[dict[str, Any]], None] | None = None) -> None:
    """Run one claimed share-pull job to done (the channel active) or failed (its error kept, nothing imported)."""
    url, channel_id = job["payload"]["url"], job["payload"]["channel"]

    def report(fraction: float, message: str) -> None:
        job_store.set_progress(db, job["id"], fraction, message)
        if progress:
            progress({**job, "progress": fraction, "message": message})

    def downloaded(done: int, total: int) -> None:
        # the download is most of the time; the import's check of every file and its activation the rest
        report(0.9 * done / total if total else 0.9, f"downloaded {done / 1e6:.1f} of {total / 1e6:.1f} MB")

    report(0.0, f"asking {url}")
    try:
        result = pull_channel(settings, url, channel_id, progress=downloaded,
                              staging=settings.staging_dir / f"share-{channel_id}-job{job['id']}")
    except ShareError as exc:
        job_store.fail(db, job["id"], f"refused: {exc}")
        return
    except Exception as exc:  # noqa: BLE001 - shown to the teacher; the box keeps serving the old version
        job_store.fail(db, job["id"], f"{exc.__class__.__name__}: {exc}")
        return
    write(db, lambda tx: job_store.mark_done(tx, job["id"], f"version {result['version']}"))
