"""Teachers' classroom recordings (the local channel "local.school": children's voices and names) are for the
school's signed-in pupils and teachers only: an anonymous client on the LAN gets 401 for the medium, the tracks and
the lesson, and finds nothing of them in the catalog or the search. National pack content stays public."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

import pytest

from edge_server.recordings import LOCAL_CHANNEL, MediaInfo, StoredUpload, add_recording
from edge_server.settings import load_settings
from edge_server.store.db import open_box_db, write
from edge_server.web.app import create_app
from tests.e2e.pages_data import TEACHER, populate

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
TITLE = "Amina reads her poem about the rain"
MEDIUM = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(256)) * 8
CAPTIONS = "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nAmina: the rain falls on our school\n"
CHAPTERS = "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nThe poem\n"


@pytest.fixture
def box(sample_data_dir, tmp_path):
    """The sample course, a teacher, a class of pupils, and one recording with captions, chapters and a transcript."""
    people = populate(sample_data_dir)
    settings = load_settings(sample_data_dir, scheduler_enabled=False, ai_jobs_enabled=False, announce=False)
    upload = tmp_path / "upload.wav"
    upload.write_bytes(MEDIUM)
    sha = hashlib.sha256(MEDIUM).hexdigest()
    db = open_box_db(settings.db_path)
    try:
        lesson_id = add_recording(db, settings, StoredUpload(upload, sha, len(MEDIUM)), MediaInfo("audio", "wav", 2.0),
                                  TITLE, ["sci.living.needs"], settings.box_name)

        def outputs(tx):
            for kind, content in (("captions_vtt", CAPTIONS), ("chapters_vtt", CHAPTERS)):
                tx.execute("INSERT INTO ai_outputs (media_sha256, kind, content, model_id, source, created) "
                           "VALUES (?, ?, ?, 'test', 'test', ?)", (sha, kind, content, datetime.now(UTC).isoformat()))
            cur = tx.execute("INSERT INTO transcript_chunks (media_sha256, lesson_id, knowledge_point, start, end, "
                             "text) VALUES (?, ?, 'sci.living.needs', 0, 2, 'the raindrops fall on our school')",
                             (sha, lesson_id))
            tx.execute("INSERT INTO chunks_fts (rowid, text) VALUES (?, 'the raindrops fall on our school')",
                       (cur.lastrowid,))

        write(db, outputs)
        media = db.execute("SELECT media_path FROM lessons WHERE id = ?", (lesson_id,)).fetchone()[0]
        national = db.execute("SELECT id, channel_id, media_path FROM lessons WHERE channel_id != ? "
                              "AND media_path IS NOT NULL ORDER BY id LIMIT 1", (LOCAL_CHANNEL,)).fetchone()
    finally:
        db.conn.close()
    app = create_app(settings)
    return {"app": app, "lesson": lesson_id, "url": f"/media/{LOCAL_CHANNEL}/{media}", "people": people,
            "national_lesson": national[0], "national_url": f"/media/{national[1]}/{national[2]}"}


def _csrf(client, url: str) -> str:
    return CSRF.search(client.get(url).get_data(as_text=True)).group(1)


def _teacher(box):
    client = box["app"].test_client()
    done = client.post("/teacher/login", data={"username": TEACHER[0], "password": TEACHER[1],
                                               "csrf_token": _csrf(client, "/teacher/login")})
    assert done.status_code == 302
    return client


def _pupil(box):
    client = box["app"].test_client()
    amina = box["people"]["pupils"]["Amina"]
    done = client.post(f"/login/{amina['ref']}", data={"pin": amina["pin"],
                                                       "csrf_token": _csrf(client, f"/login/{amina['ref']}")})
    assert done.status_code == 302
    return client


def _catalog_lessons(client) -> dict[str, set[str]]:
    tree = client.get("/api/v1/catalog").get_json()
    return {c["id"]: {lesson["id"] for course in c["courses"] for lesson in course["lessons"]}
            for c in tree["channels"]}


def _found(client, query: str) -> set[str]:
    return {hit["lesson_id"] for hit in client.get("/api/v1/search", query_string={"q": query}).get_json()["results"]}


def test_an_anonymous_client_cannot_play_a_recording_or_its_tracks_or_read_its_lesson(box):
    anonymous = box["app"].test_client()
    for response in (anonymous.get(box["url"]), anonymous.get(box["url"], headers={"Range": "bytes=0-99"}),
                     anonymous.head(box["url"])):
        assert response.status_code == 401
        assert MEDIUM[:64] not in response.data
    for track in ("captions.vtt", "chapters.vtt"):
        response = anonymous.get(f"/api/v1/lessons/{box['lesson']}/{track}")
        assert response.status_code == 401 and "login" in response.get_json()["error"]
        assert "Amina" not in response.get_data(as_text=True)
    lesson = anonymous.get(f"/api/v1/lessons/{box['lesson']}")
    assert lesson.status_code == 401 and TITLE not in lesson.get_data(as_text=True)


def test_an_anonymous_client_finds_no_recording_in_the_catalog_or_the_search(box):
    anonymous = box["app"].test_client()
    assert LOCAL_CHANNEL not in _catalog_lessons(anonymous)
    assert TITLE not in anonymous.get("/api/v1/catalog").get_data(as_text=True)
    assert box["lesson"] not in _found(anonymous, "Amina poem")  # title
    assert box["lesson"] not in _found(anonymous, "raindrops")  # transcript


def test_national_pack_content_stays_readable_without_a_login(box):
    anonymous = box["app"].test_client()
    assert anonymous.get(box["national_url"], headers={"Range": "bytes=0-9"}).status_code == 206
    assert anonymous.get(f"/api/v1/lessons/{box['national_lesson']}").status_code == 200
    assert any(box["national_lesson"] in lessons for lessons in _catalog_lessons(anonymous).values())


@pytest.mark.parametrize("who", ["pupil", "teacher"])
def test_a_signed_in_pupil_or_teacher_plays_finds_and_reads_the_schools_recordings(box, who):
    client = _pupil(box) if who == "pupil" else _teacher(box)
    played = client.get(box["url"], headers={"Range": "bytes=0-99"})
    assert played.status_code == 206 and played.data == MEDIUM[:100]
    assert played.headers["Cache-Control"] == "no-cache"
    assert client.get(f"/api/v1/lessons/{box['lesson']}/captions.vtt").get_data(as_text=True) == CAPTIONS
    assert client.get(f"/api/v1/lessons/{box['lesson']}/chapters.vtt").status_code == 200
    assert client.get(f"/api/v1/lessons/{box['lesson']}").get_json()["title"] == TITLE
    assert box["lesson"] in _catalog_lessons(client)[LOCAL_CHANNEL]
    assert box["lesson"] in _found(client, "Amina poem")
    assert box["lesson"] in _found(client, "raindrops")


def test_a_copied_cookie_stops_playing_recordings_once_the_pupil_logs_out(box):
    tablet = _pupil(box)
    thief = box["app"].test_client()
    thief.set_cookie("session", tablet.get_cookie("session").value)
    assert thief.get(box["url"]).status_code == 200
    tablet.post("/logout", data={"csrf_token": _csrf(tablet, "/lessons")})
    assert thief.get(box["url"]).status_code == 401
    assert tablet.get(box["url"]).status_code == 401


def test_a_forged_or_foreign_cookie_does_not_open_the_recordings(box):
    other_box = box["app"].test_client()
    other_box.set_cookie("session", "eyJwdXBpbF9pZCI6MX0.forged.signature")
    assert other_box.get(box["url"]).status_code == 401
