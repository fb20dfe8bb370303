"""Media serving through the real app and a real box.db: ranges, validators, MIME types, escapes, sendfile body."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path

import pytest
from werkzeug.test import EnvironBuilder

CHANNEL = "test.media"


def add_channel(data: Path, channel: str, version: int, files: dict[str, bytes], *, local: bool = False,
                manifest: bool = False, relative: bool = True) -> Path:
    """Write files into content/<channel>/v<version>/ and make it the channel's active folder in box.db."""
    folder = data / "content" / channel / f"v{version}"
    for rel, content in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(content)
    if manifest:
        listed = [{"path": rel, "sha256": hashlib.sha256(c).hexdigest(), "size": len(c)} for rel, c in files.items()]
        (folder / "manifest.json").write_text(json.dumps({"format": 1, "version": version, "files": listed}))
    db = sqlite3.connect(data / "box.db")
    with db:
        db.execute("INSERT OR REPLACE INTO channels (id, title, version, path, activated_at, local) "
                   "VALUES (?, 'T', ?, ?, datetime('now'), ?)",
                   (channel, version, str(folder.relative_to(data) if relative else folder), int(local)))
    db.close()
    return folder


BODY = bytes(range(256)) * 400  # 102400 bytes, every offset recognisable


@pytest.fixture
def folder(data_dir: Path) -> Path:
    return add_channel(data_dir, CHANNEL, 3, {"media/lesson.mp4": BODY, "media/captions.vtt": b"WEBVTT\n",
                                              "media/song.ogg": b"OggS", "media/pic.png": b"\x89PNG",
                                              "catalog.json": b"{}"})


def url(path: str) -> str:
    return f"/media/{CHANNEL}/{path}"


def test_a_file_of_the_active_version_is_served_whole(client, folder):
    resp = client.get(url("media/lesson.mp4"))
    assert resp.status_code == 200
    assert resp.data == BODY
    assert resp.headers["Content-Length"] == str(len(BODY))
    assert resp.headers["Accept-Ranges"] == "bytes"
    assert resp.headers["Content-Type"] == "video/mp4"
    assert resp.headers["ETag"].startswith('"') and not resp.headers["ETag"].startswith('W/')
    assert resp.headers["Last-Modified"]


@pytest.mark.parametrize(("rng", "start", "end"), [("bytes=1000-1999", 1000, 1999), ("bytes=-100", 102300, 102399),
                                                   ("bytes=102000-", 102000, 102399)])
def test_a_range_returns_exactly_those_bytes(client, folder, rng, start, end):
    resp = client.get(url("media/lesson.mp4"), headers={"Range": rng})
    assert resp.status_code == 206
    assert resp.data == BODY[start:end + 1]
    assert resp.headers["Content-Range"] == f"bytes {start}-{end}/{len(BODY)}"


def test_a_range_past_the_end_is_416_with_the_size(client, folder):
    resp = client.get(url("media/lesson.mp4"), headers={"Range": f"bytes={len(BODY)}-"})
    assert resp.status_code == 416
    assert resp.headers["Content-Range"] == f"bytes */{len(BODY)}"


