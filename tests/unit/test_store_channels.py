"""The channel store: the one place that reads and writes the channels table and the trusted-time floor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edge_server.store import channels
from edge_server.store.db import open_box_db, write

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
MATHS = {"id": "maths.g4", "title": "Maths grade 4", "language": "fr", "level": "primary"}


@pytest.fixture
def db(tmp_path: Path):
    db = open_box_db(tmp_path / "box.db")
    yield db
    db.conn.close()


def test_an_activated_pack_is_the_channels_active_version_with_its_dates_and_key(db, tmp_path):
    write(db, lambda tx: channels.activate(tx, MATHS, 3, tmp_path / "content/maths.g4/v3", T0, T0 + timedelta(days=90),
                                           "key-1", T0))
    got = channels.get(db, "maths.g4")
    assert got is not None
    assert (got.version, got.language, got.key_id, got.local, got.own) == (3, "fr", "key-1", False, False)
    assert got.expires.startswith("2026-05-30")
    assert channels.active_version(db, "maths.g4") == 3
    assert channels.active_version(db, "science.g4") is None
    assert channels.get(db, "science.g4") is None


def test_a_newer_version_replaces_the_row_and_the_last_activation_is_remembered(db, tmp_path):
    write(db, lambda tx: channels.activate(tx, MATHS, 3, tmp_path / "v3", T0, None, "k", T0))
    write(db, lambda tx: channels.activate(tx, MATHS, 4, tmp_path / "v4", T0, None, "k", T0 + timedelta(hours=2)))
    assert [(c.id, c.version) for c in channels.all_channels(db)] == [("maths.g4", 4)]
    assert channels.last_activation(db) == T0 + timedelta(hours=2)
    assert channels.count(db) == 1


def test_a_relative_stored_path_is_read_from_the_data_folder_and_an_absolute_one_as_it_is(db, tmp_path):
    write(db, lambda tx: channels.activate(tx, MATHS, 3, Path("content/maths.g4/v3"), T0, None, "k", T0))
    assert channels.get(db, "maths.g4").folder(tmp_path) == tmp_path / "content/maths.g4/v3"
    write(db, lambda tx: channels.move(tx, "maths.g4", Path("/srv/box/content/maths.g4/v3")))
    assert channels.get(db, "maths.g4").folder(tmp_path) == Path("/srv/box/content/maths.g4/v3")


def test_the_schools_own_channel_is_created_once_and_counts_as_its_own(db, tmp_path):
    write(db, lambda tx: channels.add_local(tx, "local.school", "Recordings", 1, tmp_path / "a"))
    write(db, lambda tx: channels.add_local(tx, "local.school", "Other title", 1, tmp_path / "b"))
    got = channels.get(db, "local.school")
    assert (got.title, got.path, got.local, got.own) == ("Recordings", str(tmp_path / "a"), True, True)


def test_a_reserved_id_is_the_boxs_own_even_when_not_marked_local(db, tmp_path):
    write(db, lambda tx: channels.activate(tx, {**MATHS, "id": "LOCAL.x"}, 1, tmp_path, T0, None, "k", T0))
    assert channels.get(db, "LOCAL.x").own


def test_lesson_counts_are_read_only_when_asked(db, tmp_path):
    write(db, lambda tx: channels.activate(tx, MATHS, 1, tmp_path, T0, None, "k", T0))
    assert channels.all_channels(db)[0].lessons == 0
    assert channels.all_channels(db, count_lessons=True)[0].listing()["lessons"] == 0


def test_the_floor_only_rises_and_trusted_time_is_the_later_of_clock_and_floor(db):
    assert channels.load_floor(db) is None
    write(db, lambda tx: channels.raise_floor(tx, T0 + timedelta(days=10)))
    write(db, lambda tx: channels.raise_floor(tx, T0))
    assert channels.load_floor(db) == T0 + timedelta(days=10)
    assert channels.box_trusted_now(db, T0) == T0 + timedelta(days=10)
    assert channels.box_trusted_now(db, T0 + timedelta(days=20)) == T0 + timedelta(days=20)
    report = channels.trusted_time(db, T0)
    assert report["floor_ahead_s"] == 10 * 86400


def test_a_deleted_channel_is_gone(db, tmp_path):
    write(db, lambda tx: channels.activate(tx, MATHS, 1, tmp_path, T0, None, "k", T0))
    write(db, lambda tx: channels.delete(tx, "maths.g4"))
    assert channels.all_channels(db) == []
