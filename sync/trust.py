"""Signing keys on disk, trust anchors by key id, and the box's trusted-time floor."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sync.packs import ID_RE, PackError, key_id, load_private, load_public, private_pem, public_pem

PRIVATE_NAME = "signing.key"
PUBLIC_NAME = "signing.pub"
SCOPE_SUFFIX = ".scope"


class TrustAnchors(dict[str, Ed25519PublicKey]):
    """Trusted keys by key id, with each key's channel scope: `scopes[key_id]` is a tuple of channel-id prefixes
    from <name>.scope beside <name>.pub, or None (no scope file: any channel that is not reserved)."""

    def __init__(self) -> None:
        super().__init__()
        self.scopes: dict[str, tuple[str, ...] | None] = {}

    def scope(self, kid: str) -> tuple[str, ...] | None:
        return self.scopes.get(kid)


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def generate_keys(out_dir: Path, *, overwrite: bool = False) -> tuple[Path, Path, str]:
    """Write out_dir/signing.key (0600) and signing.pub; return both paths and the key id."""
    out_dir.mkdir(parents=True, exist_ok=True)
    private, public = out_dir / PRIVATE_NAME, out_dir / PUBLIC_NAME
    if private.exists() and not overwrite:
        raise PackError(f"{private} already exists: choose another --out folder or remove it")
    key = Ed25519PrivateKey.generate()
    _write(private, private_pem(key), 0o600)
    _write(public, public_pem(key.public_key()), 0o644)
    return private, public, key_id(key.public_key())


def read_private(path: Path) -> Ed25519PrivateKey:
    """Load a signing key file, or raise PackError."""
    if not path.is_file():
        raise PackError(f"signing key {path} not found: run `edge-server keys generate --out DIR`")
    return load_private(path.read_bytes())


def read_public(path: Path) -> Ed25519PublicKey:
    """Load one public key file, or raise PackError."""
    if not path.is_file():
        raise PackError(f"trust key {path} not found")
    try:
        return load_public(path.read_bytes())
    except PackError as exc:
        raise PackError(f"{path}: {exc}") from exc


def read_scope(pub_path: Path) -> tuple[str, ...] | None:
    """The channel-id prefixes in the .scope file beside a .pub (one a line, # comments), None when there is none.

    An empty scope file lets the key publish nothing: a scope is only ever narrowed by a mistake, never widened.
    """
    path = pub_path.with_suffix(SCOPE_SUFFIX) if pub_path.suffix == ".pub" else pub_path.with_name(
        pub_path.name + SCOPE_SUFFIX)
    if not path.is_file():
        return None
    prefixes = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if not ID_RE.match(line.rstrip(".")):
            raise PackError(f"{path} line {number}: {line[:40]!r} is not a channel-id prefix")
        prefixes.append(line)
    return tuple(prefixes)


def trusted_keys(source: Path) -> TrustAnchors:
    """Trust anchors by key id, from one .pub file or every *.pub in a folder, each with its scope (read_scope)."""
    files = sorted(source.glob("*.pub")) if source.is_dir() else [source]
    keys = TrustAnchors()
    for path in files:
        key = read_public(path)
        kid, scope = key_id(key), read_scope(path)
        if kid in keys:  # one key in two files: it may publish what either allows
            old = keys.scopes[kid]
            scope = None if old is None or scope is None else tuple(dict.fromkeys(old + scope))
        keys[kid] = key
        keys.scopes[kid] = scope
    return keys


def parse_floor(value: str | None) -> datetime | None:
    """The stored floor (ISO-8601) as a datetime, None when absent or unreadable."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def trusted_now(system_now: datetime, floor: datetime | None) -> datetime:
    """Trusted time = max(system clock, floor): a box whose clock fell behind still sees expiries."""
    return system_now if floor is None or system_now >= floor else floor


def advance_floor(floor: datetime | None, created: datetime) -> datetime:
    """The new floor after verifying a manifest created at `created` (never moves back)."""
    return created if floor is None or created > floor else floor


def floor_ahead_s(system_now: datetime, floor: datetime | None) -> int:
    """Seconds the floor is ahead of the system clock (0 when it is not): days of it point at a manifest dated in
    the future by a signing machine's wrong clock, or at a box clock that fell behind."""
    return 0 if floor is None or floor <= system_now else int((floor - system_now).total_seconds())
