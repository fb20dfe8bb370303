"""The one background scheduler process: starts, beats in box.db, stops on request and when its parent dies."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from edge_server.scheduler import SchedulerProcess
from edge_server.settings import load_settings


def heartbeat_pid(data: Path) -> int | None:
    db = sqlite3.connect(data / "box.db")
    row = db.execute("SELECT value FROM meta WHERE key = 'scheduler_heartbeat'").fetchone()
    db.close()
    return json.loads(row[0])["pid"] if row else None


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def wait_for(predicate, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_the_scheduler_process_beats_in_box_db_and_stops_on_request(data_dir):
    process = SchedulerProcess(load_settings(data_dir, ai_jobs_enabled=False))
    process.start()
    pid = process.pid
    try:
        assert pid is not None
        assert wait_for(lambda: heartbeat_pid(data_dir) == pid)
    finally:
        process.stop()
    assert wait_for(lambda: not alive(pid), 10)


def test_the_scheduler_process_exits_when_its_parent_is_killed(data_dir, tmp_path):
    parent = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\n"
         "from edge_server.scheduler import SchedulerProcess\n"
         "from edge_server.settings import load_settings\n"
         "p = SchedulerProcess(load_settings(sys.argv[1], ai_jobs_enabled=False))\n"
         "p.start()\n"
         "print(p.pid, flush=True)\n"
         "time.sleep(600)\n", str(data_dir)],
        stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())
        assert wait_for(lambda: heartbeat_pid(data_dir) == child)
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        assert wait_for(lambda: not alive(child), 15), "scheduler outlived its killed parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
