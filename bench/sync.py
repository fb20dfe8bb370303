"""Sync benchmark: statements/s pushed to a local Ralph, exactly-once across forced cuts, privacy of what the LRS
received, bytes on the wire for a one-file pack update, and resuming after a cut (push and pull).

Uses the same real Ralph (from .ralph-venv, `make ralph`) and real rsync daemon as the tests, on 127.0.0.1.
Run: .venv/bin/python -m bench.sync [--statements N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from edge_server.identity import init_data_dir, install_trust_anchor
from edge_server.settings import load_settings
from edge_server.store.db import open_box_db
from edge_server.store.outbox import SqliteOutbox
from edge_server.sync_runs import run_pull
from sync import lrs_push
from tests.cutproxy import CutProxy
from tests.lrs import free_port, ralph_available, start_ralph
from tests.sync_fixtures import CHANNEL, RsyncDaemon, add_attempts, keys, media, publish

EDGE = [sys.executable, "-c", "from edge_server.cli import main; main()"]


def _box(root: Path, public: Path | None = None) -> Path:
    data = root / "var"
    init_data_dir(data, trust=None, name="bench-box")
    if public is not None:
        install_trust_anchor(data / "keys" / "trusted", public)
    return data


def _outbox_ids(data: Path) -> list[str]:
    db = open_box_db(data / "box.db")
    try:
        return [r[0] for r in db.execute("SELECT statement_id FROM outbox ORDER BY id").fetchall()]
    finally:
        db.conn.close()


def push_rate(root: Path, statements: int, batch_size: int, adaptive: bool) -> dict[str, Any]:
    """Statements per second from a full outbox into a fresh Ralph, one push run (fixed or adaptive batches)."""
    data = _box(root)
    total = add_attempts(data, statements, pupils=40)
    ralph = start_ralph(root / "ralph")
    try:
        lrs = lrs_push.LrsConfig(url=ralph.url, user=ralph.user, password=ralph.password)
        db = open_box_db(data / "box.db")
        try:
            started = time.perf_counter()
            result = lrs_push.push(SqliteOutbox(db), lrs, batch_size=batch_size,
                                   max_batch_size=2000 if adaptive else None)
            elapsed = time.perf_counter() - started
        finally:
            db.conn.close()
        held = len(ralph.stored_lines())
    finally:
        ralph.stop()
    return {"batch_size": batch_size, "adaptive": adaptive, "statements": total, "seconds": round(elapsed, 3),
            "per_second": round(total / elapsed), "complete": result.complete, "held": held}


def forced_cuts(root: Path, statements: int, cuts: int) -> dict[str, Any]:
    """Push through a proxy that cuts `cuts` connections mid-request or mid-response; count lost and doubled."""
    data = _box(root)
    add_attempts(data, statements)
    ralph = start_ralph(root / "ralph")
    proxy = CutProxy(upstream_port=ralph.port, cuts_wanted=cuts, max_request_bytes=60_000).start()
    try:
        lrs = lrs_push.LrsConfig(url=f"http://127.0.0.1:{proxy.port}/xAPI", user=ralph.user,
                                 password=ralph.password, read_timeout_s=10)
        db = open_box_db(data / "box.db")
        runs = 0
        try:
            started = time.perf_counter()
            while runs < 500:
                runs += 1
                result = lrs_push.push(SqliteOutbox(db), lrs, batch_size=50, max_batch_size=None,
                                       backoff=lrs_push.Backoff(base_s=0.001, cap_s=0.01, retries=3))
                if result.complete:
                    break
            elapsed = time.perf_counter() - started
        finally:
            db.conn.close()
        expected = _outbox_ids(data)
        written = [s["id"] for s in ralph.stored_lines()]
        names = json.dumps(ralph.statements())
    finally:
        proxy.stop()
        ralph.stop()
    leaked = sum(f"Pupil {i}" in names or f"ref-{i}" in names for i in range(10))
    return {"statements": len(expected), "cuts": proxy.cuts_done, "request_cuts": proxy.request_cuts,
            "response_cuts": proxy.response_cuts, "push_runs": runs, "seconds": round(elapsed, 2),
            "lost": len(set(expected) - set(written)), "duplicated": len(written) - len(set(written)),
            "pupils_named_in_statements": leaked}


def push_resume(root: Path) -> dict[str, Any]:
    """Seconds from the LRS link coming back to the first acknowledged batch."""
    data = _box(root)
    add_attempts(data, 500)
    port = free_port()
    lrs = lrs_push.LrsConfig(url=f"http://127.0.0.1:{port}/xAPI", user="classroom-box",
                             password="ralph-test-password")
    db = open_box_db(data / "box.db")
    try:
        down = lrs_push.push(SqliteOutbox(db), lrs, backoff=lrs_push.Backoff(retries=0))
        ralph = start_ralph(root / "ralph", port=port)  # the link comes back
        try:
            started = time.perf_counter()
            first = lrs_push.push(SqliteOutbox(db), lrs, batch_size=200, max_batches=1)
            first_batch = time.perf_counter() - started
            rest = lrs_push.push(SqliteOutbox(db), lrs, batch_size=200)
        finally:
            ralph.stop()
    finally:
        db.conn.close()
    return {"while_down": down.error, "first_batch_s": round(first_batch, 3), "sent": first.sent + rest.sent,
            "complete": rest.complete}


def pack_update(root: Path) -> dict[str, Any]:
    """Bytes received for a pack update where one file of twenty changed, against the pack's size."""
    private, public = keys(root / "province")
    daemon = RsyncDaemon(root=root / "origin", workdir=root / "rsyncd").start()
    try:
        data = _box(root, public)
        settings = load_settings(data)
        files = media(20, 200_000, seed=1)
        origin = publish(root, daemon, private, 1, files)
        full = sum(p.stat().st_size for p in origin.rglob("*") if p.is_file())
        first = run_pull(settings, daemon.url)
        files["media/clip-11.ogg"] = os.urandom(200_000)
        publish(root, daemon, private, 2, files)
        started = time.perf_counter()
        second = run_pull(settings, daemon.url)
        elapsed = time.perf_counter() - started
    finally:
        daemon.stop()
    channel = second["channels"][0]
    return {"pack_bytes": full, "first_pull_bytes": first["bytes_received"], "update_bytes": channel["bytes_received"],
            "update_fraction": round(channel["bytes_received"] / full, 4), "status": channel["status"],
            "update_seconds": round(elapsed, 3)}


