"""People queries on a real box.db: refs, one-time first teacher, assignments, a class's attempts."""

from __future__ import annotations

import sqlite3

import pytest

from edge_server.store import people
from edge_server.store.db import open_box_db
from edge_server.web import auth


@pytest.fixture
def db(settings):
    return open_box_db(settings.db_path)


def test_pupils_get_distinct_stable_refs_unrelated_to_their_names(db):
    class_id = people.add_class(db, "Class 4")
    one = people.add_pupil(db, class_id, "Amina", auth.hash_pin("1234"), "sun")
    two = people.add_pupil(db, class_id, "Amina", auth.hash_pin("1234"), "no-such-picture")
    assert one["ref"] != two["ref"] and "amina" not in one["ref"].lower()
    assert people.pupil_by_ref(db, one["ref"])["id"] == one["id"]
    roster = people.pupils_in_class(db, class_id)
    assert [p["picture"] for p in roster] == ["sun", None] and "pin_hash" not in roster[0]
    assert "pin_hash" not in people.get_pupil(db, one["id"])


def test_class_names_are_unique(db):
    people.add_class(db, "Class 4")
    with pytest.raises(sqlite3.IntegrityError):
        people.add_class(db, "Class 4")


def test_the_first_teacher_can_be_created_only_while_there_is_none(db):
    assert people.add_teacher(db, "head", auth.hash_password("long-enough"), only_if_none=True) == 1
    assert people.add_teacher(db, "second", auth.hash_password("long-enough"), only_if_none=True) is None
    assert people.count_teachers(db) == 1
    assert "password_hash" not in people.get_teacher(db, 1)


def test_assignments_are_replaced_as_a_whole(db):
    class_id = people.add_class(db, "Class 4")
    people.set_assignments(db, class_id, {"a", "b"})
    people.set_assignments(db, class_id, {"b", "c"})
    assert people.assigned_lesson_ids(db, class_id) == {"b", "c"}
    people.set_assignments(db, class_id, set())
    assert people.assigned_lesson_ids(db, class_id) == set()


def test_a_class_page_lists_only_that_class_attempts_newest_first(db):
    mine, other = people.add_class(db, "Class 4"), people.add_class(db, "Class 5")
    amina = people.add_pupil(db, mine, "Amina", None)["id"]
    bao = people.add_pupil(db, other, "Bao", None)["id"]
    for pupil, item, ts in ((amina, "q1", "2026-01-01T10:00:00"), (bao, "q2", "2026-01-01T11:00:00"),
                            (amina, "q3", "2026-01-01T12:00:00")):
        db.execute("INSERT INTO attempts (pupil_id, knowledge_point, item, correct, response, ts) "
                   "VALUES (?, 'kp', ?, 1, 'x', ?)", (pupil, item, ts))
    assert [a["item"] for a in people.recent_attempts(db, mine)] == ["q3", "q1"]
    assert {a["pupil"] for a in people.recent_attempts(db, mine)} == {"Amina"}
