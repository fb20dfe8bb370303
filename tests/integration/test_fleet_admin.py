"""The teacher's admin page: this box, nearby boxes found over mDNS (loopback), channels, sync, jobs; pulls."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from edge_server.discovery import announce
from edge_server.identity import init_data_dir, load_identity
from edge_server.sample import SAMPLE_CHANNEL
from edge_server.settings import load_settings
from edge_server.store import people
from edge_server.store.db import connect, open_box_db, rows
from edge_server.web import auth
from edge_server.web.app import create_app

LOOPBACK = "127.0.0.1"


def _teacher_client(app):
    db = open_box_db(app.extensions["settings"].db_path)
    people.add_teacher(db, "ms.li", auth.hash_password("correct horse"))
    db.conn.close()
    client = app.test_client()
    response = client.post("/teacher/login", data={"username": "ms.li", "password": "correct horse"})
    assert response.status_code == 302
    return client


def _app(data: Path, **overrides):
    settings = load_settings(data, scheduler_enabled=False, ai_jobs_enabled=False, **overrides)
    app = create_app(settings)
    app.config.update(TESTING=True, WTF_CSRF_ENABLED=False)
    return app


def test_the_admin_page_is_for_teachers_only(data_dir):
    client = _app(data_dir).test_client()
    response = client.get("/teacher/admin")
    assert response.status_code == 302 and "/teacher/login" in response.headers["Location"]
    assert client.get("/teacher/admin/status.json", headers={"Accept": "application/json"}).status_code in (302, 401)


def test_the_admin_page_shows_the_box_its_channels_and_its_job_queue(sample_data_dir):
    app = _app(sample_data_dir, mdns_interfaces=(LOOPBACK,))
    client = _teacher_client(app)
    page = client.get("/teacher/admin")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert load_identity(sample_data_dir / "keys").box_id in html
    assert SAMPLE_CHANNEL in html
    status = client.get("/teacher/admin/status.json").get_json()
    assert [(c["id"], c["version"]) for c in status["channels"]] == [(SAMPLE_CHANNEL, 1)]
    assert sum(status["jobs"].values()) >= 1  # the import queued the AI pipeline for the sample media
    assert status["sync"]["statements_pending"] == 0 and status["sync"]["last_push"] is None


@pytest.fixture
def neighbour(sample_data_dir):
    """A second box with the sample course, serving HTTP and announcing itself, both on loopback only."""
    settings = load_settings(sample_data_dir, scheduler_enabled=False, ai_jobs_enabled=False, box_name="Valley")
    server = make_server(LOOPBACK, 0, create_app(settings), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    announcement = announce(settings.with_overrides(port=server.server_port, mdns_interfaces=(LOOPBACK,)))
    yield load_identity(settings.keys_dir).box_id
    announcement.close()
    server.shutdown()
    thread.join(5)


def _found(app, client, box_id: str) -> dict:
    valley = None
    for _attempt in range(4):  # mDNS is best effort: on a loaded machine one search may come back empty
        app.extensions["nearby_boxes"].wait(15)
        nearby = client.get("/teacher/admin/status.json").get_json()["nearby"]["boxes"]
        valley = next((b for b in nearby if b["box_id"] == box_id), None)
        if valley:
            break
        app.extensions["nearby_boxes"].refresh()
    assert valley is not None, "the neighbour was never found"
    return valley


def _pull_to_the_end(client, box_id: str) -> list[dict]:
    response = client.post("/teacher/admin/pull", data={"box_id": box_id, "channel": SAMPLE_CHANNEL})
    assert response.status_code == 302
    deadline = time.monotonic() + 60
    pulls = []
    while time.monotonic() < deadline:
        pulls = client.get("/teacher/admin/status.json").get_json()["pulls"]
        if pulls and pulls[0]["status"] not in ("queued", "running"):
            break
        time.sleep(0.2)
    return pulls


def _share_pull_jobs(data: Path) -> list[dict]:
    db = connect(data / "box.db")
    try:
        return rows(db, "SELECT kind, key, status, progress, error FROM jobs WHERE kind = 'share-pull'")
    finally:
        db.conn.close()


def test_a_teacher_sees_a_nearby_box_without_waiting_and_imports_its_channel_as_a_queued_job(
        tmp_path, neighbour, signing_key):
    target = tmp_path / "target"
    init_data_dir(target, signing_key.public, "Hill")
    app = _app(target, mdns_interfaces=(LOOPBACK,))
    client = _teacher_client(app)

    started = time.monotonic()
    first = client.get("/teacher/admin/status.json").get_json()
    assert time.monotonic() - started < 1.5, "the page waited for mDNS"
    assert first["nearby"]["searching"]
    valley = _found(app, client, neighbour)
    assert valley["name"] == "Valley" and valley["channels"] == [SAMPLE_CHANNEL]
    assert "Valley" in client.get("/teacher/admin").get_data(as_text=True)

    pulls = _pull_to_the_end(client, neighbour)

    assert pulls[0]["status"] == "done" and pulls[0]["message"] == "version 1", pulls
    assert pulls[0]["box"] == "Valley" and pulls[0]["channel"] == SAMPLE_CHANNEL
    assert _share_pull_jobs(target) == [{"kind": "share-pull", "key": f"{neighbour}:{SAMPLE_CHANNEL}",
                                         "status": "done", "progress": 1.0, "error": None}]
    channels = client.get("/teacher/admin/status.json").get_json()["channels"]
    assert [(c["id"], c["version"]) for c in channels] == [(SAMPLE_CHANNEL, 1)]
    assert "version 1" in client.get("/teacher/admin").get_data(as_text=True)


def test_a_pull_of_a_tampered_pack_fails_as_a_job_with_its_error_and_imports_nothing(
        tmp_path, neighbour, sample_data_dir, signing_key):
    pack = next((sample_data_dir / "content" / SAMPLE_CHANNEL).glob("v*"))
    catalog = pack / "catalog.json"
    catalog.write_bytes(catalog.read_bytes().replace(b"water", b"wine!", 1))
    target = tmp_path / "target"
    init_data_dir(target, signing_key.public, "Hill")
    app = _app(target, mdns_interfaces=(LOOPBACK,))
    client = _teacher_client(app)
    _found(app, client, neighbour)

    pulls = _pull_to_the_end(client, neighbour)

    assert pulls[0]["status"] == "failed", pulls
    assert "catalog.json" in pulls[0]["message"] and "sha256" in pulls[0]["message"]
    [job] = _share_pull_jobs(target)
    assert job["status"] == "failed" and "catalog.json" in job["error"]
    assert client.get("/teacher/admin/status.json").get_json()["channels"] == []
    assert not list((target / "content" / ".staging").iterdir())
    assert "catalog.json" in client.get("/teacher/admin").get_data(as_text=True)


def test_a_box_that_does_not_announce_itself_does_not_search_the_lan_either(data_dir):
    app = _app(data_dir, announce=False, mdns_interfaces=())
    client = _teacher_client(app)
    nearby = client.get("/teacher/admin/status.json").get_json()["nearby"]
    assert nearby["disabled"] and not nearby["searching"] and nearby["boxes"] == []
    assert "announce = true" in client.get("/teacher/admin").get_data(as_text=True)


def test_a_pull_request_for_a_box_that_was_not_discovered_is_refused(data_dir):
    app = _app(data_dir, mdns_interfaces=(LOOPBACK,))
    client = _teacher_client(app)
    response = client.post("/teacher/admin/pull", data={"box_id": "evil", "channel": SAMPLE_CHANNEL,
                                                        "url": "http://169.254.169.254/"})
    assert response.status_code == 302
    assert client.get("/teacher/admin/status.json").get_json()["pulls"] == []
