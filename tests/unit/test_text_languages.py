"""Text processing per language: Chinese words and sentences, French stems, chapters and summaries in zh and fr."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from models.segment import segment_chapters
from models.summary import summarize
from models.textutil import content_terms, index_text, join_text, split_sentences, text_size, words
from models.types import KnowledgePoint, Segment

LESSONS = {lesson["id"]: lesson for lesson in json.loads(
    (Path(__file__).resolve().parents[2] / "bench" / "lessons_zh_fr.json").read_text())["lessons"]}


def spoken(lesson: dict, per_second: float) -> tuple[list[Segment], list[float]]:
    """A clean timed transcript of a lesson (one segment per sentence, timed by length) and its true boundaries."""
    segments, bounds, clock = [], [], 0.0
    for chapter in lesson["chapters"]:
        bounds.append(clock)
        for sentence in split_sentences(chapter["text"]):
            length = len(sentence) / per_second
            segments.append(Segment(clock, clock + length, sentence))
            clock += length
    return segments, bounds[1:]


def kps_of(lesson: dict) -> list[KnowledgePoint]:
    return [KnowledgePoint(k["id"], k["name"], k["description"]) for k in lesson["knowledge_points"]]


def test_chinese_text_is_cut_into_words_and_function_words_are_not_content_terms():
    assert words("月亮绕着地球转") == ["月亮", "绕", "着", "地球", "转"]
    terms = content_terms("我们的月亮是地球的卫星，它绕着地球转了二十九天。")
    assert {"月亮", "地球", "卫星", "29"} <= set(terms)
    assert not {"我们", "的", "是", "它", "着"} & set(terms)


def test_french_keeps_its_stop_words_and_light_stems():
    assert content_terms("Les volcans rejettent des cendres et la lave.") == ["volcan", "rejettent", "cendr", "lav"]


def test_sentences_end_at_chinese_full_stops_exclamations_questions_and_semicolons():
    assert split_sentences("冰是固体；水是液体。真的吗？是的！Yes. No?") == [
        "冰是固体；", "水是液体。", "真的吗？", "是的！", "Yes.", "No?"]


def test_the_index_holds_chinese_as_words_and_latin_text_as_it_is():
    assert index_text("光合作用需要阳光") == "光合作用 需要 阳光"
    assert index_text("The sun heats the sea.") == "The sun heats the sea."
    assert join_text(["月亮不会发光。", "它反射阳光。", "Yes"]) == "月亮不会发光。它反射阳光。 Yes"


def test_a_chinese_text_is_measured_so_that_250_characters_are_150_words():
    assert text_size("字" * 250) == pytest.approx(150)
    assert text_size("one two three") == 3


@pytest.mark.parametrize(("lesson_id", "per_second"), [("zh-moon", 4.0), ("zh-rectangle", 4.0), ("fr-volcans", 16.0),
                                                       ("fr-angles", 16.0)])
def test_chapters_of_a_clean_transcript_follow_the_knowledge_points_within_eight_seconds(lesson_id, per_second):
    lesson = LESSONS[lesson_id]
    segments, truth = spoken(lesson, per_second)
    chapters = segment_chapters(segments, kps_of(lesson))
    assert [c.knowledge_point for c in chapters] == [c["kp"] for c in lesson["chapters"]]
    assert all(abs(c.start - t) <= 8.0 for c, t in zip(chapters[1:], truth, strict=True))


def test_a_chinese_summary_is_the_lessons_own_sentences_within_250_characters():
    lesson = LESSONS["zh-seeds"]
    segments, _ = spoken(lesson, 4.0)
    kps = kps_of(lesson)
    summary = summarize(segments, segment_chapters(segments, kps), kps, None, max_words=150)
    assert summary.method == "extractive" and " " not in summary.text
    assert 100 <= len(summary.text) <= 250
    said = "".join(c["text"] for c in lesson["chapters"])
    assert all(sentence in said for sentence in summary.sentences)
    assert sum(term in summary.text for term in lesson["summary_key_terms"]) >= len(lesson["summary_key_terms"]) / 2


def test_a_chinese_transcript_without_punctuation_is_summarised_segment_by_segment():
    text = "月亮自己不会发光 它反射太阳的光 月亮是地球的卫星 它绕着地球转"
    segments = [Segment(i * 3.0, i * 3.0 + 3, t) for i, t in enumerate(text.split())]
    summary = summarize(segments, [], [], None, max_words=150)
    assert summary.sentences and all(s.endswith("。") and s[:-1] in text.split() for s in summary.sentences)
    assert not re.search(r"[.]", summary.text)


@pytest.mark.parametrize("lesson_id", ["zh-teeth", "fr-saisons"])
def test_a_summary_with_headings_names_each_chapter_then_its_sentences_within_the_budget(lesson_id):
    lesson = LESSONS[lesson_id]
    segments, _ = spoken(lesson, 4.0 if lesson["language"] == "zh" else 16.0)
    kps = kps_of(lesson)
    chapters = [replace(c, title=next(k.name for k in kps if k.id == c.knowledge_point))
                for c in segment_chapters(segments, kps)]
    summary = summarize(segments, chapters, kps, None, max_words=150, headings=True)
    assert text_size(summary.text) <= 150
    positions = [summary.text.find(k.name) for k in kps]
    assert -1 not in positions and positions == sorted(positions) and positions[0] == 0
    said = join_text(c["text"] for c in lesson["chapters"])
    assert summary.sentences and all(sentence in said for sentence in summary.sentences)
