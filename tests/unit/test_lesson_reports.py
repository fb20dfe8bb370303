"""A lesson's report for a class: how far each pupil watched, their answers, time spent, chapters replayed most."""

from __future__ import annotations

import pytest

from edge_server.domain.lesson_reports import (
    CSV_HEADER,
    Answer,
    ChapterView,
    Pupil,
    Replay,
    Watching,
    chapter_at,
    csv_rows,
    lesson_report,
)
from edge_server.watching import FIRST_BEAT_MAX_S, SLACK_S, BadBeat, credit, parse_beat
from models.types import Chapter

AMINA, BAO, CHLOE, OTHER = Pupil(1, "Amina", "r1"), Pupil(2, "Bao", "r2"), Pupil(3, "Chloé", "r3"), 9
CHAPTERS = [Chapter(0, 20, "kp.a", "Heat"), Chapter(20, 50, "kp.b", "Clouds"), Chapter(50, 60, "kp.c", "Rain")]


def _report(chapters=CHAPTERS, duration=60.0, **records):
    return lesson_report([AMINA, BAO, CHLOE], duration, chapters, 3, records.get("watching", []),
                         records.get("views", []), records.get("answers", []), records.get("replays", []))


def test_each_pupil_shows_how_far_they_watched_their_time_and_distinct_exercises_answered_and_right():
    report = _report(
        watching=[Watching(1, 45.0, 130.0, "2026-03-02T09:10:00+00:00"), Watching(OTHER, 60.0, 999.0)],
        views=[ChapterView(2, 0.0, 20.0, "2026-03-02T09:05:00+00:00")],  # a tablet's chapter view, no beacon
        answers=[Answer(1, "ex1", False, "2026-03-02T09:11:00+00:00"), Answer(1, "ex1", True), Answer(1, "ex2", False),
                 Answer(OTHER, "ex3", True)])
    amina, bao, chloe = report.pupils
    assert (amina.watched, amina.furthest, amina.percent, amina.seconds) == (True, 45.0, 75, 130.0)
    assert (amina.answered, amina.correct, amina.attempts, amina.last_seen) == (2, 1, 3, "2026-03-02T09:11:00+00:00")
    assert (bao.watched, bao.percent, bao.seconds, bao.answered) == (True, 33, 0.0, 0)
    assert (chloe.watched, chloe.percent, chloe.answered, chloe.last_seen) == (False, 0, 0, None)
    assert (report.watched, report.answered, report.mean_percent, report.total_seconds) == (2, 1, 54, 130.0)


def test_other_classes_pupils_never_count():
    report = _report(watching=[Watching(OTHER, 60, 100)], answers=[Answer(OTHER, "ex1", True)],
                     replays=[Replay(OTHER, 25.0)])
    assert report.watched == report.answered == 0 and report.total_seconds == 0 and report.most_replayed == []


def test_replays_count_against_the_chapters_as_they_are_now_and_the_most_replayed_come_first():
    replays = [Replay(1, 25.0), Replay(1, 30.0), Replay(2, 21.0), Replay(3, 5.0), Replay(2, 55.0), Replay(3, 22.0)]
    report = _report(replays=replays)
    assert [(c.chapter.title, c.replays, c.pupils) for c in report.most_replayed] == [
        ("Clouds", 4, 3), ("Heat", 1, 1), ("Rain", 1, 1)]
    assert [p.replays for p in report.pupils] == [2, 2, 2]
    # a teacher moves the boundary between Heat and Clouds to 0:24: the same replays fall where they now belong
    moved = [Chapter(0, 24, "kp.a", "Heat"), Chapter(24, 50, "kp.b", "Clouds"), CHAPTERS[2]]
    report = _report(moved, replays=replays)
    assert [(c.chapter.title, c.replays) for c in report.most_replayed] == [("Heat", 3), ("Clouds", 2), ("Rain", 1)]


def test_a_position_belongs_to_the_chapter_that_has_begun():
    assert [chapter_at(CHAPTERS, t) for t in (0, 19.99, 20, 59, 60, 75)] == [0, 0, 1, 2, 2, 2]
    assert chapter_at([], 3.0) is None


def test_without_a_known_duration_there_is_no_percentage_and_furthest_is_kept_as_time():
    report = _report(duration=None, chapters=[], watching=[Watching(1, 42.0, 50.0)], replays=[Replay(1, 10.0)])
    assert (report.pupils[0].percent, report.pupils[0].furthest, report.mean_percent) == (None, 42.0, None)
    assert report.chapters == [] and report.most_replayed == []


def test_the_csv_has_one_row_per_pupil_and_a_replay_column_per_chapter():
    report = _report(watching=[Watching(1, 30.0, 61.4)], answers=[Answer(1, "ex1", True)],
                     replays=[Replay(1, 25.0), Replay(1, 26.0), Replay(1, 52.0)])
    table = csv_rows(report)
    assert table[0] == [*CSV_HEADER, "replays 0:00 Heat", "replays 0:20 Clouds", "replays 0:50 Rain"]
    assert table[1] == ["Amina", "r1", 1, 30.0, 50, 61, 3, 1, 1, 3, 1, "", 0, 2, 1]
    assert [row[0] for row in table[1:]] == ["Amina", "Bao", "Chloé"] and table[2][2] == 0


@pytest.mark.parametrize("payload, problem", [
    (None, "JSON object"), ({"furthest": "far"}, "furthest"), ({"played": -1}, "played"),
    ({"position": float("inf")}, "position"), ({"furthest": 1e9}, "furthest"), ({"played": True}, "played"),
    ({"replays": [1.0] * 21}, "replays"), ({"replays": ["x"]}, "replay"), ({"replays": 3}, "replays"),
])
def test_a_beat_that_is_not_a_set_of_times_within_a_day_is_refused(payload, problem):
    with pytest.raises(BadBeat, match=problem):
        parse_beat(payload)


def test_a_good_beat_is_read_and_a_missing_duration_stays_unknown():
    beat = parse_beat({"position": 12.5, "furthest": 30, "played": 14.9, "duration": None, "replays": [3, 4.5]})
    assert (beat.position, beat.furthest, beat.played, beat.duration, beat.replays) == (12.5, 30.0, 14.9, None,
                                                                                        (3.0, 4.5))


def test_a_beat_never_claims_more_seconds_than_have_passed_since_the_last():
    assert credit(15.0, last_beat=1000.0, now=1015.0) == 15.0
    assert credit(600.0, last_beat=1000.0, now=1015.0) == 15.0 + SLACK_S
    assert credit(600.0, last_beat=None, now=1015.0) == FIRST_BEAT_MAX_S
    assert credit(5.0, last_beat=2000.0, now=1000.0) == 0.0  # a clock that went back gives nothing
