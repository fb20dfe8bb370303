"""Chapter titles and a faithful lesson summary, grounded in transcript sentences.

Pure except for the `generate` callable (a small language model): the method picks the transcript sentences, the
model may only rephrase them, and anything it writes that the transcript does not support is thrown away in favour
of the extractive text.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from models.textutil import (
    content_terms,
    count_words,
    names,
    numbers,
    split_sentences,
    support,
    words,
)
from models.types import Chapter, KnowledgePoint, Segment, Summary

Generate = Callable[[str], str]

MIN_SUPPORT = 0.8  # share of a generated sentence's content words that must occur in the transcript
TITLE_MAX_WORDS = 8
# Sentences that lean on what came before ("It tells us...") make poor summary sentences on their own.
_DANGLING = frozenset(["it", "its", "this", "that", "these", "those", "they", "them", "he", "she", "so", "but",
                       "and", "or", "then", "also", "which"])


@dataclass(frozen=True)
class _Sentence:
    text: str
    chapter: int
    position: int
    terms: tuple[str, ...]


def transcript_sentences(segments: Sequence[Segment], chapters: Sequence[Chapter]) -> list[_Sentence]:
    """Sentences of the transcript (which may run across segments), each with the chapter it starts in."""
    out: list[_Sentence] = []
    pending, pending_start = "", 0.0
    for seg in segments:
        text = seg.text.strip()
        if not text:
            continue
        if not pending:
            pending_start = seg.start
        pending = f"{pending} {text}".strip()
        parts = split_sentences(pending)
        complete = parts if re.search(r"[.!?…][\"'”»)\]]*$", pending) else parts[:-1]
        for part in complete:
            out.append(_Sentence(part, _chapter_at(chapters, pending_start), len(out), tuple(content_terms(part))))
            pending_start = seg.start
        pending = "" if len(complete) == len(parts) else parts[-1]
    if pending:
        out.append(_Sentence(pending, _chapter_at(chapters, pending_start), len(out), tuple(content_terms(pending))))
    return out


def _chapter_at(chapters: Sequence[Chapter], t: float) -> int:
    """Index of the chapter that holds time t (0 when there are no chapters)."""
    for i, c in enumerate(chapters):
        if c.start <= t < c.end:
            return i
    return max(0, len(chapters) - 1) if chapters and t >= chapters[-1].end else 0


def _term_weights(sentences: Sequence[_Sentence], kps: Sequence[KnowledgePoint]) -> dict[str, float]:
    """How much covering each term is worth: frequent in the lesson, and more when a knowledge point names it."""
    tf = Counter(t for s in sentences for t in s.terms)
    kp_terms = {t for kp in kps for t in content_terms(f"{kp.name} {kp.description}")}
    return {t: math.log(1 + c) * (1.5 if t in kp_terms else 1.0) for t, c in tf.items()}


def _gain(sentence: _Sentence, weights: dict[str, float], covered: set[str]) -> float:
    """New weighted terms a sentence would add, per square root of its length; dangling openers cost a third."""
    new = sum(weights.get(t, 0.0) for t in set(sentence.terms) - covered)
    first = words(sentence.text)[:1]
    penalty = 0.67 if first and first[0] in _DANGLING else 1.0
    if sentence.text.rstrip().endswith("?"):
        penalty *= 0.5
    return penalty * new / math.sqrt(max(3, count_words(sentence.text)))


def select_sentences(sentences: Sequence[_Sentence], n_chapters: int, kps: Sequence[KnowledgePoint],
                     max_words: int) -> list[_Sentence]:
    """Greedy weighted coverage under a word budget: first the best sentence of each chapter, then the rest."""
    weights = _term_weights(sentences, kps)
    chosen: list[_Sentence] = []
    covered: set[str] = set()
    used = 0
    for c in range(max(1, n_chapters)):
        pool = [s for s in sentences if s.chapter == c and used + count_words(s.text) <= max_words]
        if not pool:
            continue
        best = max(pool, key=lambda s: _gain(s, weights, covered))
        chosen.append(best)
        covered |= set(best.terms)
        used += count_words(best.text)
    while True:
        pool = [s for s in sentences if s not in chosen and used + count_words(s.text) <= max_words]
        if not pool:
            break
        best = max(pool, key=lambda s: _gain(s, weights, covered))
        if _gain(best, weights, covered) <= 0:
            break
        chosen.append(best)
        covered |= set(best.terms)
        used += count_words(best.text)
    return sorted(chosen, key=lambda s: s.position)


def supported(candidate: str, source: str, source_terms: set[str] | None = None) -> bool:
    """True when a generated sentence uses the source's words, numbers and names only."""
    terms = source_terms if source_terms is not None else set(content_terms(source))
    if support(candidate, terms) < MIN_SUPPORT:
        return False
    if numbers(candidate) - numbers(source):
        return False
    source_words = set(words(source))
    return all(n in source_words for n in names(candidate))


