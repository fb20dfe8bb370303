"""Teachers' password tries are counted before the password is checked (per account and per address, both or none),
so wrong passwords sent at once to several workers reach the check only as often as the limit allows."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from edge_server.settings import load_settings
from edge_server.store import people
from edge_server.store.db import open_box_db
from edge_server.web import auth
from edge_server.web.app import create_app
from tests.e2e.box_server import post_at_once, serve
from tests.integration.test_pages_flows import CSRF, teacher_login


@pytest.fixture
def teacher_box(data_dir: Path) -> Path:
    db = open_box_db(data_dir / "box.db")
    try:
        people.add_teacher(db, "teacher", auth.hash_password("long password"))
    finally:
        db.conn.close()
    return data_dir


def test_twenty_wrong_passwords_sent_at_once_to_two_workers_reach_the_password_check_only_five_times(
        teacher_box: Path, tmp_path: Path) -> None:
    with serve(teacher_box, tmp_path / "serve.log", "--workers", "2") as base:
        browser = requests.Session()
        csrf = CSRF.search(browser.get(f"{base}/teacher/login", timeout=10).text).group(1)
        answers = post_at_once(f"{base}/teacher/login", browser.cookies.get_dict(), [
            {"username": "teacher", "password": f"guess {n:04d}", "csrf_token": csrf} for n in range(20)])
        codes = sorted(answer.status_code for answer in answers)
        assert codes == [401] * 5 + [429] * 15, codes
        # the account has no try left in either worker, the right password included
        for _ in range(4):
            right = browser.post(f"{base}/teacher/login", timeout=10, allow_redirects=False,
                                 data={"username": "teacher", "password": "long password", "csrf_token": csrf})
            assert right.status_code == 429 and "Too many failed logins" in right.text


def _login(client, password: str, address: str = "192.168.50.9") -> int:
    return teacher_login(client, password, environ_base={"REMOTE_ADDR": address}).status_code


def test_right_passwords_give_their_try_back_and_the_sixth_wrong_one_in_a_minute_is_refused(teacher_box: Path,
                                                                                            clock) -> None:
    app = create_app(load_settings(teacher_box, scheduler_enabled=False, ai_jobs_enabled=False, announce=False))
    for _ in range(8):  # a teacher logging in all day on one laptop is never paused
        assert _login(app.test_client(), "long password") == 302
    for _ in range(5):
        assert _login(app.test_client(), "wrong password") == 401
    assert _login(app.test_client(), "long password") == 429
    assert _login(app.test_client(), "long password", "192.168.50.10") == 429  # the account, from anywhere
    clock(minutes=1.1)
    assert _login(app.test_client(), "long password") == 302
