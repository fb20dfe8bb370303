"""A lesson's own words put back where speech recognition heard something like them (Chinese and French).

The lesson's knowledge points name the words it is about, and Whisper base mishears exactly those on an unusual voice:

- Chinese: it hears the sounds and writes the wrong characters for them: 种子 (zhong zi) as 中子, 发芽 as 发押,
  正方形 (zheng fang xing) as 真翻新. A stretch of the transcript whose pinyin is the pinyin of one of the lesson's
  words, or nearly (sounds an input method's fuzzy pinyin takes for one another: zh/z, an/ang, ...), is written as
  that word.
- French: it writes words that are no French word at all ("volcandes", "renouille", "ménominateur"). Such a word,
  when it is spelt like one of the lesson's words, is written as that word; a word of the dictionary is never
  touched (pyspellchecker's French word list), so a correct "planète" never becomes the lesson's "planètes".

Measured in bench/asr_languages.py (`--settings box`, dev lessons only).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from models.asr import Transcript
from models.textutil import CJK_RUN, STOP_WORDS, segment_chinese
from models.types import KnowledgePoint, Segment

# sounds taken for one another (the fuzzy pinyin of Chinese input methods, and eng/ong that Whisper confuses here)
_SAME_INITIAL = {"zh": "z", "ch": "c", "sh": "s", "n": "l", "r": "l", "f": "h"}
_SAME_FINAL = {"ang": "an", "eng": "en", "ing": "in", "iang": "ian", "uang": "uan", "ong": "en"}
NEAR = 0.8  # a syllable heard with one sound taken for a like one
HALF = 0.5  # the same initial or the same final
MIN_CHARS = 2  # one character is too short to tell a misheard word from another word


@dataclass(frozen=True)
class Term:
    text: str
    syllables: tuple[tuple[str, str], ...]  # (initial, final) of each character (models.lexicon.sounds_of)


def sounds_of(text: str) -> list[tuple[str, str]]:
    """The (initial, final) each character of a run of Chinese characters is read as in its context, tones dropped.

    Finals are written in full (wei and shui both end in uei, you and liu in iou), so that like sounds compare alike.
    """
    from pypinyin import Style, lazy_pinyin

    initials = lazy_pinyin(text, style=Style.INITIALS, strict=True)
    finals = lazy_pinyin(text, style=Style.FINALS, strict=True)
    if not len(initials) == len(finals) == len(text):  # characters with no reading come back as one piece
        return [sounds_of(c)[0] for c in text]
    return list(zip(initials, finals, strict=True))


def syllable_score(heard: tuple[str, str], said: tuple[str, str]) -> float:
    """1 for the same syllable, NEAR when its sounds are ones taken for one another, HALF when one sound is the
    same, else 0."""
    if heard == said:
        return 1.0
    initial = _SAME_INITIAL.get(heard[0], heard[0]) == _SAME_INITIAL.get(said[0], said[0])
    final = _SAME_FINAL.get(heard[1], heard[1]) == _SAME_FINAL.get(said[1], said[1])
    if initial and final:
        return NEAR
    return HALF if ((heard[0] and heard[0] == said[0]) or heard[1] == said[1]) else 0.0


def terms_of(kps: Iterable[KnowledgePoint]) -> list[Term]:
    """The words of the knowledge points' names and descriptions (jieba's dictionary words of two characters or
    more, in Simplified characters as captions are), each with the pinyin it is said with, longest first."""
    from models.asr import simplified

    words: dict[str, None] = {}
    for kp in kps:
        for text in (kp.name, kp.description):
            for run in CJK_RUN.findall(simplified(text or "")):
                for word in segment_chinese(run):
                    if len(word) >= MIN_CHARS:
                        words[word] = None
    terms = [Term(w, tuple(sounds_of(w))) for w in words]
    return sorted(terms, key=lambda t: -len(t.text))


def match_score(heard: Sequence[tuple[str, str]], term: Term) -> float:
    """How like the term's sound the heard syllables are: the mean of their scores (0 when one shares no sound)."""
    scores = [syllable_score(h, said) for h, said in zip(heard, term.syllables, strict=True)]
    return 0.0 if min(scores) == 0.0 else sum(scores) / len(scores) + 1e-9  # 0.8 + 0.8 over 2 is 0.8, not less


THRESHOLD = 0.8  # every syllable near, or one of three only half like (dev: 0.85 lost 正方形 heard as 真翻新)


