"""Progress push against a real Ralph LRS on loopback: exactly once through cuts, kills and resends."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from edge_server.store import outbox as store_outbox
from edge_server.store.db import open_box_db, write
from edge_server.store.outbox import SqliteOutbox
from sync import lrs_push
from tests.cutproxy import CutProxy
from tests.lrs import Ralph, free_port, start_ralph
from tests.requirements import require_nginx, require_ralph
from tests.sync_fixtures import EDGE, add_attempts


@pytest.fixture(scope="module", autouse=True)
def _needs_ralph() -> None:
    require_ralph()


@pytest.fixture
def ralph(tmp_path: Path):
    lrs = start_ralph(tmp_path / "ralph")
    yield lrs
    lrs.stop()


def outbox(data_dir: Path) -> list[dict]:
    conn = sqlite3.connect(data_dir / "box.db")
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM outbox ORDER BY id")]
    finally:
        conn.close()


def assert_exactly_once(data_dir: Path, lrs: Ralph) -> None:
    rows = outbox(data_dir)
    expected = {r["statement_id"] for r in rows}
    held = [s["id"] for s in lrs.statements()]
    written = [s["id"] for s in lrs.stored_lines()]
    assert sorted(held) == sorted(expected)
    assert sorted(written) == sorted(expected), "the LRS file holds a statement twice or misses one"
    assert all(r["sent_at"] is not None for r in rows)


def push_cli(data_dir: Path, lrs_url: str, user: str, password: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([*EDGE, "sync", "push", "--data", str(data_dir), "--lrs", lrs_url, "--lrs-user", user,
                           "--lrs-password", password, *extra], capture_output=True, text=True, timeout=120)


def push_until_complete(data_dir: Path, lrs: lrs_push.LrsConfig,
                        check: Callable[[lrs_push.PushResult], None] | None = None) -> lrs_push.PushResult:
    """Push run after run, as the scheduler would (each run stops cleanly when the link drops), in batches of 50
    with a quick backoff, until nothing is left or 200 runs have passed; check sees every run's result."""
    db = open_box_db(data_dir / "box.db")
    try:
        for _ in range(200):
            result = lrs_push.push(SqliteOutbox(db), lrs, batch_size=50, max_batch_size=None,
                                   backoff=lrs_push.Backoff(base_s=0.001, cap_s=0.01, retries=3))
            if check:
                check(result)
            if result.complete:
                break
        return result
    finally:
        db.conn.close()


def test_push_stores_every_statement_once_and_exits_zero(data_dir: Path, ralph: Ralph) -> None:
    total = add_attempts(data_dir, 300)
    done = push_cli(data_dir, ralph.url, ralph.user, ralph.password)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["sent"] == total and 200 < total <= 600
    assert report["batches"] == 2  # 200, then doubled to 400 after the first acknowledgement
    assert_exactly_once(data_dir, ralph)


def test_push_through_fifty_cuts_mid_request_loses_and_doubles_nothing(data_dir: Path, ralph: Ralph) -> None:
    add_attempts(data_dir, 1000)
    proxy = CutProxy(upstream_port=ralph.port, cuts_wanted=50, max_request_bytes=60_000).start()
    lrs = lrs_push.LrsConfig(url=f"http://127.0.0.1:{proxy.port}/xAPI", user=ralph.user, password=ralph.password,
                             read_timeout_s=10)
    try:
        result = push_until_complete(data_dir, lrs)
        assert result.complete, result
    finally:
        proxy.stop()
    assert proxy.cuts_done >= 50
    assert proxy.request_cuts > 5 and proxy.response_cuts > 5  # both lost requests and lost acknowledgements
    assert_exactly_once(data_dir, ralph)


