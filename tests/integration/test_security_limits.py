"""Security limits: small request bodies everywhere but a teacher's upload, refused before they are read; the
client's address behind a trusted proxy (and only there) for the per-address rate limits."""

from __future__ import annotations

import io
import json
import math
import re
import socket
import struct
import subprocess
import time
import wave
from pathlib import Path

import pytest

from edge_server.settings import load_settings
from edge_server.store import people
from edge_server.store.db import open_box_db
from edge_server.web import auth
from edge_server.web.app import create_app
from edge_server.web.front import LARGE_BODY_PATHS
from tests.integration.test_ansible import ANSIBLE, BIN, _env, _local_inventory
from tests.integration.test_reliability_hostile import live_box  # noqa: F401 - a fixture of this module too

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _refusal_before_body(port: int, head: str, timeout: float = 5.0) -> tuple[str, bytes]:
    """Send a request head and 1 KiB of the body it announces; return the status line and body of the answer.

    A server that waits for the whole body before answering never answers: that fails here, after `timeout`.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head.encode() + b"x" * 1024)
        received = b""
        try:
            while b"\r\n\r\n" not in received:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                received += chunk
            head_part, _, body = received.partition(b"\r\n\r\n")
            length = int(re.search(rb"(?im)^content-length:\s*(\d+)", head_part).group(1))
            while len(body) < length:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                body += chunk
        except TimeoutError:
            pytest.fail(f"no answer within {timeout} s: the server was waiting for the body ({received[:200]!r})")
    return head_part.split(b"\r\n", 1)[0].decode(), body


def test_a_one_megabyte_json_question_is_refused_with_a_json_413_before_the_server_reads_it(live_box):  # noqa: F811
    port, sessions = live_box
    session, token = sessions["pupil"]
    cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    head = (f"POST /api/v1/companion/ask HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {1_000_000}\r\nCookie: {cookie}\r\nX-CSRFToken: {token}\r\n\r\n")
    started = time.monotonic()
    status, body = _refusal_before_body(port, head)
    assert status.startswith("HTTP/1.1 413"), (status, body[:200])
    assert "larger than 64 KiB" in json.loads(body)["error"]
    assert time.monotonic() - started < 5


def _tone_wav(seconds: float, rate: int = 44_100) -> bytes:
    """A stereo 16-bit WAV of a 440 Hz tone: about 176 kB a second, a real recording for PyAV."""
    samples = (int(8000 * math.sin(2 * math.pi * 440 * n / rate)) for n in range(int(seconds * rate)))
    frames = b"".join(struct.pack("<hh", v, v) for v in samples)
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(frames)
    return out.getvalue()


def test_a_teacher_still_uploads_a_recording_of_a_few_megabytes(live_box, sample_data_dir):  # noqa: F811
    port, sessions = live_box
    teacher, token = sessions["teacher"]
    recording = _tone_wav(20)
    assert len(recording) > 3 * 1024 * 1024
    response = teacher.post(f"http://127.0.0.1:{port}/teacher/recordings/", timeout=60,
                            data={"title": "A long tone", "csrf_token": token},
                            files={"media": ("tone.wav", recording, "audio/wav")})
    assert response.status_code == 200 and "?added=" in response.url, (response.status_code, response.text[-500:])
    assert "A long tone" in response.text
    stored = list((sample_data_dir / "content/local.school/v1/media").iterdir())
    assert [p.stat().st_size for p in stored] == [len(recording)]
    assert [p.name for p in (sample_data_dir / "uploads").iterdir()] == []  # the spooled copy is gone too


@pytest.fixture
def box(data_dir: Path):
    """A data dir with a teacher and a class of six pupils whose PIN is 1234; returns (data_dir, pupil refs)."""
    db = open_box_db(data_dir / "box.db")
    people.add_teacher(db, "teacher", auth.hash_password("long password"))
    klass = people.add_class(db, "5B")
    refs = [people.add_pupil(db, klass, f"Pupil {n}", auth.hash_pin("1234"))["ref"] for n in range(6)]
    db.conn.close()
    return data_dir, refs


def _app(data_dir: Path, csrf: bool = True, **overrides):
    app = create_app(load_settings(data_dir, scheduler_enabled=False, ai_jobs_enabled=False, announce=False,
                                   **overrides))
    app.config.update(TESTING=True, WTF_CSRF_ENABLED=csrf)
    return app


class NeverRead(io.RawIOBase):
    """A request body of `size` bytes that fails the test if the server reads a byte of it."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size, self.position = size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self.position = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence] + offset
        return self.position

    def tell(self) -> int:
        return self.position

    def readinto(self, buffer) -> int:
        raise AssertionError("the server read the body")


