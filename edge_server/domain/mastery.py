"""Bayesian Knowledge Tracing (pure): forward filtering, EM fitting, stuck flags and recommendations.

The model per knowledge point (KP) has a hidden state, learned or not, with
  prior   P(learned) before the first attempt,
  learn   P(not learned -> learned) after each attempt (practice),
  forget  per-day rate of learned -> not learned over the days between attempts (extension),
  guess   P(correct | not learned), per item difficulty 1-3 (extension; plain BKT ties them),
  slip    P(wrong | learned), per difficulty 1-3 (extension).
Plain BKT (one guess, one slip, no forgetting) is kept as the baseline the extensions must beat.
Fitting is expectation-maximisation (Baum-Welch) over all pupils' sequences, vectorised over sequences and KPs,
with Beta priors (MAP) so that a KP with few attempts stays near sensible values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

MASTERED_AT = 0.95
# Stuck = at least this many attempts and mastery still below the threshold. Chosen with
# `python -m bench.mastery_eval --tune --seeds 1001 1002 1003 1004` (seeds never reported): below 0.6 gave the best
# mean F1 on both simulators at every attempt floor; 5 attempts (one exercise set) scores within 0.01 of 3-4
# attempts while sparing pupils who are merely slow starters, and 6+ attempts loses recall on simulator (b).
STUCK_MIN_ATTEMPTS = 5
STUCK_BELOW = 0.6
DIFFICULTIES = (1, 2, 3)
GUESS_MAX = 0.45
SLIP_MAX = 0.45
SECONDS_PER_DAY = 86400.0


@dataclass(frozen=True)
class Params:
    """BKT parameters of one knowledge point."""

    prior: float = 0.3
    learn: float = 0.15
    guess: tuple[float, float, float] = (0.2, 0.2, 0.2)
    slip: tuple[float, float, float] = (0.1, 0.1, 0.1)
    forget: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the kp_params table."""
        return {"prior": self.prior, "learn": self.learn, "guess": list(self.guess), "slip": list(self.slip),
                "forget": self.forget}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Params:
        """Read parameters back; a scalar guess/slip is applied to every difficulty."""
        def triple(value: Any, default: tuple[float, float, float]) -> tuple[float, float, float]:
            if value is None:
                return default
            if isinstance(value, int | float):
                return (float(value),) * 3
            return tuple(float(v) for v in value)  # type: ignore[return-value]

        return cls(prior=float(data.get("prior", cls.prior)), learn=float(data.get("learn", cls.learn)),
                   guess=triple(data.get("guess"), cls.guess), slip=triple(data.get("slip"), cls.slip),
                   forget=float(data.get("forget", 0.0)))


DEFAULT_PARAMS = Params()


@dataclass(frozen=True)
class ModelSpec:
    """Which extensions of plain BKT are switched on."""

    per_difficulty: bool = True
    forgetting: bool = True


PLAIN = ModelSpec(per_difficulty=False, forgetting=False)
EXTENDED = ModelSpec(per_difficulty=True, forgetting=True)


@dataclass(frozen=True)
class Priors:
    """Beta priors (a, b) for MAP estimates; shrink_difficulty = pseudo-counts pulling each level to the pool."""

    prior: tuple[float, float] = (2.0, 3.0)
    learn: tuple[float, float] = (2.0, 8.0)
    guess: tuple[float, float] = (3.0, 9.0)
    slip: tuple[float, float] = (2.0, 12.0)
    forget: tuple[float, float] = (1.0, 60.0)
    shrink_difficulty: float = 10.0


@dataclass(frozen=True)
class Attempt:
    """One observed answer: correct or not, item difficulty 1-3, time in days (any origin)."""

    correct: bool
    difficulty: int = 2
    t_days: float = 0.0


def clamp_difficulty(value: Any) -> int:
    """Difficulty 1-3; anything else counts as medium."""
    try:
        level = int(value)
    except (TypeError, ValueError):
        return 2
    return level if level in DIFFICULTIES else 2


# ---------------------------------------------------------------- single-pupil filtering (runtime, replay)

def forget_probability(forget: float, gap_days: float) -> float:
    """P(learned -> not learned) over a gap of some days."""
    if forget <= 0 or gap_days <= 0:
        return 0.0
    return 1.0 - (1.0 - forget) ** gap_days


