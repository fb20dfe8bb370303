"""Quizzes through the real app, real SQLite and the real sample course: building, the state machine, answers as
attempts (idempotent, one per question), and who may see what."""

from __future__ import annotations

import re

import pytest

from edge_server import attempts
from edge_server.settings import load_settings
from edge_server.store import people
from edge_server.store.db import connect, one, rows
from edge_server.web import auth
from edge_server.web.app import create_app
from tests.e2e.pages_data import populate
from tests.fixtures_packs import sample_data_dir, signing_key  # noqa: F401

JSON = {"Accept": "application/json"}  # as the pages' script asks
CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')
WATER = ("water-cycle-1", "water-cycle-2", "water-cycle-5")  # a choice, a text and a number exercise
UUIDS = ("6f1c1b1e-8d0a-4c55-9e53-2f7f4c7a0001", "6f1c1b1e-8d0a-4c55-9e53-2f7f4c7a0002",
         "6f1c1b1e-8d0a-4c55-9e53-2f7f4c7a0003")


@pytest.fixture
def box(sample_data_dir):  # noqa: F811
    ids = populate(sample_data_dir)
    settings = load_settings(sample_data_dir, scheduler_enabled=False, ai_jobs_enabled=False, announce=False)
    app = create_app(settings)
    db = connect(settings.db_path)
    ids["lee"] = people.add_teacher(db, "lee", auth.hash_password("another-teacher"), "Mr Lee")  # not the admin
    other = people.add_class(db, "Class 6", teacher_id=ids["lee"])
    ids["other_class"] = other
    ids["outsider"] = people.add_pupil(db, other, "Zed", auth.hash_pin("9999"))["id"]
    db.conn.close()
    return app, ids, settings


def log_in(app, kind: str, account_id: int, **kw):
    """A test client holding the session a login page gives, and the page's CSRF token as client.csrf."""
    client = app.test_client()
    db = connect(app.extensions["settings"].db_path)
    with client.session_transaction(**kw) as session:
        session.update(auth.session_claims(db, kind, account_id))
    db.conn.close()
    page = client.get("/lessons" if kind == "pupil" else "/teacher/", **kw).get_data(as_text=True)
    client.csrf = CSRF.search(page).group(1)
    return client


def post(client, url: str, **data):
    return client.post(url, data={**data, "csrf_token": client.csrf})


def answer(client, quiz_id: int, exercise_id: str, response: str, attempt_id: str | None = None):
    body = {"exercise_id": exercise_id, "response": response}
    if attempt_id:
        body["attempt_id"] = attempt_id
    return client.post(f"/quiz/{quiz_id}/answer", json=body, headers={"X-CSRFToken": client.csrf})


def make_quiz(teacher, class_id: int, exercises=WATER, title: str = "Water check") -> int:
    response = post(teacher, f"/teacher/class/{class_id}/quizzes", title=title, exercise=list(exercises))
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def change(teacher, class_id: int, quiz_id: int, action: str):
    return post(teacher, f"/teacher/class/{class_id}/quizzes/{quiz_id}/{action}")


def pupil_client(app, ids, name: str):
    return log_in(app, "pupil", ids["pupils"][name]["id"])


