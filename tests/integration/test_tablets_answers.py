"""Answers from tablets: one attempt per attempt_id, device times corrected by the tablet's clock offset, queued
answers synced with a sync token, mastery in answer order (real app, real SQLite, the real sample course)."""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from edge_server import attempts
from edge_server.settings import load_settings
from edge_server.store.db import connect, rows
from edge_server.web.app import create_app
from tests.e2e.pages_data import populate
from tests.fixtures_packs import sample_data_dir, signing_key  # noqa: F401
from tests.integration.test_pages_flows import pupil_login, token

TABLET = "tablet-0123456789"


@pytest.fixture
def box(sample_data_dir):  # noqa: F811
    people = populate(sample_data_dir)
    settings = load_settings(sample_data_dir, scheduler_enabled=False, ai_jobs_enabled=False, announce=False)
    app = create_app(settings)
    return app, people, settings


def logged_in(app, people, name: str = "Amina", pin: str = "1234"):
    client = app.test_client()
    assert pupil_login(client, people["pupils"][name]["ref"], pin).status_code == 302
    return client


def hello(client, tablet: str = TABLET) -> dict:
    found = client.get(f"/tablet/hello?tablet={tablet}")
    assert found.status_code == 200
    return found.get_json()


def post_answer(client, csrf: str, exercise: str, response: str, **extra):
    return client.post("/lesson/water-cycle/answer", json={"exercise_id": exercise, "response": response, **extra},
                       headers={"X-CSRFToken": csrf})


def attempt_rows(settings) -> list[dict]:
    db = connect(settings.db_path)
    try:
        return rows(db, "SELECT item, correct, ts, client_id, tablet_id, received_at FROM attempts ORDER BY id")
    finally:
        db.conn.close()


