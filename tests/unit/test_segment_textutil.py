"""Text helpers under the chapter and summary method: stems, stop words, sentences, numbers, similarity."""

from __future__ import annotations

from collections import Counter

import pytest

from models.textutil import content_terms, cosine, names, numbers, split_sentences, stem, support


@pytest.mark.parametrize(("a", "b"), [
    ("fractions", "fraction"), ("denominators", "denominator"), ("adding", "add"), ("added", "add"),
    ("compare", "comparing"), ("leaves", "leaf"), ("halves", "half"), ("bodies", "body"), ("boxes", "box"),
    ("running", "run"),
])
def test_inflected_forms_of_a_word_share_one_stem(a: str, b: str):
    assert stem(a) == stem(b)


@pytest.mark.parametrize(("a", "b"), [("glass", "gas"), ("bus", "bu"), ("sun", "sum"), ("plant", "planet")])
def test_different_words_keep_different_stems(a: str, b: str):
    assert stem(a) != stem(b)


def test_content_terms_drop_english_and_french_function_words_and_keep_topic_words():
    assert content_terms("The plant takes in water through its roots.") == ["plant", "water", "root"]
    assert content_terms("Les plantes prennent l'eau par les racines.") == ["plant", "prennent", "eau", "racin"]


def test_numbers_meet_whether_written_as_words_or_digits_but_one_stays_a_stop_word():
    assert content_terms("Seven times ten is seventy.") == content_terms("7 times 10 is 70.")
    assert {"7", "10", "70"} <= set(content_terms("7 times 10 is 70."))
    assert content_terms("Pick the big one.") == content_terms("Pick the big 1.") == ["pick", "big"]


def test_sentences_split_after_full_stops_questions_and_exclamations_only():
    text = "Where is my book? It is here! We write 3.5 metres. Done"
    assert split_sentences(text) == ["Where is my book?", "It is here!", "We write 3.5 metres.", "Done"]


def test_numbers_are_found_as_digits_and_as_words():
    assert numbers("Three quarters is 9 twelfths.") == {"three", "quarters", "9", "twelfths"}


def test_names_are_capitalised_words_inside_a_sentence():
    assert names("Yesterday Amina visited Cairo with me. The Nile is long.") == {"amina", "cairo", "nile"}


def test_support_is_the_share_of_content_words_found_in_the_source():
    source = set(content_terms("Plants need water and sunlight to make sugar."))
    assert support("Plants make sugar.", source) == 1.0
    assert support("Plants make sugar from soil.", source) == pytest.approx(2 / 3)


def test_cosine_is_one_for_the_same_direction_and_zero_without_shared_terms():
    assert cosine(Counter(a=1.0, b=2.0), Counter(a=2.0, b=4.0)) == pytest.approx(1.0)
    assert cosine(Counter(a=1.0), Counter(b=1.0)) == 0.0
    assert cosine(Counter(), Counter(a=1.0)) == 0.0
