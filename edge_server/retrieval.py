"""Retrieval for the companion: which chapter of which lesson explains what a pupil asked.

Passages are transcript chunks (one per chapter, with start/end and knowledge point) of each lesson's current
medium; a lesson without a transcript yet is represented by its notes. Each passage is scored by
  * BM25 of its transcript: SQLite FTS5 (chunks_fts) for words, with stems as prefixes so that "evaporates" finds
    "evaporation"; Chinese has no spaces, so transcripts are indexed and questions searched as jieba words
    (models.textutil.index_text: the index holds the words, the row the text as spoken);
  * the similarity of the question to its chapter's knowledge point (name and description), which is clean
    authored text where the transcript may have recognition errors;
  * a small bonus when the lesson's notes match, which helps to pick the right lesson among many;
  * when the model process answers, the question's meaning: its sentence-embedding similarity to the chunk and to
    its knowledge point (domain/fusion.py, vectors from edge_server.passage_vectors), which finds the chapter of a
    question asked in another language than the lesson's, or in other words than a misheard transcript's.
A passage counts as found only when enough of the question's content words occur in it (coverage), or when it is
close enough in meaning (fusion.near), so that an off-topic question gets "I don't know" rather than the least bad
chapter. Without the model process the words alone rank, as before.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import sqlite_utils

from edge_server.catalog import expired_channels
from edge_server.domain import fusion
from edge_server.store import meta
from edge_server.store.db import rows
from models.textutil import CJK_RUN, STOP_WORDS, content_terms, stem, words

# Chinese question particles and function characters: bigrams made only of these carry no topic.
_ZH_STOP = set("的了吗呢吧啊是在有和与及或也都就还很么什怎为谁哪几个这那我你他她它们一不")
_EXTRA_STOP = frozenset({"mean", "means", "meant", "explain", "tell", "please", "happen", "happens", "happened",
                         "called", "call", "name", "signifie", "veut", "dire", "explique", "appelle", "pourquoi"})

MIN_COVERAGE = 0.34
KP_WEIGHT = 0.6
NOTES_WEIGHT = 0.2


@dataclass(frozen=True)
class Passage:
    """A piece of lesson content that may answer a question, with where it is in the lesson."""

    lesson_id: str
    lesson_title: str
    knowledge_point: str | None
    kp_name: str
    kp_description: str
    start: float
    end: float
    text: str
    source: str  # "transcript" | "notes"
    score: float = 0.0
    coverage: float = 0.0
    similarity: float | None = None  # closeness in meaning to the question (None: not known)
    near: bool = False  # close enough in meaning to answer from (fusion.near)

    @property
    def found(self) -> bool:
        """Relevant enough to answer from: the question's words are in it, or its meaning is close."""
        return self.near or (self.coverage >= MIN_COVERAGE and self.score > 0)


class Meaning(Protocol):
    """One question's similarities in meaning to passages (passage_vectors.QuestionMeaning)."""

    def similarities(self, passages: Sequence[Passage]) -> list[float | None] | None: ...


# Spoken numbers and digits meet: a transcript writes "3 times 4" where a pupil types "three times four".
_SMALL_NUMBERS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
                  "sixteen seventeen eighteen nineteen twenty")
_NUMBERS = {w: str(n) for n, w in enumerate(_SMALL_NUMBERS.split())}
_NUMBERS.update({"thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "seventy": "70", "eighty": "80",
                 "ninety": "90", "hundred": "100", "thousand": "1000", "zéro": "0", "un": "1", "une": "1",
                 "deux": "2", "trois": "3", "quatre": "4", "cinq": "5", "six": "6", "sept": "7", "huit": "8",
                 "neuf": "9", "dix": "10", "vingt": "20", "cent": "100", "mille": "1000"})
_DIGIT_WORD = {d: w for w, d in _NUMBERS.items() if w.isascii()}


