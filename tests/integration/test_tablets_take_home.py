"""What a pupil's tablet keeps (the offline plan), take-home lessons and the teacher's tablet panel (real app, real
SQLite, the real sample course)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from edge_server import tablets
from edge_server.settings import load_settings
from edge_server.store import people as people_store
from edge_server.store.db import connect
from edge_server.web.app import create_app
from tests.e2e.pages_data import TEACHER, populate
from tests.fixtures_packs import sample_data_dir, signing_key  # noqa: F401
from tests.integration.test_pages_flows import teacher_login, token
from tests.integration.test_tablets_answers import logged_in


@pytest.fixture
def box(sample_data_dir):  # noqa: F811
    people = populate(sample_data_dir)
    settings = load_settings(sample_data_dir, scheduler_enabled=False, ai_jobs_enabled=False, announce=False)
    db = connect(settings.db_path)
    people_store.set_assignments(db, people["class_id"], {"water-cycle"})
    db.conn.close()
    return create_app(settings), people, settings


def take_home(app, people, lessons: list[str], days: str = "2"):
    teacher = app.test_client()
    teacher_login(teacher, TEACHER[1])
    url = f"/teacher/class/{people['class_id']}"
    return teacher.post(f"{url}/take-home", data={"lesson": lessons, "days": days, "csrf_token": token(teacher, url)})


def test_the_plan_lists_the_assigned_lessons_with_their_documents_and_media_within_the_budget(box):
    app, people, _settings = box
    plan = logged_in(app, people).get("/tablet/plan").get_json()
    assert [lesson["id"] for lesson in plan["lessons"]] == ["water-cycle"]
    water = plan["lessons"][0]
    assert water["urls"][:3] == ["/lesson/water-cycle", "/api/v1/lessons/water-cycle",
                                 "/tablet/lesson/water-cycle/keys.json"]
    assert water["media"]["keep"] is True and water["media"]["size"] > 100_000
    assert plan["media_budget_bytes"] == 200 * 1024 * 1024 and "/static/tablet.js" in plan["shell"]


def test_answer_keys_go_only_to_pupils_who_may_open_the_lesson_and_never_for_text_exercises(box):
    app, people, _settings = box
    client = logged_in(app, people)
    keys = client.get("/tablet/lesson/water-cycle/keys.json").get_json()["exercises"]
    assert keys["water-cycle-1"] == {"kind": "choice", "answer": [0]}
    assert keys["water-cycle-5"]["kind"] == "number" and "water-cycle-2" not in keys  # water-cycle-2 is text
    assert client.get("/tablet/lesson/living-things/keys.json").status_code == 404  # not assigned
    assert app.test_client().get("/tablet/lesson/water-cycle/keys.json").status_code == 302  # no login


def test_a_take_home_lesson_is_opened_kept_and_marked_until_its_end_then_let_go(box, clock):
    app, people, _settings = box
    saved = take_home(app, people, ["living-things"], "2")
    assert saved.status_code == 302
    client = logged_in(app, people)
    assert client.get("/lesson/living-things").status_code == 200
    plan = client.get("/tablet/plan").get_json()
    home = {lesson["id"]: lesson["take_home_until"] for lesson in plan["lessons"]}
    assert set(home) == {"water-cycle", "living-things"} and home["water-cycle"] is None
    until = datetime.fromisoformat(home["living-things"])
    assert timedelta(days=2) - timedelta(minutes=1) < until - datetime.now(UTC) <= timedelta(days=2)
    clock(hours=49)
    later = logged_in(app, people)
    assert [lesson["id"] for lesson in later.get("/tablet/plan").get_json()["lessons"]] == ["water-cycle"]
    assert later.get("/lesson/living-things").status_code == 404


def test_take_home_media_come_first_within_a_small_budget(box):
    app, people, settings = box
    take_home(app, people, ["shapes-and-angles"])
    db = connect(settings.db_path)
    tablets.set_media_budget(db, people["class_id"], 1)  # 1 MB: two of the three lessons' audio fit
    people_store.set_assignments(db, people["class_id"], {"water-cycle", "living-things"})
    db.conn.close()
    plan = logged_in(app, people).get("/tablet/plan").get_json()
    kept = {lesson["id"]: lesson["media"]["keep"] for lesson in plan["lessons"]}
    assert kept == {"water-cycle": True, "living-things": False, "shapes-and-angles": True}


def test_the_teacher_refuses_a_take_home_of_no_days_or_too_many(box):
    app, people, settings = box
    for days in ("0", "31", "two"):
        page = take_home(app, people, ["living-things"], days)
        assert page.status_code == 302
    db = connect(settings.db_path)
    assert tablets.take_home(db, people["class_id"]) == {}
    db.conn.close()


def test_the_class_page_shows_each_tablet_with_its_pupil_answers_waiting_and_lessons_kept(box):
    app, people, settings = box
    take_home(app, people, ["living-things"])
    client = logged_in(app, people)
    sync_token = client.get("/tablet/hello?tablet=tablet-amina-0001").get_json()["token"]
    answer = {"attempt_id": "3f1c2b9e-7d41-4c55-9f0a-2d1f6e8b7a10", "lesson_id": "living-things",
              "exercise_id": "living-things-1", "response": "0", "answered_at": 0}
    reply = app.test_client().post("/tablet/sync", json={
        "tablet": "tablet-amina-0001", "token": sync_token, "answers": [answer],
        "state": {"waiting": 3, "lessons": ["water-cycle", "living-things"], "storage_error": "quota"}})
    assert reply.get_json()["answers"][0]["status"] == "recorded"
    teacher = app.test_client()
    teacher_login(teacher, TEACHER[1])
    page = teacher.get(f"/teacher/class/{people['class_id']}").get_data(as_text=True)
    row = page[page.index('data-tablet="tablet-amina-0001"'):]
    row = row[:row.index("</tr>")]
    assert "Amina" in row and 'class="waiting">2<' in row and 'class="kept">1 / 1<' in row
    assert 'class="synced">1 · ' in row and "Full: some lessons are not kept" in row
