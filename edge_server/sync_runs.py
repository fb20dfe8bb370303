"""Sync runs for the CLI and the scheduler: push the outbox, pull and activate packs, decide when to run next.

Models packs travel like content packs: same pack format, same origin, one channel folder each, pulled into
per-channel staging by rsync and verified with the same signature, rollback and (trusted-time) expiry checks.
A pack is a models pack when its catalog.json lists a non-empty "models" array (what `edge-server models
install --pack` reads): [{"role": "asr"|"llm", "id", "format", "main"?, "files": [{"path"}]}]. Its courses,
if any, are ignored: it is installed into the box's models dir by models.registry.install_from_dir (each file
checked against its sha256 in the signed manifest while copied; models.json switches once, after every file is
in place), never sent to the content importer. Its active version lives in sync_state under
"models_pack:<channel>", so an older models pack is refused like an older content pack.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlite_utils

from edge_server import clock
from edge_server.settings import Settings
from edge_server.store import channels as channel_store
from edge_server.store import outbox, sync_state
from edge_server.store.db import connect
from edge_server.store.outbox import SqliteOutbox
from sync import content, lrs_push, schedule
from sync.rsync import RsyncError, RsyncOptions

SSH_KEY_NAME = "box_ssh_ed25519"
KNOWN_HOSTS_NAME = "known_hosts"
PUSH_BACKOFF_BASE_S = 30.0
PULL_BACKOFF_BASE_S = 60.0
# A refusal that a stale staged file explains (rsync's quick check missed a file changed in place).
STALE_FILE = re.compile(r"sha256|truncated|too big|missing file")
MODELS_PACK_KEY = "models_pack:"


class SyncError(Exception):
    """A sync run cannot start (missing configuration); the message says what to set."""


@contextlib.contextmanager
def exclusive(settings: Settings, what: str) -> Iterator[None]:
    """One push (or pull) at a time per box: the scheduler and an operator may start one together.

    Two pushes would only send statements twice (harmless, the LRS keeps one), but two rsyncs writing one
    staging folder would corrupt each other's temp files. The kernel drops the lock if the process dies.
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.data_dir / f".sync-{what}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def lrs_config(settings: Settings, url: str | None = None, user: str | None = None,
               password: str | None = None, ca_file: str | None = None,
               allow_insecure_http: bool | None = None) -> lrs_push.LrsConfig:
    """The LRS to push to: explicit values first, then the box's settings (lrs_ca_file relative to the data dir)."""
    url = url or settings.lrs_url
    if not url:
        raise SyncError("no LRS configured: set lrs_url in config.toml or pass --lrs URL")
    ca_path = Path(ca_file) if ca_file else settings.lrs_ca_path
    return lrs_push.LrsConfig(url=url, user=user if user is not None else settings.lrs_user,
                              password=password if password is not None else settings.lrs_password,
                              ca_file=str(ca_path) if ca_path else None,
                              allow_insecure_http=(settings.lrs_allow_insecure_http if allow_insecure_http is None
                                                   else allow_insecure_http))


def lrs_check(settings: Settings) -> dict[str, Any]:
    """How the box would reach its LRS, for `sync status`: the URL (never the password), the CA bundle it pins,
    and the problem that stops every push before anything is sent (None when there is none)."""
    if not settings.lrs_url:
        return {"url": None, "ca_file": None, "transport": None, "problem": None}
    lrs = lrs_config(settings)
    try:
        parts = urlsplit(lrs.url)
        shown, scheme = parts._replace(netloc=parts.netloc.rsplit("@", 1)[-1]).geturl(), parts.scheme.lower()
    except ValueError:
        shown, scheme = "(not a URL)", ""
    transport = "https, pinned CA" if scheme == "https" and lrs.ca_file else (
        "https, system CA store" if scheme == "https" else "plain http")
    return {"url": shown, "ca_file": lrs.ca_file, "transport": transport,
            "problem": lrs_push.transport_problem(lrs)}