def terms(text: str) -> list[str]:
    """Search terms of a text: stems of content words, numbers as digits, Chinese content words (jieba)."""
    return list(_terms(text))


@functools.lru_cache(maxsize=2048)
def _terms(text: str) -> tuple[str, ...]:
    # each question scores every passage in scope, and passages change only with a new transcript: their terms
    # (jieba's cut of a Chinese chapter is ~3 ms) are made once, not once per question
    out: list[str] = []
    for run in CJK_RUN.findall(text):
        out.extend(t for t in content_terms(run) if t not in _ZH_STOP or len(t) > 1)
    for w in words(CJK_RUN.sub(" ", text)):
        if w.isdigit() or w in _NUMBERS:
            out.append(_NUMBERS.get(w, w))
        elif w not in STOP_WORDS and w not in _EXTRA_STOP and len(w) > 1:
            out.append(stem(w))
    return tuple(out)


def _same(q: str, t: str) -> bool:
    """A query term meets a document term: equal, or one a prefix of the other (long stems, or a short suffix
    left over that the light stemmer does not strip: sunny/sun, farming/farmer)."""
    if q == t:
        return True
    shorter, longer = sorted((q, t), key=len)
    if len(shorter) < 3 or shorter.isdigit() or not longer.startswith(shorter):
        return False
    return len(shorter) >= 5 or len(longer) - len(shorter) <= 2


def _present(q: str, doc_terms: set[str]) -> bool:
    if q in doc_terms:
        return True
    if CJK_RUN.match(q):  # jieba may cut a word finer or coarser in another sentence: 满月 / 满月时
        return len(q) >= 2 and any(len(t) >= 2 and (q in t or t in q) for t in doc_terms if CJK_RUN.match(t))
    return len(q) >= 3 and any(_same(q, t) for t in doc_terms)


def coverage(query: Sequence[str], doc_terms: set[str]) -> float:
    """Share of the distinct query terms found in a document."""
    distinct = set(query)
    if not distinct:
        return 0.0
    return sum(_present(q, doc_terms) for q in distinct) / len(distinct)


def bm25_scores(query: Sequence[str], docs: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75) -> list[float]:
    """Okapi BM25 of each document for the query terms (the Python twin of FTS5's bm25, for Chinese bigrams)."""
    n = len(docs)
    if not n:
        return []
    avg = sum(len(d) for d in docs) / n or 1.0
    counts = [Counter(d) for d in docs]
    df = Counter(t for c in counts for t in c)
    out = []
    for c, d in zip(counts, docs, strict=True):
        score = 0.0
        for q in set(query):
            f = c.get(q, 0)
            if f:
                idf = math.log(1 + (n - df[q] + 0.5) / (df[q] + 0.5))
                score += idf * f * (k1 + 1) / (f + k1 * (1 - b + b * len(d) / avg))
        out.append(score)
    return out


def _cosine_terms(a: Iterable[str], b: Iterable[str]) -> float:
    ca, cb = Counter(a), Counter(b)
    if not ca or not cb:
        return 0.0
    dot = sum(v * cb.get(t, 0) for t, v in ca.items())
    # prefix matches count too (stems of different forms of a word)
    for t in ca:
        if t not in cb and len(t) >= 3:
            dot += sum(cb[u] for u in cb if _same(t, u)) * ca[t]
    return dot / (math.sqrt(sum(v * v for v in ca.values())) * math.sqrt(sum(v * v for v in cb.values())))


# -- queries -----------------------------------------------------------------------------------------------------

