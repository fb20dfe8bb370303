"""Crash safety: kill -9 a serving box many times during a write workload; nothing acknowledged is ever lost.

The workload is real: pupils log in with their PIN (CSRF token and all) and answer exercises and mark chapters
watched over HTTP, `edge-server attempts import` and `edge-server pack import` subprocesses write beside the
server. RELIABILITY_KILLS sets how many times the server's process group is killed (default 100).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from edge_server.identity import load_identity
from edge_server.packs_import import build_pack
from edge_server.store import people
from edge_server.store.db import open_box_db
from edge_server.web import auth
from sync.statements import statement_id
from sync.trust import read_private
from tests.e2e.box_server import free_port
from tests.fixtures_packs import TINY_CHANNEL, write_source
from tests.lrs import ralph_available, start_ralph

CLI = str(Path(sys.executable).with_name("edge-server"))
KILLS = int(os.environ.get("RELIABILITY_KILLS", "100"))
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
TEXT_EXERCISE = ("water-cycle", "water-cycle-2")  # a text answer keeps the pupil's exact response
ENV = {**os.environ, "EDGE_SERVER_SCHEDULER_ENABLED": "false", "EDGE_SERVER_AI_JOBS_ENABLED": "false",
       "EDGE_SERVER_ANNOUNCE": "false", "PYTHONWARNINGS": "ignore"}

pytestmark = pytest.mark.timeout(600)


class Box:
    """The server under test: started, killed with its whole process group, started again."""

    def __init__(self, data: Path, log: Path) -> None:
        self.data, self.log = data, log
        self.base: str | None = None
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        port = free_port()
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen([CLI, "serve", "--data", str(self.data), "--host", "127.0.0.1",
                                          "--port", str(port), "--workers", "1", "--threads", "8", "--no-announce"],
                                         stdout=out, stderr=subprocess.STDOUT, env=ENV, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"serve exited: {self.log.read_text()[-2000:]}"
            try:
                if requests.get(f"{base}/api/v1/health", timeout=2).ok:
                    self.base = base
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise AssertionError(f"serve did not answer within 60 s: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        self.base = None
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
            self.proc = None


class Acked:
    """Writes the box acknowledged, as the clients saw them (appended only after a 2xx arrived)."""

    def __init__(self) -> None:
        self.answers: list[str] = []
        self.views: list[int] = []
        self.imports: list[str] = []  # the pupil ref of every line (one line per pupil) of a file imported with exit 0
        self.pack_versions: list[int] = []
        self.pushes = 0
        self.errors: list[str] = []


def pupil_worker(box: Box, ref: str, pin: str, acked: Acked, stop: threading.Event) -> None:
    """Log in with the PIN flow and keep answering and marking chapters watched; re-login when the session is gone."""
    rng = random.Random(ref)
    lesson, exercise = TEXT_EXERCISE
    session, csrf, seq = None, None, 0
    while not stop.is_set():
        base = box.base
        if base is None:
            time.sleep(0.02)
            continue
        try:
            if session is None:
                session = requests.Session()
                page = session.get(f"{base}/login/{ref}", timeout=5)
                token = CSRF.search(page.text).group(1)
                login = session.post(f"{base}/login/{ref}", data={"pin": pin, "csrf_token": token}, timeout=5,
                                     allow_redirects=False)
                if login.status_code != 302:
                    acked.errors.append(f"login {login.status_code}")
                    session = None
                    continue
                csrf = CSRF.search(session.get(f"{base}/lesson/{lesson}", timeout=5).text).group(1)
            seq += 1
            if rng.random() < 0.8:
                response = f"{ref}-{seq}"
                r = session.post(f"{base}/lesson/{lesson}/answer", json={"exercise_id": exercise, "response": response},
                                 headers={"X-CSRFToken": csrf}, timeout=5)
                if r.ok:
                    acked.answers.append(response)
            else:
                r = session.post(f"{base}/lesson/{lesson}/watched", json={"start": seq, "end": seq + 1},
                                 headers={"X-CSRFToken": csrf}, timeout=5)
                if r.ok:
                    acked.views.append(r.json()["id"])
            if r.status_code >= 500 or r.status_code in (400, 401, 403):
                acked.errors.append(f"{r.request.url} {r.status_code}")
                session = None
        except (requests.RequestException, AttributeError):
            session = None  # killed mid-request (or a page cut short): start again with a fresh login
            time.sleep(0.02)


def importer_worker(data: Path, folder: Path, acked: Acked, stop: threading.Event) -> None:
    """Run `edge-server attempts import` on fresh files beside the server, one after another."""
    n = 0
    while not stop.is_set():
        n += 1
        lines = [{"pupil": f"imp-{n}-{i}", "pupil_name": f"Imported {n}", "knowledge_point": "sci.water.evaporation",
                  "item": "water-cycle-1", "correct": bool(i % 2), "ts": f"2026-03-01T09:{i:02d}:{n % 60:02d}Z"}
                 for i in range(3)]
        path = folder / f"import-{n}.jsonl"
        path.write_text("".join(json.dumps(line) + "\n" for line in lines))
        done = subprocess.run([CLI, "attempts", "import", str(path), "--data", str(data)], capture_output=True,
                              text=True, env=ENV, timeout=120)
        if done.returncode == 0:
            acked.imports.extend(line["pupil"] for line in lines)
        else:
            acked.errors.append(f"attempts import: {done.stderr.strip()}")
        stop.wait(0.5)


def pack_worker(data: Path, folder: Path, key: Path, acked: Acked, stop: threading.Event) -> None:
    """Now and then build and import a new version of a small channel beside the server."""
    private = read_private(key)
    version = 0
    while not stop.wait(2.0):
        version += 1
        src = write_source(folder / f"src{version}", title=f"V{version}", lessons=("tiny-1", "tiny-2"),
                           media_size=16 * 1024, seed=version)
        build_pack(src, folder / f"v{version}", private, version)
        done = subprocess.run([CLI, "pack", "import", str(folder / f"v{version}"), "--data", str(data)],
                              capture_output=True, text=True, env=ENV, timeout=120)
        if done.returncode == 0:
            acked.pack_versions.append(version)
        else:
            acked.errors.append(f"pack import v{version}: {done.stderr.strip()}")


def pusher_worker(data: Path, lrs, acked: Acked, stop: threading.Event) -> None:
    """Push the outbox to a real LRS beside the server, again and again (marking statements sent as it goes)."""
    while not stop.wait(1.0):
        done = subprocess.run([CLI, "sync", "push", "--data", str(data), "--lrs", lrs.url, "--lrs-user", lrs.user,
                               "--lrs-password", lrs.password], capture_output=True, text=True, env=ENV, timeout=120)
        acked.pushes += done.returncode == 0


def check_db(db_path: Path, acked: Acked) -> None:
    """The box's database is sound and holds every acknowledged write."""
    answers, views, imports, versions = (list(acked.answers), list(acked.views), list(acked.imports),
                                         list(acked.pack_versions))
    conn = sqlite3.connect(db_path, timeout=30)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        stored = {r for (r,) in conn.execute("SELECT response FROM attempts WHERE source = 'box'")}
        missing = [a for a in answers if a not in stored]
        assert not missing, f"{len(missing)} acknowledged answers lost, e.g. {missing[:3]}"
        stored_views = {r for (r,) in conn.execute("SELECT id FROM chapter_views")}
        assert set(views) <= stored_views, f"acknowledged chapter views lost: {sorted(set(views) - stored_views)[:5]}"
        stored_imports = {r for (r,) in conn.execute("SELECT p.ref FROM attempts a JOIN pupils p ON p.id = a.pupil_id "
                                                     "WHERE a.source = 'import'")}
        assert set(imports) <= stored_imports, "acknowledged imported attempts lost"
        if versions:
            # One read transaction (a WAL snapshot): the pack worker may activate the next version between two reads.
            conn.execute("BEGIN")
            (active,) = conn.execute("SELECT version FROM channels WHERE id = ?", (TINY_CHANNEL,)).fetchone()
            assert active >= max(versions)
            titles = {t for (t,) in conn.execute("SELECT title FROM lessons WHERE channel_id = ?", (TINY_CHANNEL,))}
            conn.rollback()
            assert titles == {f"V{active} tiny-1", f"V{active} tiny-2"}, "catalog rows do not match the active pack"
    finally:
        conn.close()


