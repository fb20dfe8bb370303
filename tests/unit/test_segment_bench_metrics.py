"""The measures bench/ai_quality.py reports: boundary F1, knowledge-point accuracy, key terms, WER, baselines."""

from __future__ import annotations

import pytest

from bench.ai_quality import boundary_f1, equal_split, kp_accuracy, lead_summary, term_coverage
from bench.wer import raw_wer, wer
from models.types import Chapter, KnowledgePoint, Segment


def test_boundary_f1_counts_a_boundary_within_eight_seconds_once():
    assert boundary_f1([30.0, 61.0], [29.0, 55.0]) == 1.0
    assert boundary_f1([30.0, 64.0], [29.0, 55.0]) == pytest.approx(0.5)
    # two predictions near one true boundary: only one of them is a hit
    assert boundary_f1([28.0, 31.0], [29.0]) == pytest.approx(2 / 3)
    assert boundary_f1([], []) == 1.0
    assert boundary_f1([], [29.0]) == 0.0


def test_kp_accuracy_looks_at_each_true_chapter_midpoint():
    predicted = [Chapter(0.0, 40.0, "a", "A"), Chapter(40.0, 90.0, "b", "B")]
    true = [{"kp": "a", "start": 0.0, "end": 30.0}, {"kp": "b", "start": 30.0, "end": 60.0},
            {"kp": "c", "start": 60.0, "end": 90.0}]
    assert kp_accuracy(predicted, true) == pytest.approx(2 / 3)


def test_key_terms_match_by_stem_and_multiword_terms_must_be_adjacent():
    summary = "Plants take in carbon dioxide and release oxygen through their leaves."
    assert term_coverage(summary, ["plant", "carbon dioxide", "leaf", "oxygen"]) == 1.0
    assert term_coverage(summary, ["dioxide carbon", "sugar"]) == 0.0


def test_wer_counts_substitutions_insertions_and_deletions_per_reference_word():
    assert wer("the cat sat on the mat", "the cat sat on the mat") == 0.0
    assert wer("the cat sat on the mat", "the bat sat on mat") == pytest.approx(2 / 6)


def test_wer_counts_hearing_not_spelling_numbers_or_punctuation_and_the_raw_figure_counts_them():
    said, heard = "Three metres of rope, colour red.", "3 meters of rope color red"
    assert wer(said, heard) == 0.0
    assert raw_wer(said, heard) == pytest.approx(3 / 6)


def test_equal_split_baseline_gives_k_equal_chapters_with_knowledge_points_in_order():
    segments = [Segment(float(i), float(i + 1), f"Sentence {i}.") for i in range(90)]
    kps = [KnowledgePoint("a", "A"), KnowledgePoint("b", "B"), KnowledgePoint("c", "C")]
    chapters = equal_split(segments, kps)
    assert [(c.start, c.end, c.knowledge_point) for c in chapters] == [(0.0, 30.0, "a"), (30.0, 60.0, "b"),
                                                                      (60.0, 90.0, "c")]
    assert len(lead_summary(segments, chapters).split()) <= 150
    assert lead_summary(segments, chapters).startswith("Sentence 0. Sentence 30. Sentence 60. Sentence 1.")
