"""The box's background process: APScheduler jobs and the LAN announcement, in exactly one process.

`edge-server serve` starts it once from the gunicorn master (when_ready) and stops it on exit (on_exit),
whatever the number of web workers. It is a separate, spawned process rather than a thread of the master,
so that workers forked later never inherit a half-held lock of a running job, and a heavy job (AI pipeline)
cannot take the master down.

To add a periodic job, add one line to `box_jobs()` at the bottom of this file:

    Job("edge_server.jobs:run_next", {"trigger": "interval", "seconds": 5}, when=lambda s: s.ai_jobs_enabled)

The target is "module:function" (imported lazily, in the scheduler process) or a callable; it is called with
the box's Settings. Trigger keyword arguments are APScheduler's (`interval` with seconds=..., `cron` with
hour=..., ...); a value may be a callable of Settings, e.g. seconds=lambda s: s.push_interval_s.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import logging
import os
import pickle
import select
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from apscheduler.schedulers.background import BackgroundScheduler

from edge_server import clock
from edge_server.settings import Settings

if TYPE_CHECKING:
    from edge_server.box import Box

log = logging.getLogger("edge_server.scheduler")

JobTarget = str | Callable[[Settings], Any]


@dataclass(frozen=True)
class Job:
    """One periodic job: what to call, when (APScheduler trigger kwargs), and whether this box wants it."""

    target: JobTarget
    trigger: Mapping[str, Any] = field(default_factory=dict)
    when: Callable[[Settings], bool] | None = None
    id: str | None = None

    @property
    def name(self) -> str:
        if self.id:
            return self.id
        if isinstance(self.target, str):
            return self.target
        return f"{self.target.__module__}:{self.target.__qualname__}"


def resolve_target(target: JobTarget) -> Callable[[Settings], Any]:
    """The callable named by "module:function" (or the callable itself)."""
    if not isinstance(target, str):
        return target
    module_name, _, attr = target.partition(":")
    if not attr:
        raise ValueError(f"job target {target!r} must be 'module:function'")
    return getattr(importlib.import_module(module_name), attr)


def _run(name: str, fn: Callable[[Settings], Any], settings: Settings) -> None:
    # Log and swallow: one failing job must not stop the others or the process.
    try:
        fn(settings)
    except Exception:
        log.exception("scheduled job %s failed", name)


def build_scheduler(settings: Settings, jobs: list[Job] | None = None) -> BackgroundScheduler:
    """A BackgroundScheduler (not started) holding the jobs this box wants."""
    scheduler = BackgroundScheduler(
        timezone="UTC",
        # One run at a time per job, and a burst of missed runs (box asleep, clock jump) collapses into one.
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
    )
    for job in box_jobs() if jobs is None else jobs:
        try:
            if job.when is not None and not job.when(settings):
                continue
            trigger = {k: (v(settings) if callable(v) else v) for k, v in job.trigger.items()}
            fn = resolve_target(job.target)
            scheduler.add_job(_run, args=(job.name, fn, settings), id=job.name, name=job.name,
                              replace_existing=True, **trigger)
        except Exception:
            # One broken registration must not take the other jobs (or the announcement) down with it.
            log.exception("scheduled job %s not added", job.name)
    return scheduler


def heartbeat(settings: Settings) -> None:
    """Record in box.db that the scheduler is alive, and in which process."""
    from edge_server.store import meta
    from edge_server.store.db import connect, write

    value = json.dumps({"pid": os.getpid(), "at": clock.now_iso_seconds()})
    db = connect(settings.db_path)
    try:
        write(db, lambda d: meta.put(d, "scheduler_heartbeat", value))
    finally:
        db.conn.close()


def _announce(settings: Settings) -> Any:
    """Start the mDNS announcement when asked for and available; returns an object with .close() or None."""
    if not settings.announce:
        return None
    if importlib.util.find_spec("edge_server.discovery") is None:
        log.warning("announce requested but edge_server.discovery is not available")
        return None
    from edge_server import discovery

    try:
        return discovery.announce(settings)
    except Exception:
        # The box serves without an announcement; pupils can still type the address.
        log.exception("mDNS announcement failed")
        return None


def run(settings: Settings, parent_pid: int | None = None, ready: Any = None) -> None:
    """Main of the background process: run the jobs and the announcement until SIGTERM/SIGINT or parent exit."""
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s")
    # APScheduler logs every run at INFO; failures still show (our wrapper logs them at ERROR).
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    from edge_server.box import Box

    # migrations ran when serve started; the box's services (the model process client) live as long as this process
    box = Box(settings)
    scheduler = build_scheduler(settings, box_jobs(box)) if settings.scheduler_enabled else None
    if scheduler is not None:
        scheduler.start()
        log.info("scheduler started with %d job(s)", len(scheduler.get_jobs()))
    announcement = _announce(settings)
    if ready is not None:
        ready.set()
    try:
        # Poll for the parent too: if the master is killed outright, this process must not linger.
        while not stop.wait(1.0):
            if parent_pid is not None and os.getppid() != parent_pid:
                log.warning("server process gone; stopping scheduler")
                break
    finally:
        if announcement is not None:
            announcement.close()
        if scheduler is not None:
            # Jobs are restart-safe (their state lives in box.db), so do not wait for a long one to finish.
            scheduler.shutdown(wait=False)
        log.info("scheduler stopped")


class SchedulerProcess:
    """Starts and stops the one background process from the server's master."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def alive(self) -> bool:
        """True while the process runs (gunicorn's master may reap it first: poll() then says it has ended)."""
        return self._process is not None and self._process.poll() is None

    def start(self, wait: bool = False, timeout: float = 30.0) -> None:
        """Start `python -m edge_server.scheduler`; with wait, return once its jobs are scheduled."""
        # A plain subprocess rather than multiprocessing: workers forked later would otherwise inherit
        # multiprocessing's child list and try to join a process that is not theirs when they exit.
        process = subprocess.Popen([sys.executable, "-m", "edge_server.scheduler", str(os.getpid())],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE if wait else subprocess.DEVNULL)
        assert process.stdin is not None
        process.stdin.write(pickle.dumps(self.settings))
        process.stdin.close()
        self._process = process
        if not wait:
            return
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], timeout)
        if not ready or process.stdout.readline().strip() != b"ready":
            log.warning("scheduler process did not report ready within %.0f s", timeout)
        process.stdout.close()

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the process, then kill it if it has not stopped within timeout."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def _main() -> None:
    """Entry of `python -m edge_server.scheduler PARENT_PID` with pickled Settings on stdin."""
    settings = pickle.loads(sys.stdin.buffer.read())

    class _Ready:
        @staticmethod
        def set() -> None:
            sys.stdout.write("ready\n")
            sys.stdout.flush()
            # Nobody reads this pipe any more; close it so a stray print cannot block on a full pipe.
            sys.stdout.close()
            sys.stdout = sys.stderr

    run(settings, int(sys.argv[1]), _Ready())
    logging.shutdown()
    # Leave now, even if a job thread is still busy: jobs keep their state in box.db and resume next start.
    os._exit(0)


