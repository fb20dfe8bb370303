"""edge_server.domain.pack_author without any files: cells, lists and the problems it reports."""

from __future__ import annotations

import pytest

from edge_server.domain.pack_author import AuthorError, author, media_kind, split_list

KPS = b"id,name,description\nkp.a,A,\nkp.b,B,\n"
LESSONS = (b"course_id,course_title,lesson_id,lesson_title,media,language,knowledge_points\n"
           b"c1,Course,l1,Lesson one,m/one.ogg,,kp.a;kp.b\n")
EXERCISES_HEAD = b"id,lesson_id,knowledge_point,kind,prompt,choices,answer,difficulty,hint\n"
CHANNEL = {"id": "test.ch", "title": "Test"}


def problems(tables: dict[str, bytes], media: set[str] | None = None) -> list[str]:
    with pytest.raises(AuthorError) as caught:
        author(tables, media if media is not None else {"m/one.ogg"}, lambda _p: None, CHANNEL)
    return [str(p) for p in caught.value.problems]


def test_lists_split_on_semicolons_keep_escaped_ones_and_drop_empty_items():
    assert split_list("a; b\\; c;;  ") == ["a", "b; c"]
    assert split_list("") == []


def test_media_kind_comes_from_the_extension_in_any_case():
    assert media_kind("x/LESSON.MP4") == "video"
    assert media_kind("x/a.opus") == "audio"
    assert media_kind("x/a.txt") is None


def test_the_two_required_spreadsheets_are_named_when_missing():
    assert problems({}) == [
        "knowledge_points.csv: missing: the folder needs this file (see docs/pack-template/)",
        "lessons.csv: missing: the folder needs this file (see docs/pack-template/)",
    ]


def test_an_exercise_must_name_a_known_lesson_and_one_of_its_knowledge_points():
    found = problems({"knowledge_points.csv": KPS + b"kp.c,C,\n", "lessons.csv": LESSONS,
                      "exercises.csv": EXERCISES_HEAD + b"e1,l2,kp.a,number,1+1?,,2,,\ne2,l1,kp.c,number,1+1?,,2,,\n"})
    assert found == ["exercises.csv row 2, column lesson_id: 'l2' is not a lesson in lessons.csv",
                     "exercises.csv row 3, column knowledge_point: 'kp.c' is not one of lesson l1's knowledge points "
                     "in lessons.csv"]


def test_choices_belong_to_choice_exercises_only_and_a_number_answer_must_be_a_number():
    found = problems({"knowledge_points.csv": KPS, "lessons.csv": LESSONS,
                      "exercises.csv": EXERCISES_HEAD + b"e1,l1,kp.a,number,1+1?,1;2,two,,\n"})
    assert found == ["exercises.csv row 2, column choices: only choice exercises have choices (this one is number)",
                     "exercises.csv row 2, column answer: 'two' is not a number"]


def test_a_course_title_that_changes_between_rows_of_one_course_is_a_problem():
    lessons = LESSONS + b"c1,Other title,l2,Lesson two,,,kp.a\n"
    assert problems({"knowledge_points.csv": KPS, "lessons.csv": lessons}) == [
        "lessons.csv row 3, column course_title: 'Other title' differs from 'Course' on row 2 for the same course"]


def test_a_valid_folder_gives_a_catalog_in_spreadsheet_order_with_counts():
    lessons = LESSONS + b"c2,Second,l0,Lesson zero,,,kp.b\n"
    done = author({"knowledge_points.csv": KPS, "lessons.csv": lessons,
                   "exercises.csv": EXERCISES_HEAD + b"e1,l1,kp.b,text,Say B,,b; bee,,\n"},
                  {"m/one.ogg"}, lambda _p: None, CHANNEL)
    assert [c["id"] for c in done.catalog["courses"]] == ["c1", "c2"]
    assert done.media == ("m/one.ogg",)
    assert done.counts == {"courses": 2, "lessons": 2, "knowledge_points": 2, "exercises": 1, "media": 1}
    assert done.catalog["courses"][0]["lessons"][0]["exercises"][0]["answer"] == ["b", "bee"]
