"""What `edge-server serve` keeps alive beside its web workers: the model process, the scheduler process, and nginx.

A thread of the gunicorn master checks both every second and starts again whichever has died (a native crash in
the model process, an OOM kill), backing off when one dies over and over. It also writes DATA/run/processes.json,
which `edge-server status` reads: the role and pid of every process of the box.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from edge_server import clock
from edge_server.settings import Settings
from models.worker import ModelProcess

log = logging.getLogger("edge_server.supervisor")

CHECK_S = 1.0
BACKOFF_AFTER = 5  # restarts within BACKOFF_WINDOW_S before the supervisor waits longer between tries
BACKOFF_WINDOW_S = 60.0
BACKOFF_S = 10.0


class Supervisor:
    """Starts, watches and stops the model and scheduler processes from the server's master."""

    def __init__(self, settings: Settings, arbiter: Any = None, front: Any = None) -> None:
        from edge_server.scheduler import SchedulerProcess

        self.settings = settings
        self.arbiter = arbiter  # gunicorn's, for the web workers' pids
        self.front = front  # the box's nginx (edge_server/front.NginxFront), or None
        self.models = ModelProcess(settings.models_address, settings.model_options(), settings.selftest_path,
                                   log=log.warning)
        self.scheduler = SchedulerProcess(settings) if settings.scheduler_enabled or settings.announce else None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._restarts: list[float] = []
        self._written: Any = None

    def start(self) -> None:
        if self.front is not None:
            self.front.start()
        self.models.start(wait=False)
        if self.scheduler is not None:
            self.scheduler.start()
        self._write_processes()
        self._thread = threading.Thread(target=self._watch, name="supervisor", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(CHECK_S):
            try:
                self.check()
            except Exception:  # noqa: BLE001 - the watcher must outlive any one failed restart
                log.exception("supervisor check failed")

    def check(self) -> None:
        """Start again what has died; record the pids."""
        if self.arbiter is not None and not getattr(self.arbiter, "LISTENERS", True):
            return  # gunicorn empties its listeners when it starts stopping: a child that died now stays down
        now = time.monotonic()
        self._restarts = [t for t in self._restarts if now - t < BACKOFF_WINDOW_S]
        if len(self._restarts) >= BACKOFF_AFTER and now - self._restarts[-1] < BACKOFF_S:
            return
        if self.models.restart_if_dead():
            self._restarts.append(now)
        if self.front is not None and self.front.restart_if_dead():
            self._restarts.append(now)
        if self.front is not None:
            self.front.refresh_certificate()  # a new DHCP address gets a new certificate (edge_server/tls.py)
        if self.scheduler is not None and not self.scheduler.alive():
            log.warning("scheduler process stopped; starting it again")
            self._restarts.append(now)
            self.scheduler.start()
        self._write_processes()

    def processes(self) -> list[dict[str, Any]]:
        """Every process of the box with its role."""
        found = [{"role": "web", "pid": pid} for pid in sorted(getattr(self.arbiter, "WORKERS", {}) or {})]
        if self.front is not None and self.front.pid:
            found.append({"role": "front", "pid": self.front.pid})
        if self.models.pid:
            found.append({"role": "models", "pid": self.models.pid})
        if self.scheduler is not None and self.scheduler.pid:
            found.append({"role": "scheduler", "pid": self.scheduler.pid})
        return found

    def _write_processes(self) -> None:
        processes = self.processes()
        if processes == self._written:
            return
        write_processes(self.settings.run_dir, {"supervisor": os.getpid(), "processes": processes,
                                                "at": clock.now_iso_seconds()})
        self._written = processes

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if self.front is not None:
            self.front.stop()
        if self.scheduler is not None:
            self.scheduler.stop()
        self.models.stop()
        (self.settings.run_dir / "processes.json").unlink(missing_ok=True)


def write_processes(run_dir: Path, facts: dict[str, Any]) -> None:
    """Write run/processes.json atomically."""
    run_dir.mkdir(parents=True, exist_ok=True)
    tmp = run_dir / f".processes.{os.getpid()}"
    tmp.write_text(json.dumps(facts, indent=2))
    os.replace(tmp, run_dir / "processes.json")


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running_processes(run_dir: Path) -> list[dict[str, Any]]:
    """The box's live processes as the last supervisor wrote them; [] when no server runs."""
    try:
        facts = json.loads((run_dir / "processes.json").read_text())
    except (OSError, ValueError):
        return []
    if not _alive(int(facts.get("supervisor", 0))):
        return []
    return [p for p in facts.get("processes", []) if _alive(int(p["pid"]))]