def transition(params: Params, p_learned: float, gap_days: float) -> float:
    """P(learned) before the next attempt, given the posterior after the last one and the days between."""
    phi = forget_probability(params.forget, gap_days)
    return p_learned * (1.0 - phi) + (1.0 - p_learned) * params.learn


def predict_correct(params: Params, p_learned: float, difficulty: int = 2) -> float:
    """P(correct) of the next answer given P(learned) before it."""
    d = clamp_difficulty(difficulty) - 1
    return p_learned * (1.0 - params.slip[d]) + (1.0 - p_learned) * params.guess[d]


def observe(params: Params, p_learned: float, correct: bool, difficulty: int = 2) -> float:
    """Posterior P(learned) after seeing one answer."""
    d = clamp_difficulty(difficulty) - 1
    if correct:
        yes, no = p_learned * (1.0 - params.slip[d]), (1.0 - p_learned) * params.guess[d]
    else:
        yes, no = p_learned * params.slip[d], (1.0 - p_learned) * (1.0 - params.guess[d])
    return yes / (yes + no)


@dataclass(frozen=True)
class Step:
    """One attempt folded into a pupil's state."""

    p_correct: float  # predicted before the answer
    p_mastery: float  # posterior after the answer, before any learning from it


def step(params: Params, previous: float | None, correct: bool, difficulty: int = 2,
         gap_days: float = 0.0) -> Step:
    """Fold one answer into P(learned): previous is the posterior after the last attempt (None = first)."""
    before = params.prior if previous is None else transition(params, previous, gap_days)
    return Step(predict_correct(params, before, difficulty), observe(params, before, correct, difficulty))


def trace(params: Params, attempts: Sequence[Attempt]) -> list[Step]:
    """Forward filtering over one pupil's attempts at one KP, in time order."""
    steps: list[Step] = []
    previous: float | None = None
    last_t: float | None = None
    for attempt in attempts:
        gap = 0.0 if last_t is None else max(0.0, attempt.t_days - last_t)
        current = step(params, previous, attempt.correct, attempt.difficulty, gap)
        steps.append(current)
        previous, last_t = current.p_mastery, attempt.t_days
    return steps


def is_stuck(n_attempts: int, p_mastery: float, min_attempts: int = STUCK_MIN_ATTEMPTS,
             below: float = STUCK_BELOW) -> bool:
    """Stuck = enough attempts and still low mastery."""
    return n_attempts >= min_attempts and p_mastery < below


def is_mastered(p_mastery: float) -> bool:
    """Mastered = posterior at or above the classic 0.95."""
    return p_mastery >= MASTERED_AT


# ---------------------------------------------------------------- vectorised forward-backward and EM

@dataclass
class Batch:
    """Sequences padded into (N, T) arrays; group[n] = index of the KP of sequence n."""

    obs: np.ndarray
    diff: np.ndarray
    gap: np.ndarray
    mask: np.ndarray
    group: np.ndarray
    n_groups: int


def make_batch(sequences: Sequence[Sequence[Attempt]], groups: Sequence[int] | None = None,
               n_groups: int | None = None) -> Batch:
    """Pad sequences (each in time order) into arrays."""
    n = len(sequences)
    t_max = max((len(s) for s in sequences), default=1) or 1
    obs = np.zeros((n, t_max))
    diff = np.ones((n, t_max), dtype=np.int64)
    gap = np.zeros((n, t_max))
    mask = np.zeros((n, t_max), dtype=bool)
    for i, seq in enumerate(sequences):
        k = len(seq)
        if not k:
            continue
        obs[i, :k] = [1.0 if a.correct else 0.0 for a in seq]
        diff[i, :k] = [clamp_difficulty(a.difficulty) - 1 for a in seq]
        times = np.array([a.t_days for a in seq], dtype=float)
        gap[i, 1:k] = np.maximum(0.0, np.diff(times))
        mask[i, :k] = True
    group = np.zeros(n, dtype=np.int64) if groups is None else np.asarray(groups, dtype=np.int64)
    return Batch(obs, diff, gap, mask, group, int(n_groups if n_groups is not None else (group.max() + 1 if n else 1)))


