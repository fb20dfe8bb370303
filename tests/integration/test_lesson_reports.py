"""Lesson reports per class: the player's progress beacon, answers and chapter views become who watched how far,
who answered, time spent and the chapters replayed most, on a page and as CSV, for the class's own teacher only."""

from __future__ import annotations

import csv
import io
import re

import pytest

from edge_server.settings import load_settings
from edge_server.store import people
from edge_server.store.db import connect, open_box_db, rows
from edge_server.web import auth
from edge_server.web.app import create_app
from tests.e2e.pages_data import TEACHER, add_ai_outputs, populate

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
META_CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')
OTHER = ("other", "other-password")


@pytest.fixture
def box(sample_data_dir):
    """The sample course with chapters, Class 4 (the admin's) and Class 5 with Diego, and a teacher of no class."""
    ids = populate(sample_data_dir)
    add_ai_outputs(sample_data_dir)
    db = open_box_db(sample_data_dir / "box.db")
    ids["other"] = people.add_teacher(db, OTHER[0], auth.hash_password(OTHER[1]))
    ids["class5"] = people.add_class(db, "Class 5")
    ids["diego"] = people.add_pupil(db, ids["class5"], "Diego", auth.hash_pin("4444"))
    db.conn.close()
    app = create_app(load_settings(sample_data_dir, scheduler_enabled=False, ai_jobs_enabled=False, announce=False))
    return app, ids


def _teacher(app, who=TEACHER):
    client = app.test_client()
    page = client.get("/teacher/login").get_data(as_text=True)
    client.post("/teacher/login", data={"username": who[0], "password": who[1],
                                        "csrf_token": CSRF.search(page).group(1)})
    return client


def _pupil(app, ref, pin):
    client = app.test_client()
    page = client.get(f"/login/{ref}").get_data(as_text=True)
    assert client.post(f"/login/{ref}", data={"pin": pin, "csrf_token": CSRF.search(page).group(1)}).status_code == 302
    client.csrf = META_CSRF.search(client.get("/lessons").get_data(as_text=True)).group(1)
    return client


def _beat(client, lesson="water-cycle", **beat):
    return client.post(f"/lesson/{lesson}/progress", json={"position": 0, "furthest": 0, "played": 0, **beat},
                       headers={"X-CSRFToken": client.csrf})


def _answer(client, exercise_id, response):
    return client.post("/lesson/water-cycle/answer", json={"exercise_id": exercise_id, "response": response},
                       headers={"X-CSRFToken": client.csrf})


def test_the_report_shows_who_watched_how_far_who_answered_time_spent_and_the_chapters_replayed_most(box, clock):
    app, ids = box
    amina = _pupil(app, ids["pupils"]["Amina"]["ref"], "1234")
    assert _beat(amina, position=14, furthest=14, played=14, duration=76.7).get_json() == {"furthest": 14.0,
                                                                                           "seconds": 14.0}
    clock(minutes=0.25)
    assert _beat(amina, position=25, furthest=38.5, played=15, duration=76.7, replays=[25.0]).status_code == 200
    clock(minutes=0.25)
    _beat(amina, position=30, furthest=38.5, played=14, duration=76.7, replays=[22.0, 30.0, 2.0])
    assert _answer(amina, "water-cycle-1", "0").get_json()["correct"] is True
    assert _answer(amina, "water-cycle-2", "rain").get_json()["correct"] is False
    bao = _pupil(app, ids["pupils"]["Bao"]["ref"], "5678")
    bao.post("/lesson/water-cycle/watched", json={"knowledge_point": "sci.water.evaporation", "start": 0,
                                                  "end": 21.301}, headers={"X-CSRFToken": bao.csrf})
    diego = _pupil(app, ids["diego"]["ref"], "4444")  # another class: never in Class 4's report
    _beat(diego, position=70, furthest=70, played=50, duration=76.7, replays=[60.0, 61.0, 62.0])
    _answer(diego, "water-cycle-1", "0")

    teacher = _teacher(app)
    klass = teacher.get(f"/teacher/class/{ids['class_id']}").get_data(as_text=True)
    assert f"/teacher/class/{ids['class_id']}/reports/" in klass
    index = teacher.get(f"/teacher/class/{ids['class_id']}/reports/").get_data(as_text=True)
    assert re.search(r"The water cycle.*?<td>2</td>\s*<td>1</td>", index, re.S)
    page = teacher.get(f"/teacher/class/{ids['class_id']}/reports/water-cycle")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Diego" not in text
    assert re.search(r"Amina</td>.*?50%.*?<td>0:43</td>\s*<td>2 of 5, 1 right</td>\s*<td>4</td>", text, re.S)
    assert re.search(r"Bao</td>.*?28%.*?<td>0:00</td>", text, re.S)
    assert re.search(r"Chloé</td>.*?not yet", text, re.S)
    most = re.findall(r'<li><span><span class="quiet">([0-9:]+)</span> (\w+)</span>\s*'
                      r'<span>(\d+) replays? · (\d+) pupils?', text)
    assert most == [("0:21", "Condensation", "3", "1"), ("0:00", "Evaporation", "1", "1")]

    response = teacher.get(f"/teacher/class/{ids['class_id']}/reports/water-cycle/report.csv")
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    table = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert table[0][:3] == ["pupil", "pupil_ref", "watched"] and table[0][-4:] == [
        "replays 0:00 Evaporation", "replays 0:21 Condensation", "replays 0:40 Precipitation",
        "replays 0:58 Collection"]
    by_name = {row[0]: dict(zip(table[0], row, strict=True)) for row in table[1:]}
    assert sorted(by_name) == ["Amina", "Bao", "Chloé"]
    amina = by_name["Amina"]
    assert (amina["watched_percent"], amina["seconds_watched"], amina["replays"], amina["exercises_answered"],
            amina["exercises_correct"]) == ("50", "43", "4", "2", "1")
    assert by_name["Amina"]["replays 0:21 Condensation"] == "3" and by_name["Bao"]["furthest_s"] == "21.3"