# --- the jobs of the box: one line each -----------------------------------------------------------
def box_jobs(box: Box | None = None) -> list[Job]:
    """Every periodic job of the box; build_scheduler keeps those the box's settings want. With the scheduler
    process's Box, the AI jobs reuse its runners (one model process client) from run to run."""
    ai_jobs: JobTarget = "edge_server.jobs:scheduled_run"
    if box is not None:
        def ai_jobs(settings: Settings) -> None:
            from edge_server.jobs import scheduled_run

            scheduled_run(settings, runners=box.runners)

    return [
        Job(heartbeat, {"trigger": "interval", "seconds": lambda s: s.scheduler_heartbeat_s,
                        "next_run_time": lambda s: clock.now()}, id="heartbeat"),
        Job("edge_server.attempts:fit_all", {"trigger": "cron", "hour": 2, "minute": 30}, id="mastery-fit"),
        Job(ai_jobs, {"trigger": "interval", "seconds": 5},
            when=lambda s: s.ai_jobs_enabled, id="ai-jobs"),
        Job("edge_server.jobs:scheduled_share_pulls", {"trigger": "interval", "seconds": 2}, id="share-pulls"),
        Job("edge_server.sync_runs:push_tick", {"trigger": "interval", "seconds": lambda s: s.sync_tick_s},
            when=lambda s: bool(s.lrs_url), id="sync-push"),
        Job("edge_server.sync_runs:pull_tick", {"trigger": "interval", "seconds": lambda s: s.sync_tick_s},
            when=lambda s: bool(s.pack_origin), id="sync-pull"),
        Job("edge_server.backup:scheduled_backup", {"trigger": "interval", "minutes": 15},
            when=lambda s: bool(s.backup_dir), id="backup"),
    ]


if __name__ == "__main__":
    _main()