def run_push(settings: Settings, lrs: lrs_push.LrsConfig, *, retries: int | None = None,
             max_batches: int | None = None) -> dict[str, Any]:
    """Push the outbox once (until empty, the link drops, or max_batches) and record the outcome."""
    with exclusive(settings, "push"):
        db = connect(settings.db_path)
        try:
            backoff = lrs_push.Backoff() if retries is None else lrs_push.Backoff(retries=retries)
            result = lrs_push.push(SqliteOutbox(db), lrs, batch_size=settings.push_batch_size, backoff=backoff,
                                   max_batches=max_batches).as_dict()
            sync_state.record_push(db, result)
            # Without this a school year of answers fills a small SD card with statements already delivered.
            result["pruned"] = outbox.prune_sent(db, clock.now() - timedelta(days=settings.outbox_keep_days))
            return result
        finally:
            db.conn.close()


def rsync_options(settings: Settings, origin: str) -> RsyncOptions:
    """Timeouts and bandwidth from settings; the box's own key for SSH origins."""
    key = None
    box_key = settings.keys_dir / "box.key"
    if content.rsync.is_ssh(origin) and box_key.is_file():
        key = content.ssh_key_file(box_key, settings.keys_dir / SSH_KEY_NAME)
    return RsyncOptions(timeout_s=settings.rsync_timeout_s, bwlimit_kbps=settings.rsync_bwlimit_kbps, ssh_key=key,
                        known_hosts=settings.keys_dir / KNOWN_HOSTS_NAME,
                        contimeout_s=min(settings.rsync_timeout_s, 30))


def check_origin(origin: str) -> None:
    """Refuse an origin the wrapper cannot use, before any transfer (raise SyncError naming the fix)."""
    if content.rsync.is_ssh(origin):
        try:
            content.rsync.ssh_target(origin)
        except ValueError as exc:
            raise SyncError(f"bad pack origin {origin!r}: {exc}; use ssh://USER@HOST:PORT/PATH") from exc


def probe_origin(origin: str) -> bool:
    """Is the origin reachable? ssh:// URLs are probed at the host and port they name."""
    if origin.startswith("ssh://"):
        try:
            target, port = content.rsync.ssh_target(origin)
        except ValueError:
            return False
        host = target.rsplit(":", 1)[0].rsplit("@", 1)[-1]
        # schedule.endpoint reads ports from URLs it knows: hand it one naming the same TCP endpoint.
        return schedule.probe(f"rsync://{host}:{port or 22}/")
    return schedule.probe(origin)


def _active_folder(settings: Settings, db: sqlite_utils.Database, channel_id: str) -> Path | None:
    """The folder of a channel's active version, if the channel is active here."""
    channel = channel_store.get(db, channel_id)
    return channel.folder(settings.data_dir) if channel else None


def _same_manifest(staged: Path, active: Path | None) -> bool:
    if active is None:
        return False
    mine, theirs = staged / "manifest.json", active / "manifest.json"
    return mine.is_file() and theirs.is_file() and mine.read_bytes() == theirs.read_bytes()