def load_passages(db: sqlite_utils.Database, lesson_id: str | None = None,
                  expired: Iterable[str] | None = None) -> list[tuple[int | None, Passage]]:
    """Transcript chunks of current media (and notes of lessons without any), optionally of one lesson only; never
    of a pack that has expired by the box's trusted time (it is no longer served, so it is never cited).

    expired: the expired channels' ids, when the caller has them already (else read here).
    """
    where, params = ("AND l.id = ?", (lesson_id,)) if lesson_id else ("", ())
    expired = tuple(expired_channels(db) if expired is None else expired)
    if expired:
        where += f" AND l.channel_id NOT IN ({','.join('?' * len(expired))})"
        params = (*params, *expired)
    chunk_rows = rows(db, "SELECT c.id, c.lesson_id, l.title, c.knowledge_point, c.start, c.end, c.text, "
                          "kp.name AS kp_name, kp.description AS kp_description FROM transcript_chunks c "
                          "JOIN lessons l ON l.id = c.lesson_id AND l.media_sha256 = c.media_sha256 "
                          f"LEFT JOIN knowledge_points kp ON kp.id = c.knowledge_point WHERE 1 {where} "
                          "ORDER BY c.lesson_id, c.start", params)
    out: list[tuple[int | None, Passage]] = [
        (r["id"], Passage(r["lesson_id"], r["title"], r["knowledge_point"], r["kp_name"] or "",
                          r["kp_description"] or "", float(r["start"]), float(r["end"]), r["text"], "transcript"))
        for r in chunk_rows]
    with_chunks = {p.lesson_id for _, p in out}
    for lesson in rows(db, f"SELECT l.id, l.title, l.text FROM lessons l WHERE 1 {where}", params):
        if lesson["id"] in with_chunks:
            continue
        kps = rows(db, "SELECT kp.id, kp.name, kp.description FROM lesson_knowledge_points lkp JOIN knowledge_points "
                       "kp ON kp.id = lkp.knowledge_point_id WHERE lkp.lesson_id = ? ORDER BY lkp.position",
                   (lesson["id"],))
        for kp in kps or [{"id": None, "name": "", "description": ""}]:
            text = " ".join(x for x in (lesson["text"] or "", kp["description"] or "") if x)
            out.append((None, Passage(lesson["id"], lesson["title"], kp["id"], kp["name"] or "",
                                      kp["description"] or "", 0.0, 0.0, text, "notes")))
    return out


def _fts_scores(db: sqlite_utils.Database, query: Sequence[str], ids: list[int]) -> dict[int, float]:
    """FTS5 BM25 (higher is better) of transcript chunks for the query terms (Chinese ones as whole words)."""
    latin = sorted({q for q in query if not CJK_RUN.search(q)})
    chinese = sorted({q for q in query if CJK_RUN.search(q)})
    if not (latin or chinese) or not ids:
        return {}
    latin += [_DIGIT_WORD[q] for q in latin if q in _DIGIT_WORD]  # "3" also finds "three"
    match = " OR ".join([f'"{q}"*' if len(q) >= 3 and not q.isdigit() else f'"{q}"' for q in latin]
                        + [f'"{q}"' for q in chinese])
    marks = ",".join("?" * len(ids))
    found = rows(db, f"SELECT rowid AS id, bm25(chunks_fts) AS score FROM chunks_fts WHERE chunks_fts MATCH ? "
                     f"AND rowid IN ({marks})", (match, *ids))
    return {r["id"]: -float(r["score"]) for r in found}


def _notes_terms(db: sqlite_utils.Database, lesson_ids: set[str]) -> dict[str, list[str]]:
    if not lesson_ids:
        return {}
    marks = ",".join("?" * len(lesson_ids))
    return {r["id"]: terms(f"{r['title']} {r['text'] or ''}")
            for r in rows(db, f"SELECT id, title, text FROM lessons WHERE id IN ({marks})", tuple(lesson_ids))}


def _normalise(values: list[float]) -> list[float]:
    top = max(values, default=0.0)
    return [v / top if top > 0 else 0.0 for v in values]


def query_terms(question: str) -> list[str]:
    """The terms a question is searched by: numbers only count when it has fewer than two other words, since
    lessons full of digits (times tables) would otherwise draw every question that mentions a number."""
    query = terms(question)
    words_only = [q for q in query if not q.isdigit()]
    return words_only if len(set(words_only)) >= 2 else query


