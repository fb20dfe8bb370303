"""The pure quiz rules: filters, picking what the class is stuck on, the state machine, results per pupil and per
question, a pupil's own results."""

from __future__ import annotations

import pytest

from edge_server.domain import quizzes
from edge_server.domain.quizzes import (
    ExerciseInfo,
    Filters,
    KpState,
    QuizAnswer,
    QuizError,
    QuizItem,
    QuizPupil,
    QuizState,
    QuizStateError,
)


def ex(id_: str, kp: str, difficulty: int = 2, lesson: str = "water", course: str = "sci", position: int = 0):
    return ExerciseInfo(id_, lesson, course, kp, difficulty, "choice", f"Question {id_}", position)


CATALOG = [ex("w1", "evap", 1, position=1), ex("w2", "cond", 2, position=2), ex("w3", "evap", 3, position=3),
           ex("s1", "angles", 1, "shapes", "maths", 1), ex("s2", "angles", 3, "shapes", "maths", 2),
           ex("s3", "polygons", 2, "shapes", "maths", 3)]


def stuck(pupil: int, kp: str, p: float = 0.2, n: int = 6) -> KpState:
    return KpState(pupil, kp, p, n, True)


def doing(pupil: int, kp: str, p: float, n: int = 3) -> KpState:
    return KpState(pupil, kp, p, n, False)


# ---------------------------------------------------------------- filters and building

def test_filters_from_a_query_string_ignore_empty_values_and_a_difficulty_outside_one_to_three():
    assert quizzes.parse_filters({"course": "sci", "lesson": "", "difficulty": "3"}) == Filters("sci", None, None, 3)
    assert quizzes.parse_filters({"difficulty": "7", "knowledge_point": " evap "}) == Filters(None, None, "evap", None)
    assert not quizzes.parse_filters({}).any and quizzes.parse_filters({"lesson": "x"}).any


def test_every_filter_set_must_match_and_catalog_order_is_kept():
    assert [e.id for e in quizzes.filter_exercises(CATALOG, Filters())] == [e.id for e in CATALOG]
    assert [e.id for e in quizzes.filter_exercises(CATALOG, Filters(course="maths"))] == ["s1", "s2", "s3"]
    assert [e.id for e in quizzes.filter_exercises(CATALOG, Filters(lesson="water", knowledge_point="evap"))] == \
        ["w1", "w3"]
    assert [e.id for e in quizzes.filter_exercises(CATALOG, Filters(difficulty=3))] == ["w3", "s2"]
    assert quizzes.filter_exercises(CATALOG, Filters(course="maths", knowledge_point="evap")) == []


def test_a_title_is_trimmed_and_single_spaced_and_an_empty_one_is_refused():
    assert quizzes.clean_title("  Water \n  check ") == "Water check"
    assert len(quizzes.clean_title("x" * 500)) == quizzes.MAX_TITLE
    with pytest.raises(QuizError, match="title"):
        quizzes.clean_title("   ")


def test_ticked_exercises_become_items_once_each_in_ticked_order_and_unknown_ones_are_dropped():
    assert quizzes.choose_items(["w3", "w1", "w3", "nope"], {"w1", "w3"}) == ["w3", "w1"]
    with pytest.raises(QuizError, match="tick"):
        quizzes.choose_items(["nope"], {"w1"})
    many = [f"e{i}" for i in range(quizzes.MAX_ITEMS + 1)]
    with pytest.raises(QuizError, match="at most"):
        quizzes.choose_items(many, many)


# ---------------------------------------------------------------- what the class is stuck on

def test_the_most_stuck_knowledge_point_comes_first_then_the_lowest_mean_mastery():
    states = [stuck(1, "angles"), stuck(2, "angles"), stuck(1, "evap", 0.4), doing(2, "evap", 0.3),
              doing(1, "cond", 0.5, 6), doing(1, "polygons", 0.99, 8)]
    needs = quizzes.class_needs(states)
    assert [n.knowledge_point for n in needs] == ["angles", "evap", "cond"]
    assert needs[0].stuck == 2 and needs[1].mean_p == pytest.approx(0.35)
    assert "polygons" not in [n.knowledge_point for n in needs]  # mastered: nothing to practise


def test_one_early_miss_is_not_the_class_being_stuck():
    assert quizzes.class_needs([doing(1, "evap", 0.1, 1)]) == []
    assert [n.knowledge_point for n in quizzes.class_needs([doing(1, "evap", 0.3, 3), doing(2, "evap", 0.4, 2)])] \
        == ["evap"]


def test_stuck_picks_take_turns_over_needed_knowledge_points_easiest_first_up_to_the_count():
    states = [stuck(1, "angles"), stuck(2, "angles"), stuck(1, "evap")]
    assert quizzes.pick_stuck(states, CATALOG, count=8) == ["s1", "w1", "s2", "w3"]
    assert quizzes.pick_stuck(states, CATALOG, count=3) == ["s1", "w1", "s2"]
    assert quizzes.pick_stuck(states, CATALOG, count=8, solved_by_all={"s1"}) == ["s2", "w1", "w3"]


def test_stuck_picks_are_empty_when_nobody_is_stuck_or_no_exercise_teaches_it():
    assert quizzes.pick_stuck([doing(1, "evap", 0.97, 9)], CATALOG) == []
    assert quizzes.pick_stuck([stuck(1, "fractions")], CATALOG) == []
    assert quizzes.pick_stuck([], CATALOG) == []


def test_the_stuck_button_gives_eight_exercises_when_there_are_enough():
    many = [ex(f"a{i}", "angles", 1 + i % 3) for i in range(12)]
    picked = quizzes.pick_stuck([stuck(1, "angles")], many)
    assert len(picked) == quizzes.STUCK_COUNT == 8 and len(set(picked)) == 8
    assert [int(p[1:]) % 3 for p in picked[:4]] == [0, 0, 0, 0]  # difficulty 1 first


