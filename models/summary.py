"""Chapter titles and a faithful lesson summary, grounded in transcript sentences.

Pure except for the `generate` callable (a small language model): the method picks the transcript sentences, the
model may only rephrase them, and anything it writes that the transcript does not support is thrown away in favour
of the extractive text.

Summary: the transcript is split into sentences (joined across segments); a greedy weighted-coverage selection
takes the best sentence of each chapter, then more while they add enough new key terms (terms repeated in the lesson
or named by a knowledge point; definitions are favoured, dangling "It..." openers and questions are not), within the
word budget, in spoken order. With a model, the few longest chosen sentences are each offered for shortening; a
shorter wording replaces its sentence only when it merely deletes words (same words, content words in order, every
number and negation kept) and keeps most of the sentence's key-term weight. Freer rewording and overview sentences
were tried and dropped: word-overlap checks cannot catch a small model swapping two lesson terms.
Titles: one short generation per chapter from its key sentences, kept only when supported, at most 8 words, and
sharing a word with the chapter's knowledge point name; otherwise the knowledge point name (or extractive title).
"""

from __future__ import annotations

import inspect
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from models.textutil import (
    content_terms,
    has_cjk,
    join_text,
    names,
    numbers,
    split_sentences,
    support,
    text_size,
    words,
)
from models.types import Chapter, KnowledgePoint, Segment, Summary

Generate = Callable[[str], str]

MIN_SUPPORT = 1.0  # share of a generated sentence's content words that must occur in the transcript
TITLE_MAX_WORDS = 8
MAX_SENTENCE_WORDS = 40  # longer runs without a full stop are cut at a segment end
TITLE_SOURCE_WORDS = 40  # the chapter's key sentences shown to the model for a title
COMPRESS_MIN_WORDS = 14  # only long sentences are worth a generation
MAX_COMPRESSIONS = 2  # generations per summary: the pipeline must stay within 0.3x real time on 2 cores
COMPRESS_MAX_SHARE = 0.85  # a compression keeps at most this share of the words
COMPRESS_KEEP = 0.7  # share of the sentence's key-term weight the compression must keep
KP_NAME_BONUS = 2.0  # a term in a knowledge point's name is what the lesson is about
KP_DESCRIPTION_BONUS = 1.0
DEFINITION_BONUS = 1.5  # "... is called photosynthesis": definitions carry the lesson's key terms
MIN_GAIN_SHARE = 0.1  # stop adding sentences once they add less than this share of the best first gain
_DEFINITION = re.compile(r"\b(is|are|was|were) (also )?called\b|\bwe call\b|\bknown as\b|\bmeans\b|\bis named\b"
                         r"|\bs'appelle(nt)?\b|\bon (l'|les |la |le )?appelle\b|\bsignifie\b|\bc'est ce qu'on\b"
                         r"|叫做|叫作|称为|称作|我们叫|就是说", re.IGNORECASE)
# Sentences that lean on what came before ("It tells us...") make poor summary sentences on their own.
_DANGLING = frozenset(["it", "its", "this", "that", "these", "those", "they", "them", "he", "she", "so", "but",
                       "and", "or", "then", "also", "which", "il", "elle", "ils", "elles", "cela", "ça", "donc",
                       "mais", "它", "它们", "这", "那", "这些", "那些", "所以", "但是", "然后", "因此", "而且"])
_ENDS = "[.!?…。！？；]"
_QUESTION = ("?", "？")


@dataclass(frozen=True)
class Sentence:
    """One transcript sentence with the chapter it starts in, its order and its content terms."""

    text: str
    chapter: int
    position: int
    terms: tuple[str, ...]


