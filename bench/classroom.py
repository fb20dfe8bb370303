"""Classroom soak: N tablets use a real `edge-server serve` for D minutes, the way a class does.

The bench builds a box in a temporary folder (the sample course, a class of --tablets pupils with PINs), starts
`edge-server serve` on 127.0.0.1 (its scheduler works the AI queue off first, so the companion has transcripts),
then each tablet, a thread with its own HTTP session: logs in (class page, PIN form with its CSRF token), opens the
lesson list, then again and again opens a lesson (page and API document), streams the medium with ranged requests
and a few seeks, answers exercises, and now and then asks the companion (one question in five worded anew, so
it misses the answer cache); it waits 1-4 s between actions.
Reports requests served, p50/p99 latency by route, errors (5xx and failures apart from the 429 of the
companion's one-pending-question rule, counted separately), and the memory of the server's processes sampled
every second: PSS (shared model pages counted once) and its anonymous part (heap: where a leak shows), each at
the start, after a minute, middle, end and peak, with the growth per 10 minutes; and each worker's own report of
its C heap (malloc's blocks in use, kept free, and mmap'd, every 10 s), which separates a leak from memory kept
for reuse or model buffers touched for the first time. One table (stderr with --json),
JSON on stdout with --json.

    python -m bench.classroom [--tablets 60] [--minutes 10] [--workers 2] [--json]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import requests

from bench.report import emit
from edge_server.web.front import free_port

CLI = str(Path(sys.executable).with_name("edge-server"))
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
CHUNK = 64 * 1024
QUESTIONS = ["How are clouds made?", "What is evaporation?", "Why does water fall as rain?",
             "What do living things need?", "How do plants make food?", "What is a right angle?",
             "How many sides does a triangle have?", "What is an acute angle?"]
ASIDES = ["please, for my homework number", "like in the video at minute", "I did not get it, page"]
UNIQUE_SHARE = 0.2
ANSWERS = {"choice": "0", "number": "4", "text": "water"}
HEAP_REPORT_S = 10
HEAP_LINE = re.compile(r"heap pid=(\d+) t=([\d.]+) in_use_mb=([\d.]+) free_mb=([\d.]+) mmapped_mb=([\d.]+)")


class ServerProcesses:
    """The server's process group (master, workers, scheduler): memory in MiB of each, named by role and pid."""

    def __init__(self, pgid: int, log: Path, run_dir: Path | None = None) -> None:
        self.pgid, self.log, self.run_dir = pgid, log, run_dir
        self.roles: dict[int, str] = {pgid: "master"}

    def _role(self, pid: int) -> str:
        if pid not in self.roles:
            # the supervisor names the model and scheduler processes; gunicorn logs each worker it boots
            from edge_server.supervisor import running_processes

            named = {p["pid"]: p["role"] for p in running_processes(self.run_dir)} if self.run_dir else {}
            booted = re.findall(r"Booting worker with pid: (\d+)", self.log.read_text(errors="replace"))
            self.roles[pid] = "worker" if str(pid) in booted else named.get(pid, "child")
        return self.roles[pid]

    def memory(self) -> dict[str, tuple[float, float]]:
        """(PSS, anonymous PSS) in MiB of each process, from /proc/PID/smaps_rollup.

        PSS counts pages shared between the processes once (the mmap'd text model is shared by every worker, so a
        plain RSS sum counts it once per worker); the anonymous part is heap and buffers, where a leak would show,
        while the file part is model and library pages the kernel can drop and read again.
        """
        found: dict[str, tuple[float, float]] = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                stat = Path(entry.path, "stat").read_text()
                fields = stat[stat.rindex(")") + 2:].split()
                if int(fields[2]) != self.pgid:  # field 5 of stat: the process group
                    continue
                rollup = dict(re.findall(r"^(\w+):\s+(\d+) kB", Path(entry.path, "smaps_rollup").read_text(),
                                         re.MULTILINE))
            except (OSError, ValueError, IndexError):
                continue  # the process ended while we looked
            pid = int(entry.name)
            found[f"{self._role(pid)} {pid}"] = (int(rollup["Pss"]) / 1024, int(rollup.get("Pss_Anon", 0)) / 1024)
        return found


