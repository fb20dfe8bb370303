"""Sessions end for real: logging out, a new PIN or a new password make copies of the old cookie worthless, and no
login lasts longer than a school day."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from edge_server.settings import Settings, load_settings
from edge_server.store import people
from edge_server.store.db import connect, open_box_db
from edge_server.store.migrations import migrate, migrations
from edge_server.web import auth
from edge_server.web.app import create_app

CLI = str(Path(sys.executable).with_name("edge-server"))
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
TEACHER = ("ms-lee", "chalk-and-board")
PIN = "1234"


@pytest.fixture
def people_ids(data_dir) -> dict:
    db = open_box_db(data_dir / "box.db")
    try:
        teacher_id = people.add_teacher(db, TEACHER[0], auth.hash_password(TEACHER[1]))
        class_id = people.add_class(db, "Class 4")
        pupil = people.add_pupil(db, class_id, "Amina", auth.hash_pin(PIN), "sun")
    finally:
        db.conn.close()
    return {"teacher_id": teacher_id, "class_id": class_id, "pupil_id": pupil["id"], "ref": pupil["ref"]}


def make_app(data_dir: Path, **overrides):
    return create_app(load_settings(data_dir, scheduler_enabled=False, ai_jobs_enabled=False, announce=False,
                                    **overrides))


def csrf(client, url: str) -> str:
    found = CSRF.search(client.get(url).get_data(as_text=True))
    assert found, f"no csrf token on {url}"
    return found.group(1)


def teacher_login(client, password: str = TEACHER[1]):
    return client.post("/teacher/login", data={"username": TEACHER[0], "password": password,
                                               "csrf_token": csrf(client, "/teacher/login")})


def pupil_login(client, ref: str, pin: str = PIN):
    return client.post(f"/login/{ref}", data={"pin": pin, "csrf_token": csrf(client, f"/login/{ref}")})


def copy_of_cookie(app, client):
    """Another browser holding the same session cookie (read off the network, or the shared tablet)."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def is_teacher(client) -> bool:
    response = client.get("/teacher/")
    assert response.status_code in (200, 302)
    return response.status_code == 200


def is_pupil(client) -> bool:
    response = client.get("/lessons")
    assert response.status_code in (200, 302)
    return response.status_code == 200


def test_a_stolen_teacher_cookie_stops_working_after_the_teacher_logs_out(data_dir, people_ids):
    app = make_app(data_dir)
    teacher = app.test_client()
    assert teacher_login(teacher).status_code == 302
    thief = copy_of_cookie(app, teacher)
    assert is_teacher(thief)
    logged_out = teacher.post("/teacher/logout", data={"csrf_token": csrf(teacher, "/teacher/")})
    assert logged_out.status_code == 302
    assert not is_teacher(teacher)
    assert not is_teacher(thief)
    assert thief.get("/teacher/class/1").location.startswith("/teacher/login")
    assert teacher_login(teacher).status_code == 302 and is_teacher(teacher)  # a new login works as before
    assert not is_teacher(thief)


def test_a_stolen_pupil_cookie_stops_working_after_the_pupil_logs_out(data_dir, people_ids):
    app = make_app(data_dir)
    tablet = app.test_client()
    assert pupil_login(tablet, people_ids["ref"]).status_code == 302
    thief = copy_of_cookie(app, tablet)
    assert is_pupil(thief)
    assert tablet.post("/logout", data={"csrf_token": csrf(tablet, "/lessons")}).status_code == 302
    assert not is_pupil(tablet) and not is_pupil(thief)


