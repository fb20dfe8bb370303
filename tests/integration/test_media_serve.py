"""`edge-server serve` as a real subprocess on 127.0.0.1: media over real HTTP, sendfile, one scheduler, clean stops."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import selectors
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from edge_server.identity import init_data_dir

EDGE_SERVER = str(Path(sys.executable).parent / "edge-server")
CHANNEL = "test.serve"
BIG = 40 * 1024 * 1024


def make_box(root: Path, big: bytes) -> Path:
    """A data dir with one channel holding a big video, a caption file and a secret next to the content."""
    data = root / "var"
    init_data_dir(data, trust=None, name="serve-test")
    folder = data / "content" / CHANNEL / "v2"
    (folder / "media").mkdir(parents=True)
    (folder / "media" / "big.mp4").write_bytes(big)
    (folder / "media" / "captions.vtt").write_text("WEBVTT\n")
    (folder / "media" / "été 中文.ogg").write_bytes(b"OggS unicode")
    (folder / "media" / "out.mp4").symlink_to(data / "keys" / "box.key")
    (data / "content" / CHANNEL / "v1").mkdir()
    (data / "content" / CHANNEL / "v1" / "old.mp4").write_bytes(b"old version")
    db = sqlite3.connect(data / "box.db")
    with db:
        db.execute("INSERT INTO channels (id, title, version, path, activated_at) VALUES (?, 'T', 2, ?, 'now')",
                   (CHANNEL, f"content/{CHANNEL}/v2"))
    db.close()
    return data


@contextmanager
def serve(data: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[tuple[subprocess.Popen, dict]]:
    """Start `edge-server serve` on a free loopback port; yields the process and the JSON line it printed.

    Without --front in args the app faces the client itself (--front none): these tests are about the app's own
    serving; tests/integration/test_front.py covers the box's nginx front.
    """
    if "--front" not in args:
        args = (*args, "--front", "none")
    log = open(data.parent / f"serve-{time.monotonic_ns()}.log", "wb")  # noqa: SIM115 - closed below
    # Its own process group, so that a test can send Ctrl-C to the server and its children only.
    proc = subprocess.Popen([EDGE_SERVER, "serve", "--data", str(data), "--host", "127.0.0.1", "--port", "0", *args],
                            stdout=subprocess.PIPE, stderr=log, env={**os.environ, **(env or {})},
                            start_new_session=True)
    try:
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout=60):
            raise AssertionError("edge-server serve printed no URL within 60 s")
        line = proc.stdout.readline()
        assert line, f"serve exited: {Path(log.name).read_text()}"
        yield proc, json.loads(line)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


def request(port: int, path: str, headers: dict[str, str] | None = None, method: str = "GET"):
    """One raw HTTP request (the path is sent exactly as written); returns (status, headers, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(method, path, headers=headers or {})
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, resp.headers, body


def children(pid: int) -> list[int]:
    """Process ids whose parent is pid (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """Whether pid is a running (not zombie) process."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def web_workers(pid: int) -> list[int]:
    """The server's gunicorn workers: its children but the scheduler and the model process."""
    return [c for c in children(pid) if not any(m in cmdline(c) for m in ("edge_server.scheduler", "models.worker"))]


@pytest.fixture(scope="module")
def big() -> bytes:
    return os.urandom(BIG)


@pytest.fixture(scope="module")
def box(tmp_path_factory, big) -> Iterator[tuple[Path, int, int]]:
    """One server for the read-only checks: (data dir, port, master pid)."""
    data = make_box(tmp_path_factory.mktemp("serve"), big)
    # one web worker, so the sendfile check reads the /proc/PID/io of the process that served the request
    with serve(data, "--workers", "1", env={"EDGE_SERVER_SCHEDULER_ENABLED": "0"}) as (proc, started):
        yield data, started["port"], proc.pid


def test_serve_prints_its_url_and_serves_over_real_http(box):
    data, port, _pid = box
    status, headers, body = request(port, f"/media/{CHANNEL}/media/captions.vtt")
    assert (status, body) == (200, b"WEBVTT\n")
    assert headers["Content-Type"] == "text/vtt; charset=utf-8"
    assert headers["Server"].startswith("gunicorn")  # never the Flask development server


def test_a_file_name_with_spaces_and_non_ascii_letters_is_served(box):
    _data, port, _pid = box
    status, headers, body = request(port, f"/media/{CHANNEL}/media/%C3%A9t%C3%A9%20%E4%B8%AD%E6%96%87.ogg")
    assert (status, body, headers["Content-Type"]) == (200, b"OggS unicode", "audio/ogg")


@pytest.mark.parametrize(("rng", "start", "end"), [("bytes=0-0", 0, 0), ("bytes=1048576-2097151", 1048576, 2097151),
                                                   ("bytes=-1000", BIG - 1000, BIG - 1),
                                                   (f"bytes={BIG - 10}-", BIG - 10, BIG - 1)])
def test_ranges_over_real_http_return_the_exact_bytes(box, big, rng, start, end):
    _data, port, _pid = box
    status, headers, body = request(port, f"/media/{CHANNEL}/media/big.mp4", {"Range": rng})
    assert status == 206
    assert headers["Content-Range"] == f"bytes {start}-{end}/{BIG}"
    assert body == big[start:end + 1]


def test_an_unsatisfiable_range_over_real_http_is_416(box):
    _data, port, _pid = box
    status, headers, body = request(port, f"/media/{CHANNEL}/media/big.mp4", {"Range": f"bytes={BIG}-{BIG + 5}"})
    assert status == 416
    assert headers["Content-Range"] == f"bytes */{BIG}"
    assert body == b""


def test_etag_if_none_match_and_if_range_over_real_http(box, big):
    _data, port, _pid = box
    path = f"/media/{CHANNEL}/media/big.mp4"
    status, headers, _ = request(port, path, method="HEAD")
    assert (status, headers["Content-Length"], headers["Accept-Ranges"]) == (200, str(BIG), "bytes")
    etag = headers["ETag"]
    assert request(port, path, {"If-None-Match": etag})[0] == 304
    assert request(port, path, {"If-Modified-Since": headers["Last-Modified"]})[0] == 304
    status, _, body = request(port, path, {"Range": "bytes=10-19", "If-Range": etag})
    assert (status, body) == (206, big[10:20])
    status, _, body = request(port, path, {"Range": "bytes=10-19", "If-Range": '"stale"'})
    assert (status, len(body)) == (200, BIG)


@pytest.mark.parametrize("path", [
    "../../box.db", "media/../../../box.db", "%2e%2e/%2e%2e/%2e%2e/box.db", "media%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fbox.db",
    "..%5c..%5c..%5cbox.db", "media\\..\\..\\..\\box.db", "media/captions.vtt%00", "media/captions.vtt%00.mp4",
    "/etc/passwd", "%2fetc%2fpasswd", "media/out.mp4", "../v1/old.mp4", "%2e%2e/v1/old.mp4",
])
def test_escapes_over_real_http_are_refused(box, path):
    _data, port, _pid = box
    status, _headers, body = request(port, f"/media/{CHANNEL}/{path}")
    assert status in (400, 404)
    assert b"PRIVATE KEY" not in body and b"SQLite" not in body and b"root:" not in body and b"old version" not in body


def test_a_channel_id_that_is_a_dot_dot_is_refused(box):
    _data, port, _pid = box
    assert request(port, "/media/%2e%2e/box.db")[0] in (400, 404)
    assert request(port, "/media/../box.db")[0] in (400, 404)


def test_a_large_ranged_response_goes_out_by_sendfile_and_fast(box, big):
    """sendfile() moves the bytes in the kernel: the worker makes a handful of read syscalls, not one per block."""
    _data, port, pid = box
    request(port, f"/media/{CHANNEL}/media/captions.vtt")  # the worker is up once it answers; warms it too
    workers = web_workers(pid)
    assert len(workers) == 1
    io_file = Path("/proc") / str(workers[0]) / "io"

    def reads() -> int:
        return int(next(ln for ln in io_file.read_text().splitlines() if ln.startswith("syscr:")).split()[1])

    before = reads()
    started = time.perf_counter()
    status, _headers, body = request(port, f"/media/{CHANNEL}/media/big.mp4", {"Range": f"bytes=1-{BIG - 2}"})
    elapsed = time.perf_counter() - started
    assert status == 206 and body == big[1:BIG - 1]
    # Copying through Python would take over 600 reads of 64 KiB for these 40 MB.
    assert reads() - before < 60
    assert elapsed < 3.0


def test_paused_players_do_not_hold_the_server_threads(tmp_path, big):
    """Clients that ask for "bytes=0-" and read nothing (a paused video) must not starve other requests."""
    data = make_box(tmp_path, big)
    with serve(data, "--threads", "2", env={"EDGE_SERVER_SCHEDULER_ENABLED": "0"}) as (_proc, started):
        port = started["port"]
        request(port, f"/media/{CHANNEL}/media/captions.vtt")
        paused = []
        try:
            for _ in range(4):
                sock = socket.create_connection(("127.0.0.1", port))
                sock.sendall(f"GET /media/{CHANNEL}/media/big.mp4 HTTP/1.1\r\nHost: box\r\n"
                             "Range: bytes=0-\r\n\r\n".encode())
                paused.append(sock)
            time.sleep(0.5)
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", f"/media/{CHANNEL}/media/captions.vtt")
            assert conn.getresponse().read() == b"WEBVTT\n"
            conn.close()
        finally:
            for sock in paused:
                sock.close()


def test_one_scheduler_process_runs_whatever_the_worker_count_and_sigterm_stops_all(tmp_path, big):
    data = make_box(tmp_path, b"x")
    with (data / "config.toml").open("a") as fh:
        fh.write("scheduler_heartbeat_s = 1\n")
    with serve(data, "--workers", "3", "--threads", "4") as (proc, started):
        deadline = time.monotonic() + 30
        while len(children(proc.pid)) < 5 and time.monotonic() < deadline:
            time.sleep(0.1)
        kids = children(proc.pid)
        schedulers = [k for k in kids if "edge_server.scheduler" in cmdline(k)]
        # 3 web workers, the scheduler and the one model process
        assert len(kids) == 5 and len(schedulers) == 1 and len(web_workers(proc.pid)) == 3

        def beating() -> int | None:
            db = sqlite3.connect(data / "box.db")
            row = db.execute("SELECT value FROM meta WHERE key = 'scheduler_heartbeat'").fetchone()
            db.close()
            return json.loads(row[0])["pid"] if row else None

        deadline = time.monotonic() + 30
        while beating() is None:
            assert time.monotonic() < deadline, "no scheduler heartbeat within 30 s"
            time.sleep(0.1)
        # Beats every second: over 3.5 s a second scheduler, in any process, would show its pid too.
        seen = set()
        deadline = time.monotonic() + 3.5
        while time.monotonic() < deadline:
            seen.add(beating())
            time.sleep(0.1)
        assert seen == set(schedulers)
        assert request(started["port"], f"/media/{CHANNEL}/media/big.mp4")[0] == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        assert not [k for k in kids if alive(k)]


@pytest.mark.parametrize("how", ["SIGTERM to the server", "Ctrl-C to the whole process group"])
def test_a_stop_signal_lets_a_download_in_flight_finish(tmp_path, big, how):
    data = make_box(tmp_path, big)
    # one web worker, the one serving the download: the signal's path through the server is the same with more
    with serve(data, "--workers", "1", env={"EDGE_SERVER_SCHEDULER_ENABLED": "0"}) as (proc, started):
        conn = http.client.HTTPConnection("127.0.0.1", started["port"], timeout=30)
        conn.request("GET", f"/media/{CHANNEL}/media/big.mp4")
        resp = conn.getresponse()
        first = resp.read(64 * 1024)  # the rest waits in the server's sendfile, mid-response
        if how.startswith("Ctrl-C"):
            os.killpg(proc.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches the master and every worker
        else:
            proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        rest = resp.read()
        conn.close()
        assert first + rest == big
        assert proc.wait(30) == 0


def test_sigint_stops_the_server_and_its_scheduler(tmp_path):
    data = make_box(tmp_path, b"x")
    with serve(data) as (proc, _started):
        deadline = time.monotonic() + 30
        while not any("edge_server.scheduler" in cmdline(k) for k in children(proc.pid)):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        scheduler = next(k for k in children(proc.pid) if "edge_server.scheduler" in cmdline(k))
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
        deadline = time.monotonic() + 10
        while alive(scheduler):
            assert time.monotonic() < deadline, "scheduler process outlived the server"
            time.sleep(0.1)


def test_serve_without_a_data_dir_fails_in_one_line(tmp_path):
    out = subprocess.run([EDGE_SERVER, "serve", "--data", str(tmp_path / "nothing"), "--port", "0"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert len(out.stderr.strip().splitlines()) == 1
    assert "edge-server init" in out.stderr


def test_serve_on_a_busy_port_fails_in_one_line(tmp_path):
    data = make_box(tmp_path, b"x")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = subprocess.run([EDGE_SERVER, "serve", "--data", str(data), "--host", "127.0.0.1", "--port", str(port)],
                             capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert len(out.stderr.strip().splitlines()) == 1
    assert "in use" in out.stderr


def test_the_media_url_of_an_imported_sample_lesson_is_served_over_real_http(sample_data_dir):
    with serve(sample_data_dir, env={"EDGE_SERVER_SCHEDULER_ENABLED": "0"}) as (_proc, started):
        port = started["port"]
        catalog = json.loads(request(port, "/api/v1/catalog")[2])
        lesson_id = next(lesson["id"] for channel in catalog["channels"] for course in channel["courses"]
                         for lesson in course["lessons"] if lesson.get("media"))
        lesson = json.loads(request(port, f"/api/v1/lessons/{lesson_id}")[2])
        media_url = lesson["media"]["url"]
        status, headers, whole = request(port, media_url)
        assert status == 200 and whole
        status, part_headers, part = request(port, media_url, {"Range": "bytes=100-199"})
        assert (status, part) == (206, whole[100:200])
        assert part_headers["ETag"] == headers["ETag"] == f'"{hashlib.sha256(whole).hexdigest()}"'


def test_each_worker_logs_its_c_heap_when_asked(tmp_path):
    data = make_box(tmp_path, b"x")
    env = {"EDGE_SERVER_SCHEDULER_ENABLED": "0", "EDGE_SERVER_HEAP_REPORT_S": "0.2"}
    with serve(data, "--workers", "2", "--threads", "2", env=env) as (proc, _started):
        logs = list(tmp_path.glob("serve-*.log"))
        pattern = re.compile(r"heap pid=(\d+) t=[\d.]+ in_use_mb=([\d.]+) free_mb=[\d.]+ mmapped_mb=[\d.]+ "
                             r"sqlite_mb=([\d.]+)")
        deadline = time.monotonic() + 30
        while len({pid for pid, *_ in pattern.findall(logs[0].read_text())}) < 2:
            assert time.monotonic() < deadline, f"no heap report from both workers: {logs[0].read_text()[-2000:]}"
            time.sleep(0.2)
        reports = pattern.findall(logs[0].read_text())
        assert {int(pid) for pid, *_ in reports} == set(web_workers(proc.pid))
        assert all(float(in_use) > 1 for _, in_use, _ in reports)


def test_no_heap_report_unless_asked(box):
    data, port, _pid = box
    assert request(port, f"/media/{CHANNEL}/media/big.mp4", {"Range": "bytes=0-0"})[0] == 206
    time.sleep(0.5)  # a report would be written as soon as the worker that answered was forked
    assert not any(" heap pid=" in log.read_text() for log in data.parent.glob("serve-*.log"))