# ---------------------------------------------------------------- states

def test_a_quiz_goes_from_draft_to_open_to_closed_then_its_results_are_released():
    draft = QuizState("draft", False, 3)
    opened = quizzes.apply_action(draft, "open")
    closed = quizzes.apply_action(opened, "close")
    released = quizzes.apply_action(closed, "release")
    assert (opened.state, closed.state, released.state, released.released) == ("open", "closed", "closed", True)
    assert quizzes.pupil_may_answer(opened) and not quizzes.pupil_may_answer(closed)
    assert not quizzes.pupil_may_see(draft) and quizzes.pupil_may_see(closed)


@pytest.mark.parametrize(("state", "action", "why"), [
    (QuizState("draft", False, 0), "open", "at least one"),
    (QuizState("open", False, 2), "open", "only a draft"),
    (QuizState("draft", False, 2), "close", "only an open"),
    (QuizState("closed", False, 2), "close", "only an open"),
    (QuizState("open", False, 2), "release", "close the quiz"),
    (QuizState("draft", False, 2), "release", "close the quiz"),
    (QuizState("closed", True, 2), "release", "already released"),
    (QuizState("closed", False, 2), "reopen", "unknown action"),
])
def test_actions_the_state_does_not_allow_are_refused_with_a_reason(state, action, why):
    with pytest.raises(QuizStateError, match=why):
        quizzes.apply_action(state, action)


# ---------------------------------------------------------------- results

ITEMS = [QuizItem(1, "w1", "What warms the lake?", "choice", "evap", ("Sun", "Wind", "Fish"), "Think of heat."),
         QuizItem(2, "w2", "Vapour into drops?", "text", "cond", None, "It starts with c."),
         QuizItem(3, "w5", "How many stages?", "number", "evap", None, "")]
PUPILS = [QuizPupil(1, "Amina"), QuizPupil(2, "Bao"), QuizPupil(3, "Chloé")]
ANSWERS = [QuizAnswer(1, "w1", True, "0"), QuizAnswer(1, "w2", False, "evaporation"), QuizAnswer(1, "w5", True, "4"),
           QuizAnswer(2, "w1", False, "1"), QuizAnswer(2, "w2", False, "Evaporation"),
           QuizAnswer(2, "w1", True, "0"),  # a later answer to an item: the first one counts
           QuizAnswer(3, "w2", False, "rain"), QuizAnswer(9, "w1", True, "0")]  # 9: no longer in the class


def test_results_per_pupil_mark_each_item_right_wrong_or_unanswered_with_the_score():
    rows = quizzes.pupil_rows(ITEMS, PUPILS, ANSWERS)
    assert [(r.name, r.cells, r.answered, r.right) for r in rows] == [
        ("Amina", (True, False, True), 3, 2), ("Bao", (False, False, None), 2, 0), ("Chloé", (None, False, None), 1, 0)]


def test_results_per_question_count_the_class_and_name_the_most_common_wrong_answer_in_words():
    rows = quizzes.question_rows(ITEMS, PUPILS, ANSWERS)
    assert [(q.answered, q.right, q.percent_right) for q in rows] == [(2, 1, 50), (3, 0, 0), (1, 1, 100)]
    assert rows[0].common_wrong == "Wind"  # the choice's words, not its index
    assert rows[1].common_wrong == "evaporation"  # 'evaporation' and 'Evaporation' are one answer, given twice
    assert rows[2].common_wrong is None


def test_a_question_nobody_answered_has_no_percentage():
    assert quizzes.question_rows(ITEMS, PUPILS, [])[0].percent_right is None


def test_the_summary_counts_answers_pupils_who_started_and_pupils_who_finished():
    s = quizzes.summary(ITEMS, PUPILS, ANSWERS)
    assert (s.class_size, s.items, s.answers, s.answered_pupils, s.finished_pupils) == (3, 3, 6, 3, 1)


def test_a_pupils_own_result_has_the_score_what_they_answered_and_the_hint_of_each_item_missed():
    mine = quizzes.own_result(ITEMS, 2, ANSWERS)
    assert (mine.right, mine.total) == (0, 3)
    assert [(line.answered, line.correct, line.answer, line.hint) for line in mine.lines] == [
        (True, False, "Wind", "Think of heat."), (True, False, "Evaporation", "It starts with c."),
        (False, False, "", "")]
    assert quizzes.own_result(ITEMS, 1, ANSWERS).lines[0].hint == ""  # right: no hint needed


def test_the_results_document_is_plain_json_for_the_live_page():
    doc = quizzes.results_document(QuizState("open", False, 3), ITEMS, PUPILS, ANSWERS)
    assert doc["pupils"][1] == {"id": 2, "name": "Bao", "answered": 2, "right": 0, "cells": ["wrong", "wrong", "none"]}
    assert (doc["state"], doc["released"], doc["answered_pupils"], doc["finished_pupils"]) == ("open", False, 3, 1)
    assert doc["questions"][0] == {"position": 1, "exercise_id": "w1", "answered": 2, "right": 1, "percent_right": 50,
                                   "common_wrong": "Wind"}


def test_the_answer_key_reads_as_words():
    assert quizzes.answer_key_text("choice", ["Rain", "Snow", "Cloud"], 2) == "Cloud"
    assert quizzes.answer_key_text("choice", ["Rain", "Snow", "Cloud"], [0, 1]) == "Rain / Snow"
    assert quizzes.answer_key_text("text", None, ["habitat", "a habitat"]) == "habitat / a habitat"
    assert quizzes.answer_key_text("number", None, 4) == "4"
    assert quizzes.answer_key_text("text", None, None) == ""