def transcript_sentences(segments: Sequence[Segment], chapters: Sequence[Chapter]) -> list[Sentence]:
    """Sentences of the transcript (which may run across segments), each with the chapter it starts in."""
    out: list[Sentence] = []
    spoken = [s for s in segments if s.text.strip()]
    if sum(bool(re.search(_ENDS, s.text)) for s in spoken) < len(spoken) / 3:
        # a transcript without punctuation (another speech model): each segment stands for a sentence
        for seg in spoken:
            text = seg.text.strip().rstrip(",;:，、：") + ("。" if has_cjk(seg.text) else ".")
            out.append(Sentence(text, _chapter_at(chapters, seg.start), len(out), tuple(content_terms(text))))
        return out
    pending, pending_start = "", 0.0
    for seg in segments:
        text = seg.text.strip()
        if not text:
            continue
        if not pending:
            pending_start = seg.start
        pending = join_text([pending, text])
        parts = split_sentences(pending)
        done = parts if re.search(_ENDS + r"[\"'”»)\]」』）]*$", pending) else parts[:-1]
        for part in done:
            out.append(Sentence(part, _chapter_at(chapters, pending_start), len(out), tuple(content_terms(part))))
            pending_start = seg.start
        pending = "" if len(done) == len(parts) else parts[-1]
        if text_size(pending) > MAX_SENTENCE_WORDS:
            # a transcript without punctuation: end the sentence with the segment rather than never
            text = pending.rstrip(",;:，、：") + ("。" if has_cjk(pending) else ".")
            out.append(Sentence(text, _chapter_at(chapters, pending_start), len(out), tuple(content_terms(text))))
            pending = ""
    if pending:
        out.append(Sentence(pending, _chapter_at(chapters, pending_start), len(out), tuple(content_terms(pending))))
    return out


def _chapter_at(chapters: Sequence[Chapter], t: float) -> int:
    """Index of the chapter that holds time t (0 when there are no chapters)."""
    for i, c in enumerate(chapters):
        if c.start <= t < c.end:
            return i
    return max(0, len(chapters) - 1) if chapters and t >= chapters[-1].end else 0


def _term_weights(sentences: Sequence[Sentence], kps: Sequence[KnowledgePoint]) -> dict[str, float]:
    """How much covering each term is worth: repeated in the lesson, and more when a knowledge point names it.

    A word said once is rarely a key term (and often a mis-heard one), so it counts only through the knowledge points.
    """
    tf = Counter(t for s in sentences for t in s.terms)
    named = {t for kp in kps for t in content_terms(kp.name)}
    described = {t for kp in kps for t in content_terms(kp.description)}
    # numbers help to find chapters but are not what a summary is about
    return {t: math.log(c) + KP_NAME_BONUS * (t in named) + KP_DESCRIPTION_BONUS * (t in described)
            for t, c in tf.items() if not t.isdigit()}


def _defines(sentence: Sentence) -> bool:
    """True for a sentence that names or defines something ("... is called X", "we call this X")."""
    return bool(_DEFINITION.search(sentence.text))


def _gain(sentence: Sentence, weights: dict[str, float], covered: set[str]) -> float:
    """New weighted terms a sentence would add, per square root of its length, with generic style adjustments."""
    new = sum(weights.get(t, 0.0) for t in set(sentence.terms) - covered)
    first = words(sentence.text)[:1]
    factor = 1.0
    if _defines(sentence):
        factor *= DEFINITION_BONUS
    elif first and first[0] in _DANGLING:
        factor *= 0.67
    if sentence.text.rstrip().endswith(_QUESTION):
        factor *= 0.5
    return factor * new / math.sqrt(max(4, text_size(sentence.text)))


def select_sentences(sentences: Sequence[Sentence], n_chapters: int, kps: Sequence[KnowledgePoint],
                     max_words: int, fill: bool = True) -> list[Sentence]:
    """Greedy weighted coverage under a word budget: first the best sentence of each chapter, then (fill) the rest."""
    weights = _term_weights(sentences, kps)
    chosen: list[Sentence] = []
    covered: set[str] = set()
    used = 0
    for c in range(max(1, n_chapters)):
        pool = [s for s in sentences if s.chapter == c and used + text_size(s.text) <= max_words]
        if not pool:
            continue
        best = max(pool, key=lambda s: _gain(s, weights, covered))
        chosen.append(best)
        covered |= set(best.terms)
        used += text_size(best.text)
    floor = MIN_GAIN_SHARE * max((_gain(s, weights, set()) for s in sentences), default=0.0)
    while fill:
        pool = [s for s in sentences if s not in chosen and used + text_size(s.text) <= max_words]
        if not pool:
            break
        best = max(pool, key=lambda s: _gain(s, weights, covered))
        if _gain(best, weights, covered) <= floor:
            break
        chosen.append(best)
        covered |= set(best.terms)
        used += text_size(best.text)
    return sorted(chosen, key=lambda s: s.position)