@dataclass
class ParamArrays:
    """Parameters of K knowledge points as arrays: guess and slip are (K, 3)."""

    prior: np.ndarray
    learn: np.ndarray
    forget: np.ndarray
    guess: np.ndarray
    slip: np.ndarray

    @classmethod
    def from_params(cls, params: Sequence[Params]) -> ParamArrays:
        return cls(np.array([p.prior for p in params]), np.array([p.learn for p in params]),
                   np.array([p.forget for p in params]), np.array([p.guess for p in params]),
                   np.array([p.slip for p in params]))

    def to_params(self) -> list[Params]:
        return [Params(float(self.prior[k]), float(self.learn[k]), tuple(float(x) for x in self.guess[k]),
                       tuple(float(x) for x in self.slip[k]), float(self.forget[k]))
                for k in range(len(self.prior))]


@dataclass
class Filtered:
    """Forward pass results, each (N, T)."""

    before: np.ndarray  # P(learned) before each answer
    p_correct: np.ndarray
    post: np.ndarray  # P(learned) after each answer
    scale: np.ndarray  # P(answer | past), the scaling constants
    e0: np.ndarray
    e1: np.ndarray
    phi: np.ndarray
    learn: np.ndarray


def forward(batch: Batch, pa: ParamArrays) -> Filtered:
    """Forward filtering of every sequence at once."""
    g_idx = batch.group[:, None]
    guess = pa.guess[g_idx, batch.diff]
    slip = pa.slip[g_idx, batch.diff]
    e1 = np.where(batch.obs > 0.5, 1.0 - slip, slip)
    e0 = np.where(batch.obs > 0.5, guess, 1.0 - guess)
    phi = np.where(batch.gap > 0, 1.0 - (1.0 - pa.forget[batch.group][:, None]) ** batch.gap, 0.0)
    learn = pa.learn[batch.group]
    n, t_max = batch.obs.shape
    before = np.empty((n, t_max))
    post = np.empty((n, t_max))
    scale = np.ones((n, t_max))
    p = pa.prior[batch.group].astype(float)
    for t in range(t_max):
        if t > 0:
            moved = p * (1.0 - phi[:, t]) + (1.0 - p) * learn
            p = np.where(batch.mask[:, t], moved, p)
        before[:, t] = p
        num1 = p * e1[:, t]
        c = num1 + (1.0 - p) * e0[:, t]
        scale[:, t] = np.where(batch.mask[:, t], c, 1.0)
        p = np.where(batch.mask[:, t], num1 / c, p)
        post[:, t] = p
    p_correct = before * (1.0 - slip) + (1.0 - before) * guess
    return Filtered(before, p_correct, post, scale, e0, e1, phi, learn)


def _map(x: np.ndarray, n: np.ndarray, ab: tuple[float, float]) -> np.ndarray:
    a, b = ab
    return (x + a - 1.0) / (n + a + b - 2.0)


def _fit_forget(xi10: np.ndarray, xi11: np.ndarray, gap: np.ndarray, group: np.ndarray, k: int,
                ab: tuple[float, float]) -> np.ndarray:
    """Per-KP daily forget rate maximising the expected log-likelihood: a coarse grid, then golden section,
    both vectorised over KPs."""
    keep = gap > 0
    x10, x11, g, grp = xi10[keep], xi11[keep], gap[keep], group[keep]
    a, b = ab

    def scores(rate: np.ndarray) -> np.ndarray:
        log_stay = g * np.log1p(-rate[grp])
        ll = x10 * np.log(np.maximum(-np.expm1(log_stay), 1e-300)) + x11 * log_stay
        return np.bincount(grp, weights=ll, minlength=k) + (a - 1) * np.log(rate) + (b - 1) * np.log1p(-rate)

    grid = np.exp(np.linspace(math.log(1e-5), math.log(0.5), 24))
    table = np.array([scores(np.full(k, f)) for f in grid])
    idx = table.argmax(axis=0)
    lo, hi = grid[np.maximum(idx - 1, 0)], grid[np.minimum(idx + 1, len(grid) - 1)]
    ratio = (math.sqrt(5) - 1) / 2
    for _ in range(16):
        m1, m2 = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
        left = scores(m1) >= scores(m2)
        hi, lo = np.where(left, m2, hi), np.where(left, lo, m1)
    return (lo + hi) / 2


