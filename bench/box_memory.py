"""Memory of the whole box with its defaults: RSS and PSS of every process at idle and after 100 companion asks.

Serves the sample course with `edge-server serve` and no flags (as many web workers as cores, one model process,
one scheduler), waits for the AI queue to index the lessons, measures, then logs in one pupil who asks 100
different questions one after the other, and measures again. PSS counts pages shared between processes once, so
it is the figure to add up; the RSS sum is shown beside it as the reference a plain `ps` would give.

    python -m bench.box_memory [--asks 100] [--json]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from bench.classroom import ASIDES, CLI, CSRF, QUESTIONS, ServerProcesses, prepare, start_server
from bench.report import emit


def memory(server: ServerProcesses) -> dict[str, Any]:
    """PSS and RSS in MiB, per role and in total."""
    rows: dict[str, dict[str, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            if int(stat[stat.rindex(")") + 2:].split()[2]) != server.pgid:
                continue
            rollup = dict(re.findall(r"^(\w+):\s+(\d+) kB", (entry / "smaps_rollup").read_text(), re.MULTILINE))
        except (OSError, ValueError, IndexError):
            continue
        role = server._role(int(entry.name))
        row = rows.setdefault(role, {"processes": 0, "pss_mb": 0.0, "rss_mb": 0.0})
        row["processes"] += 1
        row["pss_mb"] += int(rollup["Pss"]) / 1024
        row["rss_mb"] += int(rollup["Rss"]) / 1024
    total = {"pss_mb": sum(r["pss_mb"] for r in rows.values()), "rss_mb": sum(r["rss_mb"] for r in rows.values())}
    return {"roles": {k: {n: round(v, 1) for n, v in r.items()} for k, r in sorted(rows.items())},
            "total": {k: round(v, 1) for k, v in total.items()}}


def run(asks: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        data = Path(tmp) / "var"
        pupil = prepare(data, 1)[0]
        log = Path(tmp) / "serve.log"
        proc, base = start_server(data, None, log)
        server = ServerProcesses(proc.pid, log, data / "run")
        try:
            subprocess.run([CLI, "jobs", "wait", "--data", str(data)], capture_output=True, timeout=900, check=True)
            time.sleep(5)
            idle = memory(server)
            http = requests.Session()
            token = CSRF.search(http.get(f"{base}/login/{pupil['ref']}").text).group(1)
            http.post(f"{base}/login/{pupil['ref']}", data={"pin": pupil["pin"], "csrf_token": token})
            http.headers["X-CSRFToken"] = CSRF.search(http.get(f"{base}/lesson/water-cycle").text).group(1)
            methods: dict[str, int] = {}
            started = time.monotonic()
            for n in range(asks):
                # each question is new, so none is answered from the cache
                question = f"{QUESTIONS[n % len(QUESTIONS)][:-1]}, {ASIDES[n % len(ASIDES)]} {n}?"
                answer = http.post(f"{base}/api/v1/companion/ask", json={"question": question}, timeout=120)
                method = answer.json().get("method", "error") if answer.ok else f"http {answer.status_code}"
                methods[method] = methods.get(method, 0) + 1
            seconds = time.monotonic() - started
            time.sleep(2)
            after = memory(server)
        finally:
            proc.terminate()
            proc.wait(30)
    return {"idle": idle, "after_asks": after, "asks": asks, "methods": methods, "ask_seconds": round(seconds, 1)}


def table(r: dict[str, Any]) -> str:
    roles = sorted(set(r["idle"]["roles"]) | set(r["after_asks"]["roles"]))
    lines = [f"box memory with defaults, idle and after {r['asks']} companion asks ({r['ask_seconds']} s; "
             f"answers: {r['methods']})", "",
             f"{'process':12s} {'n':>3s} {'PSS idle':>9s} {'PSS after':>10s} {'RSS idle':>9s} {'RSS after':>10s}"]
    for role in roles:
        a, b = r["idle"]["roles"].get(role, {}), r["after_asks"]["roles"].get(role, {})
        lines.append(f"{role:12s} {int(b.get('processes', a.get('processes', 0))):3d} {a.get('pss_mb', 0):9.0f} "
                     f"{b.get('pss_mb', 0):10.0f} {a.get('rss_mb', 0):9.0f} {b.get('rss_mb', 0):10.0f}")
    idle, after = r["idle"]["total"], r["after_asks"]["total"]
    lines.append(f"{'whole box':12s} {'':3s} {idle['pss_mb']:9.0f} {after['pss_mb']:10.0f} "
                 f"{idle['rss_mb']:9.0f} {after['rss_mb']:10.0f}   (MiB)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--asks", type=int, default=100)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = run(args.asks)
    emit(result, table, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
