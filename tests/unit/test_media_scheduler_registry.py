"""The scheduler's job registry: what gets scheduled, with which trigger, and failures that stay contained."""

from __future__ import annotations

import logging

import pytest

from edge_server import scheduler
from edge_server.scheduler import Job, build_scheduler, resolve_target
from edge_server.settings import Settings

CALLS: list[str] = []


def record(settings: Settings) -> None:
    CALLS.append(settings.box_name)


def test_a_job_is_scheduled_with_its_trigger_values_computed_from_settings():
    settings = Settings(push_interval_s=123)
    sched = build_scheduler(settings, [Job(record, {"trigger": "interval", "seconds": lambda s: s.push_interval_s},
                                           id="push")])
    (job,) = sched.get_jobs()
    assert job.id == "push"
    assert job.trigger.interval.total_seconds() == 123


def test_a_job_whose_condition_is_false_for_this_box_is_left_out():
    jobs = [Job(record, {"trigger": "interval", "seconds": 5}, when=lambda s: bool(s.lrs_url), id="push"),
            Job(record, {"trigger": "cron", "hour": 2}, id="fit")]
    assert [j.id for j in build_scheduler(Settings(), jobs).get_jobs()] == ["fit"]
    assert [j.id for j in build_scheduler(Settings(lrs_url="http://lrs"), jobs).get_jobs()] == ["push", "fit"]


def test_a_dotted_target_is_imported_and_a_malformed_one_is_refused():
    assert resolve_target(f"{__name__}:record") is record
    with pytest.raises(ValueError):
        resolve_target("no_colon_here")


def test_a_job_that_cannot_be_added_is_logged_and_the_others_still_run(caplog):
    jobs = [Job("edge_server.no_such_module:run", {"trigger": "interval", "seconds": 1}, id="broken"),
            Job(record, {"trigger": "interval", "seconds": "not a number"}, id="bad-trigger"),
            Job(record, {"trigger": "interval", "seconds": 1}, id="fine")]
    with caplog.at_level(logging.ERROR, logger="edge_server.scheduler"):
        sched = build_scheduler(Settings(), jobs)
    assert [j.id for j in sched.get_jobs()] == ["fine"]
    assert "broken not added" in caplog.text and "bad-trigger not added" in caplog.text


def test_a_failing_job_is_logged_and_does_not_raise(caplog):
    def broken(_settings: Settings) -> None:
        raise RuntimeError("disk full")

    with caplog.at_level(logging.ERROR, logger="edge_server.scheduler"):
        scheduler._run("broken", broken, Settings())
    assert "broken failed" in caplog.text and "disk full" in caplog.text


def test_jobs_run_with_the_box_settings_when_the_scheduler_fires():
    CALLS.clear()
    from datetime import UTC, datetime

    sched = build_scheduler(Settings(box_name="school-7"),
                            [Job(record, {"trigger": "date", "run_date": datetime.now(UTC)}, id="once")])
    sched.start()
    try:
        import time

        deadline = time.monotonic() + 5
        # also wait until the scheduler has retired the one-shot job, so shutdown does not race its removal
        while (not CALLS or sched.get_job("once") is not None) and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        sched.shutdown(wait=True)
    assert CALLS == ["school-7"]


def test_the_box_jobs_are_a_list_built_when_asked_not_a_registry_filled_at_import():
    first, second = scheduler.box_jobs(), scheduler.box_jobs()
    assert [j.name for j in first] == [j.name for j in second] and first is not second
    ai = next(j for j in first if j.name == "ai-jobs")
    assert ai.target == "edge_server.jobs:scheduled_run" and dict(ai.trigger) == {"trigger": "interval", "seconds": 5}


def test_tick_and_heartbeat_periods_come_from_typed_settings():
    jobs = {j.id: j for j in build_scheduler(Settings(scheduler_heartbeat_s=7, sync_tick_s=11, lrs_url="https://x",
                                                      pack_origin="rsync://o/p")).get_jobs()}
    assert jobs["heartbeat"].trigger.interval.total_seconds() == 7
    assert jobs["sync-push"].trigger.interval.total_seconds() == 11
    assert jobs["sync-pull"].trigger.interval.total_seconds() == 11


def test_the_box_registry_builds_for_default_settings():
    names = [j.id for j in build_scheduler(Settings()).get_jobs()]
    assert "heartbeat" in names
    assert len(names) == len(set(names))
