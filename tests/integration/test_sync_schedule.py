"""The scheduler's sync ticks against a real LRS and a real rsync daemon: intervals, backoff, link coming back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from edge_server.identity import install_trust_anchor
from edge_server.settings import load_settings
from edge_server.store import sync_state
from edge_server.store.db import open_box_db
from edge_server.sync_runs import pull_tick, push_tick
from tests.lrs import free_port, start_ralph
from tests.requirements import require_ralph
from tests.sync_fixtures import CHANNEL, RsyncDaemon, add_attempts, keys, media, publish


def state(data_dir: Path) -> dict:
    db = open_box_db(data_dir / "box.db")
    try:
        return {"summary": sync_state.summary(db), "next_push_at": sync_state.get_value(db, "next_push_at"),
                "next_pull_at": sync_state.get_value(db, "next_pull_at"),
                "push_failures": sync_state.get_value(db, "push_failures")}
    finally:
        db.conn.close()


def test_push_tick_pushes_when_due_then_waits_an_interval(tmp_path: Path, data_dir: Path) -> None:
    require_ralph()
    add_attempts(data_dir, 50)
    ralph = start_ralph(tmp_path / "ralph")
    try:
        settings = load_settings(data_dir, lrs_url=ralph.url, lrs_user=ralph.user, lrs_password=ralph.password,
                                 push_interval_s=300)
        now = datetime.now(UTC)
        assert push_tick(settings, now) == "pushed"
        assert push_tick(settings, now + timedelta(seconds=10)) == "waiting"
        after = state(data_dir)
        assert after["summary"]["statements_pending"] == 0 and after["summary"]["link"] == "up"
        assert datetime.fromisoformat(after["next_push_at"]) == now + timedelta(seconds=300)
        assert len(ralph.statements()) == after["summary"]["statements_sent"]
    finally:
        ralph.stop()


def test_push_tick_backs_off_with_jitter_while_the_lrs_is_unreachable(data_dir: Path) -> None:
    add_attempts(data_dir, 5)
    settings = load_settings(data_dir, lrs_url=f"http://127.0.0.1:{free_port()}/xAPI", push_interval_s=600)
    now = datetime.now(UTC)
    delays = []
    for _ in range(4):
        assert push_tick(settings, now) == "failed"
        nxt = datetime.fromisoformat(state(data_dir)["next_push_at"])
        delays.append((nxt - now).total_seconds())
        now = nxt
    after = state(data_dir)
    assert after["push_failures"] == 4 and after["summary"]["link"] == "down"
    assert after["summary"]["statements_pending"] > 0 and "link down" in after["summary"]["last_error"]
    # 30 s base doubling, equal jitter: each wait lies in [step/2, step], never past the push interval.
    for failures, delay in enumerate(delays, start=1):
        step = min(600, 30 * 2 ** (failures - 1))
        assert step / 2 <= delay <= step


def test_pull_tick_pulls_on_schedule_and_as_soon_as_the_origin_comes_back(tmp_path: Path, data_dir: Path) -> None:
    private, public = keys(tmp_path / "province")
    install_trust_anchor(data_dir / "keys" / "trusted", public)
    daemon = RsyncDaemon(root=tmp_path / "origin", workdir=tmp_path / "rsyncd").start()
    try:
        files = media(2, 5_000)
        publish(tmp_path, daemon, private, 1, files)
        settings = load_settings(data_dir, pack_origin=daemon.url, pull_interval_s=3600)
        now = datetime.now(UTC)
        assert pull_tick(settings, now) == "pulled"
        assert pull_tick(settings, now + timedelta(seconds=30)) == "waiting"
        daemon.stop()
        assert pull_tick(settings, now + timedelta(seconds=60)) == "link down"
        publish(tmp_path, daemon, private, 2, {**files, "media/clip-00.ogg": b"new"})
        daemon.start()
        # Long before the hour is up: the link came back, so it pulls now.
        assert pull_tick(settings, now + timedelta(seconds=90)) == "pulled"
        assert [(c["channel"], c["version"]) for c in state(data_dir)["summary"]["channels"]] == [(CHANNEL, 2)]
    finally:
        daemon.stop()
