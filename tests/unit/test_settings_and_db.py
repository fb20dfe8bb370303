"""Settings, database and migrations."""

from __future__ import annotations

import threading

from edge_server.db import connect, open_box_db, write
from edge_server.migrations import migrate
from edge_server.settings import load_settings


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
    from provisioning.box import init_data_dir

    first = init_data_dir(tmp_path / "d", trust=None, name="x")
    second = init_data_dir(tmp_path / "d", trust=None, name="x")
    assert first.box_id == second.box_id
    assert (tmp_path / "d" / "keys" / "box.key").stat().st_mode & 0o777 == 0o600