def iso_ms(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_the_same_attempt_id_sent_twice_records_one_attempt_and_returns_the_same_result(box):
    app, people, settings = box
    client = logged_in(app, people)
    csrf = hello(client)["csrf"]
    attempt_id = str(uuid.uuid4())
    first = post_answer(client, csrf, "water-cycle-5", "4", attempt_id=attempt_id)
    again = post_answer(client, csrf, "water-cycle-5", "4", attempt_id=attempt_id)
    assert first.status_code == again.status_code == 200
    assert first.get_json() == again.get_json() and first.get_json()["correct"] is True
    # a resend that differs (a tampered or confused client) still gets the first result and records nothing
    changed = post_answer(client, csrf, "water-cycle-5", "7", attempt_id=attempt_id)
    assert changed.get_json() == first.get_json()
    stored = attempt_rows(settings)
    assert [(a["item"], a["correct"], a["client_id"]) for a in stored] == [("water-cycle-5", 1, attempt_id)]


def test_answers_without_an_attempt_id_are_each_recorded_as_before(box):
    app, people, settings = box
    client = logged_in(app, people)
    csrf = token(client, "/lesson/water-cycle")
    for _ in range(2):
        assert post_answer(client, csrf, "water-cycle-1", "0").get_json()["correct"] is True
    assert len(attempt_rows(settings)) == 2


def test_a_malformed_attempt_id_or_device_time_is_refused_with_the_reason(box):
    app, people, settings = box
    client = logged_in(app, people)
    csrf = hello(client)["csrf"]
    bad_id = post_answer(client, csrf, "water-cycle-1", "0", attempt_id="not-a-uuid")
    bad_time = post_answer(client, csrf, "water-cycle-1", "0", attempt_id=str(uuid.uuid4()), answered_at="soon")
    assert bad_id.status_code == bad_time.status_code == 400
    assert "attempt_id" in bad_id.get_json()["error"] and "answered_at" in bad_time.get_json()["error"]
    assert attempt_rows(settings) == []


def test_the_database_itself_refuses_a_second_attempt_with_the_same_pupil_and_attempt_id(box):
    app, people, settings = box
    client = logged_in(app, people)
    attempt_id = str(uuid.uuid4())
    post_answer(client, hello(client)["csrf"], "water-cycle-1", "0", attempt_id=attempt_id)
    db = connect(settings.db_path)
    try:
        with pytest.raises(sqlite3.IntegrityError):
            db.execute("INSERT INTO attempts (pupil_id, knowledge_point, item, correct, ts, client_id) "
                       "SELECT pupil_id, knowledge_point, item, correct, ts, client_id FROM attempts")
    finally:
        db.conn.close()


def test_the_same_attempt_id_sent_at_once_from_many_threads_is_one_attempt(box):
    app, people, settings = box
    client = logged_in(app, people)
    csrf = hello(client)["csrf"]
    cookie = client.get_cookie("session").value
    attempt_id = str(uuid.uuid4())
    results, barrier = [], threading.Barrier(6)

    def send() -> None:
        other = app.test_client()
        other.set_cookie("session", cookie)
        barrier.wait()
        results.append(post_answer(other, csrf, "water-cycle-3", "2", attempt_id=attempt_id).get_json())

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 6 and all(r == results[0] for r in results)
    assert len(attempt_rows(settings)) == 1


def test_a_device_time_is_corrected_by_the_clock_offset_measured_at_the_last_contact(box):
    app, people, settings = box
    client = logged_in(app, people)
    csrf = hello(client)["csrf"]
    real = datetime.now(UTC) - timedelta(minutes=20)  # answered 20 minutes ago, on a tablet 3 hours slow
    tablet_clock = real - timedelta(hours=3)
    post_answer(client, csrf, "water-cycle-1", "0", attempt_id=str(uuid.uuid4()), answered_at=iso_ms(tablet_clock),
                clock_offset_ms=3 * 3600 * 1000, tablet=TABLET)
    stored = attempt_rows(settings)[0]
    assert abs(datetime.fromisoformat(stored["ts"]) - real) < timedelta(seconds=1)
    assert datetime.fromisoformat(stored["received_at"]) - datetime.fromisoformat(stored["ts"]) > timedelta(minutes=19)
    assert stored["tablet_id"] == TABLET


def test_a_device_time_in_the_future_is_stamped_with_the_time_the_box_received_it(box):
    app, people, settings = box
    client = logged_in(app, people)
    csrf = hello(client)["csrf"]
    post_answer(client, csrf, "water-cycle-1", "0", attempt_id=str(uuid.uuid4()),
                answered_at=int((datetime.now(UTC) + timedelta(days=2)).timestamp() * 1000))
    stored = attempt_rows(settings)[0]
    assert stored["ts"] == stored["received_at"]


def sync(client, body: dict):
    return client.post("/tablet/sync", json=body)


def queued(exercise: str, response: str, answered: datetime, lesson: str = "water-cycle", offset_ms: int = 0) -> dict:
    return {"attempt_id": str(uuid.uuid4()), "lesson_id": lesson, "exercise_id": exercise, "response": response,
            "answered_at": int(answered.timestamp() * 1000), "clock_offset_ms": offset_ms}


def test_queued_answers_sync_with_the_token_once_however_often_they_are_sent(box):
    app, people, settings = box
    client = logged_in(app, people)
    sync_token = hello(client)["token"]
    start = datetime.now(UTC) - timedelta(hours=1)
    answers = [queued("water-cycle-1", "0", start), queued("water-cycle-5", "3", start + timedelta(minutes=1))]
    anonymous = app.test_client()  # no session, no CSRF token: the sync token is the credential
    first = sync(anonymous, {"tablet": TABLET, "token": sync_token, "answers": answers,
                             "state": {"waiting": 2, "lessons": ["water-cycle"]}})
    assert first.status_code == 200
    body = first.get_json()
    assert [a["status"] for a in body["answers"]] == ["recorded", "recorded"]
    assert [a["result"]["correct"] for a in body["answers"]] == [True, False]
    again = sync(anonymous, {"tablet": TABLET, "token": sync_token, "answers": answers}).get_json()
    assert [a["status"] for a in again["answers"]] == ["duplicate", "duplicate"]
    assert [a["result"] for a in again["answers"]] == [a["result"] for a in body["answers"]]
    stored = attempt_rows(settings)
    assert [a["client_id"] for a in stored] == [a["attempt_id"] for a in answers]
    assert [datetime.fromisoformat(a["ts"]) for a in stored] == [
        datetime.fromtimestamp(a["answered_at"] / 1000, UTC) for a in answers]
    db = connect(settings.db_path)
    tablet = rows(db, "SELECT pupil_id, waiting, lessons, synced_answers, last_sync FROM tablets")[0]
    db.conn.close()
    assert tablet["synced_answers"] == 2 and tablet["waiting"] == 0 and tablet["last_sync"]
    assert json.loads(tablet["lessons"]) == ["water-cycle"]


def test_a_sync_without_a_good_token_is_refused_and_records_nothing(box, clock):
    app, people, settings = box
    amina = logged_in(app, people)
    sync_token = hello(amina)["token"]
    answer = [queued("water-cycle-1", "0", datetime.now(UTC))]
    anonymous = app.test_client()
    assert sync(anonymous, {"tablet": TABLET, "answers": answer}).status_code == 401
    assert sync(anonymous, {"tablet": "another-tablet-1", "token": sync_token, "answers": answer}).status_code == 401
    assert sync(anonymous, {"tablet": TABLET, "token": sync_token + "x", "answers": answer}).status_code == 401
    clock(hours=31 * 24)
    expired = sync(anonymous, {"tablet": TABLET, "token": sync_token, "answers": answer})
    assert expired.status_code == 401 and "expired" in expired.get_json()["error"]
    assert attempt_rows(settings) == []


def test_a_new_pin_ends_the_tablet_sync_tokens_of_the_old_one(box):
    from edge_server.store import people as people_store
    from edge_server.web import auth

    app, people, settings = box
    amina = logged_in(app, people)
    sync_token = hello(amina)["token"]
    db = connect(settings.db_path)
    people_store.set_pin_hash(db, people["pupils"]["Amina"]["id"], auth.hash_pin("9999"))
    db.conn.close()
    refused = sync(app.test_client(), {"tablet": TABLET, "token": sync_token,
                                       "answers": [queued("water-cycle-1", "0", datetime.now(UTC))]})
    assert refused.status_code == 401 and "PIN" in refused.get_json()["error"]


def test_a_queued_answer_to_an_exercise_of_another_lesson_is_refused_and_the_rest_recorded(box):
    app, people, settings = box
    client = logged_in(app, people)
    sync_token = hello(client)["token"]
    now = datetime.now(UTC)
    body = sync(app.test_client(), {"tablet": TABLET, "token": sync_token, "answers": [
        queued("living-things-1", "0", now), queued("water-cycle-1", "0", now)]}).get_json()
    assert [a["status"] for a in body["answers"]] == ["refused", "recorded"]
    assert [a["item"] for a in attempt_rows(settings)] == ["water-cycle-1"]


def test_queued_chapter_views_are_stored_once(box):
    app, people, settings = box
    client = logged_in(app, people)
    sync_token = hello(client)["token"]
    view = {"view_id": str(uuid.uuid4()), "lesson_id": "water-cycle", "knowledge_point": "sci.water.evaporation",
            "start": 0, "end": 12.5, "watched_at": int(datetime.now(UTC).timestamp() * 1000)}
    for _ in range(2):
        body = sync(app.test_client(), {"tablet": TABLET, "token": sync_token, "views": [view]}).get_json()
        assert body["views"][0]["status"] == "recorded"
    db = connect(settings.db_path)
    assert len(rows(db, "SELECT id FROM chapter_views")) == 1
    db.conn.close()


def test_mastery_follows_the_order_answers_were_given_not_the_order_they_arrived(box):
    app, people, settings = box
    start = datetime.now(UTC) - timedelta(hours=2)
    answers = [queued("water-cycle-5", response, start + timedelta(minutes=i))
               for i, response in enumerate(["3", "3", "4", "4", "4"])]
    in_order = logged_in(app, people, "Amina", "1234")
    sync(app.test_client(), {"tablet": TABLET, "token": hello(in_order)["token"], "answers": answers})
    shuffled = [{**a, "attempt_id": str(uuid.uuid4())} for a in (answers[4], answers[0], answers[3], answers[1],
                                                                  answers[2])]
    bao = logged_in(app, people, "Bao", "5678")
    sync(app.test_client(), {"tablet": "tablet-bao-000001", "token": hello(bao, "tablet-bao-000001")["token"],
                             "answers": shuffled})
    db = connect(settings.db_path)
    mastery = {r["pupil_id"]: r["p_mastery"] for r in rows(db, "SELECT pupil_id, p_mastery FROM mastery")}
    db.conn.close()
    amina, bao_id = people["pupils"]["Amina"]["id"], people["pupils"]["Bao"]["id"]
    assert mastery[amina] == pytest.approx(mastery[bao_id], abs=1e-9)


def test_record_attempt_returns_the_stored_result_for_a_known_attempt_id(box):
    _app, people, settings = box
    db = connect(settings.db_path)
    pupil = people["pupils"]["Chloé"]["id"]
    origin = attempts.AnswerOrigin(client_id=str(uuid.uuid4()))
    first = attempts.record_attempt(db, settings, pupil, "water-cycle-4", "0", origin)
    second = attempts.record_attempt(db, settings, pupil, "water-cycle-4", "1", origin)
    db.conn.close()
    assert second == {**first, "duplicate": True} and first["correct"] is False