def mend_text(text: str, terms: Sequence[Term], threshold: float = THRESHOLD) -> str:
    """text with each run of characters that sounds like a term (score >= threshold) written as that term."""
    if not terms:
        return text
    out = list(text)
    fixed = [False] * len(text)
    for run in CJK_RUN.finditer(text):
        sounds = sounds_of(run.group())
        for term in terms:
            n = len(term.text)
            i = run.start()
            while i + n <= run.end():
                window = text[i:i + n]
                if any(fixed[i:i + n]):
                    i += 1
                    continue
                if window == term.text or match_score(sounds[i - run.start():i - run.start() + n], term) >= threshold:
                    out[i:i + n] = term.text
                    fixed[i:i + n] = [True] * n
                    i += n
                else:
                    i += 1
    return "".join(out)


_LETTERS = re.compile(r"[^\W\d_]+")
MIN_LETTERS = 4  # shorter French words are mostly small words of the dictionary, and too short to compare
# rapidfuzz's ratio (0-100) from which an unknown word is taken for a lesson's word. Dev WER put back (4 equal and 3
# uneven lessons, `python -m bench.asr_languages --settings box`): cutoff 70: -0.020 / -0.019, 65: -0.023 / -0.025,
# 60: -0.024 / -0.027, 55: -0.024 / -0.029, no dev reference word changed at any of them; below 65 most of what changes
# becomes another wrong word ("réplée" as "elle"), at 65 mostly the right one ("chevario" as "chevaliers")
SPELLING = 65


@functools.cache
def _french_words() -> Any:
    from spellchecker import SpellChecker

    return SpellChecker(language="fr", distance=1)


def _plain(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", word.lower()) if not unicodedata.combining(c))


def french_terms(kps: Iterable[KnowledgePoint]) -> dict[str, str]:
    """The knowledge points' content words of MIN_LETTERS letters or more, by their spelling without accents."""
    out: dict[str, str] = {}
    for kp in kps:
        for text in (kp.name, kp.description):
            for word in _LETTERS.findall(text or ""):
                if len(word) >= MIN_LETTERS and word.lower() not in STOP_WORDS:
                    out.setdefault(_plain(word), word.lower())
    return out


def mend_french(text: str, terms: dict[str, str], cutoff: float = SPELLING) -> str:
    """text with each word that is not French but is spelt like one of terms written as that term."""
    if not terms:
        return text
    from rapidfuzz import fuzz, process

    known = _french_words()
    spellings = list(terms)

    def mend(match: re.Match[str]) -> str:
        word = match.group()
        plain = _plain(word)
        if len(plain) < MIN_LETTERS or plain in terms or word.lower() in known:
            return word
        best = process.extractOne(plain, spellings, scorer=fuzz.ratio, score_cutoff=cutoff)
        if best is None:
            return word
        term = terms[best[0]]
        return term[:1].upper() + term[1:] if word[:1].isupper() else term

    return _LETTERS.sub(mend, text)


def mend_terms(segments: Sequence[Segment], kps: Sequence[KnowledgePoint], language: str) -> list[Segment]:
    """The segments with the lesson's words written where they were misheard (Chinese and French; others kept)."""
    if language == "zh" and kps:
        terms = terms_of(kps)
        return [replace(s, text=mend_text(s.text, terms)) for s in segments]
    if language == "fr" and kps:
        words = french_terms(kps)
        return [replace(s, text=mend_french(s.text, words)) for s in segments]
    return list(segments)


def mend_transcript(transcript: Transcript, kps: Sequence[KnowledgePoint], language: str) -> Transcript:
    """The transcript with the lesson's words written where they were misheard (models.pipeline, `edge-server ai`)."""
    return replace(transcript, segments=mend_terms(transcript.segments, kps, language))


def sound_grams(text: str, n: int = 2) -> list[str]:
    """The Chinese text as sounds: n-grams of its syllables, tones dropped and like sounds made one (zh as z, ang as
    an, ...), so that a misheard stretch still shares them with the word that was said (models.segment)."""
    out: list[str] = []
    for run in CJK_RUN.findall(text):
        sounds = [_SAME_INITIAL.get(i, i) + _SAME_FINAL.get(f, f) for i, f in sounds_of(run)]
        out.extend("".join(sounds[k:k + n]) for k in range(len(sounds) - n + 1))
    return out
