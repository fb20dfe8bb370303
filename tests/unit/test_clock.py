"""The box's one clock: time.time in UTC, stored with microseconds or in whole seconds as before."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from edge_server import clock

NOON = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC).timestamp()


def test_now_is_an_aware_utc_time_read_from_time_time(monkeypatch):
    monkeypatch.setattr(time, "time", lambda: NOON + 0.25)
    assert clock.now() == datetime(2026, 11, 30, 12, 0, 0, 250000, tzinfo=UTC)
    assert clock.now().tzinfo is UTC


def test_the_microsecond_form_keeps_six_digits_even_on_a_whole_second(monkeypatch):
    monkeypatch.setattr(time, "time", lambda: NOON)
    assert clock.now_iso() == "2026-11-30T12:00:00.000000+00:00"
    monkeypatch.setattr(time, "time", lambda: NOON + 0.123456)
    assert clock.now_iso() == "2026-11-30T12:00:00.123456+00:00"


def test_the_seconds_form_drops_the_fraction(monkeypatch):
    monkeypatch.setattr(time, "time", lambda: NOON + 59.9)
    assert clock.now_iso_seconds() == "2026-11-30T12:00:59+00:00"


def test_both_forms_read_back_as_the_same_moment_as_the_old_helpers_wrote_it():
    stamp = clock.now_iso()
    assert len(stamp) == len("2026-11-30T12:00:00.000000+00:00")
    assert datetime.fromisoformat(stamp).tzinfo is not None
    assert datetime.fromisoformat(clock.now_iso_seconds()).microsecond == 0