def supported(candidate: str, source: str, source_terms: set[str] | None = None,
              min_support: float = MIN_SUPPORT) -> bool:
    """True when a generated sentence uses the source's words, numbers and names only."""
    terms = source_terms if source_terms is not None else set(content_terms(source))
    if support(candidate, terms) < min_support:
        return False
    if numbers(candidate) - numbers(source):
        return False
    source_words = set(words(source))
    return all(n in source_words for n in names(candidate))


def complete(generate: Generate, prompt: str, max_tokens: int, stop: Sequence[str]) -> str:
    """Call the model, passing max_tokens and stop strings when the callable accepts them (short, cheap answers)."""
    try:
        params = inspect.signature(generate).parameters
    except (TypeError, ValueError):
        params = {}  # a builtin or C callable: give it the prompt only
    open_kwargs = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    kwargs: dict[str, object] = {}
    if open_kwargs or "max_tokens" in params:
        kwargs["max_tokens"] = max_tokens
    if open_kwargs or "stop" in params:
        kwargs["stop"] = list(stop)
    return generate(prompt, **kwargs)


def _first_sentence(text: str) -> str:
    """The first complete sentence of a generation's first line ("" when it has none)."""
    line = next((ln for ln in text.strip().splitlines() if ln.strip()), "")
    line = re.sub(r"^[\s*\-•#>\"'“]+", "", line).strip()
    sentences = split_sentences(line)
    first = sentences[0] if sentences else ""
    return first if re.search(r"[.!?…]$", first) else ""


_COMPRESS_EXAMPLE = ("Long: When the water in the puddle is warmed by the sun on a hot afternoon, it slowly changes "
                     "into an invisible gas that we call water vapour.\n"
                     "Short: The water is warmed by the sun and changes into a gas we call water vapour.\n\n")
_NEGATIONS = frozenset(["not", "no", "never", "nothing", "none", "nobody", "cannot", "can't", "don't", "doesn't",
                        "isn't", "aren't", "won't", "didn't", "without", "ne", "pas", "jamais", "rien", "sans"])


def is_compression(short: str, sentence: Sentence) -> bool:
    """True when `short` only deletes words from the sentence: its words are the sentence's, content words in the
    same order, with every number and negation kept. Deleting words cannot swap who does what to whom, which a
    small model's free rewording can (it once called the bottom of a fraction the numerator)."""
    original = words(sentence.text)
    said = words(short)
    if not said or not set(said) <= set(original):
        return False
    if {w for w in original if w in _NEGATIONS} - set(said) or numbers(sentence.text) != numbers(short):
        return False
    it = iter(sentence.terms)
    return all(any(t == u for u in it) for t in content_terms(short))  # ordered subsequence


def compress(sentence: Sentence, weights: dict[str, float], generate: Generate) -> str:
    """A shorter wording of one transcript sentence by the model, or "" when it is not a faithful compression."""
    try:
        raw = complete(generate, f"{_COMPRESS_EXAMPLE}Long: {sentence.text}\nShort:", max_tokens=48, stop=["\n"])
    except Exception:  # noqa: BLE001 - a failed generation must never lose the extractive sentence
        return ""
    short = _first_sentence(raw)
    if not short or text_size(short) > COMPRESS_MAX_SHARE * text_size(sentence.text) or text_size(short) < 4:
        return ""
    if not is_compression(short, sentence):
        return ""
    # the shorter wording must keep the sentence's key terms
    key = {t for t in sentence.terms if weights.get(t, 0.0) > 0}
    kept = set(content_terms(short))
    if sum(weights[t] for t in key & kept) < COMPRESS_KEEP * sum(weights[t] for t in key):
        return ""
    return short[:1].upper() + short[1:]


