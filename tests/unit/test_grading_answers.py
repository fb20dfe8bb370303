"""Grading of choice, number and text answers."""

from __future__ import annotations

import pytest

from edge_server.domain.grading import grade, normalise_text, parse_number


def test_a_choice_is_right_only_for_the_answer_index():
    ex = {"kind": "choice", "answer": 2}
    assert grade(ex, "2").correct and grade(ex, " 2 ").choice_index == 2
    assert not grade(ex, "1").correct


def test_a_choice_that_is_not_an_index_is_wrong_with_a_kind_message():
    result = grade({"kind": "choice", "answer": 0}, "banana")
    assert not result.correct and result.feedback


@pytest.mark.parametrize("typed", ["3.5", "3,5", " 3.50 ", "7/2", "3 1/2", "+3.5"])
def test_numbers_written_in_different_ways_are_accepted(typed):
    assert grade({"kind": "number", "answer": 3.5}, typed).correct


@pytest.mark.parametrize("typed", ["3.6", "35", "-3.5", "7/3", "three"])
def test_wrong_or_unreadable_numbers_are_refused(typed):
    assert not grade({"kind": "number", "answer": 3.5}, typed).correct


def test_the_default_tolerance_is_small_but_an_exercise_tolerance_widens_it():
    assert not grade({"kind": "number", "answer": 0.5}, "0.51").correct
    assert grade({"kind": "number", "answer": 1 / 3}, "0.3333333333").correct
    assert grade({"kind": "number", "answer": 0.5, "tolerance": 0.05}, "0.54").correct
    assert not grade({"kind": "number", "answer": 0.5, "tolerance": 0.05}, "0.56").correct


def test_parse_number_reads_fractions_and_decimal_commas_and_rejects_division_by_zero():
    assert parse_number("1/2") == 0.5 and parse_number("-1/4") == -0.25 and parse_number("2,25") == 2.25
    assert parse_number("1 000") == 1000 and parse_number("1/0") is None and parse_number("") is None


def test_text_answers_ignore_case_accents_spaces_and_punctuation():
    ex = {"kind": "text", "answer": "Évaporation"}
    assert grade(ex, "  evaporation! ").correct and grade(ex, "EVAPORATION").correct
    assert not grade(ex, "condensation").correct


def test_any_of_several_accepted_texts_is_right_and_an_empty_answer_is_not():
    ex = {"kind": "text", "answer": ["water cycle", "hydrologic cycle"]}
    assert grade(ex, "Hydrologic-cycle").correct and grade(ex, "water   cycle.").correct
    assert not grade(ex, "   ").correct


def test_normalise_text_folds_to_plain_words():
    assert normalise_text("  L'Été,  très CHAUD ") == "l ete tres chaud"


def test_an_unknown_kind_is_an_error():
    with pytest.raises(ValueError):
        grade({"kind": "essay", "answer": ""}, "x")
