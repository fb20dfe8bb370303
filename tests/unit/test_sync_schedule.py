"""Sync scheduling decisions: jittered backoff, intervals, pulling when the link comes back, what to probe."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sync import schedule
from sync.lrs_push import Backoff

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_backoff_doubles_with_equal_jitter_and_stops_at_the_cap() -> None:
    rng = random.Random(1)
    for failures, step in [(1, 30), (2, 60), (3, 120), (4, 240), (5, 300), (9, 300)]:
        waits = [schedule.backoff_s(failures, 30, 300, rng) for _ in range(200)]
        assert all(step / 2 <= w <= step for w in waits)
        assert max(waits) - min(waits) > step / 4  # jittered, so a fleet of boxes does not retry in step
    assert schedule.backoff_s(0, 30, 300) == 0


def test_after_a_success_the_next_run_is_one_interval_later_and_after_a_failure_sooner() -> None:
    assert schedule.next_attempt(NOW, True, 0, 300) == NOW + timedelta(seconds=300)
    retry = schedule.next_attempt(NOW, False, 1, 300, base_s=30, rng=random.Random(3))
    assert NOW + timedelta(seconds=15) <= retry <= NOW + timedelta(seconds=30)


def test_a_pull_is_due_on_schedule_or_when_the_link_comes_back_but_never_while_it_is_down() -> None:
    later = NOW + timedelta(hours=1)
    assert schedule.pull_due(NOW, None, None, True)
    assert not schedule.pull_due(NOW, later, True, True)
    assert schedule.pull_due(NOW, later, False, True)
    assert not schedule.pull_due(later, NOW, True, False)


def test_probes_go_to_the_lrs_host_and_port_or_the_origin_daemon_or_ssh_port() -> None:
    assert schedule.endpoint("http://lrs.example:8100/xAPI") == ("lrs.example", 8100)
    assert schedule.endpoint("https://lrs.example/xAPI") == ("lrs.example", 443)
    assert schedule.endpoint("rsync://origin.example/packs") == ("origin.example", 873)
    assert schedule.endpoint("origin.example::packs") == ("origin.example", 873)
    assert schedule.endpoint("sync@origin.example:/srv/packs") == ("origin.example", 22)
    assert schedule.endpoint("/mnt/usb/packs") is None
    assert schedule.probe("/mnt/usb/packs")


def test_push_retry_delays_stay_within_the_exponential_envelope() -> None:
    backoff = Backoff(base_s=0.5, cap_s=4, retries=5)
    rng = random.Random(5)
    for attempt in range(6):
        assert all(0 <= backoff.delay(attempt, rng) <= min(4, 0.5 * 2 ** attempt) for _ in range(100))


def test_the_box_schedules_sync_jobs_only_for_what_it_is_configured_to_reach() -> None:
    from edge_server.scheduler import build_scheduler
    from edge_server.settings import Settings

    def ids(settings: Settings) -> set[str]:
        return {job.id for job in build_scheduler(settings).get_jobs()}

    assert {"sync-push", "sync-pull"} <= ids(Settings(lrs_url="http://lrs:8100/xAPI", pack_origin="rsync://o/packs"))
    assert not {"sync-push", "sync-pull"} & ids(Settings())
    assert "sync-pull" not in ids(Settings(lrs_url="http://lrs:8100/xAPI"))
