"""A real `edge-server serve` on 127.0.0.1 over a data dir with the sample course, people and AI outputs."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from edge_server.web.front import free_port
from tests.processes import stop_process

CHROMIUM = "/usr/bin/chromium"
CLI = str(Path(sys.executable).with_name("edge-server"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--mute-audio",
                 "--autoplay-policy=no-user-gesture-required"]


def prepare(data_dir: Path, keys_dir: Path) -> dict:
    """Sample course, people and AI outputs in data_dir (created when missing)."""
    from edge_server.sample import build_and_import_sample
    from tests.e2e.pages_data import add_ai_outputs, populate

    if not (data_dir / "box.db").exists() or not list((data_dir / "content").glob("*/v*")):
        build_and_import_sample(data_dir, keys_dir)
    people = populate(data_dir)
    add_ai_outputs(data_dir)
    return people


def serve_env(https_port: int = 0) -> dict[str, str]:
    """The environment of a test box: no scheduler, no AI jobs, no mDNS announcement, and https only on the port
    given (several boxes run at once: none may take the default 8443)."""
    return {**os.environ, "EDGE_SERVER_SCHEDULER_ENABLED": "false", "EDGE_SERVER_AI_JOBS_ENABLED": "false",
            "EDGE_SERVER_ANNOUNCE": "false", "PYTHONWARNINGS": "ignore", "EDGE_SERVER_HTTPS_PORT": str(https_port)}


def wait_until_up(proc: subprocess.Popen, base: str, log: Path, timeout_s: float = 60) -> None:
    """Wait until the box at base answers its health check; RuntimeError (with its log) when it exits or stays
    silent for timeout_s."""
    deadline = time.monotonic() + timeout_s
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"edge-server serve exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            if requests.get(f"{base}/api/v1/health", timeout=2).ok:
                return
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"edge-server serve did not answer within {timeout_s:g} s: {log.read_text()[-2000:]}")
        time.sleep(0.2)


@contextmanager
def serve(data_dir: Path, log: Path, *args: str, https_port: int = 0) -> Iterator[str]:
    """Run `edge-server serve [args]` on a free 127.0.0.1 port (and https on https_port, when given) until the block
    ends; yield its base URL."""
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen([CLI, "serve", "--data", str(data_dir), "--host", "127.0.0.1", "--port", str(port),
                                 "--no-announce", *args], stdout=out, stderr=subprocess.STDOUT,
                                env=serve_env(https_port))
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(proc, base, log)
            yield base
        finally:
            stop_process(proc, timeout=15)


def post_at_once(url: str, cookies: dict[str, str], forms: list[dict],
                 timeout_s: float = 30) -> list[requests.Response]:
    """POST each form to url at the same moment (one thread and session each, holding these cookies, released
    together); the answers (redirects not followed), in the order they came back."""
    start, answers = threading.Barrier(len(forms)), []

    def send(form: dict) -> None:
        with requests.Session() as session:
            session.cookies.update(cookies)
            start.wait()
            answers.append(session.post(url, data=form, timeout=timeout_s, allow_redirects=False))

    threads = [threading.Thread(target=send, args=(form,)) for form in forms]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(2 * timeout_s)
    return answers


def log_in_pupil(page, base: str, name: str) -> None:
    """In a browser page: the class, the pupil's name, her PIN on the keypad (pages_data's people)."""
    from tests.e2e.pages_data import CLASS_NAME, PUPILS

    page.goto(base + "/")
    page.get_by_role("link", name=CLASS_NAME).click()
    page.get_by_role("link", name=name).click()
    pins = {pupil: pin for pupil, pin, _picture in PUPILS}
    for digit in pins[name]:
        page.locator(f'.key[data-key="{digit}"]').click()
    page.wait_for_url("**/lessons")


def log_in_teacher(page, base: str) -> None:
    """In a browser page: the teacher's login form (pages_data's teacher), up to the dashboard."""
    from tests.e2e.pages_data import TEACHER

    page.goto(base + "/teacher/login")
    page.get_by_label("Username").fill(TEACHER[0])
    page.get_by_label("Password").fill(TEACHER[1])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/teacher/")
