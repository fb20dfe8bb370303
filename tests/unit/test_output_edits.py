"""A teacher's corrections of caption lines, chapters and the summary are checked before anything is stored."""

from __future__ import annotations

import json

import pytest

from edge_server.domain.output_edits import (
    MIN_CHAPTER_S,
    CaptionLine,
    CaptionRow,
    ChapterRow,
    EditError,
    caption_lines,
    captions_outputs,
    chapters_outputs,
    check_summary,
    content_version,
    edit_chapters,
    format_time,
    merge_chapters,
    parse_time,
    parse_vtt,
    split_chapter,
    summary_outputs,
)
from models import vtt
from models.pipeline import SUMMARY_MAX_WORDS, chunks_for
from models.types import Chapter, Segment

KPS = {"kp.evaporation", "kp.condensation"}
CHAPTERS = [Chapter(0.0, 12.5, "kp.evaporation", "The sun heats the sea"),
            Chapter(12.5, 30.0, "kp.condensation", "Clouds form")]


def _code(call, *args, **kwargs) -> str:
    with pytest.raises(EditError) as caught:
        call(*args, **kwargs)
    return caught.value.code


@pytest.mark.parametrize("typed, seconds", [
    ("75", 75.0), ("75.5", 75.5), ("1:15", 75.0), ("1:15.25", 75.25), ("1:15,5", 75.5), (" 0:07 ", 7.0),
    ("1:02:03.5", 3723.5), ("00:00:05.120", 5.12), ("90:00", 5400.0),
])
def test_times_are_read_as_teachers_type_them(typed, seconds):
    assert parse_time(typed) == seconds


@pytest.mark.parametrize("typed", ["", "abc", "1:75", "-3", "1::2", "1:2:3:4", "1.2.3"])
def test_a_time_that_is_not_one_is_refused_with_what_was_typed(typed):
    with pytest.raises(EditError) as caught:
        parse_time(typed)
    assert caught.value.code == "bad_time" and caught.value.params["value"] == typed.strip()


@pytest.mark.parametrize("seconds", [0.0, 7.0, 75.25, 3723.5, 59.999])
def test_a_shown_time_reads_back_as_the_same_time(seconds):
    assert parse_time(format_time(seconds)) == pytest.approx(seconds, abs=0.0005)
    assert format_time(75.25) == "1:15.25" and format_time(7) == "0:07" and format_time(3723.5) == "1:02:03.5"


def test_the_pipelines_captions_read_back_as_their_lines_markup_characters_included():
    segments = [Segment(0.0, 2.5, "Water & heat <rise>"), Segment(2.5, 6.0, "Clouds form.")]
    assert parse_vtt(vtt.captions_vtt(segments)) == [CaptionLine(0.0, 2.5, "Water & heat <rise>"),
                                                     CaptionLine(2.5, 6.0, "Clouds form.")]


def _rows(*items, new=None):
    rows = [CaptionRow(n, start, end, text, delete) for n, (start, end, text, delete) in enumerate(items, 1)]
    if new is not None:
        rows.append(CaptionRow(len(items) + 1, *new, new=True))
    return rows


def test_caption_lines_are_put_in_time_order_with_removed_lines_dropped_and_a_new_one_added():
    lines = caption_lines(_rows(("0:05", "0:08", " Then the  vapour cools. ", False), ("0:00", "0:05", "Heat.", False),
                                ("0:08", "0:09", "Gone", True), new=("0:09", "0:12", "Clouds form.")), duration=20.0)
    assert lines == [CaptionLine(0.0, 5.0, "Heat."), CaptionLine(5.0, 8.0, "Then the vapour cools."),
                     CaptionLine(9.0, 12.0, "Clouds form.")]
    # the blank "new line" row is no line
    assert len(caption_lines(_rows(("0:00", "0:05", "Heat.", False), new=("", "", "")), 20.0)) == 1


@pytest.mark.parametrize("rows, code, params", [
    (_rows(("0:00", "0:05", "Heat.", False), ("0:04", "0:08", "Vapour.", False)), "overlap",
     {"line": "2", "previous": "1"}),
    (_rows(("0:06", "0:05", "Backwards.", False)), "end_before_start", {"line": "1"}),
    (_rows(("0:00", "0:05", "   ", False)), "empty_text", {"line": "1"}),
    (_rows(("0:00", "0:05", "x" * 301, False)), "text_too_long", {"line": "1", "max": 300}),
    (_rows(("0:00", "0:25", "Too long.", False)), "past_end", {"line": "1", "end": "0:20"}),
    (_rows(("0:00", "0:05", "Heat.", True)), "no_lines", {}),
    (_rows(("0:00", "soon", "Heat.", False)), "bad_time", {"value": "soon"}),
    (_rows(("0:00", "0:05", "Heat.", False), new=("0:03", "0:06", "Overlaps.")), "overlap",
     {"line": "2", "previous": "1"}),
])
def test_caption_lines_that_overlap_run_backwards_are_empty_or_pass_the_end_are_refused_by_line(rows, code, params):
    with pytest.raises(EditError) as caught:
        caption_lines(rows, duration=20.0)
    assert caught.value.code == code and caught.value.params == params