def test_a_teacher_filters_exercises_ticks_some_and_pupils_answers_become_attempts_that_feed_mastery(box):
    app, ids, settings = box
    class_id = ids["class_id"]
    teacher = log_in(app, "teacher", ids["teacher_id"])
    page = teacher.get(f"/teacher/class/{class_id}/quizzes?lesson=water-cycle&difficulty=1").get_data(as_text=True)
    ticks = set(re.findall(r'name="exercise" value="([^"]+)"', page))
    assert ticks == {"water-cycle-1", "water-cycle-4"}  # the easy ones of that lesson only
    by_kp = teacher.get(f"/teacher/class/{class_id}/quizzes?knowledge_point=math.shapes.angles").get_data(as_text=True)
    assert set(re.findall(r'name="exercise" value="([^"]+)"', by_kp)) == {"shapes-and-angles-3", "shapes-and-angles-4"}
    by_course = teacher.get(f"/teacher/class/{class_id}/quizzes?course=maths-primary").get_data(as_text=True)
    assert all(t.startswith("shapes-") for t in re.findall(r'name="exercise" value="([^"]+)"', by_course))

    quiz_id = make_quiz(teacher, class_id)
    amina = pupil_client(app, ids, "Amina")
    assert amina.get(f"/quiz/{quiz_id}").status_code == 404  # a draft is the teacher's alone
    assert "Water check" not in amina.get("/lessons").get_data(as_text=True)
    assert change(teacher, class_id, quiz_id, "open").status_code == 303
    assert f'href="/quiz/{quiz_id}"' in amina.get("/lessons").get_data(as_text=True)
    quiz_page = amina.get(f"/quiz/{quiz_id}").get_data(as_text=True)
    assert "What makes water evaporate" in quiz_page and '"answer"' not in quiz_page and "Think about" not in quiz_page

    for exercise, response in zip(WATER, ("0", "evaporation", "4"), strict=True):
        reply = answer(amina, quiz_id, exercise, response)
        assert reply.status_code == 200 and reply.get_json() == {"status": "recorded", "exercise_id": exercise}
        assert "correct" not in reply.get_json()  # nothing said about right or wrong before the release
    db = connect(settings.db_path)
    amina_id = ids["pupils"]["Amina"]["id"]
    made = rows(db, "SELECT item, correct, source FROM attempts WHERE pupil_id = ? ORDER BY id", (amina_id,))
    assert [(a["item"], a["correct"]) for a in made] == [("water-cycle-1", 1), ("water-cycle-2", 0),
                                                         ("water-cycle-5", 1)]
    mastery = {r["knowledge_point"]: r["attempts"] for r in attempts.pupil_mastery(db, amina_id)}
    assert mastery == {"sci.water.evaporation": 2, "sci.water.condensation": 1}
    assert one(db, "SELECT COUNT(*) AS n FROM outbox")["n"] >= 3  # xAPI statements, as for any answer
    db.conn.close()

    doc = teacher.get(f"/teacher/class/{class_id}/quizzes/{quiz_id}/results.json").get_json()
    assert (doc["answered_pupils"], doc["finished_pupils"], doc["class_size"], doc["answers"]) == (1, 1, 3, 3)
    row = next(p for p in doc["pupils"] if p["name"] == "Amina")
    assert row["cells"] == ["right", "wrong", "right"] and row["right"] == 2
    assert [q["answered"] for q in doc["questions"]] == [1, 1, 1]
    assert doc["questions"][1]["common_wrong"] == "evaporation" and doc["questions"][0]["percent_right"] == 100


def test_a_resent_answer_counts_once_and_a_second_answer_to_the_same_question_is_refused(box):
    app, ids, settings = box
    teacher = log_in(app, "teacher", ids["teacher_id"])
    quiz_id = make_quiz(teacher, ids["class_id"])
    change(teacher, ids["class_id"], quiz_id, "open")
    bao = pupil_client(app, ids, "Bao")
    first = answer(bao, quiz_id, "water-cycle-1", "2", UUIDS[0])
    again = answer(bao, quiz_id, "water-cycle-1", "2", UUIDS[0])  # the tablet lost the reply and sends it again
    assert first.get_json()["status"] == "recorded" and again.get_json()["status"] == "duplicate"
    second = answer(bao, quiz_id, "water-cycle-1", "0", UUIDS[1])  # another answer: the first one counts
    assert second.status_code == 409 and second.get_json()["reason"] == "answered"
    reused = answer(bao, quiz_id, "water-cycle-2", "condensation", UUIDS[0])  # an id of another answer
    assert reused.status_code == 409
    db = connect(settings.db_path)
    bao_id = ids["pupils"]["Bao"]["id"]
    assert one(db, "SELECT COUNT(*) AS n FROM attempts WHERE pupil_id = ?", (bao_id,))["n"] == 1
    assert one(db, "SELECT attempts FROM mastery WHERE pupil_id = ?", (bao_id,))["attempts"] == 1
    db.conn.close()
    doc = teacher.get(f"/teacher/class/{ids['class_id']}/quizzes/{quiz_id}/results.json").get_json()
    assert next(p for p in doc["pupils"] if p["name"] == "Bao")["cells"] == ["wrong", "none", "none"]
    # without JavaScript the plain form answers too, and the page then shows the answer as saved
    plain = post(bao, f"/quiz/{quiz_id}/answer", exercise_id="water-cycle-2", response="Condensation")
    assert plain.status_code == 303 and plain.headers["Location"].endswith(f"/quiz/{quiz_id}#q-water-cycle-2")
    page = bao.get(f"/quiz/{quiz_id}").get_data(as_text=True)
    assert 'id="q-water-cycle-2" class="quiz-item panel saved"' in page and 'value="Condensation" disabled' in page
    doc = teacher.get(f"/teacher/class/{ids['class_id']}/quizzes/{quiz_id}/results.json").get_json()
    assert next(p for p in doc["pupils"] if p["name"] == "Bao")["cells"] == ["wrong", "right", "none"]


