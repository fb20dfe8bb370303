"""Bayesian Knowledge Tracing: filtering, EM fitting, extensions, stuck flags and recommendations."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

from bench.mastery_eval import auc, simulate_a, simulate_b
from edge_server.domain import mastery

P = mastery.Params(prior=0.2, learn=0.3, guess=(0.3, 0.2, 0.1), slip=(0.05, 0.1, 0.2), forget=0.05)


def brute_force_p_correct(params: mastery.Params, attempts: list[mastery.Attempt]) -> list[float]:
    """P(correct before each answer) by summing over every hidden path (exponential, for tiny sequences)."""
    out = []
    for n in range(len(attempts)):
        joint_seen = 0.0
        joint_seen_and_right = 0.0
        for path in itertools.product((0, 1), repeat=n + 1):
            prob = params.prior if path[0] else 1 - params.prior
            for t in range(1, n + 1):
                gap = attempts[t].t_days - attempts[t - 1].t_days
                phi = mastery.forget_probability(params.forget, gap)
                move = (1 - phi if path[t] else phi) if path[t - 1] else (params.learn if path[t] else 1 - params.learn)
                prob *= move
            for t in range(n):
                d = attempts[t].difficulty - 1
                p_right = 1 - params.slip[d] if path[t] else params.guess[d]
                prob *= p_right if attempts[t].correct else 1 - p_right
            d = attempts[n].difficulty - 1
            joint_seen += prob
            joint_seen_and_right += prob * (1 - params.slip[d] if path[n] else params.guess[d])
        out.append(joint_seen_and_right / joint_seen)
    return out


def test_filtering_matches_summing_over_every_hidden_path():
    seq = [mastery.Attempt(c, d, t) for c, d, t in
           [(False, 1, 0.0), (True, 3, 0.01), (False, 2, 5.0), (True, 2, 5.01), (True, 1, 20.0)]]
    expected = brute_force_p_correct(P, seq)
    assert [s.p_correct for s in mastery.trace(P, seq)] == pytest.approx(expected, abs=1e-12)
    vectorised = mastery.forward(mastery.make_batch([seq, seq[:2]]), mastery.ParamArrays.from_params([P]))
    assert list(vectorised.p_correct[0]) == pytest.approx(expected, abs=1e-12)
    assert list(vectorised.p_correct[1, :2]) == pytest.approx(expected[:2], abs=1e-12)


def test_right_answers_raise_mastery_and_wrong_ones_lower_it():
    up = mastery.step(P, 0.5, True, 2)
    down = mastery.step(P, 0.5, False, 2)
    assert down.p_mastery < 0.5 < up.p_mastery


def test_a_long_gap_lowers_the_chance_of_a_right_answer_when_forgetting_is_on():
    same_day = mastery.step(P, 0.9, True, 2, gap_days=0.0).p_correct
    month_later = mastery.step(P, 0.9, True, 2, gap_days=30.0).p_correct
    assert month_later < same_day


def test_em_recovers_the_simulators_parameters():
    sim = simulate_a(np.random.default_rng(5), n_pupils=300, n_kps=3, never_learn=0.0)
    fitted = mastery.replay(sim.lines, spec=mastery.PLAIN).params
    for kp, true in sim.true_params.items():
        got = fitted[kp]
        assert got.learn == pytest.approx(true.learn, abs=0.05)
        assert got.guess[1] == pytest.approx(true.guess[1], abs=0.05)
        assert got.slip[1] == pytest.approx(true.slip[1], abs=0.04)
        assert got.prior == pytest.approx(true.prior, abs=0.1)


def test_em_improves_the_likelihood_of_the_starting_guess():
    sim = simulate_a(np.random.default_rng(6), n_pupils=80, n_kps=2)
    by_kp: dict[str, dict[str, list]] = {}
    for line in sorted(sim.lines, key=lambda ln: ln.t_days):
        by_kp.setdefault(line.knowledge_point, {}).setdefault(line.pupil, []).append(
            mastery.Attempt(line.correct, 2, line.t_days))
    seqs, groups = [], []
    for k, kp in enumerate(sorted(by_kp)):
        for seq in by_kp[kp].values():
            seqs.append(seq)
            groups.append(k)
    batch = mastery.make_batch(seqs, groups)
    result = mastery.fit(batch, mastery.PLAIN)
    assert result.loglik > result.history[0] + 10


def test_guess_and_slip_stay_below_one_half_even_on_perverse_data():
    # Pupils who are right first and then always wrong would push plain EM to guess > 0.5.
    seqs = {"kp": [[mastery.Attempt(i < 3, 2, i / 1000) for i in range(12)] for _ in range(30)]}
    params = mastery.fit_sequences(seqs, mastery.EXTENDED)["kp"]
    assert max(params.guess) <= mastery.GUESS_MAX < 0.5 and max(params.slip) <= mastery.SLIP_MAX < 0.5


def test_a_knowledge_point_with_two_attempts_keeps_sensible_parameters():
    seqs = {"kp": [[mastery.Attempt(True, 1, 0.0), mastery.Attempt(False, 3, 2.0)]]}
    params = mastery.fit_sequences(seqs, mastery.EXTENDED)["kp"]
    assert 0.05 < params.prior < 0.6 and 0.02 < params.learn < 0.4
    assert all(0.05 < g < 0.45 for g in params.guess) and all(0.01 < s < 0.3 for s in params.slip)
    assert params.forget < 0.1


def test_the_extended_model_learns_that_hard_items_are_guessed_less_and_slipped_more():
    sim = simulate_b(np.random.default_rng(8), n_pupils=60, n_kps=4)
    fitted = mastery.replay(sim.lines, spec=mastery.EXTENDED).params
    assert np.mean([p.guess[0] - p.guess[2] for p in fitted.values()]) > 0.1
    assert np.mean([p.slip[2] - p.slip[0] for p in fitted.values()]) > 0.05
    assert np.mean([p.forget for p in fitted.values()]) > 0.005


def test_the_extended_model_predicts_a_class_with_difficulty_and_forgetting_better_than_plain_bkt():
    sim = simulate_b(np.random.default_rng(9), n_pupils=40, n_kps=6)
    labels = np.array([ln.correct for ln in sim.lines])
    ours = auc(np.array(mastery.replay(sim.lines, spec=mastery.EXTENDED).predictions), labels)
    plain = auc(np.array(mastery.replay(sim.lines, spec=mastery.PLAIN).predictions), labels)
    assert ours > plain + 0.02


def test_replay_predictions_follow_the_file_order_whatever_it_is():
    sim = simulate_a(np.random.default_rng(3), n_pupils=20, n_kps=2)
    params = mastery.replay(sim.lines).params
    base = dict(zip(sim.lines, mastery.replay(sim.lines, params=params).predictions, strict=True))
    shuffled = list(sim.lines)
    random.Random(1).shuffle(shuffled)
    again = mastery.replay(shuffled, params=params).predictions
    assert again == pytest.approx([base[line] for line in shuffled])


def test_auc_of_perfect_random_and_tied_scores():
    labels = np.array([0, 0, 1, 1])
    assert auc(np.array([0.1, 0.2, 0.8, 0.9]), labels) == 1.0
    assert auc(np.array([0.5, 0.5, 0.5, 0.5]), labels) == 0.5
    assert auc(np.array([0.9, 0.8, 0.2, 0.1]), labels) == 0.0


def test_stuck_needs_enough_attempts_and_low_mastery():
    n = mastery.STUCK_MIN_ATTEMPTS
    assert mastery.is_stuck(n, 0.1) and not mastery.is_stuck(n - 1, 0.1)
    assert not mastery.is_stuck(n + 10, mastery.STUCK_BELOW + 0.01)


def test_params_survive_a_round_trip_through_plain_data():
    assert mastery.Params.from_dict(P.to_dict()) == P
    assert mastery.Params.from_dict({"guess": 0.25, "slip": 0.1}).guess == (0.25, 0.25, 0.25)


CHAPTERS = [
    {"lesson_id": "water", "lesson_title": "Water", "knowledge_point": "evap", "start": 61.7, "end": 90,
     "title": "Evaporation"},
    {"lesson_id": "water", "knowledge_point": "cond", "start": 90, "end": 120, "title": "Condensation"},
]
EXERCISES = [
    {"id": "e-hard", "lesson_id": "water", "knowledge_point": "evap", "difficulty": 3, "prompt": "Why?"},
    {"id": "e-easy", "lesson_id": "water", "knowledge_point": "evap", "difficulty": 1, "prompt": "What?"},
    {"id": "e-mid", "lesson_id": "water", "knowledge_point": "evap", "difficulty": 2, "prompt": "How?"},
    {"id": "c-1", "lesson_id": "water", "knowledge_point": "cond", "difficulty": 1, "prompt": "Cloud?"},
]


def test_a_stuck_pupil_is_sent_to_the_tagged_chapter_then_easier_items():
    states = [{"knowledge_point": "cond", "p_mastery": 0.3, "stuck": False},
              {"knowledge_point": "evap", "p_mastery": 0.4, "stuck": True}]
    recs = mastery.recommend(states, CHAPTERS, EXERCISES, solved={"e-easy"})
    assert recs[0]["kind"] == "chapter" and recs[0]["url"] == "/lesson/water?t=61"
    assert [r.get("exercise_id") for r in recs[1:3]] == ["e-mid", "e-hard"]
    assert recs[1]["url"] == "/lesson/water#ex-e-mid"
    assert recs[3]["knowledge_point"] == "cond"


def test_mastered_knowledge_points_get_no_recommendation():
    states = [{"knowledge_point": "evap", "p_mastery": 0.99, "stuck": False}]
    assert mastery.recommend(states, CHAPTERS, EXERCISES) == []