def pull_resume(root: Path) -> dict[str, Any]:
    """Kill -9 a bandwidth-limited pull mid-transfer, then resume: bytes moved against bytes missing, and time."""
    private, public = keys(root / "province")
    daemon = RsyncDaemon(root=root / "origin", workdir=root / "rsyncd").start()
    try:
        data = _box(root, public)
        origin = publish(root, daemon, private, 1, {"media/lecture.ogg": os.urandom(4_000_000)})
        size = sum(p.stat().st_size for p in origin.rglob("*") if p.is_file())
        staging = data / "content" / ".staging" / CHANNEL
        proc = subprocess.Popen([*EDGE, "sync", "pull", "--data", str(data), "--origin", daemon.url],
                                env={**os.environ, "EDGE_SERVER_RSYNC_BWLIMIT_KBPS": "1000"},
                                start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            have = sum(p.stat().st_size for p in staging.rglob("*") if p.is_file()) if staging.exists() else 0
            if have >= size // 2:
                break
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        present = sum(p.stat().st_size for p in staging.rglob("*") if p.is_file())
        started = time.perf_counter()
        resumed = run_pull(load_settings(data), daemon.url)
        elapsed = time.perf_counter() - started
    finally:
        daemon.stop()
    moved = resumed["bytes_received"]
    missing = size - present
    return {"pack_bytes": size, "present_after_kill": present, "missing": missing, "moved_on_resume": moved,
            "ratio": round(moved / missing, 4) if missing else None, "resume_seconds": round(elapsed, 3),
            "status": resumed["channels"][0]["status"]}


def run(statements: int) -> dict[str, Any]:
    """Every measurement, each in its own temporary folder."""
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp:
        root = Path(tmp)
        if ralph_available():
            default = load_settings(root).push_batch_size
            results["push_rate"] = [push_rate(root / f"rate-{b}-{a}", statements, b, a)
                                    for b, a in ((100, False), (1000, False), (default, True))]
            results["forced_cuts"] = forced_cuts(root / "cuts", 1000, 50)
            results["push_resume"] = push_resume(root / "push-resume")
        else:
            results["push_skipped"] = "Ralph's venv missing: run `make ralph`"
        results["pack_update"] = pack_update(root / "update")
        results["pull_resume"] = pull_resume(root / "pull-resume")
    return results


def table(results: dict[str, Any]) -> str:
    """The figures beside their references."""
    rows = [("figure", "measured", "reference")]
    for rate in results.get("push_rate", []):
        how = f"from {rate['batch_size']}, doubling to 2000" if rate["adaptive"] else f"fixed {rate['batch_size']}"
        rows.append((f"push to Ralph, batches {how} ({rate['statements']} statements)",
                     f"{rate['per_second']:,}/s", ">= 2,000/s"))
    if "forced_cuts" in results:
        cuts = results["forced_cuts"]
        rows.append((f"forced cuts ({cuts['request_cuts']} in request, {cuts['response_cuts']} in response)",
                     str(cuts["cuts"]), "50"))
        rows.append(("statements lost / duplicated across the cuts", f"{cuts['lost']} / {cuts['duplicated']}",
                     "0 / 0"))
        rows.append(("pupil names or roster ids in statements", str(cuts["pupils_named_in_statements"]), "0"))
        rows.append(("push: link back -> first batch acknowledged", f"{results['push_resume']['first_batch_s']} s",
                     "one round trip"))
    if "push_skipped" in results:
        rows.append(("push figures", "skipped", results["push_skipped"]))
    update = results["pack_update"]
    rows.append(("pack update, 1 of 20 files changed: bytes received",
                 f"{update['update_bytes']:,} of {update['pack_bytes']:,} ({update['update_fraction']:.1%})",
                 "~1/20 of the pack"))
    resume = results["pull_resume"]
    rows.append(("pull resumed after kill -9: bytes moved / bytes missing", f"{resume['ratio']}x", "<= 1.1x"))
    rows.append(("pull resumed after kill -9: time to finish", f"{resume['resume_seconds']} s",
                 f"{resume['missing']:,} bytes missing"))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)) for r in rows)


def main() -> None:
    """Run the sync benchmark and print a table (or --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--statements", type=int, default=10_000, help="outbox size for the push rate")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    results = run(args.statements)
    print(json.dumps(results, indent=2) if args.json else table(results))


if __name__ == "__main__":
    main()