def _em_step(batch: Batch, pa: ParamArrays, spec: ModelSpec, priors: Priors) -> tuple[ParamArrays, float]:
    """One Baum-Welch iteration; returns new parameters and the log-likelihood of the old ones."""
    fw = forward(batch, pa)
    mask = batch.mask
    n, t_max = batch.obs.shape
    k = batch.n_groups
    loglik = float(np.log(fw.scale[mask]).sum())
    # Backward pass with the same scaling: beta is 1 after each sequence's end.
    beta1 = np.ones((n, t_max))
    beta0 = np.ones((n, t_max))
    for t in range(t_max - 2, -1, -1):
        nxt = mask[:, t + 1]
        w1 = fw.e1[:, t + 1] * beta1[:, t + 1] / fw.scale[:, t + 1]
        w0 = fw.e0[:, t + 1] * beta0[:, t + 1] / fw.scale[:, t + 1]
        phi = fw.phi[:, t + 1]
        b0 = (1.0 - fw.learn) * w0 + fw.learn * w1
        b1 = phi * w0 + (1.0 - phi) * w1
        beta0[:, t] = np.where(nxt, b0, 1.0)
        beta1[:, t] = np.where(nxt, b1, 1.0)
    gamma1 = fw.post * beta1
    gamma0 = (1.0 - fw.post) * beta0
    total = gamma0 + gamma1
    gamma1, gamma0 = gamma1 / total, gamma0 / total
    # Expected transitions t-1 -> t for t >= 1.
    trans = mask[:, 1:]
    w1 = fw.e1[:, 1:] * beta1[:, 1:] / fw.scale[:, 1:]
    w0 = fw.e0[:, 1:] * beta0[:, 1:] / fw.scale[:, 1:]
    a1, a0 = fw.post[:, :-1], 1.0 - fw.post[:, :-1]
    learn_col = fw.learn[:, None]
    xi01 = a0 * learn_col * w1
    xi00 = a0 * (1.0 - learn_col) * w0
    xi10 = a1 * fw.phi[:, 1:] * w0
    xi11 = a1 * (1.0 - fw.phi[:, 1:]) * w1
    grp_t = np.broadcast_to(batch.group[:, None], trans.shape)

    def per_kp(values: np.ndarray, where: np.ndarray, groups: np.ndarray) -> np.ndarray:
        return np.bincount(groups[where], weights=values[where], minlength=k)

    first = mask[:, 0]
    prior = _map(np.bincount(batch.group[first], weights=gamma1[first, 0], minlength=k),
                 np.bincount(batch.group[first], minlength=k).astype(float), priors.prior)
    learn = _map(per_kp(xi01, trans, grp_t), per_kp(xi01 + xi00, trans, grp_t), priors.learn)
    if spec.forgetting:
        forget = _fit_forget(xi10[trans], xi11[trans], batch.gap[:, 1:][trans], grp_t[trans], k, priors.forget)
    else:
        forget = np.zeros(k)
    grp_all = np.broadcast_to(batch.group[:, None], mask.shape)
    guess = np.empty((k, 3))
    slip = np.empty((k, 3))
    right = batch.obs > 0.5
    g_num = [per_kp(gamma0 * right, mask & (batch.diff == d), grp_all) for d in range(3)]
    g_den = [per_kp(gamma0, mask & (batch.diff == d), grp_all) for d in range(3)]
    s_num = [per_kp(gamma1 * ~right, mask & (batch.diff == d), grp_all) for d in range(3)]
    s_den = [per_kp(gamma1, mask & (batch.diff == d), grp_all) for d in range(3)]
    g_pool = _map(sum(g_num), sum(g_den), priors.guess)
    s_pool = _map(sum(s_num), sum(s_den), priors.slip)
    for d in range(3):
        if spec.per_difficulty:
            # Each level is pulled towards the pooled value while its own data is scarce.
            c = priors.shrink_difficulty
            guess[:, d] = (g_num[d] + c * g_pool) / (g_den[d] + c)
            slip[:, d] = (s_num[d] + c * s_pool) / (s_den[d] + c)
        else:
            guess[:, d], slip[:, d] = g_pool, s_pool
    new = ParamArrays(np.clip(prior, 1e-4, 1 - 1e-4), np.clip(learn, 1e-4, 1 - 1e-4), np.clip(forget, 0.0, 0.5),
                      np.clip(guess, 1e-3, GUESS_MAX), np.clip(slip, 1e-3, SLIP_MAX))
    return new, loglik