def test_only_the_classs_teacher_or_an_admin_sees_its_lesson_reports(box):
    app, ids = box
    other = _teacher(app, OTHER)
    base = f"/teacher/class/{ids['class_id']}/reports"
    for url in (f"{base}/", f"{base}/water-cycle", f"{base}/water-cycle/report.csv"):
        assert other.get(url).status_code == 403
        assert _teacher(app).get(url).status_code == 200
    assert _teacher(app).get(f"{base}/no-such-lesson").status_code == 404
    pupil = _pupil(app, ids["pupils"]["Amina"]["ref"], "1234")
    assert pupil.get(f"{base}/water-cycle/report.csv").status_code == 302


def test_a_class_with_assigned_lessons_reports_on_those_and_its_pupils_beat_only_on_those(box):
    app, ids = box
    db = open_box_db(app.extensions["settings"].db_path)
    people.set_assignments(db, ids["class_id"], {"water-cycle"})
    db.conn.close()
    teacher = _teacher(app)
    index = teacher.get(f"/teacher/class/{ids['class_id']}/reports/").get_data(as_text=True)
    assert "reports/water-cycle" in index and "reports/living-things" not in index
    assert teacher.get(f"/teacher/class/{ids['class_id']}/reports/living-things").status_code == 404
    amina = _pupil(app, ids["pupils"]["Amina"]["ref"], "1234")
    assert _beat(amina, "living-things", furthest=3, played=3).status_code == 404
    assert _beat(amina, "water-cycle", furthest=3, played=3).status_code == 200


def test_the_beacon_believes_no_more_seconds_than_have_passed_and_refuses_what_it_cannot_read(box, clock):
    app, ids = box
    amina = _pupil(app, ids["pupils"]["Amina"]["ref"], "1234")
    assert _beat(amina, furthest=10, played=500).get_json()["seconds"] == 60.0  # a first beat: one minute at most
    clock(minutes=0.5)
    credited = _beat(amina, furthest=40, played=500).get_json()  # 30 s later (plus the test's own run time)
    assert credited["furthest"] == 40.0 and credited["seconds"] == pytest.approx(60.0 + 30 + 5, abs=1.0)
    assert _beat(amina, furthest=5, played=0).get_json()["furthest"] == 40.0  # how far never goes back
    bad = _beat(amina, furthest="far")
    assert bad.status_code == 400 and "furthest" in bad.get_json()["error"]
    assert _beat(amina, replays=[1.0] * 21).status_code == 400
    no_token = amina.post("/lesson/water-cycle/progress", json={"furthest": 1})
    assert no_token.status_code == 400
    assert _beat(amina, lesson="no-such-lesson", furthest=1).status_code == 404
    teacher = _teacher(app)
    page = teacher.get("/lessons").get_data(as_text=True)
    token = (META_CSRF.search(page) or META_CSRF.search(teacher.get("/teacher/").get_data(as_text=True))).group(1)
    assert teacher.post("/lesson/water-cycle/progress", json={"furthest": 1},
                        headers={"X-CSRFToken": token}).status_code == 401
    player = amina.get("/lesson/water-cycle").get_data(as_text=True)
    assert 'data-progress="/lesson/water-cycle/progress"' in player and 'data-furthest="40.0"' in player
    assert "watching.js" in player and "watching.js" not in teacher.get("/lesson/water-cycle").get_data(as_text=True)


def test_a_pupil_beating_too_fast_is_told_to_slow_down(box):
    app, ids = box
    amina = _pupil(app, ids["pupils"]["Amina"]["ref"], "1234")
    answers = [_beat(amina, furthest=n, played=1).status_code for n in range(32)]
    assert answers[:30] == [200] * 30 and answers[30:] == [429, 429]
    assert _beat(amina, furthest=99, played=1).headers["Retry-After"] == "60"
    db = connect(app.extensions["settings"].db_path)
    assert rows(db, "SELECT furthest FROM lesson_watching") == [{"furthest": 29.0}]