def slope_per_10_min(samples: list[tuple[float, float]], after_s: float) -> float:
    """Least-squares growth in MiB per 10 minutes of the samples taken after after_s seconds."""
    points = [(t, mb) for t, mb in samples if t >= after_s]
    if len(points) < 10:
        return 0.0
    t, mb = np.array(points).T
    return round(float(np.polyfit(t, mb, 1)[0]) * 600, 1)


def memory_summary(samples: list[tuple[float, float]], settle: float) -> dict[str, float]:
    """Start, after settle seconds, middle, end, peak, the means of the first and last thirds, growth per 10 min
    after settle seconds and over the second half."""
    values = [mb for _, mb in samples]
    third = max(1, len(values) // 3)
    return {"start": round(values[0], 1),
            "after_first_minute": round(next((mb for t, mb in samples if t >= settle), values[-1]), 1),
            "middle": round(values[len(values) // 2], 1), "end": round(values[-1], 1), "peak": round(max(values), 1),
            "first_third_mean": round(float(np.mean(values[:third])), 1),
            "last_third_mean": round(float(np.mean(values[-third:])), 1),
            "growth_per_10_min": slope_per_10_min(samples, settle),
            # caches (SQLite pages, allocator pools, model pages) fill early and stop; a leak keeps growing
            "growth_second_half_per_10_min": slope_per_10_min(samples, samples[-1][0] / 2)}


def heap_reports(log: Path, started_wall: float, settle: float) -> dict[str, dict[str, Any]]:
    """Each worker's own C heap report (`heap_report_s`) from the server log: in use, free and mmap'd MiB over time.

    Resident memory cannot tell a leak from malloc keeping freed memory, or from model buffers touched for the first
    time; malloc's in-use count can.
    """
    series: dict[str, list[tuple[float, float, float, float]]] = defaultdict(list)
    for pid, wall, in_use, free, mmapped in HEAP_LINE.findall(log.read_text(errors="replace")):
        # from the first minute on: before it, the text model was not loaded yet (thirds would mix both)
        if float(wall) >= started_wall + settle:
            series[f"worker {pid}"].append((float(wall) - started_wall, float(in_use), float(free), float(mmapped)))
    return {name: {key: memory_summary([(p[0], p[i]) for p in points], settle)
                   for i, key in enumerate(("in_use", "free", "mmapped"), start=1)}
            for name, points in sorted(series.items()) if len(points) >= 2}


def prepare(data: Path, tablets: int) -> list[dict[str, str]]:
    """A box with the sample course and one class of pupils (PIN 1000 + i each); returns their refs and PINs."""
    from edge_server.sample import build_and_import_sample
    from edge_server.store import people
    from edge_server.store.db import open_box_db
    from edge_server.web import auth

    build_and_import_sample(data, data.parent / "keys")
    db = open_box_db(data / "box.db")
    try:
        class_id = people.add_class(db, "Class 5")
        pin_hash = {}
        pupils = []
        for i in range(tablets):
            pin = f"{1000 + i % 9000}"
            pin_hash.setdefault(pin, auth.hash_pin(pin))
            pupils.append({**people.add_pupil(db, class_id, f"Pupil {i + 1}", pin_hash[pin]), "pin": pin,
                           "class_id": class_id})
    finally:
        db.conn.close()
    return pupils


class Stats:
    """Latencies by route and outcomes, shared by the tablet threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.server_errors: dict[str, int] = defaultdict(int)
        self.other_errors: dict[str, int] = defaultdict(int)
        self.busy_429 = 0
        self.bytes = 0

    def record(self, route: str, seconds: float, status: int | None, size: int = 0) -> None:
        with self.lock:
            self.latency[route].append(seconds)
            self.bytes += size
            if status is None:
                self.other_errors[f"{route}: no answer"] += 1
            elif status >= 500:
                self.server_errors[f"{route}: {status}"] += 1
            elif status == 429 and route == "POST /api/v1/companion/ask":
                self.busy_429 += 1
            elif status >= 400:
                self.other_errors[f"{route}: {status}"] += 1


class Tablet:
    """One pupil's tablet: an HTTP session and what a pupil does in a lesson."""

    def __init__(self, base: str, pupil: dict[str, Any], stats: Stats, seed: int) -> None:
        self.base, self.pupil, self.stats = base, pupil, stats
        self.http = requests.Session()
        self.rng = random.Random(seed)
        self.csrf = ""

    def call(self, route: str, method: str, path: str, **kw: Any) -> requests.Response | None:
        start = time.perf_counter()
        try:
            response = self.http.request(method, self.base + path, timeout=60, allow_redirects=False, **kw)
        except requests.RequestException:
            self.stats.record(route, time.perf_counter() - start, None)
            return None
        self.stats.record(route, time.perf_counter() - start, response.status_code, len(response.content))
        return response

    def login(self) -> bool:
        ref = self.pupil["ref"]
        self.call("GET /", "GET", "/")
        self.call("GET /class/<id>", "GET", f"/class/{self.pupil['class_id']}")
        page = self.call("GET /login/<ref>", "GET", f"/login/{ref}")
        found = CSRF.search(page.text) if page is not None else None
        if found is None:
            return False
        done = self.call("POST /login/<ref>", "POST", f"/login/{ref}",
                         data={"pin": self.pupil["pin"], "csrf_token": found.group(1)})
        return done is not None and done.status_code == 302

    def lesson(self, lesson_id: str, think) -> None:
        page = self.call("GET /lesson/<id>", "GET", f"/lesson/{lesson_id}")
        found = CSRF.search(page.text) if page is not None else None
        self.csrf = found.group(1) if found else self.csrf
        doc = self.call("GET /api/v1/lessons/<id>", "GET", f"/api/v1/lessons/{lesson_id}")
        if doc is None or not doc.ok:
            return
        lesson = doc.json()
        media = lesson.get("media") or {}
        size = int(media.get("size") or 0)
        if media.get("url") and size:
            # Play from the start, then a few seeks, each reading a couple of chunks as a player buffers.
            for offset in [0] + [self.rng.randrange(0, size) for _ in range(self.rng.randint(1, 3))]:
                for k in range(2):
                    first = min(offset + k * CHUNK, size - 1)
                    self.call("GET media (range)", "GET", media["url"],
                              headers={"Range": f"bytes={first}-{min(first + CHUNK, size) - 1}"})
                think()
        for exercise in self.rng.sample(lesson["exercises"], min(len(lesson["exercises"]), self.rng.randint(1, 3))):
            self.call("POST /lesson/<id>/answer", "POST", f"/lesson/{lesson_id}/answer",
                      json={"exercise_id": exercise["id"], "response": ANSWERS.get(exercise["kind"], "1")},
                      headers={"X-CSRFToken": self.csrf})
            think()
        if self.rng.random() < 0.3:
            question = self.rng.choice(QUESTIONS)
            if self.rng.random() < UNIQUE_SHARE:
                # A question nobody asked before misses the answer cache and reaches the model.
                question = f"{question[:-1]}, {self.rng.choice(ASIDES)} {self.rng.randrange(10**6)}?"
            self.call("POST /api/v1/companion/ask", "POST", "/api/v1/companion/ask",
                      json={"question": question, "lesson_id": lesson_id},
                      headers={"X-CSRFToken": self.csrf})
            think()

    def run(self, deadline: float, stop: threading.Event) -> None:
        def think() -> None:
            stop.wait(self.rng.uniform(1.0, 4.0))

        stop.wait(self.rng.uniform(0, 5))  # tablets do not all wake at the same instant
        if stop.is_set() or not self.login():
            return
        lessons = self.call("GET /lessons", "GET", "/lessons")
        ids = re.findall(r'href="/lesson/([\w-]+)"', lessons.text if lessons is not None else "")
        ids = sorted(set(ids)) or ["water-cycle"]
        while time.monotonic() < deadline and not stop.is_set():
            self.lesson(self.rng.choice(ids), think)
            if self.rng.random() < 0.2:
                self.call("GET /lessons", "GET", "/lessons")


def start_server(data: Path, workers: int | None, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "EDGE_SERVER_ANNOUNCE": "false", "PYTHONWARNINGS": "ignore",
           "EDGE_SERVER_HEAP_REPORT_S": str(HEAP_REPORT_S)}
    with log.open("ab") as out:
        proc = subprocess.Popen([CLI, "serve", "--data", str(data), "--host", "127.0.0.1", "--port", str(port),
                                 *(["--workers", str(workers)] if workers else []), "--no-announce"],
                                stdout=out, stderr=subprocess.STDOUT,
                                env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"edge-server serve exited: {log.read_text()[-1000:]}")
        try:
            if requests.get(f"{base}/api/v1/health", timeout=2).ok:
                return proc, base
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError("edge-server serve did not answer within 120 s")


def percentile_ms(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)) * 1000, 1) if values else 0.0


def run(tablets: int, minutes: float, workers: int, ai_wait_s: float) -> dict[str, Any]:
    """Build the box, serve it, run the class, and return the figures."""
    with tempfile.TemporaryDirectory(prefix="bench-classroom-") as tmp:
        data = Path(tmp) / "var"
        print(f"building a box with the sample course and {tablets} pupils ...", file=sys.stderr, flush=True)
        pupils = prepare(data, tablets)
        log = Path(tmp) / "serve.log"
        proc, base = start_server(data, workers, log)
        server = ServerProcesses(proc.pid, log, data / "run")
        try:
            print("waiting for the AI queue (transcripts for the companion) ...", file=sys.stderr, flush=True)
            waited = time.monotonic()
            try:
                subprocess.run([CLI, "jobs", "wait", "--data", str(data)], capture_output=True, timeout=ai_wait_s,
                               check=False)
            except subprocess.TimeoutExpired:
                print(f"the AI queue was not empty after {ai_wait_s:g} s: going on", file=sys.stderr, flush=True)
            waited = time.monotonic() - waited
            stats, stop = Stats(), threading.Event()
            pss: list[tuple[float, float]] = []
            anon: list[tuple[float, float]] = []
            per_process: dict[str, list[tuple[float, float]]] = defaultdict(list)
            started, started_wall = time.monotonic(), time.time()
            deadline = started + minutes * 60

            def take() -> None:
                now, processes = time.monotonic() - started, server.memory()
                pss.append((now, sum(p for p, _ in processes.values())))
                anon.append((now, sum(a for _, a in processes.values())))
                for name, (_, mb) in processes.items():
                    per_process[name].append((now, mb))

            def sample() -> None:
                while not stop.wait(1.0):
                    take()

            take()
            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            print(f"{tablets} tablets for {minutes:g} min against {base} ...", file=sys.stderr, flush=True)
            threads = [threading.Thread(target=Tablet(base, p, stats, i).run, args=(deadline, stop), daemon=True)
                       for i, p in enumerate(pupils)]
            for thread in threads:
                thread.start()
            while time.monotonic() < deadline:
                time.sleep(min(30.0, max(0.0, deadline - time.monotonic())))
                done = sum(len(v) for v in stats.latency.values())
                print(f"  {time.monotonic() - started:5.0f} s: {done} requests, PSS {pss[-1][1]:.0f} MiB "
                      f"(anonymous {anon[-1][1]:.0f})",
                      file=sys.stderr, flush=True)
            stop.set()
            for thread in threads:
                thread.join(90)
            elapsed = time.monotonic() - started
            # The model runners load on the first companion question: growth is judged from the first minute on.
            settle = min(60.0, elapsed / 10)
            heap = heap_reports(log, started_wall, settle)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
    processes = {name: memory_summary(v, settle) for name, v in sorted(per_process.items())}
    routes = {route: {"requests": len(v), "p50_ms": percentile_ms(v, 50), "p99_ms": percentile_ms(v, 99)}
              for route, v in sorted(stats.latency.items())}
    every = [x for v in stats.latency.values() for x in v]
    return {
        "tablets": tablets, "minutes": minutes, "workers": workers, "seconds": round(elapsed, 1),
        "ai_wait_s": round(waited, 1),
        "requests": len(every), "requests_per_s": round(len(every) / elapsed, 1),
        "mb_served": round(stats.bytes / 2**20, 1),
        "p50_ms": percentile_ms(every, 50), "p99_ms": percentile_ms(every, 99), "routes": routes,
        "server_errors": sum(stats.server_errors.values()), "server_error_detail": dict(stats.server_errors),
        "other_errors": sum(stats.other_errors.values()), "other_error_detail": dict(stats.other_errors),
        "companion_busy_429": stats.busy_429,
        "pss_mb": memory_summary(pss, settle), "anon_mb": memory_summary(anon, settle),
        "anon_by_process_mb": processes, "heap_by_worker_mb": heap,
    }


def table(r: dict[str, Any]) -> str:
    """One aligned table: routes, then the totals."""
    lines = [f"classroom: {r['tablets']} tablets, {r['seconds']:.0f} s, {r['workers']} worker(s)",
             f"{'route':<32} {'requests':>9} {'p50 ms':>8} {'p99 ms':>8}"]
    for route, v in r["routes"].items():
        lines.append(f"{route:<32} {v['requests']:>9} {v['p50_ms']:>8.1f} {v['p99_ms']:>8.1f}")
    lines.append(f"{'all':<32} {r['requests']:>9} {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f}")
    lines += [f"requests/s {r['requests_per_s']}, {r['mb_served']} MiB served",
              f"5xx: {r['server_errors']} (goal 0) {r['server_error_detail'] or ''}",
              f"other errors: {r['other_errors']} {r['other_error_detail'] or ''}",
              f"companion 429 (one question pending, expected): {r['companion_busy_429']}"]
    for label, key in (("server PSS MiB", "pss_mb"), ("of which anonymous", "anon_mb")):
        m = r[key]
        lines.append(f"{label}: start {m['start']}, after 1 min {m['after_first_minute']}, middle {m['middle']}, "
                     f"end {m['end']}, peak {m['peak']} (first third mean {m['first_third_mean']}, last third "
                     f"{m['last_third_mean']}), growth after the first minute {m['growth_per_10_min']:+} MiB/10 min, "
                     f"over the second half {m['growth_second_half_per_10_min']:+}")
    for name, v in r["anon_by_process_mb"].items():
        lines.append(f"  {name:<18} anonymous after 1 min {v['after_first_minute']:>7} end {v['end']:>7} "
                     f"peak {v['peak']:>7} growth {v['growth_per_10_min']:+} MiB/10 min")
    for name, v in r["heap_by_worker_mb"].items():
        used, free, mapped = v["in_use"], v["free"], v["mmapped"]
        lines.append(f"  {name:<18} malloc in use after 1 min {used['after_first_minute']:>6} end {used['end']:>6} "
                     f"growth {used['growth_per_10_min']:+} MiB/10 min (second half "
                     f"{used['growth_second_half_per_10_min']:+}); free {free['end']}, mmap'd {mapped['end']} "
                     f"(growth {mapped['growth_per_10_min']:+})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tablets", type=int, default=60, help="simulated tablets (pupils)")
    parser.add_argument("--minutes", type=float, default=10.0, help="how long the class lasts")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes (one per core of the box)")
    parser.add_argument("--ai-wait", type=float, default=600.0, help="most seconds to wait for the AI queue first")
    parser.add_argument("--json", action="store_true", help="print JSON on stdout (the table goes to stderr)")
    args = parser.parse_args(argv)
    try:
        result = run(args.tablets, args.minutes, args.workers, args.ai_wait)
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    emit(result, table, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
