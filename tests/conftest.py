"""Shared fixtures: real data directories, real SQLite, a real app."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_server.app import create_app
from edge_server.settings import load_settings
from provisioning.box import init_data_dir
from tests.no_silent_skips import pytest_make_collect_report, pytest_runtest_makereport  # noqa: F401

REPO = Path(__file__).resolve().parent.parent


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