@dataclass
class FitResult:
    """Fitted parameters per group, with the log-likelihood and iterations used."""

    params: list[Params]
    loglik: float
    iterations: int
    history: list[float] = field(default_factory=list)


def fit(batch: Batch, spec: ModelSpec = EXTENDED, priors: Priors | None = None, init: Params | None = None,
        max_iter: int = 200, tol: float = 1e-6) -> FitResult:
    """EM (Baum-Welch, MAP) fit of every KP of the batch at once."""
    priors = priors or Priors()
    start = init or DEFAULT_PARAMS
    if not spec.forgetting:
        start = Params(start.prior, start.learn, start.guess, start.slip, 0.0)
    elif start.forget <= 0:
        start = Params(start.prior, start.learn, start.guess, start.slip, 0.01)
    pa = ParamArrays.from_params([start] * batch.n_groups)
    history: list[float] = []
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 - iterations reported after the loop
        new, loglik = _em_step(batch, pa, spec, priors)
        history.append(loglik)
        pa = new
        if len(history) > 1 and abs(history[-1] - history[-2]) <= tol * max(1.0, abs(history[-1])):
            break
    final = float(np.log(forward(batch, pa).scale[batch.mask]).sum())
    return FitResult(pa.to_params(), final, iterations, history)


def fit_sequences(sequences: dict[str, list[list[Attempt]]], spec: ModelSpec = EXTENDED,
                  priors: Priors | None = None) -> dict[str, Params]:
    """Fit parameters per KP from {kp: [sequence per pupil]}."""
    kps = sorted(sequences)
    if not kps:
        return {}
    flat: list[list[Attempt]] = []
    groups: list[int] = []
    for k, kp in enumerate(kps):
        for seq in sequences[kp]:
            if seq:
                flat.append(seq)
                groups.append(k)
    if not flat:
        return {kp: DEFAULT_PARAMS for kp in kps}
    result = fit(make_batch(flat, groups, len(kps)), spec, priors)
    return dict(zip(kps, result.params, strict=True))


# ---------------------------------------------------------------- replay of a whole file

@dataclass(frozen=True)
class ReplayLine:
    """One line of an attempts file, as the replay needs it."""

    pupil: str
    knowledge_point: str
    correct: bool
    t_days: float
    difficulty: int = 2


@dataclass
class Replay:
    """Predictions in file order and final mastery per pupil and KP."""

    predictions: list[float]
    mastery: list[dict[str, Any]]
    params: dict[str, Params]


def replay(lines: Sequence[ReplayLine], spec: ModelSpec = EXTENDED, priors: Priors | None = None,
           params: dict[str, Params] | None = None) -> Replay:
    """Fit (unless params are given) and filter every pupil's sequence; predictions come back in file order."""
    order: dict[tuple[str, str], list[int]] = {}
    for i, line in enumerate(lines):
        order.setdefault((line.pupil, line.knowledge_point), []).append(i)
    # Time order within a pupil and KP; a stable sort keeps file order for equal times.
    for key, idx in order.items():
        order[key] = sorted(idx, key=lambda i: lines[i].t_days)
    if params is None:
        by_kp: dict[str, list[list[Attempt]]] = {}
        for (_pupil, kp), idx in order.items():
            by_kp.setdefault(kp, []).append([_attempt(lines[i]) for i in idx])
        params = fit_sequences(by_kp, spec, priors)
    predictions = [0.0] * len(lines)
    mastery = []
    for (pupil, kp), idx in order.items():
        steps = trace(params.get(kp, DEFAULT_PARAMS), [_attempt(lines[i]) for i in idx])
        for i, s in zip(idx, steps, strict=True):
            predictions[i] = s.p_correct
        final = steps[-1].p_mastery
        mastery.append({"pupil": pupil, "knowledge_point": kp, "p_mastery": final, "attempts": len(idx),
                        "stuck": is_stuck(len(idx), final), "mastered": is_mastered(final)})
    return Replay(predictions, mastery, params)