def summarize(segments: Sequence[Segment], chapters: Sequence[Chapter], kps: Sequence[KnowledgePoint],
              generate: Generate | None, max_words: int = 150, headings: bool = False) -> Summary:
    """At most max_words words: key transcript sentences, the longest shortened by the model when verified.

    headings: each chapter's sentences follow its title (the knowledge point's name, authored text in the lesson's
    language). Where speech recognition is weak (French and Chinese lessons) the transcript's sentences alone miss
    the lesson's terms: on the dev lessons key-term coverage went from 0.41 to 0.56 (fr) and 0.13 to 0.38 (zh).
    """
    sentences = transcript_sentences(segments, chapters)
    if not sentences:
        return Summary(text="", method="extractive", sentences=())
    if headings and chapters and all(c.title for c in chapters):
        return _with_headings(sentences, chapters, kps, max_words)
    chosen = select_sentences(sentences, len(chapters), kps, max_words)
    picked = tuple(s.text for s in chosen)
    extractive = Summary(text=join_text(picked), method="extractive", sentences=picked)
    if generate is None:
        return extractive
    weights = _term_weights(sentences, kps)
    longest = sorted((s for s in chosen if text_size(s.text) >= COMPRESS_MIN_WORDS),
                     key=lambda s: -text_size(s.text))[:MAX_COMPRESSIONS]
    shorter = {s.position: short for s in longest if (short := compress(s, weights, generate))}
    if not shorter:
        return extractive
    text = join_text(shorter.get(s.position, s.text) for s in chosen)
    return Summary(text=text, method="generated", sentences=picked)


def _with_headings(sentences: Sequence[Sentence], chapters: Sequence[Chapter], kps: Sequence[KnowledgePoint],
                   max_words: float) -> Summary:
    """Each chapter's title, then its chosen sentences, within the budget (titles counted first)."""
    chinese = has_cjk(" ".join(c.title for c in chapters))
    sep = "：" if chinese else " : "
    budget = max_words - sum(text_size(c.title + sep) for c in chapters)
    while True:
        chosen = select_sentences(sentences, len(chapters), kps, budget)
        parts = []
        for i, chapter in enumerate(chapters):
            own = join_text(s.text for s in chosen if s.chapter == i)
            parts.append(f"{chapter.title}{sep}{own}" if own else chapter.title + ("。" if chinese else "."))
        text = join_text(parts)
        over = text_size(text) - max_words  # the spaces join_text puts between pieces count too
        if over <= 0 or not chosen:
            return Summary(text=text, method="extractive", sentences=tuple(s.text for s in chosen))
        budget -= over


_TITLE_EXAMPLE = ("Text: The heart is a muscle that pumps blood around the body. It beats faster when we run.\n"
                  "Title: How the heart pumps blood\n\n")


def chapter_titles(chapters: Sequence[Chapter], segments: Sequence[Segment], kps: Sequence[KnowledgePoint],
                   generate: Generate | None) -> list[Chapter]:
    """Short chapter titles phrased by the model from the chapter's key sentences when verified, else kept.

    A chapter aligned to a knowledge point keeps the point's name unless the model's title is supported by the
    chapter and shares a word with that name (so it cannot drift to another topic).
    """
    by_id = {kp.id: kp for kp in kps}
    sentences = transcript_sentences(segments, chapters)
    out = []
    for i, chapter in enumerate(chapters):
        kp = by_id.get(chapter.knowledge_point or "")
        fallback = kp.name if kp else chapter.title
        own = [s for s in sentences if s.chapter == i]
        if generate is None or not own:
            out.append(replace(chapter, title=fallback))
            continue
        key = select_sentences(own, 1, [kp] if kp else [], TITLE_SOURCE_WORDS)
        try:
            raw = complete(generate, f"{_TITLE_EXAMPLE}Text: {' '.join(s.text for s in key)}\nTitle:",
                           max_tokens=16, stop=["\n"])
        except Exception:  # noqa: BLE001 - keep the safe title
            raw = ""
        title = _clean_title(raw)
        source = " ".join(s.text for s in own) + (f" {kp.name} {kp.description}" if kp else "")
        ok = (bool(title) and 2 <= text_size(title) <= TITLE_MAX_WORDS and supported(title, source)
              and (kp is None or bool(set(content_terms(title)) & set(content_terms(kp.name)))))
        out.append(replace(chapter, title=title if ok else fallback))
    return out


def _clean_title(text: str) -> str:
    """First line of a generated title, without quotes, marks, a final full stop or a second sentence."""
    line = next((ln for ln in text.strip().splitlines() if ln.strip()), "")
    line = split_sentences(line.strip(" \"'*#:-“”"))[:1]
    title = line[0].rstrip(".!") if line else ""
    return title[:1].upper() + title[1:]
