"""The first-teacher setup page needs the one-time token that `edge-server init` shows: nobody else on the LAN can
take over a new box."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from edge_server.identity import issue_setup_token
from edge_server.settings import load_settings
from edge_server.store import people
from edge_server.store.db import connect, one
from edge_server.web.app import create_app

CLI = str(Path(sys.executable).with_name("edge-server"))
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=60)


def teachers(data_dir: Path) -> list[str]:
    return [r[0] for r in connect(data_dir / "box.db").execute("SELECT username FROM teachers").fetchall()]


def stored_token_hash(data_dir: Path) -> str | None:
    row = one(connect(data_dir / "box.db"), "SELECT value FROM meta WHERE key = ?", (people.SETUP_TOKEN_KEY,))
    return row["value"] if row else None


def post_setup(client, setup_token: str | None, username: str = "head", password: str = "a-long-pass", **kw):
    page = client.get("/teacher/setup", **kw)
    csrf = CSRF.search(page.get_data(as_text=True))
    assert csrf, page.status_code
    form = {"username": username, "password": password, "confirm": password, "csrf_token": csrf.group(1)}
    if setup_token is not None:
        form["token"] = setup_token
    return client.post("/teacher/setup", data=form, **kw)


@pytest.fixture
def box(data_dir):
    """A fresh box (no teacher), its setup token and its app."""
    setup_token = issue_setup_token(data_dir)
    app = create_app(load_settings(data_dir, scheduler_enabled=False, ai_jobs_enabled=False, announce=False))
    return app, setup_token, data_dir


def test_the_setup_page_refuses_a_missing_or_wrong_token_and_makes_no_teacher(box):
    app, setup_token, data_dir = box
    client = app.test_client()
    missing = post_setup(client, None)
    assert missing.status_code == 403 and "setup token is not right" in missing.get_data(as_text=True)
    wrong = ("B" if setup_token[0] == "A" else "A") + setup_token[1:]
    assert post_setup(client, wrong).status_code == 403
    assert post_setup(client, setup_token + "X").status_code == 403
    assert post_setup(client, "x" * 10_000).status_code == 403
    assert teachers(data_dir) == []
    assert client.get("/teacher/").status_code == 302  # nobody got logged in


def test_the_right_token_makes_the_first_teacher_and_is_used_up_with_it(box):
    app, setup_token, data_dir = box
    client = app.test_client()
    typed = " " + setup_token.lower().replace("-", " ") + " "  # as read off a screen and typed on a tablet
    created = post_setup(client, typed)
    assert created.status_code == 302 and created.location.endswith("/teacher/")
    assert client.get("/teacher/").status_code == 200
    assert teachers(data_dir) == ["head"] and stored_token_hash(data_dir) is None
    again = app.test_client()
    assert again.get("/teacher/setup").status_code == 404
    assert again.post("/teacher/setup", data={"username": "intruder", "password": "a-long-pass",
                                              "confirm": "a-long-pass", "token": setup_token}).status_code in (400, 404)
    assert teachers(data_dir) == ["head"]


def test_wrong_setup_tokens_are_counted_by_the_login_rate_limit_and_then_even_the_right_one_waits(box):
    app, setup_token, data_dir = box
    guesser = app.test_client()
    for _ in range(5):
        assert post_setup(guesser, "AAAA-AAAA-AAAA-AAAA-AAAA").status_code == 403
    blocked = post_setup(guesser, setup_token)
    assert blocked.status_code == 429 and "Wait one minute" in blocked.get_data(as_text=True)
    assert post_setup(app.test_client(), setup_token).status_code == 429  # per account: another browser waits too
    assert teachers(data_dir) == []
    counted = [r[0] for r in connect(data_dir / "box.db").execute("SELECT key FROM rate_limits").fetchall()]
    assert any("login" in key and "setup token" in key for key in counted), counted


def test_a_box_without_an_issued_token_accepts_no_token_at_all(data_dir):
    app = create_app(load_settings(data_dir, scheduler_enabled=False, ai_jobs_enabled=False, announce=False))
    assert stored_token_hash(data_dir) is None
    assert post_setup(app.test_client(), "").status_code == 403
    assert post_setup(app.test_client(), "AAAA-AAAA-AAAA-AAAA-AAAA").status_code == 403
    assert teachers(data_dir) == []


def test_the_setup_page_asks_for_the_token_in_its_csrf_protected_form_in_every_language(box):
    app, _, _ = box
    client = app.test_client()
    page = client.get("/teacher/setup").get_data(as_text=True)
    form = page[page.index("<form"):page.index("</form>")]
    assert 'name="token"' in form and 'name="csrf_token"' in form and "edge-server setup-token" in page
    assert "Jeton d’installation" in client.get("/teacher/setup?lang=fr").get_data(as_text=True)
    assert "设置令牌" in client.get("/teacher/setup?lang=zh").get_data(as_text=True)
    no_csrf = client.post("/teacher/setup", data={"username": "x", "password": "a-long-pass",
                                                  "confirm": "a-long-pass", "token": "whatever"})
    assert no_csrf.status_code == 400


def test_init_shows_the_token_once_on_stderr_keeps_its_json_and_stores_only_a_hash(tmp_path):
    data = tmp_path / "var"
    done = run("init", "--data", str(data), "--name", "Hill")
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert set(shown) == {"box_id", "data", "setup_token"} and shown["data"] == str(data)
    setup_token = shown["setup_token"]
    assert re.fullmatch(r"([A-Z2-9]{4}-){4}[A-Z2-9]{4}", setup_token) and setup_token in done.stderr
    digest = hashlib.sha256(setup_token.replace("-", "").encode()).hexdigest()
    assert stored_token_hash(data) == digest
    assert setup_token.encode() not in (data / "box.db").read_bytes()
    for kept in (data / "box.db-wal", data / "config.toml"):
        assert not kept.exists() or setup_token.encode() not in kept.read_bytes()

    app = create_app(load_settings(data, scheduler_enabled=False, ai_jobs_enabled=False, announce=False))
    assert post_setup(app.test_client(), setup_token).status_code == 302
    assert teachers(data) == ["head"]


def test_setup_token_replaces_the_old_token_and_is_refused_once_a_teacher_exists(tmp_path):
    data = tmp_path / "var"
    first = json.loads(run("init", "--data", str(data)).stdout)["setup_token"]
    renewed = run("setup-token", "--data", str(data))
    assert renewed.returncode == 0, renewed.stderr
    second = json.loads(renewed.stdout)["setup_token"]
    assert second != first and second in renewed.stderr
    app = create_app(load_settings(data, scheduler_enabled=False, ai_jobs_enabled=False, announce=False))
    assert post_setup(app.test_client(), first).status_code == 403  # the old token stopped working

    added = run("teacher", "add", "ms-lee", "--data", str(data), "--password", "chalk-and-board")
    assert added.returncode == 0, added.stderr  # the command line needs no token
    assert stored_token_hash(data) is None  # and the first teacher uses the token up, however it was made
    late = app.test_client()
    assert late.get("/teacher/setup").status_code == 404
    assert late.post("/teacher/setup", data={"username": "head", "password": "a-long-pass",
                                             "confirm": "a-long-pass", "token": second}).status_code in (400, 404)
    refused = run("setup-token", "--data", str(data))
    assert refused.returncode != 0 and refused.stdout == ""
    assert len(refused.stderr.strip().splitlines()) == 1 and "already has a teacher" in refused.stderr
    assert json.loads(run("init", "--data", str(data)).stdout)["setup_token"] is None
    nowhere = run("setup-token", "--data", str(tmp_path / "nowhere"))
    assert nowhere.returncode != 0 and "edge-server init" in nowhere.stderr