def test_the_etag_revalidates_to_304_until_the_file_changes(client, folder):
    etag = client.get(url("media/lesson.mp4")).headers["ETag"]
    assert client.get(url("media/lesson.mp4"), headers={"If-None-Match": etag}).status_code == 304
    (folder / "media/lesson.mp4").write_bytes(BODY + b"more")
    os.utime(folder / "media/lesson.mp4", ns=(1, 2_000_000_000_123))
    changed = client.get(url("media/lesson.mp4"), headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag


def test_the_etag_is_the_manifest_sha256_when_the_pack_lists_the_file(client, data_dir):
    add_channel(data_dir, "test.signed", 1, {"media/a.ogg": b"sound"}, manifest=True)
    resp = client.get("/media/test.signed/media/a.ogg")
    assert resp.headers["ETag"] == f'"{hashlib.sha256(b"sound").hexdigest()}"'


def test_an_unchanged_file_keeps_its_etag_across_pack_versions(client, data_dir):
    add_channel(data_dir, "test.signed", 1, {"media/a.ogg": b"sound"}, manifest=True)
    first = client.get("/media/test.signed/media/a.ogg").headers["ETag"]
    add_channel(data_dir, "test.signed", 2, {"media/a.ogg": b"sound"}, manifest=True)
    resp = client.get("/media/test.signed/media/a.ogg", headers={"If-None-Match": first})
    assert resp.status_code == 304


def test_if_range_with_a_stale_etag_sends_the_whole_new_file(client, folder):
    resp = client.get(url("media/lesson.mp4"), headers={"Range": "bytes=0-9", "If-Range": '"stale"'})
    assert resp.status_code == 200
    assert len(resp.data) == len(BODY)


def test_head_has_the_headers_of_get_and_no_body(client, folder):
    resp = client.head(url("media/lesson.mp4"))
    assert resp.status_code == 200
    assert resp.headers["Content-Length"] == str(len(BODY))
    assert resp.data == b""


@pytest.mark.parametrize(("path", "mime"), [("media/captions.vtt", "text/vtt; charset=utf-8"),
                                            ("media/song.ogg", "audio/ogg"), ("media/pic.png", "image/png"),
                                            ("catalog.json", "application/json")])
def test_each_kind_of_file_gets_its_mime_type(client, folder, path, mime):
    assert client.get(url(path)).headers["Content-Type"] == mime


def test_only_the_active_version_is_served(client, data_dir, folder):
    add_channel(data_dir, CHANNEL, 4, {"media/new.mp4": b"new"})
    assert client.get(url("media/new.mp4")).data == b"new"
    assert client.get(url("media/lesson.mp4")).status_code == 404


def test_an_absolute_active_path_in_box_db_works_too(client, data_dir):
    add_channel(data_dir, "test.abs", 1, {"a.mp3": b"ID3"}, relative=False)
    assert client.get("/media/test.abs/a.mp3").data == b"ID3"


def test_a_channel_not_in_the_table_or_a_missing_file_is_404(client, data_dir, folder):
    (data_dir / "content" / "ghost" / "v1").mkdir(parents=True)
    (data_dir / "content" / "ghost" / "v1" / "a.mp4").write_bytes(b"x")
    assert client.get("/media/ghost/a.mp4").status_code == 404
    assert client.get(url("media/missing.mp4")).status_code == 404
    assert client.get(url("media")).status_code == 404


def test_the_local_channel_is_served_to_a_signed_in_teacher_and_always_revalidated(client, data_dir):
    from edge_server.store import people
    from edge_server.store.db import open_box_db
    from edge_server.web import auth

    add_channel(data_dir, "local", 1, {"uploads/talk.webm": b"webm"}, local=True)
    assert client.get("/media/local/uploads/talk.webm").status_code == 401  # anonymous: see test_security_recordings
    db = open_box_db(data_dir / "box.db")
    people.add_teacher(db, "ms-lee", auth.hash_password("chalk-and-board"))
    db.conn.close()
    page = client.get("/teacher/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    assert client.post("/teacher/login", data={"username": "ms-lee", "password": "chalk-and-board",
                                               "csrf_token": token}).status_code == 302
    resp = client.get("/media/local/uploads/talk.webm")
    assert resp.data == b"webm"
    assert resp.headers["Content-Type"] == "video/webm"
    assert resp.headers["Cache-Control"] == "no-cache"


@pytest.mark.parametrize("path", ["media/../../../box.db", "%2e%2e/%2e%2e/%2e%2e/box.db",
                                  "media%2f..%2f..%2f..%2fbox.db", "media%5c..%5c..%5cbox.db", "media/lesson.mp4%00",
                                  "%2fetc%2fpasswd", "/etc/passwd", "media/.hidden"])
