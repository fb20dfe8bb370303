"""Word error rate as ASR benchmarks count it: both texts through Whisper's English normaliser, then jiwer.

The normaliser (the one the Whisper paper and the Open ASR Leaderboard use) spells "3" and "three" alike,
"metres" and "meters" alike, drops punctuation and fillers, so the figure measures hearing, not formatting.
`raw_wer` is the plain figure (lower case, punctuation dropped) printed beside it.
"""

from __future__ import annotations

from functools import cache

import jiwer

from models.textutil import words


@cache
def _normaliser():
    from whisper_normalizer.english import EnglishTextNormalizer

    return EnglishTextNormalizer()


def normalise(text: str) -> str:
    """Text in the normal form WER is counted in."""
    return _normaliser()(text)


def _plain(text: str) -> str:
    return " ".join(words(text.replace("-", " ")))


def _wer(reference: str, hypothesis: str) -> float:
    # jiwer refuses an empty reference: then any word heard is all wrong, none is all right
    return jiwer.wer(reference, hypothesis) if reference.strip() else float(bool(hypothesis.strip()))


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate of a hypothesis against a reference, both normalised."""
    return _wer(normalise(reference), normalise(hypothesis))


def raw_wer(reference: str, hypothesis: str) -> float:
    """Word error rate over lower-case words with punctuation dropped and nothing else changed."""
    return _wer(_plain(reference), _plain(hypothesis))
