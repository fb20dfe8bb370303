"""Settings, database and migrations."""

from __future__ import annotations

import threading

from edge_server.settings import load_settings
from edge_server.store.db import connect, open_box_db, write
from edge_server.store.migrations import migrate


def test_settings_read_config_toml_and_keep_overrides(tmp_path):
    (tmp_path / "config.toml").write_text('box_name = "Hill school"\nport = 9000\n')
    settings = load_settings(tmp_path, port=9100)
    assert settings.box_name == "Hill school"
    assert settings.port == 9100
    assert settings.db_path == tmp_path / "box.db"


def test_database_uses_wal_and_migrations_apply_once(tmp_path):
    db = open_box_db(tmp_path / "box.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert migrate(db) == []
    assert "outbox" in db.table_names()


def test_writer_retries_while_another_connection_holds_the_lock(tmp_path):
    path = tmp_path / "box.db"
    open_box_db(path)
    holder = connect(path)
    holder.conn.execute("PRAGMA busy_timeout = 0")
    holder.conn.execute("BEGIN IMMEDIATE")
    released = threading.Timer(0.3, lambda: holder.conn.execute("COMMIT"))
    released.start()
    writer = connect(path)
    writer.conn.execute("PRAGMA busy_timeout = 0")
    write(writer, lambda db: db.execute("INSERT INTO meta (key, value) VALUES ('k', 'v')"))
    released.join()
    assert writer.execute("SELECT value FROM meta WHERE key = 'k'").fetchone()[0] == "v"


def test_init_creates_identity_once(tmp_path):
    from edge_server.identity import init_data_dir

    first = init_data_dir(tmp_path / "d", trust=None, name="x")
    second = init_data_dir(tmp_path / "d", trust=None, name="x")
    assert first.box_id == second.box_id
    assert (tmp_path / "d" / "keys" / "box.key").stat().st_mode & 0o777 == 0o600


def test_pin_limits_are_typed_settings_with_todays_defaults_read_from_config_toml_and_the_environment(
        tmp_path, monkeypatch):
    from edge_server.pin_guard import PinLimits

    defaults = PinLimits.from_settings(load_settings(tmp_path / "none"))
    assert defaults == PinLimits(per_pupil=(5, 60), per_tablet=(20, 60), per_class=(40, 300), per_box=(120, 300),
                                 lockouts_s=(60, 300, 900, 3600), forget_lockouts_s=86400)
    data = tmp_path / "var"
    data.mkdir()
    (data / "config.toml").write_text("pin_box_tries = 200\n[pin]\nclass_window_s = 120\nlockouts_s = [30, 90]\n")
    monkeypatch.setenv("EDGE_SERVER_PIN_TABLET_TRIES", "12")
    limits = PinLimits.from_settings(load_settings(data))
    assert (limits.per_box, limits.per_class, limits.lockouts_s, limits.per_tablet) == (
        (200, 300), (40, 120), (30, 90), (12, 60))
    monkeypatch.setenv("EDGE_SERVER_PIN_LOCKOUTS_S", "10,20,40")
    assert load_settings(data).pin_lockouts_s == (10, 20, 40)


def test_a_misspelt_setting_in_config_toml_is_named_in_a_warning_and_the_known_ones_still_load(tmp_path, caplog):
    (tmp_path / "config.toml").write_text('box_name = "Kigoma"\nsync_tik_s = 5\n')
    with caplog.at_level("WARNING", logger="edge_server.settings"):
        settings = load_settings(tmp_path)
    assert settings.box_name == "Kigoma" and settings.sync_tick_s == 30
    assert "sync_tik_s" in caplog.text
