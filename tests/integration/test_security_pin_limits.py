"""PIN tries are counted before the PIN is checked: per pupil (with growing lockouts), per tablet, class and box.

The teacher sees an alert about wrong PINs and can let a class log in again at once.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests

from edge_server.settings import load_settings
from edge_server.store import people
from edge_server.store.db import open_box_db
from edge_server.web import auth
from edge_server.web.app import create_app
from tests.e2e.box_server import post_at_once, serve
from tests.integration.test_pages_flows import CSRF, pupil_login, teacher_login, token

HHMM = r"[0-2][0-9]:[0-5][0-9]"


@pytest.fixture
def school(data_dir: Path) -> dict:
    """A teacher, class 5B (Amina 1234, Bao 5678, Chloé 2468) and class 5C (Dara 1357)."""
    db = open_box_db(data_dir / "box.db")
    try:
        people.add_teacher(db, "teacher", auth.hash_password("long password"))
        fifth_b, fifth_c = people.add_class(db, "5B"), people.add_class(db, "5C")
        pupils = {name: people.add_pupil(db, klass, name, auth.hash_pin(pin))
                  for name, pin, klass in (("Amina", "1234", fifth_b), ("Bao", "5678", fifth_b),
                                           ("Chloé", "2468", fifth_b), ("Dara", "1357", fifth_c))}
    finally:
        db.conn.close()
    return {"data": data_dir, "class_id": fifth_b, "other_class_id": fifth_c,
            "refs": {name: pupil["ref"] for name, pupil in pupils.items()},
            "ids": {name: pupil["id"] for name, pupil in pupils.items()}}


@pytest.fixture
def app(school):
    return create_app(load_settings(school["data"], scheduler_enabled=False, ai_jobs_enabled=False,
                                    announce=False))


def pin(client, ref: str, typed: str, address: str = "192.168.50.21"):
    return pupil_login(client, ref, typed, environ_base={"REMOTE_ADDR": address})


def as_teacher(app):
    client = app.test_client()
    assert teacher_login(client, "long password").status_code == 302
    return client


def test_twenty_wrong_pins_sent_at_once_to_two_workers_reach_the_pin_check_only_five_times(school, tmp_path):
    ref = school["refs"]["Amina"]
    with serve(school["data"], tmp_path / "serve.log", "--workers", "2") as base:
        tablet = requests.Session()
        csrf = CSRF.search(tablet.get(f"{base}/login/{ref}", timeout=10).text).group(1)
        answers = post_at_once(f"{base}/login/{ref}", tablet.cookies.get_dict(),
                               [{"pin": f"{9000 + n}", "csrf_token": csrf} for n in range(20)])
        codes = sorted(answer.status_code for answer in answers)
        wrong = [a for a in answers if "That number is not right" in a.text]
        assert codes == [400] * 5 + [429] * 15, codes
        assert len(wrong) == 5  # the pupil's limit
        # and now she is locked out, the right PIN included, in both workers
        for _ in range(4):
            right = tablet.post(f"{base}/login/{ref}", data={"pin": "1234", "csrf_token": csrf}, timeout=10)
            assert right.status_code == 429 and "Too many tries" in right.text


def test_a_pupil_who_keeps_typing_wrong_pins_waits_one_then_five_then_fifteen_minutes(app, school, clock):
    client, ref = app.test_client(), school["refs"]["Amina"]
    for wait, minutes in (("Wait one minute", 1), ("Wait 5 minutes", 5), ("Wait 15 minutes", 15)):
        for _ in range(5):
            assert pin(client, ref, "0000").status_code == 400
        blocked = pin(client, ref, "1234")
        assert blocked.status_code == 429 and wait in blocked.get_data(as_text=True)
        clock(minutes=minutes - 0.5)
        assert pin(client, ref, "1234").status_code == 429  # not over yet
        clock(minutes=0.6)
    assert pin(client, ref, "1234").status_code == 302
    # a right PIN forgets the lockouts: the next one is one minute again
    for _ in range(5):
        assert pin(app.test_client(), ref, "0000").status_code == 400
    assert "Wait one minute" in pin(app.test_client(), ref, "1234").get_data(as_text=True)


def box_with(school, **limits):
    """The app of this school with other PIN limits in its settings (pin_* in config.toml)."""
    return create_app(load_settings(school["data"], scheduler_enabled=False, ai_jobs_enabled=False, announce=False,
                                    **limits))


def test_wrong_pins_all_over_a_class_pause_that_class_for_minutes_and_the_teacher_lets_it_in_again(
        school, clock):
    app = box_with(school, pin_class_tries=8)
    refs = school["refs"]
    for name, tablet in (("Amina", "192.168.50.31"), ("Bao", "192.168.50.32")):
        for _ in range(4):
            assert pin(app.test_client(), refs[name], "0000", tablet).status_code == 400
    paused = pin(app.test_client(), refs["Chloé"], "2468", "192.168.50.33")
    assert paused.status_code == 429 and "Too many wrong PINs in this class" in paused.get_data(as_text=True)
    assert pin(app.test_client(), refs["Dara"], "1357", "192.168.50.34").status_code == 302  # another class
    teacher = as_teacher(app)
    dashboard = teacher.get("/teacher/").get_data(as_text=True)
    assert re.search(f"Many wrong PINs in class 5B at {HHMM}", dashboard)
    class_url = f"/teacher/class/{school['class_id']}"
    assert teacher.post(f"{class_url}/logins", data={}).status_code == 400  # a form without its CSRF token
    opened = teacher.post(f"{class_url}/logins", data={"csrf_token": token(teacher, class_url)})
    assert opened.status_code == 302
    assert pin(app.test_client(), refs["Chloé"], "2468", "192.168.50.33").status_code == 302
    assert "Many wrong PINs in class 5B" not in teacher.get("/teacher/").get_data(as_text=True)
    # without the teacher the pause is over within the class window (five minutes)
    for _ in range(4):
        assert pin(app.test_client(), refs["Amina"], "0000", "192.168.50.35").status_code == 400
        assert pin(app.test_client(), refs["Bao"], "0000", "192.168.50.36").status_code == 400
    assert pin(app.test_client(), refs["Chloé"], "2468", "192.168.50.37").status_code == 429
    clock(minutes=5.1)
    assert pin(app.test_client(), refs["Chloé"], "2468", "192.168.50.37").status_code == 302


def test_wrong_pins_over_the_whole_box_pause_every_class_until_a_teacher_lets_them_in(school):
    app = box_with(school, pin_box_tries=6)
    refs = school["refs"]
    for name in ("Amina", "Dara"):
        for _ in range(3):
            assert pin(app.test_client(), refs[name], "0000").status_code == 400
    assert pin(app.test_client(), refs["Bao"], "5678", "192.168.50.40").status_code == 429
    teacher = as_teacher(app)
    assert re.search(f"Many wrong PINs on this box at {HHMM}", teacher.get("/teacher/").get_data(as_text=True))
    class_url = f"/teacher/class/{school['class_id']}"
    teacher.post(f"{class_url}/logins", data={"csrf_token": token(teacher, class_url)})
    assert pin(app.test_client(), refs["Bao"], "5678", "192.168.50.40").status_code == 302


def test_the_teacher_sees_many_wrong_pins_for_amina_and_a_pin_reset_ends_her_lockout(app, school):
    ref = school["refs"]["Amina"]
    for _ in range(5):
        assert pin(app.test_client(), ref, "0000").status_code == 400
    assert pin(app.test_client(), ref, "1234").status_code == 429
    teacher = as_teacher(app)
    dashboard = teacher.get("/teacher/").get_data(as_text=True)
    alert = re.search(f"Many wrong PINs for Amina at ({HHMM})", dashboard)
    assert alert and f'href="/teacher/class/{school["class_id"]}"' in dashboard
    class_url = f"/teacher/class/{school['class_id']}"
    assert f"Many wrong PINs for Amina at {alert.group(1)}" in teacher.get(class_url).get_data(as_text=True)
    french = teacher.get("/teacher/?lang=fr").get_data(as_text=True)
    assert f"Beaucoup de codes secrets erronés pour Amina à {alert.group(1)}" in french
    teacher.get("/teacher/?lang=en")
    reset = teacher.post(f"/teacher/pupil/{school['ids']['Amina']}/pin",
                         data={"pin": "4321", "csrf_token": token(teacher, class_url)})
    assert reset.status_code == 302
    assert pin(app.test_client(), ref, "4321").status_code == 302
    assert "Many wrong PINs for Amina" not in teacher.get("/teacher/").get_data(as_text=True)


def test_a_right_pin_gives_its_try_back_so_a_class_logging_in_on_one_tablet_is_never_slowed_down(app, school):
    refs, pins = school["refs"], {"Amina": "1234", "Bao": "5678", "Chloé": "2468", "Dara": "1357"}
    for _ in range(10):
        for name, right in pins.items():
            assert pin(app.test_client(), refs[name], right).status_code == 302


def test_the_pin_limits_come_from_config_toml_a_pupil_allowed_three_tries_waits_the_configured_two_minutes(
        school, clock):
    (school["data"] / "config.toml").write_text("[pin]\npupil_tries = 3\npupil_window_s = 60\nlockouts_s = [120]\n")
    settings = load_settings(school["data"], scheduler_enabled=False, ai_jobs_enabled=False, announce=False)
    assert (settings.pin_pupil_tries, settings.pin_lockouts_s, settings.pin_class_tries) == (3, (120,), 40)
    app = create_app(settings)
    ref = school["refs"]["Amina"]
    for _ in range(3):
        assert pin(app.test_client(), ref, "0000").status_code == 400
    blocked = pin(app.test_client(), ref, "1234")
    assert blocked.status_code == 429 and "Wait 2 minutes" in blocked.get_data(as_text=True)
    clock(minutes=2.1)
    assert pin(app.test_client(), ref, "1234").status_code == 302


def test_a_pin_limit_that_makes_no_sense_stops_the_box_at_start_naming_the_setting(school):
    with pytest.raises(ValueError, match="pin_tablet_tries"):
        box_with(school, pin_tablet_tries=0)
    with pytest.raises(ValueError, match="pin_lockouts_s"):
        box_with(school, pin_lockouts_s=())