def test_a_closed_quiz_takes_no_answer_and_a_pupil_sees_results_only_once_they_are_released(box):
    app, ids, settings = box
    class_id = ids["class_id"]
    teacher = log_in(app, "teacher", ids["teacher_id"])
    quiz_id = make_quiz(teacher, class_id)
    change(teacher, class_id, quiz_id, "open")
    chloe = pupil_client(app, ids, "Chloé")
    assert answer(chloe, quiz_id, "water-cycle-1", "1").status_code == 200
    # the lesson page would tell right from wrong: a quiz answer stays off it until the release
    lesson = chloe.get("/lesson/water-cycle").get_data(as_text=True)
    assert 'id="ex-water-cycle-1" class="exercise panel"' in lesson
    assert chloe.get(f"/quiz/{quiz_id}/state.json").get_json() == {"state": "open", "released": False}

    assert answer(chloe, quiz_id, "water-cycle-5", "3", UUIDS[2]).status_code == 200
    assert change(teacher, class_id, quiz_id, "close").status_code == 303
    resent = answer(chloe, quiz_id, "water-cycle-5", "3", UUIDS[2])  # its reply was lost: it counted all the same
    assert resent.status_code == 200 and resent.get_json()["status"] == "duplicate"
    late = answer(chloe, quiz_id, "water-cycle-2", "condensation")
    assert late.status_code == 409 and late.get_json()["reason"] == "closed"
    form_late = post(chloe, f"/quiz/{quiz_id}/answer", exercise_id="water-cycle-2", response="condensation")
    assert form_late.status_code == 303  # the plain form goes back to the page, which says it is closed
    closed = chloe.get(f"/quiz/{quiz_id}").get_data(as_text=True)
    assert 'id="quiz-closed"' in closed and "Think about what warms the water" not in closed
    assert "You got" not in closed and 'class="quiz-item' not in closed  # no questions any more, no results yet
    db = connect(settings.db_path)
    assert one(db, "SELECT COUNT(*) AS n FROM attempts WHERE pupil_id = ?", (ids["pupils"]["Chloé"]["id"],))["n"] == 2
    db.conn.close()

    assert change(teacher, class_id, quiz_id, "release").status_code == 303
    released = chloe.get(f"/quiz/{quiz_id}").get_data(as_text=True)
    assert "You got 0 of 3 right!" in released
    assert "Think about what warms the water." in released  # the hint of the one she missed
    assert "The wind stopping" in released  # her answer, in words
    assert f'href="/quiz/{quiz_id}"' in chloe.get("/lessons").get_data(as_text=True)
    assert 'class="exercise panel wrong"' in chloe.get("/lesson/water-cycle").get_data(as_text=True)


def test_a_pupil_sees_only_quizzes_of_their_own_class_and_only_their_own_results(box):
    app, ids, _settings = box
    class_id = ids["class_id"]
    teacher = log_in(app, "teacher", ids["teacher_id"])
    quiz_id = make_quiz(teacher, class_id)
    change(teacher, class_id, quiz_id, "open")
    amina, bao = pupil_client(app, ids, "Amina"), pupil_client(app, ids, "Bao")
    answer(amina, quiz_id, "water-cycle-1", "0")
    answer(bao, quiz_id, "water-cycle-1", "2")
    outsider = log_in(app, "pupil", ids["outsider"])
    assert outsider.get(f"/quiz/{quiz_id}").status_code == 404
    assert outsider.get(f"/quiz/{quiz_id}/state.json").status_code == 404
    assert answer(outsider, quiz_id, "water-cycle-1", "0").status_code == 404
    assert "Water check" not in outsider.get("/lessons").get_data(as_text=True)
    assert amina.get(f"/teacher/class/{class_id}/quizzes/{quiz_id}/results.json", headers=JSON).status_code == 401
    assert amina.get(f"/teacher/class/{class_id}/quizzes/{quiz_id}").status_code == 302
    change(teacher, class_id, quiz_id, "close")
    change(teacher, class_id, quiz_id, "release")
    mine = amina.get(f"/quiz/{quiz_id}").get_data(as_text=True)
    assert "You got 1 of 3 right!" in mine and "Bao" not in mine and "Fish swimming" not in mine
    assert answer(amina, quiz_id, "not-in-quiz", "0").status_code == 404