def _staged_version(staged: Path) -> int | None:
    try:
        return int(json.loads((staged / "manifest.json").read_bytes())["version"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _staged_json(staged: Path, name: str) -> Any:
    try:
        return json.loads((staged / name).read_bytes())
    except (OSError, ValueError):
        return None


def is_models_pack(staged: Path) -> bool:
    """A pack whose catalog.json declares models (unverified: only picks the path; both paths verify)."""
    from models.registry import pack_models

    return bool(pack_models(_staged_json(staged, "catalog.json") or {}))


def models_pack_state(db: sqlite_utils.Database, channel_id: str) -> dict[str, Any] | None:
    """The installed version of a models channel: {"version", "manifest_sha256", "models"}, or None."""
    value = sync_state.get_value(db, MODELS_PACK_KEY + channel_id)
    return value if isinstance(value, dict) else None


def install_models_pack(settings: Settings, db: sqlite_utils.Database, pack: Path, roles: tuple[str, ...] = (), *,
                        show_progress: bool = False, progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Verify a models pack like a content pack, then install its models (or those of `roles`).

    Raises PackError (refused: nothing changed) or ModelError. Used by `sync pull` and `models install --pack`.
    """
    from edge_server.packs_import import verify_pack
    from edge_server.store.channels import box_trusted_now, raise_floor
    from edge_server.store.db import write
    from models.registry import install_from_dir, pack_models, remove_unreferenced
    from sync.packs import CATALOG, PackError
    from sync.trust import trusted_keys

    trusted = trusted_keys(settings.trusted_dir) if settings.trusted_dir.is_dir() else {}
    if not trusted:
        raise PackError(f"no trust anchors in {settings.trusted_dir}: run `edge-server init --data D --trust PUB`")
    claimed = (_staged_json(pack, "manifest.json") or {}).get("channel", {})
    claimed_id = claimed.get("id") if isinstance(claimed, dict) else None
    state = models_pack_state(db, claimed_id) if isinstance(claimed_id, str) else None
    verified = verify_pack(pack, trusted, state["version"] if state else None, box_trusted_now(db),
                           show_progress=show_progress)
    cid = verified.manifest.channel_id
    if cid != claimed_id:
        raise PackError("manifest.json changed during verification: pull again")
    # The raw catalog keeps "models" (the parsed one does not); its bytes must be the ones the manifest signs.
    raw = (pack / CATALOG).read_bytes()
    listed = {f.path: f.sha256 for f in verified.manifest.files}
    if hashlib.sha256(raw).hexdigest() != listed.get(CATALOG):
        raise PackError("catalog.json changed during verification: pull again")
    declared = pack_models(json.loads(raw), roles)
    if not declared:
        raise PackError(f"{pack} declares no models{' for ' + ', '.join(roles) if roles else ''} in catalog.json")
    for model in declared:
        for f in model.get("files", []):
            if not isinstance(f, dict) or f.get("path") not in listed:
                raise PackError(f"model {model.get('id')!r} names a file the signed manifest does not list")
            f["sha256"] = listed[f["path"]]  # checked again while copying: what is hashed is what is installed
    entries = install_from_dir(settings.box_models_dir, pack, declared, progress)
    manifest_sha = hashlib.sha256((pack / "manifest.json").read_bytes()).hexdigest()
    record = {"version": verified.manifest.version, "manifest_sha256": manifest_sha,
              "models": [{"role": e.role, "id": e.id, "sha256": e.sha256} for e in entries]}

    def remember(tx: sqlite_utils.Database) -> None:
        # Only a whole pack becomes the channel's version: after some roles, the rest may still come by sync.
        if not roles:
            sync_state.set_value(tx, MODELS_PACK_KEY + cid, record)
        raise_floor(tx, verified.manifest.created)

    write(db, remember)
    # What this channel installed before and models.json no longer names would only fill the disk.
    previous = [m.get("sha256", "") for m in (state or {}).get("models", []) if isinstance(m, dict)]
    removed = remove_unreferenced(settings.box_models_dir, previous) if not roles else []
    return {"channel": cid, "version": verified.manifest.version,
            "previous_version": state["version"] if state else None, "models": record["models"], "removed": removed}


def _activate_models(settings: Settings, db: sqlite_utils.Database, staged: content.StagedPack,
                     outcome: dict[str, Any]) -> dict[str, Any]:
    from models.registry import ModelError
    from sync.packs import PackError

    outcome = {**outcome, "kind": "models"}
    claimed = (_staged_json(staged.path, "manifest.json") or {}).get("channel", {})
    state = models_pack_state(db, claimed.get("id", "")) if isinstance(claimed, dict) else None
    mine = staged.path / "manifest.json"
    if state and mine.is_file() and hashlib.sha256(mine.read_bytes()).hexdigest() == state.get("manifest_sha256"):
        return {**outcome, "status": "unchanged"}
    return _outcome(outcome, lambda: install_models_pack(settings, db, staged.path), (PackError, ModelError),
                    refused="models pack refused", doing="installing models", failed="models install failed")


def _activate(settings: Settings, db: sqlite_utils.Database, staged: content.StagedPack) -> dict[str, Any]:
    """Verify and activate one staged pack exactly like `pack import` (models packs: install the models)."""
    from edge_server.packs_import import import_pack
    from sync.packs import PackError

    outcome: dict[str, Any] = {"channel": staged.channel, "bytes_received": staged.stats.bytes_received,
                               "files_transferred": staged.stats.files_transferred,
                               "literal_data": staged.stats.literal_data, "matched_data": staged.stats.matched_data,
                               "version": _staged_version(staged.path)}
    if is_models_pack(staged.path):
        return _activate_models(settings, db, staged, outcome)
    if _same_manifest(staged.path, _active_folder(settings, db, staged.channel)):
        return {**outcome, "status": "unchanged"}
    return _outcome(outcome, lambda: import_pack(settings, staged.path), (PackError,),
                    refused="pack refused", doing="activating the pack", failed="activation failed")


def _outcome(outcome: dict[str, Any], activate: Callable[[], dict[str, Any]], refusals: tuple[type[Exception], ...],
             *, refused: str, doing: str, failed: str) -> dict[str, Any]:
    """Run one activation and describe it: activated, refused (nothing changed) or failed (disk full named)."""
    try:
        done = activate()
    except refusals as exc:
        return {**outcome, "status": "refused", "reason": f"{refused}: {exc}"}
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return {**outcome, "status": "failed", "disk_full": True,
                    "reason": f"disk full while {doing}: {exc.strerror}; free space and pull again"}
        return {**outcome, "status": "failed", "reason": f"{failed}: {exc}"}
    extra = {"models": done["models"]} if "models" in done else {}
    return {**outcome, "status": "activated", "version": done["version"],
            "previous_version": done.get("previous_version"), **extra}


def _activate_or_recheck(settings: Settings, db: sqlite_utils.Database, origin: str, opts: RsyncOptions,
                         staged: content.StagedPack, basis: Callable[[str], Path | None]) -> dict[str, Any]:
    """Activate; if a listed file does not match, pull the channel once more comparing contents, then retry."""
    outcome = _activate(settings, db, staged)
    if outcome["status"] != "refused" or not STALE_FILE.search(outcome["reason"]):
        return outcome
    try:
        again = content.pull_channel(origin, staged.channel, settings.staging_dir, replace(opts, checksum=True),
                                     basis=basis(staged.channel))
    except RsyncError as exc:
        return {**outcome, "status": "failed", "reason": exc.reason(), "disk_full": exc.disk_full}
    retried = _activate(settings, db, again)
    retried["bytes_received"] += outcome["bytes_received"]
    return {**retried, "rechecked": True}


def run_pull(settings: Settings, origin: str | None = None) -> dict[str, Any]:
    """Pull every channel from the origin, then verify and activate each new pack; record the outcome."""
    origin = origin or settings.pack_origin
    if not origin:
        raise SyncError("no pack origin configured: set pack_origin in config.toml or pass --origin")
    check_origin(origin)
    with exclusive(settings, "pull"):
        return _pull_locked(settings, origin)


def _pull_locked(settings: Settings, origin: str) -> dict[str, Any]:
    db = connect(settings.db_path)
    try:
        opts = rsync_options(settings, origin)

        def basis(channel: str) -> Path | None:
            return _active_folder(settings, db, channel)

        from edge_server.channels import follows

        pulled = content.pull(origin, settings.staging_dir, opts, basis=basis,
                              follow=lambda channel: follows(settings.channels, channel))
        for channel in pulled.not_followed:  # no longer followed: its rsync basis only takes disk space
            content.forget_channel(settings.staging_dir, channel)
        channels = [_activate_or_recheck(settings, db, origin, opts, staged, basis) for staged in pulled.staged]
        for channel, reason in pulled.errors.items():
            channels.append({"channel": channel, "status": "failed", "reason": reason})
        problems = [c for c in channels if c["status"] in ("refused", "failed")]
        disk_full = pulled.disk_full or any(c.get("disk_full") for c in problems)
        error = None
        if problems:
            first = problems[0]
            where = "" if first["channel"] == "*" else f"channel {first['channel']}: "
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            error = f"{where}{first['reason']}{more}"
            if disk_full:
                error += "; the active version keeps serving"
        result = {"origin": origin, "channels": channels, "bytes_received": pulled.bytes_received,
                  "disk_full": disk_full, "link_down": pulled.link_down, "error": error,
                  "not_followed": pulled.not_followed}
        sync_state.record_pull(db, result)
        return result
    finally:
        db.conn.close()


# --- scheduling -----------------------------------------------------------------------------------------

def _when(db: sqlite_utils.Database, key: str) -> datetime | None:
    value = sync_state.get_value(db, key)
    try:
        return datetime.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


def push_tick(settings: Settings, now: datetime | None = None) -> str:
    """Scheduler job: push when due and the LRS answers; back off with jitter after failures."""
    if not settings.lrs_url:
        return "off"
    now = now or clock.now()
    db = connect(settings.db_path)
    try:
        if not schedule.due(now, _when(db, sync_state.NEXT_PUSH_AT)):
            return "waiting"
        lrs = lrs_config(settings)
        if lrs_push.transport_problem(lrs):
            # refused before any connection (plain http to another host, no CA bundle): recorded as that, not as a
            # link down
            ok = run_push(settings, lrs, retries=2)["error"] is None
        elif schedule.probe(settings.lrs_url):
            sync_state.set_value(db, sync_state.LINK, "up")
            ok = run_push(settings, lrs, retries=2)["error"] is None
        else:
            sync_state.set_value(db, sync_state.LINK, "down")
            sync_state.record_error(db, "push", "link down: the LRS does not answer")
            sync_state.set_value(db, sync_state.PUSH_FAILURES,
                                 int(sync_state.get_value(db, sync_state.PUSH_FAILURES, 0) or 0) + 1)
            ok = False
        failures = int(sync_state.get_value(db, sync_state.PUSH_FAILURES, 0) or 0)
        # Pending statements after a complete push (outbox still filling) wait for the next interval.
        nxt = schedule.next_attempt(now, ok, failures, settings.push_interval_s, PUSH_BACKOFF_BASE_S)
        sync_state.set_value(db, sync_state.NEXT_PUSH_AT, nxt.isoformat())
        return "pushed" if ok else "failed"
    finally:
        db.conn.close()


def pull_tick(settings: Settings, now: datetime | None = None) -> str:
    """Scheduler job: pull on schedule and as soon as the link to the origin comes back."""
    if not settings.pack_origin:
        return "off"
    now = now or clock.now()
    db = connect(settings.db_path)
    try:
        was = sync_state.get_value(db, "origin_link")
        up = probe_origin(settings.pack_origin)
        sync_state.set_value(db, "origin_link", "up" if up else "down")
        if not schedule.pull_due(now, _when(db, sync_state.NEXT_PULL_AT), None if was is None else was == "up", up):
            return "waiting" if up else "link down"
    finally:
        db.conn.close()
    result = run_pull(settings)
    db = connect(settings.db_path)
    try:
        ok = result["error"] is None
        failures = int(sync_state.get_value(db, sync_state.PULL_FAILURES, 0) or 0)
        nxt = schedule.next_attempt(now, ok, failures, settings.pull_interval_s, PULL_BACKOFF_BASE_S)
        sync_state.set_value(db, sync_state.NEXT_PULL_AT, nxt.isoformat())
        return "pulled" if ok else "failed"
    finally:
        db.conn.close()