def test_corrected_captions_become_one_cue_per_line_and_the_transcript_the_companion_indexes():
    long = "A long line that a teacher typed in one go, longer than the pipeline's eighty-four characters of a cue."
    lines = [CaptionLine(0.0, 4.0, long), CaptionLine(4.0, 6.0, "Evaporation.")]
    out = captions_outputs(lines, {"language": "en", "duration": 6.2, "segments": []})
    assert parse_vtt(out["captions_vtt"]) == lines
    transcript = json.loads(out["transcript"])
    assert transcript == {"language": "en", "duration": 6.2, "segments": [
        {"start": 0.0, "end": 4.0, "text": long}, {"start": 4.0, "end": 6.0, "text": "Evaporation."}]}


def _table(chapters=CHAPTERS):
    return [ChapterRow(format_time(c.start), c.title, c.knowledge_point or "") for c in chapters]


def test_moving_a_boundary_renaming_and_changing_a_knowledge_point_keep_the_chapters_covering_the_lesson():
    rows = _table()
    rows[1] = ChapterRow("0:09", "  Vapour  becomes clouds ", "kp.evaporation")
    edited = edit_chapters(rows, end=30.0, kp_ids=KPS)
    assert edited == [Chapter(0.0, 9.0, "kp.evaporation", "The sun heats the sea"),
                      Chapter(9.0, 30.0, "kp.evaporation", "Vapour becomes clouds")]
    assert edit_chapters([ChapterRow("", "All", "")], end=30.0, kp_ids=KPS) == [Chapter(0.0, 30.0, None, "All")]


@pytest.mark.parametrize("change, code", [
    ((0, ChapterRow("0:03", "The sun heats the sea", "kp.evaporation")), "first_start"),
    ((1, ChapterRow("0:00.5", "Clouds form", "kp.condensation")), "order"),
    ((1, ChapterRow("0:29.5", "Clouds form", "kp.condensation")), "chapter_past_end"),
    ((1, ChapterRow("0:45", "Clouds form", "kp.condensation")), "chapter_past_end"),
    ((1, ChapterRow("0:12.5", " ", "kp.condensation")), "empty_title"),
    ((1, ChapterRow("0:12.5", "t" * 121, "kp.condensation")), "title_too_long"),
    ((1, ChapterRow("0:12.5", "Clouds form", "kp.photosynthesis")), "unknown_kp"),
    ((1, ChapterRow("later", "Clouds form", "kp.condensation")), "bad_time"),
])
def test_a_chapter_table_out_of_order_past_the_end_untitled_or_with_a_foreign_knowledge_point_is_refused(change, code):
    rows = _table()
    rows[change[0]] = change[1]
    assert _code(edit_chapters, rows, 30.0, KPS) == code
    assert _code(edit_chapters, [], 30.0, KPS) == "no_chapters"


def test_merging_keeps_the_first_title_and_spans_both_and_the_last_chapter_cannot_merge():
    assert merge_chapters(CHAPTERS, 0) == [Chapter(0.0, 30.0, "kp.evaporation", "The sun heats the sea")]
    assert _code(merge_chapters, CHAPTERS, 1) == "merge_last"


def test_splitting_cuts_the_chapter_that_holds_the_time_and_refuses_a_cut_at_an_edge():
    split = split_chapter(CHAPTERS, 20.0, "Rain")
    assert split == [CHAPTERS[0], Chapter(12.5, 20.0, "kp.condensation", "Clouds form"),
                     Chapter(20.0, 30.0, "kp.condensation", "Rain")]
    assert split_chapter(CHAPTERS, 5.0)[1].title == "The sun heats the sea"
    for at in (12.5 + MIN_CHAPTER_S / 2, 29.8, 31.0):
        assert _code(split_chapter, CHAPTERS, at) == "split_outside"


def test_edited_chapters_are_stored_as_both_tracks_and_the_companions_chunks_follow_the_new_boundary():
    edited = edit_chapters([ChapterRow("0", "Heat", "kp.evaporation"), ChapterRow("0:04", "Clouds", "kp.condensation")],
                           end=10.0, kp_ids=KPS)
    out = chapters_outputs(edited)
    assert json.loads(out["chapters"])[1] == {"start": 4.0, "end": 10.0, "title": "Clouds",
                                              "knowledge_point": "kp.condensation"}
    assert "00:00:04.000 --> 00:00:10.000\nClouds" in out["chapters_vtt"]
    segments = [Segment(0, 3, "The sun heats the sea."), Segment(3, 6, "Vapour cools."), Segment(6, 10, "Clouds.")]
    chunks = chunks_for(segments, edited)
    assert [(c.start, c.knowledge_point, c.text) for c in chunks] == [
        (0.0, "kp.evaporation", "The sun heats the sea."), (4.0, "kp.condensation", "Vapour cools. Clouds.")]


def test_a_summary_is_trimmed_kept_within_the_pipelines_length_and_never_empty():
    assert check_summary("  Water  heats.\r\n\r\n\r\nClouds form.  ") == "Water heats.\n\nClouds form."
    assert check_summary("word " * SUMMARY_MAX_WORDS)
    assert _code(check_summary, "word " * (SUMMARY_MAX_WORDS + 1)) == "summary_too_long"
    assert _code(check_summary, " \n ") == "empty_summary"
    assert check_summary("水" * 250) and _code(check_summary, "水" * 260) == "summary_too_long"  # by characters
    doc = json.loads(summary_outputs("Heat. Clouds.", {"pipeline_version": "2", "method": "generated"})["summary"])
    assert doc == {"summary": "Heat. Clouds.", "method": "teacher", "model": None, "sentences": ["Heat.", "Clouds."],
                   "pipeline_version": "2"}


def test_a_fingerprint_tells_stored_contents_apart():
    assert content_version("a") == content_version("a") != content_version("b")
    assert content_version(None) == content_version("")
