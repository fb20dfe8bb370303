"""Pure rules of tablets that work offline: answer ids, device times and their clock offset, take-home windows,
which media fit a tablet's budget."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from edge_server.domain import offline
from edge_server.tablets import KeptLesson, plan_media

RECEIVED = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)


def test_an_answer_time_is_the_tablets_time_plus_the_offset_it_measured():
    tablet_clock = datetime(2026, 3, 2, 17, 30, tzinfo=UTC)  # the tablet is 2 hours slow
    two_hours = 2 * 3600 * 1000
    assert offline.answer_time(int(tablet_clock.timestamp() * 1000), two_hours, RECEIVED) == \
        datetime(2026, 3, 2, 19, 30, tzinfo=UTC)
    assert offline.answer_time("2026-03-02T17:30:00Z", two_hours, RECEIVED) == datetime(2026, 3, 2, 19, 30, tzinfo=UTC)
    assert offline.answer_time("2026-03-02T18:30:00+01:00", 0, RECEIVED) == datetime(2026, 3, 2, 17, 30, tzinfo=UTC)


def test_an_answer_time_is_never_after_it_was_received_nor_older_than_the_limit():
    assert offline.answer_time("2026-03-04T08:00:00Z", 0, RECEIVED) == RECEIVED
    assert offline.answer_time("2026-03-03T07:00:00Z", 3 * 3600 * 1000, RECEIVED) == RECEIVED
    assert offline.answer_time("1970-01-01T00:00:00Z", 0, RECEIVED) == RECEIVED - offline.MAX_ANSWER_AGE
    assert offline.answer_time(None, 5000, RECEIVED) == RECEIVED


@pytest.mark.parametrize("bad", ["yesterday", True, float("nan"), "2026-13-01T00:00:00", [], "9" * 50])
def test_a_malformed_answer_time_is_refused(bad):
    with pytest.raises(offline.BadAnswerOrigin):
        offline.answer_time(bad, 0, RECEIVED)


@pytest.mark.parametrize("bad", ["12", True, float("inf"), 11 * 365 * 86_400_000])
def test_a_malformed_clock_offset_is_refused(bad):
    with pytest.raises(offline.BadAnswerOrigin):
        offline.clock_offset_ms(bad)


def test_an_attempt_id_is_a_uuid_in_its_canonical_form():
    made = uuid.uuid4()
    assert offline.attempt_id(str(made).upper()) == str(made)
    assert offline.attempt_id(None) is None and offline.attempt_id("") is None
    for bad in ("1234", 42, "x" * 100, {"id": 1}):
        with pytest.raises(offline.BadAnswerOrigin):
            offline.attempt_id(bad)


def test_a_take_home_lasts_the_days_chosen_and_no_more_than_the_limit():
    assert offline.take_home_until(RECEIVED, 2) == RECEIVED + timedelta(days=2)
    for bad in (0, offline.MAX_TAKE_HOME_DAYS + 1):
        with pytest.raises(ValueError):
            offline.take_home_until(RECEIVED, bad)


def lesson(lesson_id: str, size: int, home: bool = False, media: bool = True) -> KeptLesson:
    return KeptLesson(lesson_id, lesson_id, (f"/lesson/{lesson_id}",), f"/media/c/{lesson_id}.ogg" if media else None,
                      size, "2026-03-05T00:00:00+00:00" if home else None)


def test_take_home_media_come_first_and_each_medium_that_still_fits_is_kept():
    lessons = [lesson("a", 60), lesson("b", 50), lesson("c", 30, home=True), lesson("d", 10),
               lesson("e", 0, media=False)]
    assert plan_media(lessons, 100) == ["c", "a", "d"]
    assert plan_media(lessons, 0) == []
    assert plan_media(lessons, 10**9) == ["c", "a", "b", "d"]