def rank(db: sqlite_utils.Database, question: str, lesson_id: str | None = None,
         allowed: set[str] | None = None, expired: Iterable[str] | None = None,
         meaning: Meaning | None = None) -> list[Passage]:
    """Every passage in scope (one lesson, or the lessons allowed, or all), best first, with score and coverage
    (and similarity in meaning when given one)."""
    query = query_terms(question)
    candidates = [c for c in load_passages(db, lesson_id, expired) if allowed is None or c[1].lesson_id in allowed]
    if not candidates or (not query and meaning is None):
        return []
    passages = [p for _, p in candidates]
    text_terms = [terms(p.text) for p in passages]
    fts = _fts_scores(db, query, [cid for cid, _ in candidates if cid is not None])
    lexical = _normalise([fts.get(cid, 0.0) if cid is not None else 0.0 for cid, _ in candidates])
    if not any(lexical):  # notes-only passages: score their text in Python too
        lexical = _normalise(bm25_scores(query, text_terms))
    kp_terms = [terms(f"{p.kp_name} {p.kp_name} {p.kp_description}") for p in passages]
    kp_sim = _normalise([_cosine_terms(query, t) for t in kp_terms])
    notes = _notes_terms(db, {p.lesson_id for p in passages})
    notes_sim = _normalise([coverage(query, set(notes.get(p.lesson_id, []))) for p in passages])
    by_words = [lexical[i] + KP_WEIGHT * kp_sim[i] + NOTES_WEIGHT * notes_sim[i] for i in range(len(passages))]
    similarities = meaning.similarities(passages) if meaning is not None else None
    scores = fusion.fuse(by_words, similarities)
    ranked = []
    for i, p in enumerate(passages):
        cover = coverage(query, set(text_terms[i]) | set(kp_terms[i]))
        similar = similarities[i] if similarities is not None else None
        ranked.append(replace(p, score=round(scores[i], 4), coverage=round(cover, 3),
                              similarity=None if similar is None else round(similar, 4),
                              near=fusion.near(similar, lesson_id is not None)))
    return sorted(ranked, key=lambda p: (-p.score, p.lesson_id, p.start))


def search(db: sqlite_utils.Database, question: str, lesson_id: str | None = None, limit: int = 3,
           allowed: set[str] | None = None, meaning: Meaning | None = None) -> list[Passage]:
    """The best passages for a question: in the pupil's lesson first, then the lessons the pupil may open (all
    when allowed is None) when nothing there is found; by words, and by meaning too when given the question's."""
    expired = set(expired_channels(db))  # read once for both rankings
    ranked = rank(db, question, lesson_id, allowed, expired, meaning)
    if lesson_id and not (ranked and ranked[0].found):
        wider = rank(db, question, None, allowed, expired, meaning)
        if wider and wider[0].found:
            ranked = wider
    return ranked[:limit]


def kp_passage(db: sqlite_utils.Database, lesson_id: str, knowledge_point: str | None) -> Passage | None:
    """The chapter of a lesson that teaches a knowledge point (for Socratic pointers), or None."""
    for _, p in load_passages(db, lesson_id):
        if p.knowledge_point == knowledge_point:
            return p
    return None


# -- the index's generation -----------------------------------------------------------------------------------

INDEX_GENERATION = "index_generation"  # meta key: moves on whenever transcript chunks are rebuilt


def bump_index_generation(db: sqlite_utils.Database) -> None:
    """Mark the passages as changed (inside the transaction that changes them), so cached answers are not reused."""
    meta.increment(db, INDEX_GENERATION)


def index_generation(db: sqlite_utils.Database) -> str:
    """The passages' generation: part of a cached answer's key (each worker process has its own cache)."""
    return meta.get(db, INDEX_GENERATION) or "0"