def test_paths_that_try_to_leave_the_folder_are_refused(client, data_dir, folder, path):
    (folder / "media" / ".hidden").write_bytes(b"secret")
    resp = client.get(f"/media/{CHANNEL}/{path}")
    assert resp.status_code in (400, 404)
    assert b"SQLite" not in resp.data and b"root:" not in resp.data and b"secret" not in resp.data


def test_a_symlink_out_of_the_folder_is_refused_and_one_inside_is_served(client, data_dir, folder):
    (folder / "media" / "escape.mp4").symlink_to(data_dir / "box.db")
    (folder / "media" / "alias.mp4").symlink_to(folder / "media" / "lesson.mp4")
    (folder / "linkdir").symlink_to(data_dir / "keys", target_is_directory=True)
    assert client.get(url("media/escape.mp4")).status_code == 404
    assert client.get(url("linkdir/box.key")).status_code == 404
    assert client.get(url("media/alias.mp4")).data == BODY


def test_the_body_is_the_servers_file_wrapper_seeked_to_the_range_start(app, folder):
    """What gunicorn needs to use sendfile: its wrapper class, a real fd at the first byte, an exact length."""

    class ServerWrapper:
        def __init__(self, filelike, blksize=8192):
            self.filelike = filelike

    env = EnvironBuilder(path=url("media/lesson.mp4"), headers={"Range": "bytes=5000-5999"}).get_environ()
    env["wsgi.file_wrapper"] = ServerWrapper
    seen = {}
    body = app(env, lambda status, headers: seen.update(status=status, headers=dict(headers)))
    try:
        assert isinstance(body, ServerWrapper)
        assert seen["status"].startswith("206")
        assert seen["headers"]["Content-Length"] == "1000"
        fd = body.filelike.fileno()
        assert os.lseek(fd, 0, os.SEEK_CUR) == 5000
        assert body.filelike.read(10_000) == BODY[5000:6000]
    finally:
        body.filelike.close()


def test_the_media_url_of_an_imported_lesson_is_served_with_ranges_and_its_sha256_etag(sample_data_dir):
    from edge_server.settings import load_settings
    from edge_server.web.app import create_app

    app = create_app(load_settings(sample_data_dir, scheduler_enabled=False, ai_jobs_enabled=False))
    client = app.test_client()
    lessons = [lesson for channel in client.get("/api/v1/catalog").get_json()["channels"]
               for course in channel["courses"] for lesson in course["lessons"] if lesson.get("media")]
    assert lessons
    lesson = client.get(f"/api/v1/lessons/{lessons[0]['id']}").get_json()
    media_url = lesson["media"]["url"]
    assert media_url.startswith("/media/")
    whole = client.get(media_url)
    assert whole.status_code == 200
    part = client.get(media_url, headers={"Range": "bytes=10-19"})
    assert (part.status_code, part.data) == (206, whole.data[10:20])
    assert whole.headers["ETag"] == f'"{hashlib.sha256(whole.data).hexdigest()}"'
    assert whole.headers["Content-Type"].startswith(("audio/", "video/"))


def test_methods_other_than_get_and_head_are_405_with_allow(client, folder):
    resp = client.post(url("media/lesson.mp4"), data=b"x")
    assert resp.status_code == 405
    assert resp.headers["Allow"] == "GET, HEAD"
    assert (folder / "media/lesson.mp4").read_bytes() == BODY


def test_an_open_ended_range_of_a_big_file_gets_one_capped_part(client, data_dir):
    from edge_server.web.media import OPEN_RANGE_CAP

    size = OPEN_RANGE_CAP * 3 + 5
    add_channel(data_dir, "test.big", 1, {"v.webm": b"\1" * size})
    resp = client.get("/media/test.big/v.webm", headers={"Range": "bytes=10-"})
    assert resp.status_code == 206
    assert resp.headers["Content-Range"] == f"bytes 10-{OPEN_RANGE_CAP + 9}/{size}"
    assert len(resp.data) == OPEN_RANGE_CAP
