"""Word error rate as ASR benchmarks count it: both texts through Whisper's English normaliser, then jiwer.

The normaliser (the one the Whisper paper and the Open ASR Leaderboard use) spells "3" and "three" alike,
"metres" and "meters" alike, drops punctuation and fillers, so the figure measures hearing, not formatting.
`raw_wer` is the plain figure (lower case, punctuation dropped) printed beside it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
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


def _wer(reference: str, hypothesis: str, measure: Callable[[str, str], float] = jiwer.wer) -> float:
    # jiwer refuses an empty reference: then any word heard is all wrong, none is all right
    return measure(reference, hypothesis) if reference.strip() else float(bool(hypothesis.strip()))


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate of a hypothesis against a reference, both normalised."""
    return _wer(normalise(reference), normalise(hypothesis))


def raw_wer(reference: str, hypothesis: str) -> float:
    """Word error rate over lower-case words with punctuation dropped and nothing else changed."""
    return _wer(_plain(reference), _plain(hypothesis))


# ---- French and Chinese ----------------------------------------------------------------------------------------

_FR_UNITS = ["zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix", "onze", "douze",
             "treize", "quatorze", "quinze", "seize", "dix-sept", "dix-huit", "dix-neuf"]
_FR_TENS = {2: "vingt", 3: "trente", 4: "quarante", 5: "cinquante", 6: "soixante", 8: "quatre-vingt"}


def french_number(n: int) -> str:
    """An integer below a million in French words (what a narrator says for the digits Whisper writes)."""
    if n < 20:
        return _FR_UNITS[n]
    if n < 100:
        tens, unit = divmod(n, 10)
        if tens == 7 and unit == 1:
            return "soixante et onze"
        if tens in (7, 9):
            return f"{_FR_TENS[tens - 1]}-{_FR_UNITS[10 + unit]}"
        word = _FR_TENS[tens]
        if unit == 0:
            return word + ("s" if tens == 8 else "")
        return f"{word} et un" if unit == 1 and tens != 8 else f"{word}-{_FR_UNITS[unit]}"
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        head = "cent" if hundreds == 1 else f"{_FR_UNITS[hundreds]} cent" + ("s" if rest == 0 else "")
        return head if rest == 0 else f"{head} {french_number(rest)}"
    thousands, rest = divmod(n, 1000)
    head = "mille" if thousands == 1 else f"{french_number(thousands)} mille"
    return head if rest == 0 else f"{head} {french_number(rest)}"


def normalise_fr(text: str) -> str:
    """French text as WER counts it: lower case, digits as words, no punctuation, elisions and hyphens split."""
    text = text.lower().replace("’", "'").replace("œ", "oe")
    text = re.sub(r"\d+", lambda m: f" {french_number(int(m.group(0)))} " if len(m.group(0)) < 7 else m.group(0),
                  text)
    text = re.sub(r"[-']", " ", text)
    return " ".join(re.findall(r"[^\W_]+", text))


def wer_fr(reference: str, hypothesis: str) -> float:
    """Word error rate of French, both texts through normalise_fr."""
    return _wer(normalise_fr(reference), normalise_fr(hypothesis))


_ZH_DIGIT = "零一二三四五六七八九"


def chinese_numeral(n: int) -> str:
    """An integer below 100000 in Chinese numerals as spoken (29 -> 二十九, 105 -> 一百零五)."""
    if n < 10:
        return _ZH_DIGIT[n]
    out, zero = "", False
    for value, unit in ((10000, "万"), (1000, "千"), (100, "百"), (10, "十")):
        digit, n = divmod(n, value)
        if digit:
            if zero:
                out += "零"
            out += ("" if (unit == "十" and digit == 1 and not out) else _ZH_DIGIT[digit]) + unit
            zero = False
        elif out:
            zero = True
    if n:
        out += ("零" if zero else "") + _ZH_DIGIT[n]
    return out


def normalise_zh(text: str) -> str:
    """Chinese text as CER counts it: Simplified characters, digits as numerals, no punctuation or spaces."""
    from models.asr import simplified

    text = re.sub(r"\d+", lambda m: chinese_numeral(int(m.group(0))) if len(m.group(0)) < 6 else m.group(0),
                  simplified(text))
    return "".join(re.findall(r"[^\W_]", text.lower()))


def cer_zh(reference: str, hypothesis: str) -> float:
    """Character error rate of Chinese (Simplified), both texts through normalise_zh."""
    return _wer(normalise_zh(reference), normalise_zh(hypothesis), jiwer.cer)


def error_rate(language: str, reference: str, hypothesis: str) -> float:
    """The figure a language is measured by: CER for Chinese, WER (its own normaliser) otherwise."""
    if language == "zh":
        return cer_zh(reference, hypothesis)
    if language == "fr":
        return wer_fr(reference, hypothesis)
    return wer(reference, hypothesis)
