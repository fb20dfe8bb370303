"""The hybrid ranking's pure steps: similarity of a passage, standardising, fusing with the words' score, closeness."""

from __future__ import annotations

import math

import numpy as np
import pytest

from edge_server.domain import fusion


def unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def test_a_passage_is_as_close_as_the_closest_of_its_texts() -> None:
    question = unit(1, 0, 0)
    transcript, knowledge_point = unit(0, 1, 0), unit(1, 1, 0)
    assert fusion.passage_similarity(question, [transcript, knowledge_point]) == pytest.approx(math.sqrt(0.5))
    assert fusion.passage_similarity(question, [None, transcript]) == pytest.approx(0.0)
    assert fusion.passage_similarity(question, [None, None]) is None
    assert fusion.passage_similarity(question, []) is None


def test_standardised_similarities_have_mean_zero_and_unit_spread_and_unknown_ones_count_as_average() -> None:
    values = fusion.standardised([0.1, 0.3, None, 0.5])
    assert values[2] == 0.0
    known = [values[0], values[1], values[3]]
    assert sum(known) == pytest.approx(0.0, abs=1e-9)
    assert math.sqrt(sum(v * v for v in known) / 3) == pytest.approx(1.0)
    assert values[0] < values[1] < values[3]


@pytest.mark.parametrize("values", [[], [0.4], [0.4, None], [0.2, 0.2, 0.2], [None, None]])
def test_nothing_to_compare_standardises_to_zeros(values) -> None:
    assert fusion.standardised(values) == [0.0] * len(values)


def test_without_similarities_the_words_alone_rank() -> None:
    assert fusion.fuse([1.2, 0.3, 0.0], None) == [1.2, 0.3, 0.0]


def test_meaning_outranks_a_weak_word_match_and_words_break_ties_in_meaning() -> None:
    # a French question about an English lesson: one passage shares a word by chance, another means the same
    words = [0.4, 0.0, 0.0]
    meaning = [0.10, 0.45, 0.12]
    scores = fusion.fuse(words, meaning)
    assert max(range(3), key=scores.__getitem__) == 1
    # equal meaning: the words decide
    tied = fusion.fuse([0.0, 0.6], [0.3, 0.3])
    assert tied[1] > tied[0]


def test_the_weight_sets_how_far_meaning_counts_against_words() -> None:
    words, meaning = [1.0, 0.0], [0.30, 0.35]
    assert fusion.fuse(words, meaning, weight=0.1)[0] > fusion.fuse(words, meaning, weight=0.1)[1]
    assert fusion.fuse(words, meaning, weight=8.0)[0] < fusion.fuse(words, meaning, weight=8.0)[1]


def test_closeness_has_a_lower_bar_inside_the_pupils_lesson_than_across_the_box() -> None:
    between = (fusion.NEAR_IN_LESSON + fusion.NEAR_WIDE) / 2
    assert fusion.near(between, in_lesson=True) and not fusion.near(between, in_lesson=False)
    assert fusion.near(fusion.NEAR_WIDE, in_lesson=False)
    assert not fusion.near(fusion.NEAR_IN_LESSON - 0.01, in_lesson=True)
    assert not fusion.near(None, in_lesson=True)