def test_after_a_pin_reset_the_pupils_old_session_is_logged_out(data_dir, people_ids):
    app = make_app(data_dir)
    tablet = app.test_client()
    assert pupil_login(tablet, people_ids["ref"]).status_code == 302 and is_pupil(tablet)
    teacher = app.test_client()
    teacher_login(teacher)
    class_url = f"/teacher/class/{people_ids['class_id']}"
    reset = teacher.post(f"/teacher/pupil/{people_ids['pupil_id']}/pin",
                         data={"pin": "8765", "csrf_token": csrf(teacher, class_url)})
    assert reset.status_code == 302
    assert not is_pupil(tablet)
    assert tablet.get("/").status_code == 200  # back at the class chooser, not sent on to the lessons
    assert pupil_login(tablet, people_ids["ref"], "8765").status_code == 302 and is_pupil(tablet)
    assert is_teacher(teacher)  # the teacher who reset the PIN stays logged in


def test_a_new_password_ends_the_teachers_sessions(data_dir, people_ids):
    app = make_app(data_dir)
    teacher = app.test_client()
    teacher_login(teacher)
    assert is_teacher(teacher)
    changed = subprocess.run([CLI, "teacher", "password", TEACHER[0], "--data", str(data_dir), "--password",
                              "new-chalk-and-board"], capture_output=True, text=True, timeout=60)
    assert changed.returncode == 0, changed.stderr
    assert not is_teacher(teacher)
    assert teacher_login(teacher).status_code == 401
    assert teacher_login(teacher, "new-chalk-and-board").status_code == 302 and is_teacher(teacher)
    unknown = subprocess.run([CLI, "teacher", "password", "nobody", "--data", str(data_dir), "--password",
                              "new-chalk-and-board"], capture_output=True, text=True, timeout=60)
    assert unknown.returncode != 0 and unknown.stdout == "" and "no teacher 'nobody'" in unknown.stderr


def test_a_session_older_than_session_hours_is_refused(data_dir, people_ids, clock):
    app = make_app(data_dir)
    teacher, tablet = app.test_client(), app.test_client()
    teacher_login(teacher)
    pupil_login(tablet, people_ids["ref"])
    clock(hours=9.9)
    assert is_teacher(teacher) and is_pupil(tablet)
    clock(hours=0.15)  # 10.05 hours after the login
    assert not is_teacher(teacher) and not is_pupil(tablet)
    assert teacher_login(teacher).status_code == 302 and is_teacher(teacher)  # logging in again starts a new day
    assert Settings().session_hours == 10  # the default: one school day


def test_session_hours_comes_from_the_box_config(data_dir, people_ids, clock):
    (data_dir / "config.toml").write_text((data_dir / "config.toml").read_text() + "session_hours = 2\n")
    app = make_app(data_dir)
    assert app.extensions["settings"].session_hours == 2
    teacher = app.test_client()
    teacher_login(teacher)
    clock(hours=1.9)
    assert is_teacher(teacher)
    clock(hours=0.2)  # 2.1 hours after the login
    assert not is_teacher(teacher)


def test_a_signed_cookie_without_a_session_generation_is_refused(data_dir, people_ids):
    app = make_app(data_dir)
    forged = app.test_client()
    with forged.session_transaction() as session:  # what a cookie made before session generations holds
        session["teacher_id"] = people_ids["teacher_id"]
    assert not is_teacher(forged)
    with forged.session_transaction() as session:
        session["pupil_id"] = people_ids["pupil_id"]
    assert not is_pupil(forged)


def test_the_session_generation_migration_comes_after_the_applied_ones_and_starts_every_account_at_zero(tmp_path):
    db = connect(tmp_path / "box.db")
    migrations.apply(db, stop_before="0003_session_generations")
    db.execute("INSERT INTO teachers (username, password_hash, created) VALUES ('t', 'x', 'now')")
    db.execute("INSERT INTO pupils (ref, name, created) VALUES ('p-1', 'Ana', 'now')")
    # later migrations (0005_login_alerts, ...) follow it
    assert [m.name for m in migrations.pending(db)][0] == "0003_session_generations"
    assert migrate(db)[0] == "0003_session_generations"
    assert people.session_generation(db, "teacher", 1) == 0 and people.session_generation(db, "pupil", 1) == 0
    people.end_sessions(db, "pupil", 1)
    assert people.session_generation(db, "pupil", 1) == 1 and people.session_generation(db, "pupil", 2) is None