def _attempt(line: ReplayLine) -> Attempt:
    return Attempt(line.correct, line.difficulty, line.t_days)


# ---------------------------------------------------------------- recommendations

def _chapter_link(lesson_id: str, start: float) -> str:
    return f"/lesson/{lesson_id}?t={int(max(0.0, start))}"


def recommend(states: Iterable[dict[str, Any]], chapters: Iterable[dict[str, Any]],
              exercises: Iterable[dict[str, Any]], solved: Iterable[str] = (), limit: int = 6,
              items_per_kp: int = 2, lessons: Iterable[dict[str, Any]] = ()) -> list[dict[str, Any]]:
    """The "next for you" list: for each unmastered KP (stuck first, then KPs in progress by lowest mastery,
    then untouched ones) the video chapter tagged with it, then its easier unsolved items.

    states: {"knowledge_point", "p_mastery", "stuck", "attempts"?, "name"?}; chapters: {"lesson_id",
    "lesson_title"?, "knowledge_point", "start", "end"?, "title"}; exercises: {"id", "lesson_id",
    "knowledge_point", "difficulty", "prompt"?}; solved: ids of items already answered correctly;
    lessons: {"lesson_id", "lesson_title", "knowledge_point"}, the whole lesson offered when no chapter is tagged.
    """
    fallback_lessons: dict[str, dict[str, Any]] = {}
    for lesson in lessons:
        if lesson.get("knowledge_point"):
            fallback_lessons.setdefault(lesson["knowledge_point"], lesson)
    done = set(solved)
    by_kp_chapters: dict[str, list[dict[str, Any]]] = {}
    for chapter in chapters:
        if chapter.get("knowledge_point"):
            by_kp_chapters.setdefault(chapter["knowledge_point"], []).append(chapter)
    by_kp_items: dict[str, list[dict[str, Any]]] = {}
    for ex in exercises:
        if ex.get("knowledge_point") and ex["id"] not in done:
            by_kp_items.setdefault(ex["knowledge_point"], []).append(ex)
    todo = [s for s in states if not is_mastered(float(s["p_mastery"]))]
    todo.sort(key=lambda s: (not s.get("stuck"), int(s.get("attempts", 1)) == 0, float(s["p_mastery"]),
                             s["knowledge_point"]))
    out: list[dict[str, Any]] = []
    for state in todo:
        kp = state["knowledge_point"]
        base = {"knowledge_point": kp, "knowledge_point_name": state.get("name") or kp,
                "stuck": bool(state.get("stuck")), "p_mastery": float(state["p_mastery"])}
        chapters_here = sorted(by_kp_chapters.get(kp, []), key=lambda c: (c["lesson_id"], float(c["start"])))
        if chapters_here:
            c = chapters_here[0]
            out.append({**base, "kind": "chapter", "lesson_id": c["lesson_id"], "title": c.get("title") or kp,
                        "lesson_title": c.get("lesson_title"), "start": float(c["start"]),
                        "url": _chapter_link(c["lesson_id"], float(c["start"]))})
        elif kp in fallback_lessons:
            lesson = fallback_lessons[kp]
            out.append({**base, "kind": "lesson", "lesson_id": lesson["lesson_id"],
                        "title": lesson.get("lesson_title") or lesson["lesson_id"],
                        "lesson_title": lesson.get("lesson_title"), "start": 0.0,
                        "url": f"/lesson/{lesson['lesson_id']}"})
        items = sorted(by_kp_items.get(kp, []), key=lambda e: (clamp_difficulty(e.get("difficulty")), e["id"]))
        for ex in items[:items_per_kp]:
            out.append({**base, "kind": "exercise", "exercise_id": ex["id"], "lesson_id": ex["lesson_id"],
                        "title": ex.get("prompt") or ex["id"], "difficulty": clamp_difficulty(ex.get("difficulty")),
                        "url": f"/lesson/{ex['lesson_id']}#ex-{ex['id']}"})
    return out[:limit]