def test_the_state_machine_refuses_opening_twice_releasing_before_closing_and_deleting_an_opened_quiz(box):
    app, ids, settings = box
    class_id = ids["class_id"]
    teacher = log_in(app, "teacher", ids["teacher_id"])
    quiz_id = make_quiz(teacher, class_id)
    early = change(teacher, class_id, quiz_id, "release")
    assert early.status_code == 409 and "Close the quiz before releasing its results." in early.get_data(as_text=True)
    assert change(teacher, class_id, quiz_id, "close").status_code == 409
    assert change(teacher, class_id, quiz_id, "open").status_code == 303
    twice = change(teacher, class_id, quiz_id, "open")
    assert twice.status_code == 409 and "This quiz is already open or closed." in twice.get_data(as_text=True)
    assert post(teacher, f"/teacher/class/{class_id}/quizzes/{quiz_id}/delete").status_code == 409
    assert change(teacher, class_id, quiz_id, "close").status_code == 303
    assert change(teacher, class_id, quiz_id, "open").status_code == 409  # closed stays closed
    assert change(teacher, class_id, quiz_id, "release").status_code == 303
    assert change(teacher, class_id, quiz_id, "release").status_code == 409
    db = connect(settings.db_path)
    quiz = one(db, "SELECT state, released, opened, closed, released_at, created_by FROM quizzes WHERE id = ?",
               (quiz_id,))
    assert quiz["state"] == "closed" and quiz["released"] == 1 and quiz["created_by"] == ids["teacher_id"]
    assert quiz["opened"] <= quiz["closed"] <= quiz["released_at"]
    db.conn.close()
    draft = make_quiz(teacher, class_id, title="Spare")
    assert post(teacher, f"/teacher/class/{class_id}/quizzes/{draft}/delete").status_code == 303
    assert teacher.get(f"/teacher/class/{class_id}/quizzes/{draft}").status_code == 404


def test_teacher_quiz_pages_need_a_login_and_a_quiz_is_found_only_under_its_own_class(box):
    app, ids, _settings = box
    class_id = ids["class_id"]
    teacher = log_in(app, "teacher", ids["teacher_id"])
    quiz_id = make_quiz(teacher, class_id)
    anonymous = app.test_client()
    page = anonymous.get(f"/teacher/class/{class_id}/quizzes/{quiz_id}")
    assert page.status_code == 302 and "/teacher/login" in page.headers["Location"]
    assert anonymous.get(f"/teacher/class/{class_id}/quizzes/{quiz_id}/results.json", headers=JSON).status_code == 401
    assert anonymous.get(f"/quiz/{quiz_id}").status_code == 302
    other = ids["other_class"]
    for suffix in ("", "/results.json", "/present"):
        assert teacher.get(f"/teacher/class/{other}/quizzes/{quiz_id}{suffix}").status_code == 404
    assert change(teacher, other, quiz_id, "open").status_code == 404
    assert teacher.get("/teacher/class/999/quizzes").status_code == 404
    no_token = teacher.post(f"/teacher/class/{class_id}/quizzes/{quiz_id}/open")
    assert no_token.status_code == 400  # CSRF


def test_a_quiz_without_a_title_or_exercises_is_refused_with_the_page_as_it_was(box):
    app, ids, settings = box
    class_id = ids["class_id"]
    teacher = log_in(app, "teacher", ids["teacher_id"])
    untitled = post(teacher, f"/teacher/class/{class_id}/quizzes", title="  ", lesson="water-cycle",
                    exercise=["water-cycle-3"])
    page = untitled.get_data(as_text=True)
    assert untitled.status_code == 400 and "Give the quiz a title." in page
    assert 'value="water-cycle-3" checked' in page and 'value="water-cycle-1">' in page  # the ticks and the filter kept
    empty = post(teacher, f"/teacher/class/{class_id}/quizzes", title="Nothing", exercise=["no-such-exercise"])
    assert empty.status_code == 400 and "Tick at least one exercise." in empty.get_data(as_text=True)
    db = connect(settings.db_path)
    assert one(db, "SELECT COUNT(*) AS n FROM quizzes")["n"] == 0
    db.conn.close()


