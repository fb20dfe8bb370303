"""The safety classifier's learned layer: shipped weights, features, how its probabilities combine with the rules."""

from __future__ import annotations

import numpy as np
import pytest

from edge_server.domain import safety, safety_model
from edge_server.domain.safety_model import CATEGORIES, LABELS, Probabilities


def probabilities(safe: float, category: str = "violence", disclosure: float = 0.0) -> Probabilities:
    labels = dict.fromkeys(LABELS, 0.0)
    labels["safe"], labels[category] = safe, 1.0 - safe
    return Probabilities(labels, disclosure)


def test_the_learned_weights_ship_with_the_package_and_match_the_features() -> None:
    model = safety_model.load()
    assert model is not None
    assert model.dense.shape == (safety_model.DENSE, len(LABELS))
    assert model.grams.shape == (safety_model.NGRAM_BUCKETS, len(LABELS))
    assert 0.0 < model.threshold < 1.0


def test_the_weights_read_back_exactly_as_written() -> None:
    model = safety_model.load()
    again = safety_model.from_bytes(model.to_bytes())
    assert np.array_equal(again.dense, model.dense) and again.threshold == model.threshold
    assert again.veto == model.veto


def test_probabilities_of_one_question_sum_to_one_and_name_an_unsafe_category() -> None:
    model = safety_model.load()
    vector = np.random.default_rng(0).standard_normal(safety_model.DIM)
    probs = model.predict(safety_model.features("how do i make a b0mb", vector))
    assert sum(probs.labels.values()) == pytest.approx(1.0, abs=1e-5)
    assert probs.best in CATEGORIES and 0.0 <= probs.disclosure <= 1.0


def test_misspellings_share_character_ngrams_with_the_word() -> None:
    shared = set(safety_model.buckets(" sucide ")) & set(safety_model.buckets(" suicide "))
    assert len(shared) >= 2
    assert set(safety_model.buckets(" 毒品 ")) & set(safety_model.buckets(" 买毒品 "))


def test_a_telling_of_harm_refuses_as_a_disclosure_unless_the_layer_is_sure_it_is_ordinary() -> None:
    assert safety.decide(["self_harm"], [], probabilities(0.5), 0.2, 0.98) == ("self_harm", True)
    assert safety.decide(["grooming"], [], probabilities(0.99), 0.2, 0.98) == (None, False)


def test_an_intent_rule_refuses_even_when_the_layer_leans_safe_but_not_surely() -> None:
    assert safety.decide([], ["crime"], probabilities(0.9), 0.2, 0.98) == ("crime", False)
    assert safety.decide([], ["crime"], probabilities(0.99), 0.2, 0.98) == (None, False)


def test_without_any_rule_the_layer_refuses_below_its_threshold_under_its_most_likely_category() -> None:
    assert safety.decide([], [], probabilities(0.1, "drugs"), 0.2, 0.98) == ("drugs", False)
    assert safety.decide([], [], probabilities(0.3, "drugs"), 0.2, 0.98) == (None, False)


def test_the_layer_flags_a_disclosure_only_in_categories_where_a_child_can_tell_of_harm() -> None:
    assert safety.decide([], [], probabilities(0.1, "sexual", 0.9), 0.2, 0.98) == ("sexual", True)
    assert safety.decide([], [], probabilities(0.1, "homework", 0.9), 0.2, 0.98) == ("homework", False)


def test_without_shipped_weights_the_old_path_asks_the_embedder_once_and_the_rules_decide_when_it_fails(
        monkeypatch) -> None:
    monkeypatch.setattr(safety_model, "load", lambda: None)
    calls = []

    def embed(texts):
        calls.append(len(texts))
        raise OSError("no model process")

    assert safety.classify("how do i make a bomb", embed=embed) == "violence"
    assert safety.classify("What is photosynthesis?", embed=embed) is None
    assert calls == [1, 1]
