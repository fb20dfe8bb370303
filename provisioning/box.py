"""Create and check a box's data directory: identity key, secret, trust anchors, config."""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


class ProvisionError(Exception):
    """A data directory cannot be created or used; the message says what to do."""


@dataclass(frozen=True)
class BoxIdentity:
    box_id: str
    public_key_hex: str
    secret: bytes


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
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
    _write_private(keys_dir / "box.key", pem)
    _write_private(keys_dir / "box.secret", secrets.token_hex(32).encode())
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
    """Copy a province signing public key into the box's trust anchors."""
    if not pub_path.is_file():
        raise ProvisionError(f"trust key {pub_path} not found: pass the province's signing.pub")
    trusted_dir.mkdir(parents=True, exist_ok=True)
    target = trusted_dir / (pub_path.stem + ".pub" if pub_path.suffix == ".pub" else pub_path.name + ".pub")
    shutil.copyfile(pub_path, target)
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


def init_data_dir(data_dir: Path, trust: Path | None, name: str | None = None) -> BoxIdentity:
    """Create data dir layout, identity (once), config, trust anchor, and the database."""
    from edge_server.db import open_box_db

    for sub in ("keys/trusted", "content/.staging", "models", "uploads"):
        (data_dir / sub).mkdir(parents=True, exist_ok=True)
    keys = data_dir / "keys"
    identity = load_identity(keys) if (keys / "box.key").exists() else generate_identity(keys)
    config = data_dir / "config.toml"
    if not config.exists():
        config.write_text(CONFIG_TEMPLATE.format(name=name or f"classroom-box-{identity.box_id[:6]}"))
    if trust is not None:
        install_trust_anchor(keys / "trusted", trust)
    db = open_box_db(data_dir / "box.db")
    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('box_id', ?)", (identity.box_id,))
    if name:
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('box_name', ?)", (name,))
    db.conn.close()
    return identity
