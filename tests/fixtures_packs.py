"""Pack fixtures for everyone's tests: a signing key pair and a data dir with the sample course imported."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest

from sync.trust import generate_keys


class SigningKey(NamedTuple):
    """A generated Ed25519 pack-signing key pair on disk."""

    dir: Path
    private: Path
    public: Path
    key_id: str


@pytest.fixture
def signing_key(tmp_path: Path) -> SigningKey:
    """A fresh signing key pair in tmp_path/signing-keys (signing.key, signing.pub)."""
    private, public, kid = generate_keys(tmp_path / "signing-keys")
    return SigningKey(tmp_path / "signing-keys", private, public, kid)


@pytest.fixture
def sample_data_dir(tmp_path: Path, signing_key: SigningKey) -> Path:
    """An initialised data dir (tmp_path/sample-var) trusting signing_key, with the sample course imported."""
    from edge_server.sample import build_and_import_sample

    data = tmp_path / "sample-var"
    build_and_import_sample(data, signing_key.dir)
    return data
