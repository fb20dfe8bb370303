"""WebVTT writers: timestamps, captions split for reading, a chapters track a <track> element accepts."""

from __future__ import annotations

import re

from models.types import Chapter, Segment
from models.vtt import captions_vtt, chapters_vtt, timestamp

CUE_TIMING = re.compile(r"^(\d\d:\d\d:\d\d\.\d\d\d) --> (\d\d:\d\d:\d\d\.\d\d\d)$", re.M)


def test_timestamps_have_hours_minutes_seconds_and_milliseconds():
    assert timestamp(0) == "00:00:00.000"
    assert timestamp(61.5) == "00:01:01.500"
    assert timestamp(3723.0426) == "01:02:03.043"


def test_captions_start_with_the_webvtt_header_and_keep_segment_times():
    text = captions_vtt([Segment(0.0, 2.5, "Hello class."), Segment(2.5, 4.0, "Today: water.")])
    assert text.startswith("WEBVTT\n\n")
    assert CUE_TIMING.findall(text) == [("00:00:00.000", "00:00:02.500"), ("00:00:02.500", "00:00:04.000")]
    assert "Hello class." in text and "Today: water." in text


def test_a_long_segment_is_split_into_short_cues_that_cover_its_time_in_order():
    words = " ".join(f"word{i}" for i in range(60))
    text = captions_vtt([Segment(10.0, 40.0, words)], max_chars=50)
    timings = CUE_TIMING.findall(text)
    assert len(timings) > 3
    assert timings[0][0] == "00:00:10.000" and timings[-1][1] == "00:00:40.000"
    cue_lines = [line for line in text.splitlines()[2:] if line and "-->" not in line]
    assert all(len(line) <= 50 for line in cue_lines)
    assert " ".join(cue_lines) == words


def test_cue_text_cannot_break_the_file_or_inject_markup():
    text = captions_vtt([Segment(0, 1, "a --> b\n\nc <b>&")])
    body = text.split("\n", 3)[3]
    assert "-->" not in body and "<b>" not in body and "\n\n" not in body.strip()
    assert "&lt;b&gt;&amp;" in body


def test_chapters_track_has_one_numbered_cue_per_chapter_titled():
    text = chapters_vtt([Chapter(0, 30, "kp.a", "Evaporation"), Chapter(30, 75.25, "kp.b", "Condensation")])
    assert text.splitlines()[:6] == ["WEBVTT", "", "1", "00:00:00.000 --> 00:00:30.000", "Evaporation", ""]
    assert "2\n00:00:30.000 --> 00:01:15.250\nCondensation" in text
