"""Progress page, teacher dashboard (heatmap, stuck list, drill-down, CSV) and "next for you"."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from edge_server import attempts
from edge_server.store import people
from edge_server.store.db import open_box_db
from edge_server.web import auth


def seed_class(db) -> dict:
    """A class of three pupils, a lesson with AI chapters for two KPs and exercises of each difficulty."""
    class_id = people.add_class(db, "Class 5A")
    ids = {name: people.add_pupil(db, class_id, name, None)["id"] for name in ("Ana", "=Bo", "Chen")}
    for kp, name in (("sci.evap", "Evaporation"), ("sci.cond", "Condensation")):
        db.execute("INSERT INTO knowledge_points (id, channel_id, name) VALUES (?, 'ch', ?)", (kp, name))
        db.execute("INSERT INTO lesson_knowledge_points VALUES ('water', ?, 0)", (kp,))
    db.execute("INSERT INTO lessons (id, channel_id, course_id, title, media_path, media_kind, media_sha256) "
               "VALUES ('water', 'ch', 'sci', 'The water cycle', 'w.mp4', 'video', 'abc')")
    db.execute("INSERT INTO ai_outputs (media_sha256, kind, content, created) VALUES ('abc', 'chapters', ?, 'now')",
               (json.dumps([{"start": 0, "end": 61.5, "title": "Intro", "knowledge_point": None},
                            {"start": 61.5, "end": 130, "title": "Water rises", "knowledge_point": "sci.evap"},
                            {"start": 130, "end": 200, "title": "Clouds", "knowledge_point": "sci.cond"}]),))
    for ex_id, kp, difficulty in (("e1", "sci.evap", 1), ("e2", "sci.evap", 2), ("e3", "sci.evap", 3),
                                  ("c1", "sci.cond", 1)):
        db.execute("INSERT INTO exercises (id, lesson_id, channel_id, knowledge_point, kind, prompt, answer, "
                   "difficulty) VALUES (?, 'water', 'ch', ?, 'choice', ?, '0', ?)",
                   (ex_id, kp, f"Question {ex_id}", difficulty))
    return {"class_id": class_id, **ids}


@pytest.fixture
def world(settings):
    db = open_box_db(settings.db_path)
    ids = seed_class(db)
    for _ in range(8):  # Ana masters evaporation, Bo is stuck on it
        attempts.record_attempt(db, settings, ids["Ana"], "e2", "0")
        attempts.record_attempt(db, settings, ids["=Bo"], "e3", "1")
    attempts.record_attempt(db, settings, ids["Chen"], "c1", "0")
    db.conn.close()
    return ids


def login(client, kind: str, account_id: int):
    """The session a login page gives: the account, its session generation and the login time."""
    db = open_box_db(client.application.extensions["settings"].db_path)
    with client.session_transaction() as session:
        session.update(auth.session_claims(db, kind, account_id))
    db.conn.close()


def test_the_progress_page_shows_topics_and_sends_a_stuck_pupil_to_the_tagged_chapter(client, world):
    login(client, "pupil", world["=Bo"])
    page = client.get("/progress").get_data(as_text=True)
    assert "Evaporation" in page and "tricky" in page
    assert 'href="/lesson/water?t=61"' in page and "1:01" in page
    assert 'href="/lesson/water#ex-e1"' in page and "Question e3" not in page.split("Next for you")[1].split("e1")[0]


def test_the_progress_page_needs_a_pupil(client, world):
    assert client.get("/progress").status_code == 302


def test_next_for_pupil_lists_chapter_then_easier_items_for_the_pupil_home_page(app, world):
    with app.app_context():
        from edge_server.web.app import get_db

        items = attempts.next_for_pupil(get_db(), world["=Bo"])
    assert [i["kind"] for i in items[:3]] == ["chapter", "exercise", "exercise"]
    assert [i.get("exercise_id") for i in items[1:3]] == ["e1", "e2"] and items[0]["stuck"]


def test_the_dashboard_shows_the_heatmap_and_the_stuck_pupil_with_an_action(client, world):
    with client.application.app_context():
        from edge_server.web.app import get_db

        people.add_teacher(get_db(), "t", "x")
    login(client, "teacher", 1)
    response = client.get(f"/teacher/dashboard/{world['class_id']}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    heat = page[page.index('id="heatmap"'):page.index("</table>")]
    assert "Evaporation" in heat and "Condensation" in heat
    assert re.search(r'class="h4"[^>]*>\d+</td>', heat)  # Ana mastered
    assert re.search(r'class="h0 stuck"[^>]*>\d+!</td>', heat)  # Bo stuck
    stuck = page[page.index('id="stuck"'):]
    assert "=Bo" in stuck and "/lesson/water?t=61" in stuck and "Ana" not in stuck


def test_the_dashboard_drill_down_and_csv_export(client, world):
    with client.application.app_context():
        from edge_server.web.app import get_db

        people.add_teacher(get_db(), "t", "x")
    login(client, "teacher", 1)
    detail = client.get(f"/teacher/dashboard/{world['class_id']}/pupil/{world['Ana']}").get_data(as_text=True)
    assert "Evaporation" in detail and "Question e2" in detail
    response = client.get(f"/teacher/dashboard/{world['class_id']}.csv")
    assert response.mimetype == "text/csv"
    table = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(table) == 3
    bo = next(r for r in table if r["knowledge_point"] == "sci.evap" and r["stuck"] == "1")
    assert bo["pupil"] == "'=Bo"  # no spreadsheet formula injection
    assert client.get(f"/teacher/dashboard/{world['class_id']}/pupil/99999").status_code == 404


def test_the_dashboard_needs_a_teacher(client, world):
    response = client.get(f"/teacher/dashboard/{world['class_id']}")
    assert response.status_code == 302 and "/teacher/login" in response.headers["Location"]


def test_next_for_pupil_includes_untouched_topics_of_assigned_lessons_after_those_in_progress(app, world):
    with app.app_context():
        from edge_server.web.app import get_db

        db = get_db()
        people.set_assignments(db, world["class_id"], {"water"})
        items = attempts.next_for_pupil(db, world["Chen"], limit=10)
    kps = [i["knowledge_point"] for i in items]
    # Chen answered condensation once (in progress) and never evaporation (untouched, from the assigned lesson).
    assert kps.index("sci.cond") < kps.index("sci.evap")
    assert items[kps.index("sci.evap")]["url"] == "/lesson/water?t=61"


def test_the_nightly_fit_is_registered_with_the_scheduler():
    from edge_server.scheduler import box_jobs, resolve_target

    job = next(j for j in box_jobs() if j.name == "mastery-fit")
    assert resolve_target(job.target) is attempts.fit_all and job.trigger["trigger"] == "cron"
