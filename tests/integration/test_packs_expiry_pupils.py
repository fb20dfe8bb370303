"""A pack that has expired (by the box's trusted time) is gone for pupils too: its lesson pages answer 410 Gone with
a page that says so, the companion never cites its passages (nor serves an answer cached before it expired), and
questions about its lessons or exercises are refused with 410."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_server import retrieval
from edge_server.store import people
from edge_server.store.db import open_box_db
from edge_server.web import auth
from tests.integration.test_companion_api import ScriptedModel, ask, logged_in, make_app, pupil_client
from tests.unit.test_retrieval_search import seed

EXPIRED_LESSONS = {"water-cycle", "fractions", "notes-only"}  # the lessons of channel c.en


@pytest.fixture
def box(data_dir: Path):
    seed(data_dir / "box.db")
    db = open_box_db(data_dir / "box.db")
    class_id = people.add_class(db, "5B")
    amina = people.add_pupil(db, class_id, "Amina", auth.hash_pin("1234"))["id"]
    teacher = people.add_teacher(db, "teacher", auth.hash_password("long password"))
    db.conn.close()
    return data_dir, amina, teacher


def expire(data_dir: Path, channel: str = "c.en") -> None:
    """The channel's pack expired yesterday (its `expires` has passed by the box's trusted time)."""
    db = open_box_db(data_dir / "box.db")
    try:
        db.execute("UPDATE channels SET expires = '2020-01-01T00:00:00+00:00' WHERE id = ?", (channel,))
    finally:
        db.conn.close()


def test_a_pupils_lesson_page_of_an_expired_pack_answers_410_with_a_page_that_says_so(box) -> None:
    data_dir, amina, teacher_id = box
    app = make_app(data_dir, ScriptedModel())
    pupil = pupil_client(app, amina)
    assert pupil.get("/lesson/water-cycle").status_code == 200
    expire(data_dir)
    gone = pupil.get("/lesson/water-cycle")
    page = gone.get_data(as_text=True)
    assert gone.status_code == 410 and "This lesson is no longer available" in page and "has expired" in page
    assert "Water moves in a loop" not in page  # nothing of the lesson itself
    assert "plus disponible" in pupil.get("/lesson/water-cycle?lang=fr").get_data(as_text=True)
    answer = pupil.post("/lesson/water-cycle/answer", json={"exercise_id": "wc-2", "response": "condensation"},
                        headers={"X-CSRFToken": pupil.csrf})
    assert answer.status_code == 410 and "expired" in answer.get_json()["error"]
    assert pupil.get("/lesson/plantes?lang=en").status_code == 200  # another channel is still served
    teacher = app.test_client()
    logged_in(teacher, "teacher", teacher_id)
    assert teacher.get("/present/water-cycle").status_code == 410  # the projector view too


def test_the_companion_never_cites_an_expired_pack_not_even_from_an_answer_cached_before(box) -> None:
    data_dir, amina, _teacher = box
    client = pupil_client(make_app(data_dir, ScriptedModel()), amina)
    before = ask(client, "How are clouds made?").get_json()
    assert [c["lesson"] for c in before["citations"]] == ["water-cycle"]
    expire(data_dir)
    for question in ("How are clouds made?", "how are clouds made", "What is evaporation?"):
        body = ask(client, question).get_json()
        assert not {c["lesson"] for c in body["citations"]} & EXPIRED_LESSONS, (question, body)
    assert ask(client, "How are clouds made?", lesson_id="water-cycle").status_code == 410
    hint = ask(client, "I don't get it", exercise_id="wc-2")
    assert hint.status_code == 410 and "expired" in hint.get_json()["error"]
    # another channel still answers, with its citation
    assert [c["lesson"] for c in ask(client, "Comment les plantes fabriquent leur nourriture ?").get_json()[
        "citations"]] == ["plantes"]


def test_retrieval_leaves_out_every_passage_of_an_expired_pack(box) -> None:
    data_dir, _amina, _teacher = box
    db = open_box_db(data_dir / "box.db")
    try:
        assert {p.lesson_id for _, p in retrieval.load_passages(db)} & EXPIRED_LESSONS
        expire(data_dir)
        assert not {p.lesson_id for _, p in retrieval.load_passages(db)} & EXPIRED_LESSONS
        assert not {p.lesson_id for p in retrieval.search(db, "How are clouds made?", "water-cycle")} & EXPIRED_LESSONS
        assert retrieval.kp_passage(db, "water-cycle", "sci.water.condensation") is None
    finally:
        db.conn.close()
