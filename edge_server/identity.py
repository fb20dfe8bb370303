"""Create and check a box's data directory: identity key, secret, trust anchors, config (first boot, rekey, clones)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge_server import clock
from edge_server.store import meta


class ProvisionError(Exception):
    """A data directory cannot be created or used; the message says what to do."""


@dataclass(frozen=True)
class BoxIdentity:
    box_id: str
    public_key_hex: str
    secret: bytes


def write_private(path: Path, data: bytes) -> None:
    """Write a secret (a key, the box secret) readable by its owner only, whole or not at all."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp, 0o600)  # an old file's mode survives O_CREAT
    os.replace(tmp, path)


def box_id_for(public_raw: bytes) -> str:
    """A short stable id derived from the box's public key."""
    return hashlib.sha256(public_raw).hexdigest()[:16]


def generate_identity(keys_dir: Path) -> BoxIdentity:
    """Write a fresh Ed25519 box key and HMAC secret into keys_dir."""
    keys_dir.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    write_private(keys_dir / "box.key", pem)
    write_private(keys_dir / "box.secret", secrets.token_hex(32).encode())
    return load_identity(keys_dir)


def load_identity(keys_dir: Path) -> BoxIdentity:
    """Read the box key and secret; raise ProvisionError when they are missing."""
    key_path, secret_path = keys_dir / "box.key", keys_dir / "box.secret"
    if not key_path.exists() or not secret_path.exists():
        raise ProvisionError(f"no box identity in {keys_dir}: run `edge-server init --data DIR --trust PUB`")
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    public_raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return BoxIdentity(box_id=box_id_for(public_raw), public_key_hex=public_raw.hex(),
                       secret=bytes.fromhex(secret_path.read_text().strip()))


def install_trust_anchor(trusted_dir: Path, pub_path: Path) -> Path:
    """Copy a province signing public key, and its .scope file when one lies beside it, into the trust anchors."""
    if not pub_path.is_file():
        raise ProvisionError(f"trust key {pub_path} not found: pass the province's signing.pub")
    trusted_dir.mkdir(parents=True, exist_ok=True)
    target = trusted_dir / (pub_path.stem + ".pub" if pub_path.suffix == ".pub" else pub_path.name + ".pub")
    shutil.copyfile(pub_path, target)
    # <name>.scope beside the key: the channel-id prefixes it may publish (sync.trust.read_scope)
    scope = (pub_path.with_suffix(".scope") if pub_path.suffix == ".pub"
             else pub_path.with_name(pub_path.name + ".scope"))
    if scope.is_file():
        shutil.copyfile(scope, target.with_suffix(".scope"))
    return target


CONFIG_TEMPLATE = """# Classroom box configuration. Edit and restart `edge-server serve`.
box_name = "{name}"
port = 8080
device = "auto"          # auto | cpu | cuda
ai_threads = 2

# Province learning record store (xAPI) and pack origin; empty = offline only.
lrs_url = ""
lrs_user = ""
lrs_password = ""
pack_origin = ""
"""


def default_box_name(box_id: str) -> str:
    """The name a box gets when the operator gives none."""
    return f"classroom-box-{box_id[:6]}"


def init_data_dir(data_dir: Path, trust: Path | None, name: str | None = None,
                  machine_id_paths: tuple[Path, ...] | None = None) -> BoxIdentity:
    """Create data dir layout, identity (once, re-keyed when cloned), config, trust anchor, and the database."""
    from edge_server.store.db import open_box_db

    for sub in ("keys/trusted", "content/.staging", "models", "uploads"):
        (data_dir / sub).mkdir(parents=True, exist_ok=True)
    keys = data_dir / "keys"
    if (keys / "box.key").exists():
        identity = ensure_unique_identity(data_dir, machine_id_paths).identity
    else:
        identity = generate_identity(keys)
        record_host(data_dir, machine_id_paths)
    config = data_dir / "config.toml"
    if not config.exists():
        config.write_text(CONFIG_TEMPLATE.format(name=name or default_box_name(identity.box_id)))
    if trust is not None:
        install_trust_anchor(keys / "trusted", trust)
    db = open_box_db(data_dir / "box.db")
    meta.put(db, "box_id", identity.box_id)
    if name:
        meta.put(db, "box_name", name)
    db.conn.close()
    return identity


def issue_setup_token(data_dir: Path) -> str | None:
    """A new one-time token for the first-teacher setup page (only its hash is stored, in box.db's meta table);
    it replaces any earlier token. None when the box already has a teacher: there is no setup left to do."""
    from edge_server.store import people
    from edge_server.store.db import open_box_db

    db = open_box_db(data_dir / "box.db")
    try:
        return people.issue_setup_token(db)
    finally:
        db.conn.close()


# Clone detection.
#
# A box's identity (keys/box.key, keys/box.secret) must belong to exactly one machine, otherwise two schools would
# push xAPI statements under the same box id and pseudonyms. Next to the identity we record where it was created,
# in keys/box.host: a salted sha256 of /etc/machine-id and the inode number of the data directory. Each one catches
# a different way of cloning:
# - a disk image written to another box keeps the data dir's inode, but a golden image prepared the systemd way
#   (empty /etc/machine-id) gets a fresh machine-id on first boot;
# - a data dir copied file by file (rsync, tar, cp -a, a restored backup) gets a new inode, even on the same host.
# The device number (st_dev) is deliberately left out: it is not stable across reboots on btrfs, LVM or USB disks,
# and a false alarm costs a new box id (new pseudonyms at the LRS). A raw `dd` of a box whose machine-id was not
# reset keeps both, so the operator guide says to reset machine-id in images. A missing box.host (a data dir made
# before clone detection existed) is adopted as it is.

