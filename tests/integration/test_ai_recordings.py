"""A teacher uploads a recorded lesson: checked by content, size and free disk, stored locally, processed."""

from __future__ import annotations

import io
import re

import pytest

from edge_server import jobs
from edge_server.settings import load_settings
from edge_server.store.db import connect, one, rows
from edge_server.web.app import create_app
from tests.ai_support import PLANTS, make_video, speak
from tests.e2e.pages_data import TEACHER, populate

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _client(data_dir, **overrides):
    settings = load_settings(data_dir, scheduler_enabled=False, ai_jobs_enabled=False, announce=False, **overrides)
    app = create_app(settings)
    client = app.test_client()
    page = client.get("/teacher/login").get_data(as_text=True)
    client.post("/teacher/login", data={"username": TEACHER[0], "password": TEACHER[1],
                                        "csrf_token": CSRF.search(page).group(1)})
    return client


def _upload(client, data: bytes, name: str = "lesson.wav", title: str = "Plants and light",
            kps: tuple[str, ...] = ("sci.living.needs",)):
    page = client.get("/teacher/recordings/").get_data(as_text=True)
    form = {"title": title, "knowledge_points": list(kps), "csrf_token": CSRF.search(page).group(1),
            "media": (io.BytesIO(data), name)}
    return client.post("/teacher/recordings/", data=form, content_type="multipart/form-data")


@pytest.fixture
def box(sample_data_dir):
    populate(sample_data_dir)
    return sample_data_dir


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return speak(tmp_path_factory.mktemp("rec") / "plants.wav", PLANTS)


def test_only_a_logged_in_teacher_reaches_the_recordings_page(box):
    app = create_app(load_settings(box, scheduler_enabled=False, ai_jobs_enabled=False))
    anonymous = app.test_client()
    assert anonymous.get("/teacher/recordings/").status_code == 302
    assert anonymous.get("/teacher/recordings/status.json", headers={"Accept": "application/json"}).status_code == 401
    page = _client(box).get("/teacher/recordings/").get_data(as_text=True)
    assert 'type="file"' in page and "What living things need" in page  # knowledge points from the catalog


def test_an_uploaded_recording_becomes_a_local_lesson_with_its_pipeline_queued_and_progress_shown(box, clip):
    client = _client(box)
    response = _upload(client, clip.read_bytes(), name="whatever.bin",
                       kps=("sci.living.needs", "sci.water.evaporation"))
    assert response.status_code == 303
    db = connect(box / "box.db")
    channel = one(db, "SELECT * FROM channels WHERE local = 1")
    assert channel["id"] == "local.school"
    lesson = one(db, "SELECT * FROM lessons WHERE channel_id = 'local.school'")
    assert lesson["title"] == "Plants and light" and lesson["media_kind"] == "audio"
    stored = box / "content" / "local.school" / "v1" / lesson["media_path"]
    assert stored.read_bytes() == clip.read_bytes() and lesson["media_path"].endswith(".wav")  # type by content
    assert [r["knowledge_point_id"] for r in rows(db, "SELECT knowledge_point_id FROM lesson_knowledge_points "
                                                      "WHERE lesson_id = ? ORDER BY position", (lesson["id"],))] == [
        "sci.living.needs", "sci.water.evaporation"]
    assert list((box / "uploads").iterdir()) == []
    status = client.get("/teacher/recordings/status.json").get_json()["recordings"]
    assert [(s["lesson_id"], s["status"]) for s in status] == [(lesson["id"], "queued")]
    page = client.get("/teacher/recordings/").get_data(as_text=True)
    assert "Plants and light" in page and "<progress" in page and "recordings.js" in page
    # the lesson is in the catalog like any other
    api = client.get(f"/api/v1/lessons/{lesson['id']}")
    assert api.status_code == 200 and api.get_json()["media"]["url"].startswith("/")
    # the worker picks it up like any pack medium (the pipeline itself is tested in test_ai_jobs); the page's JSON
    # follows the job's progress and its failure message
    db.execute("UPDATE jobs SET status = 'done' WHERE key != ?", (lesson["media_sha256"],))  # sample course aside
    job = jobs.claim_next(db)
    assert job["payload"] == {"lesson_id": lesson["id"]}
    jobs.set_progress(db, job["id"], 0.4, "transcribing")
    status = client.get("/teacher/recordings/status.json").get_json()["recordings"]
    assert (status[0]["status"], status[0]["progress"], status[0]["message"]) == ("running", 0.4, "transcribing")
    jobs.fail(db, job["id"], "no asr model installed: run `edge-server models install`")
    page = client.get("/teacher/recordings/").get_data(as_text=True)
    assert "failed: no asr model installed" in page
    # the same file again is refused, politely
    again = _upload(client, clip.read_bytes(), title="Copy")
    assert again.status_code == 409 and "already on the box" in again.get_data(as_text=True)


def test_a_video_recording_is_recognised_as_video(box, clip, tmp_path):
    video = make_video(clip, tmp_path / "lesson.mp4")
    assert _upload(_client(box), video.read_bytes(), name="lesson.wav").status_code == 303
    lesson = one(connect(box / "box.db"),
                 "SELECT media_kind, media_path FROM lessons WHERE channel_id = 'local.school'")
    assert lesson["media_kind"] == "video" and lesson["media_path"].endswith(".mp4")


@pytest.mark.parametrize("data, reason", [
    (b"This is my lesson plan, not a video." * 50, "not a recording"),
    (b"RIFF\x10\x00\x00\x00WAVEfmt " + b"\x00" * 400, "could not be read"),
    (b"", "empty"),
])
def test_a_file_that_is_not_a_usable_recording_is_refused_whatever_its_name(box, data, reason):
    response = _upload(_client(box), data, name="lesson.mp4")
    assert response.status_code in (400, 415)
    assert reason in response.get_data(as_text=True)
    db = connect(box / "box.db")
    assert rows(db, "SELECT id FROM lessons WHERE channel_id = 'local.school'") == []
    assert list((box / "uploads").iterdir()) == []


def test_a_recording_over_the_size_limit_is_refused(box, clip):
    response = _upload(_client(box, max_upload_mb=1), clip.read_bytes() + bytes(1024 * 1024))
    assert response.status_code == 413
    assert rows(connect(box / "box.db"), "SELECT id FROM lessons WHERE channel_id = 'local.school'") == []


def test_a_recording_that_would_fill_the_disk_is_refused_with_the_reason(box, clip):
    response = _upload(_client(box, min_free_disk_mb=10**9), clip.read_bytes())
    assert response.status_code == 507
    assert "disk is too full" in response.get_data(as_text=True)
    assert list((box / "uploads").iterdir()) == []


def test_a_title_is_required_and_unknown_knowledge_points_are_refused(box, clip):
    client = _client(box)
    assert _upload(client, clip.read_bytes(), title="  ").status_code == 400
    response = _upload(client, clip.read_bytes(), kps=("no.such.kp",))
    assert response.status_code == 400 and "unknown knowledge point" in response.get_data(as_text=True)
    assert list((box / "uploads").iterdir()) == []