def test_kill_9_of_a_push_mid_batch_then_resume_loses_and_doubles_nothing(data_dir: Path, ralph: Ralph) -> None:
    total = add_attempts(data_dir, 3000)
    # Acknowledgements come back slowly, so the kill lands after the LRS stored a batch and before the box knew.
    proxy = CutProxy(upstream_port=ralph.port, response_delay_s=0.4).start()
    proc = subprocess.Popen([*EDGE, "sync", "push", "--data", str(data_dir), "--lrs",
                             f"http://127.0.0.1:{proxy.port}/xAPI", "--lrs-user", ralph.user, "--lrs-password",
                             ralph.password, "--batch-size", "100"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            sent = sum(r["sent_at"] is not None for r in outbox(data_dir))
            held = ralph.store_file.read_bytes().count(b"\n") if ralph.store_file.exists() else 0
            if sent >= 100 and held > sent:
                break
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        proxy.stop()
    sent = sum(r["sent_at"] is not None for r in outbox(data_dir))
    assert 0 < sent < len(ralph.stored_lines()) < total, "the kill must land between storing a batch and its ack"
    done = push_cli(data_dir, ralph.url, ralph.user, ralph.password)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["duplicates"] > 0  # the unacknowledged batch was sent again, and kept once
    assert_exactly_once(data_dir, ralph)


def test_a_statement_delivered_twice_is_stored_once(data_dir: Path, ralph: Ralph) -> None:
    total = add_attempts(data_dir, 120)
    assert push_cli(data_dir, ralph.url, ralph.user, ralph.password).returncode == 0
    # The acknowledgement was lost: the box sends everything again.
    conn = sqlite3.connect(data_dir / "box.db")
    conn.execute("UPDATE outbox SET sent_at = NULL")
    conn.commit()
    conn.close()
    again = push_cli(data_dir, ralph.url, ralph.user, ralph.password)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["duplicates"] == total
    assert_exactly_once(data_dir, ralph)


def test_statements_delivered_longer_ago_than_the_keep_period_are_pruned_and_unsent_ones_stay(
        data_dir: Path, ralph: Ralph) -> None:
    add_attempts(data_dir, 60)
    assert push_cli(data_dir, ralph.url, ralph.user, ralph.password).returncode == 0
    conn = sqlite3.connect(data_dir / "box.db")
    conn.execute("UPDATE outbox SET sent_at = '2026-01-01T00:00:00+00:00' WHERE id % 2 = 0")
    old = conn.execute("SELECT COUNT(*) FROM outbox WHERE id % 2 = 0").fetchone()[0]
    conn.commit()
    conn.close()
    total = add_attempts(data_dir, 30, start=60)
    done = push_cli(data_dir, ralph.url, ralph.user, ralph.password)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["pruned"] == old > 0
    rows = outbox(data_dir)
    assert len(rows) == total - old and all(r["sent_at"] > "2026-01-02" for r in rows)
    held = [s["id"] for s in ralph.statements()]
    assert len(held) == len(set(held)) == total  # pruning on the box takes nothing from the LRS


def test_a_known_id_with_other_content_does_not_block_the_queue(data_dir: Path, ralph: Ralph, tmp_path: Path) -> None:
    add_attempts(data_dir, 30)
    first = outbox(data_dir)[0]
    statement = json.loads(first["statement"])
    statement["result"]["success"] = not statement["result"]["success"]
    lrs = lrs_push.LrsConfig(url=ralph.url, user=ralph.user, password=ralph.password)
    other = open_box_db(tmp_path / "other.db")  # another box's outbox holding the changed statement
    write(other, lambda tx: store_outbox.enqueue(tx, statement))
    assert lrs_push.push(SqliteOutbox(other), lrs).complete  # the LRS now holds a different statement under that id
    other.conn.close()
    done = push_cli(data_dir, ralph.url, ralph.user, ralph.password)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["conflicts"] == 1 and report["pending"] == 0
    rows = outbox(data_dir)
    assert rows[0]["last_error"].startswith(lrs_push.CONFLICT)
    assert {s["id"] for s in ralph.statements()} == {r["statement_id"] for r in rows}


def test_statements_keep_their_recorded_time_when_the_box_clock_is_far_off(data_dir: Path, ralph: Ralph) -> None:
    add_attempts(data_dir, 5, ts="1971-02-03T04:05:06Z")
    add_attempts(data_dir, 5, ts="2099-12-31T23:59:58Z", start=100)
    assert push_cli(data_dir, ralph.url, ralph.user, ralph.password).returncode == 0
    stamps = sorted({s["timestamp"] for s in ralph.statements()})
    assert stamps == ["1971-02-03T04:05:06+00:00", "2099-12-31T23:59:58+00:00"] or stamps == [
        "1971-02-03T04:05:06.000Z", "2099-12-31T23:59:58.000Z"]
    assert_exactly_once(data_dir, ralph)


def test_push_without_a_link_exits_non_zero_in_one_line_and_keeps_everything(data_dir: Path) -> None:
    total = add_attempts(data_dir, 20)
    dead = f"http://127.0.0.1:{free_port()}/xAPI"
    done = push_cli(data_dir, dead, "u", "p", "--retries", "1")
    assert done.returncode != 0
    assert len(done.stderr.strip().splitlines()) == 1 and "link down" in done.stderr
    assert sum(r["sent_at"] is None for r in outbox(data_dir)) == total
    status = subprocess.run([*EDGE, "sync", "status", "--data", str(data_dir), "--json"], capture_output=True,
                            text=True, check=True)
    summary = json.loads(status.stdout)
    assert summary["statements_pending"] == total and "link down" in summary["last_error"]


def test_push_with_a_wrong_password_exits_non_zero_and_says_so(data_dir: Path, ralph: Ralph) -> None:
    add_attempts(data_dir, 3)
    done = push_cli(data_dir, ralph.url, ralph.user, "not-the-password")
    assert done.returncode != 0
    assert "credentials" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert ralph.statements() == []


def test_a_statement_the_lrs_refuses_as_malformed_is_set_aside_and_the_rest_still_go(data_dir: Path,
                                                                                     ralph: Ralph) -> None:
    total = add_attempts(data_dir, 40)
    conn = sqlite3.connect(data_dir / "box.db")
    conn.execute("UPDATE outbox SET statement = ? WHERE id = 3",
                 (json.dumps({"id": outbox(data_dir)[2]["statement_id"], "verb": "not a verb"}),))
    conn.commit()
    conn.close()
    done = push_cli(data_dir, ralph.url, ralph.user, ralph.password, "--batch-size", "10")
    assert done.returncode != 0 and "malformed" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    report = json.loads(done.stdout)
    assert report["rejected"] == 1 and report["pending"] == 1 and report["sent"] == total - 1
    held = {s["id"] for s in ralph.statements()}
    assert len(held) == total - 1 and outbox(data_dir)[2]["statement_id"] not in held
    again = push_cli(data_dir, ralph.url, ralph.user, ralph.password)
    assert again.returncode != 0 and json.loads(again.stdout)["sent"] == 0  # set aside, not retried in a loop


def test_a_proxy_refusing_big_bodies_makes_batches_smaller_and_everything_still_arrives(tmp_path: Path,
                                                                                         data_dir: Path,
                                                                                         ralph: Ralph) -> None:
    require_nginx()
    total = add_attempts(data_dir, 600)
    port, work = free_port(), tmp_path / "nginx"
    work.mkdir()
    user = "user root;\n" if os.getuid() == 0 else ""
    (work / "nginx.conf").write_text(
        f"{user}worker_processes 1;\npid {work}/nginx.pid;\nerror_log {work}/error.log;\n"
        "events { worker_connections 64; }\n"
        f"http {{ access_log off; client_body_temp_path {work}/body; proxy_temp_path {work}/proxy;\n"
        f"  fastcgi_temp_path {work}/fcgi; uwsgi_temp_path {work}/uwsgi; scgi_temp_path {work}/scgi;\n"
        f"  server {{ listen 127.0.0.1:{port}; client_max_body_size 100k;\n"
        f"    location / {{ proxy_pass http://127.0.0.1:{ralph.port}; }} }} }}\n")
    nginx = subprocess.Popen(["nginx", "-c", str(work / "nginx.conf"), "-p", str(work), "-g", "daemon off;"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        done = push_cli(data_dir, f"http://127.0.0.1:{port}/xAPI", ralph.user, ralph.password)
    finally:
        nginx.terminate()
        nginx.wait(10)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["sent"] == total and report["batches"] > total / 200  # ~800-byte statements, 100 kB bodies
    assert_exactly_once(data_dir, ralph)