def _as_teacher(app):
    """A test client logged in through the teacher login form."""
    client = app.test_client()
    token = CSRF.search(client.get("/teacher/login").get_data(as_text=True)).group(1)
    login = client.post("/teacher/login", data={"username": "teacher", "password": "long password",
                                                 "csrf_token": token})
    assert login.status_code in (302, 303), login.get_data(as_text=True)[-300:]
    return client


def test_a_form_post_over_the_small_limit_is_refused_with_413_and_not_read(box):
    data_dir, refs = box
    client = _app(data_dir).test_client()
    response = client.post(f"/login/{refs[0]}", input_stream=NeverRead(100 * 1024),
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    assert "larger than 64 KiB" in response.get_data(as_text=True)


def test_an_api_request_over_the_small_limit_gets_a_json_413(box):
    data_dir, _refs = box
    client = _app(data_dir).test_client()
    response = client.post("/api/v1/companion/ask", data=json.dumps({"question": "why? " * 20_000}),
                           content_type="application/json")
    assert response.status_code == 413
    assert response.json == {"error": "the request body is larger than 64 KiB"}


def test_the_front_lets_exactly_the_views_marked_with_a_body_limit_take_more_than_the_small_body(box):
    data_dir, _refs = box
    app = _app(data_dir)
    marked = set()
    for rule in app.url_map.iter_rules():
        if not rule.methods or not {"POST", "PUT", "PATCH"} & rule.methods or rule.endpoint == "static":
            continue
        path = re.sub(r"<int:[^>]+>", "7", re.sub(r"<(?:string:|path:)?[^:>]+>", "x", rule.rule))
        has_limit = hasattr(app.view_functions[rule.endpoint], "body_limit")
        assert bool(re.match(LARGE_BODY_PATHS, path)) == has_limit, (rule.rule, has_limit)
        marked |= {rule.rule} if has_limit else set()
    assert marked == {"/teacher/recordings/", "/teacher/class/<int:class_id>/roster"}


def test_the_small_limit_is_a_setting(box):
    data_dir, refs = box
    client = _app(data_dir, csrf=False, max_request_kb=256).test_client()
    response = client.post(f"/login/{refs[0]}", data={"pin": "1234", "pad": "x" * 100 * 1024})
    assert response.status_code == 302


def test_only_a_teacher_may_send_a_large_upload_body(box):
    data_dir, _refs = box
    app = _app(data_dir)
    anonymous = app.test_client().post("/teacher/recordings/", input_stream=NeverRead(1024 * 1024),
                                       content_type="multipart/form-data; boundary=xyz")
    assert anonymous.status_code == 413
    teacher = _as_teacher(app).post("/teacher/recordings/", data={"media": (io.BytesIO(b"x" * 1024 * 1024), "a.mp4")},
                                    content_type="multipart/form-data")
    assert teacher.status_code == 400  # past the limit, and refused for its missing CSRF token


def test_an_upload_that_would_fill_the_disk_is_refused_with_507_before_its_body_is_read(box):
    data_dir, _refs = box
    app = _app(data_dir, min_free_disk_mb=10**9)
    response = _as_teacher(app).post("/teacher/recordings/", input_stream=NeverRead(5 * 1024 * 1024),
                                     content_type="multipart/form-data; boundary=xyz")
    assert response.status_code == 507
    assert "disk is too full" in response.get_data(as_text=True)
    assert "Our recordings" in response.get_data(as_text=True)  # the teacher's page, saying why


def _fail_pins_from(client, refs: list[str], environ: dict[str, str]) -> None:
    """Four wrong PINs for each of five pupils: 20 failures from one address, none of them over a pupil's 5."""
    for ref in refs[:5]:
        for _ in range(4):
            assert client.post(f"/login/{ref}", data={"pin": "0000"}, environ_base=environ).status_code == 400


def _login(client, ref: str, environ: dict[str, str]) -> int:
    return client.post(f"/login/{ref}", data={"pin": "1234"}, environ_base=environ).status_code


def test_behind_a_trusted_proxy_two_forwarded_addresses_are_rate_limited_separately_on_the_pin_login(box):
    data_dir, refs = box
    client = _app(data_dir, csrf=False, trusted_proxy=1).test_client()
    nginx = {"REMOTE_ADDR": "127.0.0.1"}
    _fail_pins_from(client, refs, {**nginx, "HTTP_X_FORWARDED_FOR": "192.168.50.21"})
    assert _login(client, refs[5], {**nginx, "HTTP_X_FORWARDED_FOR": "192.168.50.21"}) == 429
    # another tablet through the same nginx still logs in
    assert _login(client, refs[5], {**nginx, "HTTP_X_FORWARDED_FOR": "192.168.50.22"}) == 302
    # nginx appends the real peer: only that last hop is trusted, whatever the client put before it
    assert _login(client, refs[5], {**nginx, "HTTP_X_FORWARDED_FOR": "10.9.9.9, 192.168.50.21"}) == 429


def test_without_a_trusted_proxy_a_forged_forwarded_address_does_not_escape_the_pin_limit(box):
    data_dir, refs = box
    client = _app(data_dir, csrf=False).test_client()
    tablet = {"REMOTE_ADDR": "192.168.50.21"}
    _fail_pins_from(client, refs, {**tablet, "HTTP_X_FORWARDED_FOR": "10.0.0.1"})
    assert _login(client, refs[5], {**tablet, "HTTP_X_FORWARDED_FOR": "10.0.0.2"}) == 429
    assert _login(client, refs[5], tablet) == 429


def test_with_a_trusted_proxy_a_tablet_that_talks_to_the_app_directly_cannot_forge_its_address(box):
    data_dir, refs = box
    client = _app(data_dir, csrf=False, trusted_proxy=1).test_client()
    tablet = {"REMOTE_ADDR": "192.168.50.21"}  # port 8080 (announced by mDNS), not nginx on this machine
    _fail_pins_from(client, refs, {**tablet, "HTTP_X_FORWARDED_FOR": "10.0.0.1"})
    assert _login(client, refs[5], {**tablet, "HTTP_X_FORWARDED_FOR": "10.0.0.2"}) == 429


CONFIG_PLAY = """
- name: The edge_box role's config.toml with and without nginx
  hosts: localhost
  gather_subset: [min]
  vars_files: ["{{ roles_dir }}/edge_box/defaults/main.yml"]
  tasks:
    - name: Render config.toml
      ansible.builtin.template:
        src: "{{ roles_dir }}/edge_box/templates/config.toml.j2"
        dest: "{{ out_dir }}/nginx-{{ item }}/config.toml"
        mode: "0640"
      loop: [false, true]
      vars:
        edge_box_nginx_enabled: "{{ item }}"
"""


def test_the_edge_box_role_trusts_one_proxy_exactly_when_it_puts_nginx_in_front(tmp_path):
    out = tmp_path / "box"
    for enabled in ("False", "True"):
        (out / f"nginx-{enabled}").mkdir(parents=True)
    play = tmp_path / "config.yml"
    play.write_text(CONFIG_PLAY)
    extra = tmp_path / "vars.json"
    extra.write_text(json.dumps({"roles_dir": str(ANSIBLE / "roles"), "out_dir": str(out)}))
    done = subprocess.run([BIN / "ansible-playbook", "-i", str(_local_inventory(tmp_path, "edge_boxes")), str(play),
                           "-e", f"@{extra}"], cwd=ANSIBLE, env=_env(tmp_path), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert load_settings(out / "nginx-False").trusted_proxy == 0
    assert load_settings(out / "nginx-True").trusted_proxy == 1
