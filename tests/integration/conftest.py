"""Fixtures shared by the integration tests of content pull."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sync_fixtures import RsyncDaemon, keys


@pytest.fixture
def province(tmp_path: Path):
    """A signing key pair and a running rsync daemon whose module is the pack origin."""
    private, public = keys(tmp_path / "province")
    daemon = RsyncDaemon(root=tmp_path / "origin", workdir=tmp_path / "rsyncd").start()
    yield private, public, daemon
    daemon.stop()
