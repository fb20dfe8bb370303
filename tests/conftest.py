"""Shared fixtures: real data directories, real SQLite, a real app."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from edge_server.identity import init_data_dir
from edge_server.settings import load_settings
from edge_server.web.app import create_app
from tests.no_silent_skips import pytest_make_collect_report, pytest_runtest_makereport  # noqa: F401

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def clock(monkeypatch):
    """Move the wall clock on (time.time: the box's, the session signer's and the rate limiter's alike)."""
    real = time.time
    offset = [0.0]
    monkeypatch.setattr(time, "time", lambda: real() + offset[0])

    def forward(*, minutes: float = 0.0, hours: float = 0.0) -> None:
        offset[0] += minutes * 60 + hours * 3600

    return forward


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """An initialised, empty data directory (no trust anchor yet)."""
    data = tmp_path / "var"
    init_data_dir(data, trust=None, name="test-box")
    return data


@pytest.fixture
def settings(data_dir: Path):
    return load_settings(data_dir, scheduler_enabled=False, ai_jobs_enabled=False, announce=False)


@pytest.fixture
def app(settings):
    app = create_app(settings)
    app.config.update(TESTING=True)
    return app


@pytest.fixture
def client(app):
    return app.test_client()
from tests.fixtures_packs import *  # noqa
