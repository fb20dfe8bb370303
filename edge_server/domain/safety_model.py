"""The safety classifier's learned layer (pure: the question's vector is passed in): softmax regression.

Features of one question (features()): its multilingual sentence embedding (USE, of safety_normalise.clean() text),
what the rules say about it (per category: an unguarded intent rule, a guarded one, topic words, a telling of harm;
and whether it reads as help-seeking or hypothetical), and hashed character n-grams of its rule_text() (so "kil",
"sucide", "d r u g s" and Chinese homophones share features with the spelling the model learned from).

Two heads, trained together offline by bench/safety_train.py (numpy only, deterministic) and shipped as
safety_model.npz beside this module: a softmax over "safe" and the nine categories, and a logistic "disclosure" head
(a child telling of harm to them). The refusal threshold on P(safe) is chosen by that script on out-of-fold
probabilities so that at most ~1 in 30 ordinary questions per language is refused; it ships in the same file.

Retrain after changing the exemplars, the rules or the features (~15 minutes on a busy 2-core machine):

    python -m bench.safety_train            # cross-validated figures, then writes safety_model.npz
    python -m bench.safety_train --cv-only  # figures only
"""

from __future__ import annotations

import functools
import io
import zlib
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np

from edge_server.domain import safety_rules
from edge_server.domain.safety_normalise import rule_text

LABELS = ("safe", "self_harm", "grooming", "sexual", "violence", "drugs", "hate", "crime", "personal_data", "homework")
CATEGORIES = LABELS[1:]
DIM = 512
NGRAM_BUCKETS = 1 << 14
# rule signals per category: intent rule unguarded, intent rule guarded, topic words, telling of harm
RULE_SIGNALS = 4
DENSE = DIM + RULE_SIGNALS * len(CATEGORIES) + 2
# USE vectors have unit length (entries ~0.04): scaled so that they weigh like the 0/1 rule signals in training
VECTOR_SCALE = 8.0


@dataclass(frozen=True)
class Probabilities:
    """What the learned layer says about one question."""

    labels: dict[str, float]  # P(label) for "safe" and each category, summing to 1
    disclosure: float  # P(a child telling of harm to them), whatever the category

    @property
    def unsafe(self) -> float:
        """P(not safe)."""
        return 1.0 - self.labels["safe"]

    @property
    def best(self) -> str:
        """The most likely unsafe category."""
        return max(CATEGORIES, key=self.labels.__getitem__)


@dataclass(frozen=True)
class Sparse:
    """One question's features: a dense part and the hashed n-gram buckets it has (each counts once)."""

    dense: np.ndarray
    buckets: np.ndarray


def _ngrams(text: str) -> list[str]:
    # words padded with spaces: 3- and 4-grams of Latin words; single characters and pairs of Chinese ones
    grams: list[str] = []
    for word in text.split():
        if any("\u3400" <= ch <= "\u9fff" for ch in word):
            grams += list(word) + [word[i:i + 2] for i in range(len(word) - 1)]
        else:
            padded = f" {word} "
            grams += [padded[i:i + n] for n in (3, 4) for i in range(len(padded) - n + 1)]
    return grams


def buckets(text: str) -> np.ndarray:
    """The hashed n-gram buckets of a rule_text() (crc32: the same on every machine and Python run)."""
    found = {zlib.crc32(g.encode("utf-8")) % NGRAM_BUCKETS for g in _ngrams(text)}
    return np.array(sorted(found), dtype=np.int64)


def rule_signals(text: str) -> np.ndarray:
    """The rules' view of a rule_text() as 0/1 features (see RULE_SIGNALS), plus help-seeking and hypothetical."""
    guards = safety_rules.guarded(text)
    matched = set(safety_rules.matching(text, CATEGORIES))
    topics = set(safety_rules.topics(text, CATEGORIES))
    told = set(safety_rules.told(text, CATEGORIES))
    out = np.zeros(RULE_SIGNALS * len(CATEGORIES) + 2, dtype=np.float32)
    for i, c in enumerate(CATEGORIES):
        out[RULE_SIGNALS * i:RULE_SIGNALS * (i + 1)] = (c in matched and c not in guards, c in matched and c in guards,
                                                        c in topics, c in told)
    out[-2] = bool(guards)
    out[-1] = safety_rules.hypothetical(text)
    return out


def features(question: str, vector: Any) -> Sparse:
    """A question's features from its text and its embedding (of clean(question))."""
    text = rule_text(question)
    unit = np.asarray(vector, dtype=np.float32).reshape(-1)
    unit = unit / max(float(np.linalg.norm(unit)), 1e-12)
    return Sparse(np.concatenate([unit * VECTOR_SCALE, rule_signals(text)]), buckets(text))


@dataclass(frozen=True)
class Model:
    """The trained weights: dense (DENSE x labels), n-gram (NGRAM_BUCKETS x labels), biases; the disclosure head."""

    dense: np.ndarray
    grams: np.ndarray
    bias: np.ndarray
    told_dense: np.ndarray
    told_grams: np.ndarray
    told_bias: float
    threshold: float  # refuse when P(safe) is below this
    veto: float = 1.01  # an intent rule refuses unless P(safe) is at least this (above 1: always)

    def predict(self, x: Sparse) -> Probabilities:
        """P(label) and P(disclosure) for one question's features."""
        # einsum, not @: see safety_embedding.Layer.score (a BLAS thread per core is slow in a busy web worker)
        logits = np.einsum("i,ij->j", x.dense, self.dense) + self.grams[x.buckets].sum(axis=0) + self.bias
        logits = logits - logits.max()
        p = np.exp(logits)
        p /= p.sum()
        z = float(np.einsum("i,i->", x.dense, self.told_dense) + self.told_grams[x.buckets].sum() + self.told_bias)
        return Probabilities({label: float(v) for label, v in zip(LABELS, p, strict=True)}, 1 / (1 + np.exp(-z)))

    def to_bytes(self) -> bytes:
        """The weights as an .npz (float32)."""
        out = io.BytesIO()
        np.savez_compressed(out, dense=self.dense.astype(np.float32), grams=self.grams.astype(np.float32),
                            bias=self.bias.astype(np.float32), told_dense=self.told_dense.astype(np.float32),
                            told_grams=self.told_grams.astype(np.float32), told_bias=np.float32(self.told_bias),
                            threshold=np.float32(self.threshold), veto=np.float32(self.veto), labels=np.array(LABELS))
        return out.getvalue()


def from_bytes(data: bytes) -> Model:
    """Weights written by Model.to_bytes()."""
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        if tuple(str(s) for s in z["labels"]) != LABELS or z["dense"].shape != (DENSE, len(LABELS)):
            raise ValueError("safety_model.npz was trained for other labels or features: retrain it")
        return Model(z["dense"], z["grams"], z["bias"], z["told_dense"], z["told_grams"], float(z["told_bias"]),
                     float(z["threshold"]), float(z["veto"]))


@functools.cache
def load() -> Model | None:
    """The shipped weights, read once per process (None when the package has none: the kNN layer decides)."""
    path = resources.files("edge_server.domain").joinpath("safety_model.npz")
    if not path.is_file():
        return None
    return from_bytes(path.read_bytes())