def _clean_generation(text: str) -> str:
    """The first paragraph of a generation, without list marks, quotes or a half-finished last sentence."""
    text = text.strip().split("\n\n")[0]
    text = re.sub(r"^[\s*\-•#>\"']+", "", text)
    text = " ".join(line.strip(" *-•#") for line in text.splitlines() if line.strip())
    sentences = split_sentences(text)
    if sentences and not re.search(r"[.!?…]$", sentences[-1]):
        sentences = sentences[:-1]
    return " ".join(sentences)


def summarize(segments: Sequence[Segment], chapters: Sequence[Chapter], kps: Sequence[KnowledgePoint],
              generate: Generate | None, max_words: int = 150) -> Summary:
    """At most max_words words: key transcript sentences, optionally rephrased by the model and verified."""
    sentences = transcript_sentences(segments, chapters)
    if not sentences:
        return Summary(text="", method="extractive", sentences=())
    chosen = select_sentences(sentences, len(chapters), kps, max_words)
    extractive = " ".join(s.text for s in chosen)
    picked = tuple(s.text for s in chosen)
    if generate is None:
        return Summary(text=extractive, method="extractive", sentences=picked)
    source = " ".join(s.text for s in sentences)
    source_terms = set(content_terms(source))
    try:
        raw = generate(_summary_prompt(picked))
    except Exception:  # noqa: BLE001 - a failed generation must never lose the extractive summary
        return Summary(text=extractive, method="extractive", sentences=picked)
    candidate = _clean_generation(raw)
    kept = [s for s in split_sentences(candidate) if supported(s, source, source_terms)]
    text = " ".join(kept)
    # the rephrasing must keep most of what the chosen sentences said, and stay within the budget
    key = {t for s in chosen for t in s.terms}
    coverage = len(key & set(content_terms(text))) / len(key) if key else 0.0
    if not kept or len(kept) < len(split_sentences(candidate)) or coverage < 0.6 or count_words(text) > max_words:
        return Summary(text=extractive, method="extractive", sentences=picked)
    return Summary(text=text, method="generated", sentences=picked)


def _summary_prompt(sentences: Sequence[str]) -> str:
    """A short completion prompt for a base model: rewrite the notes as a short paragraph."""
    notes = "\n".join(f"- {s}" for s in sentences)
    return f"Notes from a lesson:\n{notes}\n\nThe same notes as one short paragraph for pupils:\n"


def chapter_titles(chapters: Sequence[Chapter], segments: Sequence[Segment], kps: Sequence[KnowledgePoint],
                   generate: Generate | None) -> list[Chapter]:
    """Short chapter titles: phrased by the model from the chapter's key sentences when supported, else kept."""
    by_id = {kp.id: kp for kp in kps}
    sentences = transcript_sentences(segments, chapters)
    out = []
    for i, chapter in enumerate(chapters):
        kp = by_id.get(chapter.knowledge_point or "")
        fallback = kp.name if kp else chapter.title
        if generate is None:
            out.append(replace(chapter, title=fallback))
            continue
        own = [s for s in sentences if s.chapter == i]
        key = select_sentences(own, 1, [kp] if kp else [], 40) if own else []
        source = " ".join(s.text for s in own) + (f" {kp.name} {kp.description}" if kp else "")
        try:
            title = _clean_title(generate(_title_prompt([s.text for s in key], kp.name if kp else None)))
        except Exception:  # noqa: BLE001 - keep the safe title
            title = ""
        ok = bool(title) and 1 <= count_words(title) <= TITLE_MAX_WORDS and supported(title, source)
        out.append(replace(chapter, title=title if ok else fallback))
    return out


def _title_prompt(sentences: Sequence[str], topic: str | None) -> str:
    """Few-shot completion prompt: a title of a few words for the given sentences."""
    example = ("Text: The heart is a muscle that pumps blood around the body. It beats faster when we run.\n"
               "Title: How the heart pumps blood\n\n")
    hint = f" ({topic})" if topic else ""
    return f"{example}Text{hint}: {' '.join(sentences)}\nTitle:"


def _clean_title(text: str) -> str:
    """First line of a generated title, without quotes, marks or a final full stop."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    line = line.strip(" \"'*#:-“”").rstrip(".")
    return line[:1].upper() + line[1:]

