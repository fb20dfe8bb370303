# ruff: noqa: SIM905 - split strings read as the decodes they stand for
"""Voting between decodes of the same audio: a word two of three transcripts agree on wins, timing stays."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from models.rover import combine, key
from models.types import Segment

BACKBONE = [Segment(0.0, 2.5, "But through the middle runs the river aisle."),
            Segment(2.5, 5.0, "Every summer the river rose.")]


def test_a_word_both_other_decodes_agree_on_replaces_the_first_decodes_word_in_its_place():
    others = ["but through the middle runs the river Nile. Every summer, the river rose.".split(),
              "But through middle runs the river Nile. Every summer the river rose".split()]
    assert combine(BACKBONE, others) == [Segment(0.0, 2.5, "But through the middle runs the river Nile."),
                                         Segment(2.5, 5.0, "Every summer the river rose.")]


def test_when_the_other_decodes_disagree_with_each_other_the_first_decode_is_kept():
    others = ["But through the middle runs the river Nile.".split(),
              "But through the middle runs the river isle.".split()]
    assert combine(BACKBONE, others)[0].text == BACKBONE[0].text


def test_a_word_the_first_decode_missed_is_inserted_when_the_others_both_heard_it():
    backbone = [Segment(0.0, 3.0, "Plants need water and light.")]
    others = ["Plants need clean water and light.".split(), "plants need clean water and light".split()]
    assert combine(backbone, others)[0].text == "Plants need clean water and light."


def test_a_word_only_the_first_decode_heard_is_dropped_and_its_full_stop_kept():
    backbone = [Segment(0.0, 3.0, "Plants need water um.")]
    others = ["Plants need water.".split(), "Plants need water.".split()]
    assert combine(backbone, others)[0].text == "Plants need water."


def test_a_capitalised_first_word_of_a_sentence_stays_capitalised_when_replaced():
    backbone = [Segment(0.0, 3.0, "Free baskets hold eggs.")]
    others = ["three baskets hold eggs.".split(), "three baskets hold eggs".split()]
    assert combine(backbone, others)[0].text == "Three baskets hold eggs."


def test_without_other_decodes_the_transcript_is_unchanged():
    assert combine(BACKBONE, []) == BACKBONE


def test_words_are_compared_without_case_or_punctuation():
    assert key("River,") == key("river") == "river" and key("don't") == "don't"


words = st.lists(st.sampled_from(["the", "river", "Nile", "rose", "every", "summer", "banks."]), min_size=1,
                 max_size=12)


@given(words, words, words)
def test_segments_keep_their_times_in_order_and_every_word_comes_from_some_decode(first, second, third):
    backbone = [Segment(0.0, 1.0, " ".join(first[: len(first) // 2 + 1])),
                Segment(1.0, 2.0, " ".join(first[len(first) // 2 + 1:]))]
    backbone = [s for s in backbone if s.text]
    out = combine(backbone, [second, third])
    assert [(s.start, s.end) for s in out] == sorted((s.start, s.end) for s in out)
    assert {(s.start, s.end) for s in out} <= {(s.start, s.end) for s in backbone}
    heard = {key(w) for w in first + second + third}
    assert all(key(w) in heard for s in out for w in s.text.split())


@given(words)
def test_three_identical_decodes_give_back_the_first_unchanged(first):
    backbone = [Segment(0.0, 1.0, " ".join(first))]
    assert combine(backbone, [list(first), list(first)]) == backbone
