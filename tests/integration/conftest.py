"""Fixtures shared by integration tests: the pack origin of content pull, a test LRS."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.lrs import start_ralph
from tests.requirements import require_ralph
from tests.sync_fixtures import RsyncDaemon, keys


@pytest.fixture
def province(tmp_path: Path):
    """A signing key pair and a running rsync daemon whose module is the pack origin."""
    private, public = keys(tmp_path / "province")
    daemon = RsyncDaemon(root=tmp_path / "origin", workdir=tmp_path / "rsyncd").start()
    yield private, public, daemon
    daemon.stop()


@pytest.fixture
def ralph(tmp_path: Path):
    """A running Ralph LRS (tests.lrs.Ralph) in tmp_path/ralph."""
    require_ralph()
    lrs = start_ralph(tmp_path / "ralph")
    yield lrs
    lrs.stop()
