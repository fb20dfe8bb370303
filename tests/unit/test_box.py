"""The Box: one bootstrap that migrates once, reads the identity once and hands out services."""

from __future__ import annotations

import sqlite3

import pytest

from edge_server.box import Box
from edge_server.identity import init_data_dir
from edge_server.settings import load_settings


@pytest.fixture
def settings(tmp_path):
    init_data_dir(tmp_path / "var", None)
    return load_settings(tmp_path / "var")


def test_a_started_box_has_an_up_to_date_schema_and_hands_out_connections_it_closes(tmp_path):
    settings = load_settings(tmp_path / "fresh")
    settings.data_dir.mkdir()
    box = Box.start(settings)
    with box.db() as db:
        names = {r[0] for r in db.conn.execute("SELECT name FROM _sqlite_migrations")}
        conn = db.conn
    assert "0001_initial" in names and "0008_lesson_languages" in names
    with pytest.raises(sqlite3.ProgrammingError):
        conn.execute("SELECT 1")


def test_the_identity_is_read_from_the_keys_folder_once(settings):
    box = Box(settings)
    box_id, secret = box.identity
    for key in settings.keys_dir.glob("box.*"):
        key.unlink()
    assert box.identity == (box_id, secret) and len(secret) >= 16


def test_services_are_made_once_and_given_ones_are_kept(settings):
    given = object()
    box = Box(settings, companion=given)  # type: ignore[arg-type]
    assert box.companion is given
    assert box.runners is box.runners
