"""A pack's expiry is judged whenever it is served, not only at import, and by the box's trusted time (max(system
clock, floor)): once expired, its lessons and media answer 410 Gone with the reason, the catalog lists the channel as
expired with no lessons, and `edge-server sync status --json` names it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from edge_server.identity import init_data_dir
from edge_server.packs_import import build_pack, import_pack
from edge_server.settings import load_settings
from edge_server.store.channels import raise_floor
from edge_server.store.db import open_box_db, write
from edge_server.web.app import create_app
from sync.trust import read_private
from tests.fixtures_packs import TINY_CHANNEL, write_source

EDGE_SERVER = str(Path(sys.executable).parent / "edge-server")
MEDIA = f"/media/{TINY_CHANNEL}/media/tiny-1.ogg"


def _box(tmp_path: Path, signing_key, expires: datetime) -> Path:
    data = tmp_path / "var"
    init_data_dir(data, trust=signing_key.public)
    build_pack(write_source(tmp_path / "src"), tmp_path / "pack", read_private(signing_key.private), 1,
               expires=expires)
    import_pack(load_settings(data), tmp_path / "pack")
    return data


def _client(data: Path):
    return create_app(load_settings(data, scheduler_enabled=False, ai_jobs_enabled=False, announce=False)).test_client()


def _sync_status(data: Path) -> dict:
    done = subprocess.run([EDGE_SERVER, "sync", "status", "--data", str(data), "--json"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _assert_served(client) -> None:
    assert client.get(MEDIA, headers={"Range": "bytes=0-9"}).status_code == 206
    assert client.get("/api/v1/lessons/tiny-1").status_code == 200
    channel = next(c for c in client.get("/api/v1/catalog").get_json()["channels"] if c["id"] == TINY_CHANNEL)
    assert not channel.get("expired") and channel["courses"][0]["lessons"][0]["id"] == "tiny-1"


def _assert_refused_as_expired(client) -> None:
    media = client.get(MEDIA, headers={"Range": "bytes=0-9"})
    assert media.status_code == 410 and b"expired" in media.data
    lesson = client.get("/api/v1/lessons/tiny-1")
    assert lesson.status_code == 410 and "expired" in lesson.get_json()["error"]
    channel = next(c for c in client.get("/api/v1/catalog").get_json()["channels"] if c["id"] == TINY_CHANNEL)
    assert channel["expired"] is True and channel["courses"] == []
    assert "tiny-1" not in {h["lesson_id"] for h in client.get("/api/v1/search?q=Tiny").get_json()["results"]}


def test_a_pack_stops_being_served_once_the_trusted_time_floor_passes_its_expiry(tmp_path, signing_key):
    expires = datetime.now(UTC) + timedelta(days=3)
    data = _box(tmp_path, signing_key, expires)
    client = _client(data)
    _assert_served(client)
    status = _sync_status(data)
    assert [(c["channel"], c["expired"]) for c in status["channels"]] == [(TINY_CHANNEL, False)]
    assert status["expired_channels"] == []

    # A verified manifest dated after the expiry raised the floor: the system clock is evidently behind.
    db = open_box_db(data / "box.db")
    try:
        write(db, lambda tx: raise_floor(tx, expires + timedelta(hours=1)))
    finally:
        db.conn.close()
    assert datetime.now(UTC) < expires  # the raw clock alone would still serve it
    _assert_refused_as_expired(client)
    status = _sync_status(data)
    assert [(c["channel"], c["expired"]) for c in status["channels"]] == [(TINY_CHANNEL, True)]
    assert status["expired_channels"] == [TINY_CHANNEL]


def test_a_pack_imported_seconds_before_its_expiry_stops_being_served_when_it_expires(tmp_path, signing_key):
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=4)
    data = _box(tmp_path, signing_key, expires)
    client = _client(data)
    _assert_served(client)
    time.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 0.5)
    _assert_refused_as_expired(client)
    assert _sync_status(data)["expired_channels"] == [TINY_CHANNEL]