def test_the_stuck_button_makes_a_quiz_of_exercises_on_what_the_class_is_stuck_on(box):
    app, ids, settings = box
    class_id = ids["class_id"]
    teacher = log_in(app, "teacher", ids["teacher_id"])
    nobody = post(teacher, f"/teacher/class/{class_id}/quizzes/stuck")
    assert nobody.status_code == 303 and nobody.headers["Location"].endswith(f"/teacher/class/{class_id}/quizzes")
    db = connect(settings.db_path)
    for name in ("Amina", "Bao"):  # stuck on angles: wrong again and again
        for _ in range(6):
            attempts.record_attempt(db, settings, ids["pupils"][name]["id"], "shapes-and-angles-3", "0")
    attempts.record_attempt(db, settings, ids["pupils"]["Chloé"]["id"], "water-cycle-1", "0")
    db.conn.close()
    made = post(teacher, f"/teacher/class/{class_id}/quizzes/stuck")
    assert made.status_code == 303
    quiz_id = int(made.headers["Location"].rsplit("/", 1)[1])
    db = connect(settings.db_path)
    picked = [r["exercise_id"] for r in rows(db, "SELECT exercise_id FROM quiz_items WHERE quiz_id = ? "
                                                 "ORDER BY position", (quiz_id,))]
    title = one(db, "SELECT title FROM quizzes WHERE id = ?", (quiz_id,))["title"]
    db.conn.close()
    assert picked == ["shapes-and-angles-3", "shapes-and-angles-4"] and title == "What we are stuck on"


def test_the_projector_shows_the_questions_a_join_qr_code_of_the_quiz_and_the_answered_count(box):
    app, ids, _settings = box
    class_id = ids["class_id"]
    teacher = log_in(app, "teacher", ids["teacher_id"])
    quiz_id = make_quiz(teacher, class_id)
    change(teacher, class_id, quiz_id, "open")
    answer(pupil_client(app, ids, "Amina"), quiz_id, "water-cycle-1", "0")
    projector = log_in(app, "teacher", ids["teacher_id"], base_url="http://192.168.4.1:8080")
    page = projector.get(f"/teacher/class/{class_id}/quizzes/{quiz_id}/present",
                         base_url="http://192.168.4.1:8080").get_data(as_text=True)
    assert "<svg" in page and f"http://192.168.4.1:8080/quiz/{quiz_id}" in page
    assert 'id="present-count">1 / 3<' in page and "What makes water evaporate" in page
    assert "Amina" not in page  # the projector shows counts, never a pupil's results


def test_a_teacher_cannot_open_the_quizzes_of_another_teachers_class(box):
    app, ids, _settings = box
    class_id = ids["class_id"]
    owner = log_in(app, "teacher", ids["teacher_id"])
    quiz_id = make_quiz(owner, class_id)
    lee = log_in(app, "teacher", ids["lee"])
    assert lee.get(f"/teacher/class/{class_id}/quizzes").status_code == 403
    for suffix in ("", "/results.json", "/present"):
        assert lee.get(f"/teacher/class/{class_id}/quizzes/{quiz_id}{suffix}").status_code == 403
    assert change(lee, class_id, quiz_id, "open").status_code == 403
    assert post(lee, f"/teacher/class/{class_id}/quizzes", title="Mine", exercise=["water-cycle-1"]).status_code == 403
    assert post(lee, f"/teacher/class/{class_id}/quizzes/stuck").status_code == 403
    assert make_quiz(lee, ids["other_class"], title="Class 6 check")  # their own class is theirs to quiz


def test_a_pupil_removed_from_the_box_takes_their_quiz_answers_and_the_results_stay_whole(box):
    from edge_server.roster_ops import remove_pupil

    app, ids, settings = box
    class_id = ids["class_id"]
    teacher = log_in(app, "teacher", ids["teacher_id"])
    quiz_id = make_quiz(teacher, class_id)
    change(teacher, class_id, quiz_id, "open")
    for name in ("Amina", "Bao"):
        assert answer(pupil_client(app, ids, name), quiz_id, "water-cycle-1", "0").status_code == 200
    db = connect(settings.db_path)
    erased = remove_pupil(db, ids["pupils"]["Bao"]["id"], None)
    assert erased["quiz_answers"] == 1 and erased["attempts"] == 1
    assert one(db, "SELECT COUNT(*) AS n FROM quiz_answers")["n"] == 1
    db.conn.close()
    doc = teacher.get(f"/teacher/class/{class_id}/quizzes/{quiz_id}/results.json").get_json()
    assert [p["name"] for p in doc["pupils"]] == ["Amina", "Chloé"] and doc["questions"][0]["answered"] == 1
