"""Picture passwords (3 of 12 pictures, chosen per class): set by the teacher, typed by the pupil, counted on the
PIN's counters and lockouts (real app, real SQLite)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_server import picture_login
from edge_server.settings import load_settings
from edge_server.store import people
from edge_server.store.db import open_box_db
from edge_server.web import auth
from edge_server.web.app import create_app
from tests.integration.test_pages_flows import token
from tests.integration.test_security_pin_limits import as_teacher, pin

AMINA_PICTURES = ["dog", "apple", "dog"]


@pytest.fixture
def school(data_dir: Path) -> dict:
    db = open_box_db(data_dir / "box.db")
    try:
        people.add_teacher(db, "teacher", auth.hash_password("long password"))
        reception, fifth = people.add_class(db, "Reception"), people.add_class(db, "5B")
        amina = people.add_pupil(db, reception, "Amina", auth.hash_pin("1234"))
        bao = people.add_pupil(db, reception, "Bao", auth.hash_pin("5678"))
        chloe = people.add_pupil(db, fifth, "Chloé", auth.hash_pin("2468"))
    finally:
        db.conn.close()
    app = create_app(load_settings(data_dir, scheduler_enabled=False, ai_jobs_enabled=False, announce=False))
    return {"app": app, "data": data_dir, "reception": reception, "fifth": fifth, "amina": amina, "bao": bao,
            "chloe": chloe}


def give_pictures(school, pupil: str = "amina", chosen=AMINA_PICTURES):
    teacher = as_teacher(school["app"])
    csrf = token(teacher, f"/teacher/class/{school['reception']}")
    teacher.post(f"/teacher/class/{school['reception']}/login-kind", data={"kind": "pictures", "csrf_token": csrf})
    return teacher.post(f"/teacher/pupil/{school[pupil]['id']}/pictures",
                        data={"picture": chosen, "csrf_token": csrf})


def login(client, ref: str, pictures: str | list[str], address: str = "192.168.50.21"):
    environ = {"REMOTE_ADDR": address}
    csrf = token(client, f"/login/{ref}", environ_base=environ)
    return client.post(f"/login/{ref}", data={"pictures": pictures, "csrf_token": csrf}, environ_base=environ)


def test_a_pupil_of_a_picture_class_logs_in_with_her_three_pictures_in_order(school):
    saved = give_pictures(school)
    assert saved.status_code == 302
    client = school["app"].test_client()
    page = client.get(f"/login/{school['amina']['ref']}").get_data(as_text=True)
    assert page.count('class="picture"') == 12 and "pin-input" not in page
    assert login(client, school["amina"]["ref"], "apple-dog-dog").status_code == 400
    right = login(client, school["amina"]["ref"], "dog-apple-dog")
    assert right.status_code == 302 and right.location.endswith("/lessons")


def test_wrong_pictures_say_so_and_three_lists_without_javascript_work_too(school):
    give_pictures(school)
    client = school["app"].test_client()
    wrong = login(client, school["amina"]["ref"], "tree-tree-tree")
    assert "Those pictures are not right" in wrong.get_data(as_text=True)
    assert login(client, school["amina"]["ref"], AMINA_PICTURES).status_code == 302


def test_wrong_pictures_and_wrong_pins_share_the_pupils_five_tries_and_lock_her_out(school):
    give_pictures(school)
    client = school["app"].test_client()
    ref = school["amina"]["ref"]
    for _ in range(3):
        assert login(client, ref, "key-key-key").status_code == 400
    for _ in range(2):
        assert pin(client, ref, "0000").status_code == 400
    locked = login(client, ref, "dog-apple-dog")  # even the right pictures wait now
    assert locked.status_code == 429 and "Wait one minute" in locked.get_data(as_text=True)


def test_a_pupil_without_pictures_and_a_pin_class_keep_the_pin_keypad(school):
    give_pictures(school)
    client = school["app"].test_client()
    assert "pin-input" in client.get(f"/login/{school['bao']['ref']}").get_data(as_text=True)
    assert "pin-input" in client.get(f"/login/{school['chloe']['ref']}").get_data(as_text=True)
    # pictures posted for a pupil who has none never log in
    assert login(client, school["bao"]["ref"], "dog-apple-dog").status_code == 400


def test_the_teacher_must_choose_three_known_pictures_and_new_pictures_end_old_sessions(school):
    teacher = as_teacher(school["app"])
    csrf = token(teacher, f"/teacher/class/{school['reception']}")
    refused = teacher.post(f"/teacher/pupil/{school['amina']['id']}/pictures",
                           data={"picture": ["dog", "unicorn", "dog"], "csrf_token": csrf}, follow_redirects=True)
    assert "Choose three pictures." in refused.get_data(as_text=True)
    db = open_box_db(school["data"] / "box.db")
    assert picture_login.picture_hash(db, school["amina"]["id"]) is None
    db.conn.close()
    give_pictures(school)
    pupil = school["app"].test_client()
    assert login(pupil, school["amina"]["ref"], "dog-apple-dog").status_code == 302
    assert pupil.get("/lessons").status_code == 200
    give_pictures(school, chosen=["moon", "star", "rain"])
    assert pupil.get("/lessons").status_code == 302  # that session ended with the old pictures


@pytest.mark.parametrize(("given", "expected"), [
    (["dog", "apple", "dog"], "dog-apple-dog"), ("dog-apple-dog", "dog-apple-dog"),
    ("dog, apple ,dog", "dog-apple-dog"), (["dog", "apple"], None), ("dog-apple-dog-dog", None),
    (["dog", "Apple", "dog"], None), (3, None)])
def test_a_picture_password_is_exactly_three_known_pictures(given, expected):
    assert picture_login.normalise(given) == expected


def test_pictures_stop_working_when_the_class_goes_back_to_pins(school):
    give_pictures(school)
    teacher = as_teacher(school["app"])
    csrf = token(teacher, f"/teacher/class/{school['reception']}")
    teacher.post(f"/teacher/class/{school['reception']}/login-kind", data={"kind": "pin", "csrf_token": csrf})
    client = school["app"].test_client()
    assert "pin-input" in client.get(f"/login/{school['amina']['ref']}").get_data(as_text=True)
    assert login(client, school["amina"]["ref"], "dog-apple-dog").status_code == 400