def check_outbox(data: Path) -> tuple[int, int]:
    """Every attempt and chapter view has exactly its statement(s) in the outbox; nothing else is there."""
    box_id = load_identity(data / "keys").box_id
    conn = sqlite3.connect(data / "box.db", timeout=30)
    try:
        attempt_ids = [i for (i,) in conn.execute("SELECT id FROM attempts")]
        view_ids = [i for (i,) in conn.execute("SELECT id FROM chapter_views")]
        outbox = [s for (s,) in conn.execute("SELECT statement_id FROM outbox")]
    finally:
        conn.close()
    assert len(outbox) == len(set(outbox)), "a statement is in the outbox twice"
    present = set(outbox)
    must = {statement_id(box_id, f"attempt:{i}") for i in attempt_ids}
    must |= {statement_id(box_id, f"chapter_view:{i}") for i in view_ids}
    may = {statement_id(box_id, f"mastered:{i}") for i in attempt_ids}
    assert must <= present, f"{len(must - present)} statements lost"
    assert present <= must | may, f"{len(present - must - may)} statements without their event"
    return len(attempt_ids), len(outbox)


def test_a_box_killed_100_times_mid_write_keeps_every_acknowledged_write_and_statement(sample_data_dir, signing_key,
                                                                                      tmp_path):
    data = sample_data_dir
    db = open_box_db(data / "box.db")
    class_id = people.add_class(db, "Crash class")
    pupils = [(people.add_pupil(db, class_id, f"Pupil {i}", auth.hash_pin(f"{1000 + i}"))["ref"], f"{1000 + i}")
              for i in range(3)]
    db.conn.close()
    box, acked, stop = Box(data, tmp_path / "serve.log"), Acked(), threading.Event()
    (tmp_path / "imports").mkdir()
    threads = [threading.Thread(target=pupil_worker, args=(box, ref, pin, acked, stop)) for ref, pin in pupils]
    threads.append(threading.Thread(target=importer_worker, args=(data, tmp_path / "imports", acked, stop)))
    threads.append(threading.Thread(target=pack_worker, args=(data, tmp_path / "packs", signing_key.private, acked,
                                                              stop)))
    # With Ralph installed (`make ralph`, part of `make test`), the outbox is pushed to a real LRS meanwhile.
    lrs = start_ralph(tmp_path / "ralph") if ralph_available() else None
    if lrs is not None:
        threads.append(threading.Thread(target=pusher_worker, args=(data, lrs, acked, stop)))
    rng = random.Random(8)
    started = time.monotonic()
    try:
        for thread in threads:
            thread.start()
        for _ in range(KILLS):
            box.start()
            time.sleep(rng.uniform(0.1, 0.8))
            box.kill()
            check_db(data / "box.db", acked)
        box.start()  # the box comes back once more and still serves
        assert requests.get(f"{box.base}/api/v1/health", timeout=5).ok
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
        box.kill()
        if lrs is not None:
            final = subprocess.run([CLI, "sync", "push", "--data", str(data), "--lrs", lrs.url, "--lrs-user",
                                    lrs.user, "--lrs-password", lrs.password], capture_output=True, text=True,
                                   env=ENV, timeout=300)
            in_lrs = [s["id"] for s in lrs.statements()]
            stored = [line.get("id") or line.get("statement", {}).get("id") for line in lrs.stored_lines()]
            lrs.stop()
    check_db(data / "box.db", acked)
    attempts, statements = check_outbox(data)
    if lrs is not None:
        assert final.returncode == 0, final.stderr
        conn = sqlite3.connect(data / "box.db")
        outbox = {sid for (sid,) in conn.execute("SELECT statement_id FROM outbox")}
        unsent = conn.execute("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]
        conn.close()
        assert unsent == 0
        assert len(in_lrs) == len(set(in_lrs)) and set(in_lrs) == outbox, "the LRS lost or doubled statements"
        assert len(stored) == len(set(stored)) == len(in_lrs), "a statement was written to the LRS twice"
    elapsed = time.monotonic() - started
    print(f"{KILLS} kills in {elapsed:.0f} s: {len(acked.answers)} answers, {len(acked.views)} views, "
          f"{len(acked.imports)} imported lines, packs {acked.pack_versions[-1:]} acknowledged; "
          f"{attempts} attempts, {statements} statements, {acked.pushes} complete pushes")
    assert len(acked.answers) >= KILLS, "the workload hardly wrote anything: the test proves little"
    assert acked.imports and acked.pack_versions
    assert not [e for e in acked.errors if " 5" in e or "import" in e], acked.errors[:5]
