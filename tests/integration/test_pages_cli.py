"""`edge-server teacher add`, `class add` and `pupil add` as real subprocesses on a real data dir."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from edge_server.store.db import connect, one
from edge_server.web import auth

CLI = str(Path(sys.executable).with_name("edge-server"))


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, *args], input=stdin, capture_output=True, text=True, timeout=60)


def test_people_commands_create_a_teacher_a_class_and_a_pupil_with_hashed_secrets(data_dir):
    data = str(data_dir)
    teacher = run("teacher", "add", "head", "--data", data, "--password", "a-long-password")
    assert teacher.returncode == 0, teacher.stderr
    assert json.loads(teacher.stdout) == {"id": 1, "username": "head"}
    klass = run("class", "add", "Class 4", "--data", data)
    assert json.loads(klass.stdout) == {"id": 1, "name": "Class 4"}
    pupil = run("pupil", "add", "Amina", "--class", "Class 4", "--pin", "1234", "--picture", "sun", "--data", data)
    created = json.loads(pupil.stdout)
    assert created["ref"].startswith("p-") and created["class"] == "Class 4"

    db = connect(data_dir / "box.db")
    stored_teacher = one(db, "SELECT password_hash FROM teachers WHERE username = 'head'")
    assert auth.verify_password(stored_teacher["password_hash"], "a-long-password")
    stored_pupil = one(db, "SELECT name, picture, class_id, pin_hash FROM pupils WHERE ref = ?", (created["ref"],))
    assert stored_pupil["picture"] == "sun" and stored_pupil["class_id"] == 1
    assert auth.verify_pin(stored_pupil["pin_hash"], "1234") and "1234" not in stored_pupil["pin_hash"]


def test_teacher_add_asks_for_the_password_twice_when_it_is_not_given(data_dir):
    asked = run("teacher", "add", "amy", "--data", str(data_dir), stdin="secret-words\nsecret-words\n")
    assert asked.returncode == 0, asked.stderr
    stored = one(connect(data_dir / "box.db"), "SELECT password_hash FROM teachers WHERE username = 'amy'")
    assert auth.verify_password(stored["password_hash"], "secret-words")


def test_people_commands_refuse_bad_input_with_one_line_and_change_nothing(data_dir):
    data = str(data_dir)
    run("class", "add", "Class 4", "--data", data)
    cases = [
        (("teacher", "add", "t", "--data", data, "--password", "short"), "at least 8"),
        (("pupil", "add", "Bao", "--class", "Class 4", "--pin", "12", "--data", data), "four digits"),
        (("pupil", "add", "Bao", "--class", "Class 9", "--pin", "1234", "--data", data), "no class 'Class 9'"),
        (("class", "add", "Class 4", "--data", data), "already exists"),
        (("pupil", "add", "Bao", "--class", "Class 4", "--pin", "1234", "--data", str(data_dir / "nowhere")),
         "no data directory"),
    ]
    for args, reason in cases:
        refused = run(*args)
        assert refused.returncode != 0 and refused.stdout == ""
        assert len(refused.stderr.strip().splitlines()) == 1 and reason in refused.stderr, refused.stderr
    db = connect(data_dir / "box.db")
    assert one(db, "SELECT COUNT(*) AS n FROM pupils")["n"] == 0
    assert one(db, "SELECT COUNT(*) AS n FROM teachers")["n"] == 0