MACHINE_ID_PATHS = (Path("/etc/machine-id"), Path("/var/lib/dbus/machine-id"))
HOST_FILE = "box.host"


@dataclass(frozen=True)
class IdentityCheck:
    identity: BoxIdentity
    rekeyed: bool
    previous_box_id: str | None = None
    reason: str = ""


def read_machine_id(paths: tuple[Path, ...] | None = None) -> str:
    """The host's machine-id, or "" where the host has none (some containers)."""
    for path in paths if paths is not None else MACHINE_ID_PATHS:
        try:
            value = path.read_text().strip()
        except OSError:
            continue
        if value and value != "uninitialized":
            return value
    return ""


def host_fingerprint(data_dir: Path, machine_id_paths: tuple[Path, ...] | None = None) -> dict[str, str | int]:
    """What ties an identity to this host and this copy of the data dir."""
    machine_id = read_machine_id(machine_id_paths)
    # Salted so box.host, which may land in backups and bug reports, does not reveal the raw machine-id.
    digest = hashlib.sha256(f"edge-server-box:{machine_id}".encode()).hexdigest() if machine_id else ""
    return {"machine_id_sha256": digest, "data_dir_inode": data_dir.resolve().stat().st_ino}


def record_host(data_dir: Path, machine_id_paths: tuple[Path, ...] | None = None) -> dict[str, str | int]:
    """Write this host's fingerprint next to the identity."""
    fingerprint = host_fingerprint(data_dir, machine_id_paths)
    keys = data_dir / "keys"
    keys.mkdir(parents=True, exist_ok=True)
    write_private(keys / HOST_FILE, json.dumps({**fingerprint, "recorded": clock.now_iso()},
                                                indent=2).encode())
    return fingerprint


def clone_reason(data_dir: Path, machine_id_paths: tuple[Path, ...] | None = None) -> str:
    """Why this identity looks copied from another box, or "" when it belongs here."""
    path = data_dir / "keys" / HOST_FILE
    if not path.exists():
        return ""
    try:
        recorded = json.loads(path.read_text())
    except (OSError, ValueError):
        return "keys/box.host is unreadable"
    current = host_fingerprint(data_dir, machine_id_paths)
    if recorded.get("machine_id_sha256", "") != current["machine_id_sha256"]:
        return "the machine-id differs from the one the identity was created on"
    if recorded.get("data_dir_inode") != current["data_dir_inode"]:
        return "the data directory was copied from elsewhere (its inode changed)"
    return ""


def _rename_default_box(data_dir: Path, old_id: str, new_id: str) -> None:
    """A box still named after its old id would clash on mDNS with the original: rename it after the new id."""
    config = data_dir / "config.toml"
    if not config.exists():
        return
    text = config.read_text()
    pattern = re.compile(r'^(box_name\s*=\s*)"' + re.escape(default_box_name(old_id)) + '"', re.MULTILINE)
    if pattern.search(text):
        config.write_text(pattern.sub(lambda m: f'{m.group(1)}"{default_box_name(new_id)}"', text))


def rekey(data_dir: Path, reason: str = "requested by the operator",
          machine_id_paths: tuple[Path, ...] | None = None) -> IdentityCheck:
    """Give this box a new key, secret and box id, keeping content, pupils and progress."""
    from edge_server.store.db import open_box_db, write

    keys = data_dir / "keys"
    old = load_identity(keys)
    identity = generate_identity(keys)
    # Sessions signed by the original box must not be valid on the clone.
    (keys / "session.secret").unlink(missing_ok=True)
    _rename_default_box(data_dir, old.box_id, identity.box_id)
    db = open_box_db(data_dir / "box.db")
    try:
        now = clock.now_iso()

        def _record(d):
            meta.put(d, "box_id", identity.box_id)
            meta.put(d, "rekeyed_from", old.box_id)
            meta.put(d, "rekeyed_at", now)
            meta.put(d, "rekey_reason", reason)
            if meta.get(d, "box_name") == default_box_name(old.box_id):
                meta.put(d, "box_name", default_box_name(identity.box_id))

        write(db, _record)
    finally:
        db.conn.close()
    # The fingerprint is written last: a crash before this point re-keys again next start, never keeps a clone.
    record_host(data_dir, machine_id_paths)
    return IdentityCheck(identity=identity, rekeyed=True, previous_box_id=old.box_id, reason=reason)


def ensure_unique_identity(data_dir: Path, machine_id_paths: tuple[Path, ...] | None = None) -> IdentityCheck:
    """Load the identity; re-key first when it was copied from another box."""
    keys = data_dir / "keys"
    identity = load_identity(keys)
    if not (keys / HOST_FILE).exists():
        record_host(data_dir, machine_id_paths)
        return IdentityCheck(identity=identity, rekeyed=False)
    reason = clone_reason(data_dir, machine_id_paths)
    if reason:
        return rekey(data_dir, reason=f"cloned: {reason}", machine_id_paths=machine_id_paths)
    return IdentityCheck(identity=identity, rekeyed=False)


def adopt_host(data_dir: Path, machine_id_paths: tuple[Path, ...] | None = None) -> IdentityCheck:
    """Keep the identity on this host (a restore after a failed disk, the old box gone): record the new host."""
    identity = load_identity(data_dir / "keys")
    record_host(data_dir, machine_id_paths)
    return IdentityCheck(identity=identity, rekeyed=False, reason="host adopted by the operator")
