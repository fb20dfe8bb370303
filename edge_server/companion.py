"""The study companion: retrieval -> safety -> prompt -> generate -> grounding check -> citations, for a whole class.

The model (Gemma 3 270M) only phrases: the answer is chosen from the lesson first (the 1-3 transcript sentences of
the best chapter that match the question), the model may rewrite them for a child, and each generated sentence is
shown only when its words and numbers come from that passage; otherwise the chosen sentences themselves are the
answer. With an exercise in hand the companion is Socratic: the exercise's hint, a guiding question and the chapter
to listen to again, never the answer key.

A full class shares ONE model through a FIFO queue served by one worker thread. Each pupil has at most one question
pending: a second one while the first waits is refused with `Busy` (HTTP 429) rather than replacing it, so that a
pupil tapping "ask" twice does not lose their place. The model's rephrasing is a bonus with a time budget
(`companion_rephrase_budget_s` in config.toml, default 2.5 s from the moment the question was asked, and never more
than `companion_timeout_s`): a question that waited longer than that in the queue is answered with the extractive
sentences at once, a generation is cut at that moment, and a model that is stuck is not waited for. So every pupil
gets a faithful answer in bounded time, and the model phrases it when the box has the time. Identical questions on
the same lesson are answered from a cache.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import sqlite_utils

from edge_server import clock, retrieval
from edge_server.domain import safety
from edge_server.domain.safety_normalise import clean
from edge_server.model_status import selftest_allows_llm
from edge_server.passage_vectors import QuestionEmbedder, QuestionMeaning, vectors_for
from edge_server.settings import Settings
from edge_server.store.db import rows, write
from models.textutil import content_terms, has_cjk, names, numbers, words
from models.worker import ModelsUnavailable

log = logging.getLogger(__name__)

MAX_QUESTION = 500
MAX_ANSWER_WORDS = 45
MAX_TOKENS = 40
STOP = ["\n\n", "\nLesson", "\nLeçon", "\nQuestion", "Question:", "Question :"]
CACHE_SIZE = 512
GRACE_S = 0.25

# Fixed phrases of the companion, in the pupil's language.
TEXTS: dict[str, dict[str, str]] = {
    "not_found": {
        "en": "I couldn't find that in your lessons. Try asking with other words, or ask your teacher.",
        "fr": "Je n'ai pas trouvé cela dans tes leçons. Essaie avec d'autres mots, ou demande à ton enseignant.",
        "zh": "我在你的课程里没有找到这个内容。换个说法再问问，或者去问问老师吧。",
    },
    "listen": {
        "en": "Listen again to \u201c{chapter}\u201d from {time}.",
        "fr": "Réécoute \u00ab {chapter} \u00bb à partir de {time}.",
        "zh": "从{time}开始再听一遍\u201c{chapter}\u201d。",
    },
    "hint": {"en": "Hint: {hint}", "fr": "Indice : {hint}", "zh": "提示：{hint}"},
    "guide": {
        "en": "Ask yourself: what does the lesson say about {topic}? Then look at the question again: {prompt}",
        "fr": "Demande-toi : que dit la leçon sur {topic} ? Puis relis la question : {prompt}",
        "zh": "想一想：课程里关于“{topic}”是怎么说的？然后再读一遍题目：{prompt}",
    },
    "busy": {
        "en": "Wait a moment: I am still answering your last question.",
        "fr": "Attends un instant : je réponds encore à ta question précédente.",
        "zh": "请稍等：我还在回答你上一个问题。",
    },
}


def text(key: str, language: str, **values: Any) -> str:
    """A fixed companion phrase in a language (English when not one of ours)."""
    table = TEXTS[key]
    return table.get(language, table["en"]).format(**values)


class Busy(RuntimeError):
    """This pupil already has a question waiting for an answer."""


@dataclass
class Answer:
    """What the companion says: the API's fields plus how it got there."""

    answer: str
    refused: bool = False
    citations: list[dict[str, Any]] = field(default_factory=list)
    found: bool = True
    category: str | None = None
    method: str = "extractive"  # generated | extractive | socratic | refused | not_found | cached
    language: str = "en"
    disclosure: bool = False  # the pupil told of harm to them: the teacher is alerted (never sent off the box)

    def public(self) -> dict[str, Any]:
        """The JSON of POST /api/v1/companion/ask."""
        return {"answer": self.answer, "refused": self.refused, "citations": self.citations, "found": self.found,
                "category": self.category, "method": self.method}


# -- pure steps -------------------------------------------------------------------------------------------------

_SENTENCE = re.compile(r"(?<=[.!?…])[\"'”»)\]]*\s+|(?<=[。！？])")


def sentences(passage: str) -> list[str]:
    """Sentences of a passage (Latin and Chinese punctuation)."""
    return [s.strip() for s in _SENTENCE.split(passage.strip()) if s and s.strip()]


def citation(passage: retrieval.Passage) -> dict[str, Any]:
    """The citation of a passage; its url opens the lesson player at the chapter's first second."""
    start = int(passage.start)
    return {"lesson": passage.lesson_id, "knowledge_point": passage.knowledge_point, "start": round(passage.start, 2),
            "end": round(passage.end, 2), "url": f"/lesson/{passage.lesson_id}?t={start}"}


def pick_sentences(question: str, passage: retrieval.Passage, limit: int = 3,
                   max_words: int = MAX_ANSWER_WORDS) -> list[str]:
    """The 1-3 sentences of a passage that best match the question, in the passage's order (extractive answer)."""
    found = sentences(passage.text)
    if not found:
        return []
    query = set(retrieval.terms(question)) | set(retrieval.terms(passage.kp_name))
    sent_terms = [set(retrieval.terms(s)) for s in found]
    df = {q: sum(retrieval._present(q, st) for st in sent_terms) for q in query}
    n = len(found)

    def score(i: int) -> float:
        return sum((1.0 + n / (1 + df[q])) for q in query if df[q] and retrieval._present(q, sent_terms[i]))

    scores = [score(i) for i in range(n)]
    order = sorted(range(n), key=lambda i: (-scores[i], i))
    if scores[order[0]] <= 0:
        return [passage.kp_description] if passage.kp_description else found[:1]
    chosen = [order[0]]
    used = len(found[order[0]].split())
    for i in order[1:limit]:
        length = len(found[i].split())
        # a second sentence only when it also matches well, or when it follows on from the first
        if scores[i] >= 0.5 * scores[order[0]] and used + length <= max_words:
            chosen.append(i)
            used += length
    if len(chosen) == 1 and order[0] + 1 < n and used + len(found[order[0] + 1].split()) <= 28:
        chosen.append(order[0] + 1)  # a very short answer reads better with the sentence that follows it
    return [found[i] for i in sorted(chosen)]


PROMPTS = {
    "en": "Lesson: {lesson}\nQuestion: {question}\nShort, simple answer for a child, using only the words of the "
          "lesson:\nAnswer:",
    "fr": "Leçon : {lesson}\nQuestion : {question}\nRéponse courte et simple pour un enfant, avec seulement les mots "
          "de la leçon :\nRéponse :",
}


def prompt_for(question: str, chosen: list[str], language: str = "en") -> str:
    """A constrained completion prompt for a small base model: rewrite the lesson sentences as a short answer."""
    return PROMPTS.get(language, PROMPTS["en"]).format(lesson=" ".join(chosen), question=question.strip())


def grounded(sentence: str, source: str, question: str) -> bool:
    """A generated sentence is shown only when its content words, numbers and names come from the passage."""
    source_terms = set(content_terms(source)) | set(content_terms(question))
    terms = content_terms(sentence)
    if not terms or len(sentence.split()) > 30:
        return False
    supported = sum(1 for t in terms if t in source_terms or any(retrieval._same(t, s) for s in source_terms))
    if supported / len(terms) < 0.8:
        return False
    if _numbers(sentence) - _numbers(source):
        return False
    if not all(n in set(words(source)) for n in names(sentence)):
        return False
    return not safety.unsafe_output(sentence)


def _numbers(text_: str) -> set[str]:
    """Numbers a text states, spoken or in digits, as digits where we know them ("three" and "3" are the same)."""
    return {retrieval.terms(n)[0] if retrieval.terms(n) else n for n in numbers(text_)}


def focus_sentence(question: str, chosen: list[str]) -> str:
    """The chosen sentence that matches the question best: what a rephrasing must keep."""
    query = set(retrieval.terms(question))
    return max(chosen, key=lambda s: sum(retrieval._present(q, set(retrieval.terms(s))) for q in query), default="")


def keeps_point(answer: str, focus: str, question: str) -> bool:
    """A rephrasing keeps the point: it uses the focus sentence's own words beyond those of the question."""
    asked = set(retrieval.terms(question))
    new = {t for t in retrieval.terms(focus) if not retrieval._present(t, asked)}
    if not new:
        return True
    got = set(retrieval.terms(answer))
    kept = sum(retrieval._present(t, got) for t in new)
    return kept >= 1 and kept >= 0.4 * len(new)


def answer_strings(exercise: dict[str, Any]) -> list[str]:
    """What would give an exercise away: the right choice's words, the accepted texts, the number."""
    answer = exercise.get("answer")
    out: list[str] = []
    if exercise.get("kind") == "choice" and isinstance(answer, int) and exercise.get("choices"):
        choices = exercise["choices"]
        if 0 <= answer < len(choices):
            out.append(str(choices[answer]))
    elif isinstance(answer, list):
        out.extend(str(a) for a in answer)
    elif answer is not None:
        out.append(str(answer))
        if isinstance(answer, float) and answer.is_integer():
            out.append(str(int(answer)))
    return [a for a in out if a.strip()]


def reveals(text_: str, exercise: dict[str, Any]) -> bool:
    """True when a text contains the exercise's answer (as whole words, accents and case ignored)."""
    folded = safety.fold(text_)
    for ans in answer_strings(exercise):
        key = safety.fold(ans)
        if re.search(r"(?<![\w.])" + re.escape(key) + r"(?![\w]|\.\d)", folded) or (
                has_cjk(key) and key in folded):
            return True
    return False


def socratic(exercise: dict[str, Any], passage: retrieval.Passage | None, language: str) -> Answer:
    """A hint, a guiding question and the chapter to listen to again; never the answer key."""
    parts = []
    hint = (exercise.get("hint") or "").strip()
    if hint and not reveals(hint, exercise):
        parts.append(text("hint", language, hint=hint))
    # the chapter's name may be the answer itself ("Condensation"): then the lesson's title stands in for it
    names_ = [passage.kp_name, passage.lesson_title] if passage else []
    topic = next((n for n in names_ if n and not reveals(n, exercise)), "")
    guide = text("guide", language, topic=topic, prompt=exercise.get("prompt") or "") if topic else ""
    if guide and not reveals(guide, exercise):
        parts.append(guide)
    citations = []
    if passage is not None:
        minutes, seconds = divmod(int(passage.start), 60)
        parts.append(text("listen", language, chapter=topic or passage.lesson_title, time=f"{minutes}:{seconds:02d}"))
        citations.append(citation(passage))
    answer = " ".join(p for p in parts if not reveals(p, exercise))
    return Answer(answer or text("not_found", language), citations=citations, found=passage is not None,
                  method="socratic", language=language)


def cache_key(question: str, lesson_id: str | None, exercise_id: str | None, language: str,
              allowed: set[str] | None = None) -> tuple[str, ...]:
    """Questions that differ only in case, accents, spaces or punctuation share a cache entry (per set of lessons
    the pupil may open, since an answer may cite another lesson)."""
    folded = re.sub(r"[^\w]+", " ", safety.fold(question)).strip()
    scope = "*" if allowed is None else ",".join(sorted(allowed))
    return (lesson_id or "", exercise_id or "", language, folded, scope)


# -- the queue --------------------------------------------------------------------------------------------------

@dataclass
class Ticket:
    """One question waiting for the model."""

    pupil_id: int | None
    prompt: str
    source: str  # the whole passage: what generated sentences must be supported by
    focus: str  # the chosen sentence that answers best: what a rephrasing must keep the point of
    question: str
    key: tuple[str, ...]
    submitted: float = field(default_factory=time.monotonic)
    events: queue.Queue = field(default_factory=queue.Queue)
    cancel: threading.Event = field(default_factory=threading.Event)
    settled: threading.Event = field(default_factory=threading.Event)  # its answer is in the cache


Generate = Callable[..., Iterator[str]]


class Companion:
    """The companion of one process: one model, one FIFO queue and worker, a cache, one pending question a pupil."""

    def __init__(self, settings: Settings, generator: Any = None, embed: Any = None, runners: Any = None) -> None:
        self.settings = settings
        # the model process's runners (the Box's): where the generator and the embedder come from unless given
        self._runners = runners
        # the safety check's sentence embedder: the model process's embed op unless given (False: rules alone)
        self._embed = embed
        # the model's rephrasing is a bonus that must arrive within the budget (config.toml
        # companion_rephrase_budget_s); a stuck model is cut at companion_timeout_s whatever the budget
        self.timeout_s = min(float(settings.companion_timeout_s), float(settings.companion_rephrase_budget_s))
        self._generator = generator
        self._lock = threading.Condition()
        self._queue: deque[Ticket] = deque()
        self._running: Ticket | None = None
        self._pending: set[int] = set()
        self._cache: OrderedDict[tuple[str, ...], Answer] = OrderedDict()
        self._worker: threading.Thread | None = None
        # the passages' vectors this companion has read or made, kept in memory beside their disk cache
        self.passages = vectors_for(settings.data_dir)
        self.stats = {"asked": 0, "answered": 0, "cached": 0, "generated": 0, "timeouts": 0, "refused": 0}

    # the model, loaded lazily on first use

    @property
    def runners(self) -> Any:
        """The runners given, else this companion's own client of the model process."""
        if self._runners is None:
            from edge_server.jobs import Runners

            self._runners = Runners(self.settings)
        return self._runners

    @property
    def generator(self) -> Any:
        if self._generator is None:
            self._generator = self.runners.generator
        return self._generator

    @property
    def embed(self) -> Any:
        """texts -> unit vectors, served by the model process (the web worker holds no copy); None: rules and
        words alone. A question is embedded once for the safety check and the search."""
        if self._embed is None:
            self._embed = QuestionEmbedder(self.runners.client.embed)
        elif self._embed and not isinstance(self._embed, QuestionEmbedder):
            self._embed = QuestionEmbedder(self._embed)
        return self._embed or None

    def meaning(self, question: str) -> QuestionMeaning | None:
        """The question's meaning for the search, or None (words alone) when there is no embedder, the box turned it
        off (`retrieval_by_meaning = false` in config.toml) or the model process does not answer."""
        embed = self.embed
        if embed is None or not self.settings.retrieval_by_meaning:
            return None
        try:
            # the safety check embedded this same text a moment ago: QuestionEmbedder answers from memory
            vector = embed([clean(question)])[0]
        except Exception as exc:  # noqa: BLE001 - no model process: the words alone rank, never an error page
            log.info("companion: search by words alone (%s)", exc)
            return None
        return QuestionMeaning(vector, self.passages, embed)

    def model_available(self) -> bool:
        """True when a text model can be used (else answers stay extractive)."""
        if self._generator is False:
            return False
        if not selftest_allows_llm(self.settings.selftest_path):
            return False  # the self-test saw the text model fail on this machine: extractive answers only
        try:
            _ = self.generator.model if hasattr(self.generator, "model") else None
        except Exception as exc:  # noqa: BLE001 - no model installed: extractive answers only
            log.warning("companion: no text model (%s); answers stay extractive", exc)
            self._generator = False
            return False
        return True

    # queue bookkeeping

    def place(self, ticket: Ticket) -> int:
        """How many questions are ahead of this one (0: it is being answered or is next)."""
        with self._lock:
            if self._running is ticket:
                return 0
            try:
                return self._queue.index(ticket) + (1 if self._running is not None else 0)
            except ValueError:
                return 0

    def queue_length(self) -> int:
        with self._lock:
            return len(self._queue) + (1 if self._running is not None else 0)

    def _ensure_worker(self) -> None:
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(target=self._work, name="companion-worker", daemon=True)
            self._worker.start()

    def _submit(self, ticket: Ticket) -> None:
        with self._lock:
            self._queue.append(ticket)
            self._ensure_worker()
            self._lock.notify_all()

    def _work(self) -> None:
        while True:
            with self._lock:
                while not self._queue:
                    self._lock.wait()
                ticket = self._queue.popleft()
                self._running = ticket
            try:
                self._serve(ticket)
            except Exception as exc:  # noqa: BLE001 - one failed generation must not stop the queue
                log.warning("companion generation failed: %s", exc)
                ticket.events.put(("done", None))
            # the same question waiting behind this one is then answered from the cache, not generated again
            ticket.settled.wait(1.0)
            with self._lock:
                self._running = None

    def _serve(self, ticket: Ticket) -> None:
        if ticket.cancel.is_set():
            return
        cached = self._cache_get(ticket.key)
        if cached is not None:
            ticket.events.put(("cached", cached))
            return
        waited = time.monotonic() - ticket.submitted
        if waited > self.timeout_s:  # the queue is long: answer from the lesson now rather than later
            ticket.events.put(("done", None))
            return
        budget = self.timeout_s - waited
        pieces: list[str] = []
        try:
            for piece in self.generator.stream(ticket.prompt, max_tokens=MAX_TOKENS, stop=STOP,
                                               timeout_s=budget, cancel=ticket.cancel):
                pieces.append(piece)
                ticket.events.put(("token", piece))
                if ticket.cancel.is_set() or "\n" in "".join(pieces).lstrip():
                    break  # the answer is one line: a base model goes on with made-up "Lesson:" lines after it
        except ModelsUnavailable as exc:
            ticket.events.put(("unavailable", exc))
            return
        ticket.events.put(("done", "".join(pieces)))

    # the cache

    def _cache_get(self, key: tuple[str, ...]) -> Answer | None:
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
            return hit

    def _cache_put(self, key: tuple[str, ...], answer: Answer) -> None:
        with self._lock:
            self._cache[key] = answer
            self._cache.move_to_end(key)
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)

    # asking

    def ask(self, db: sqlite_utils.Database, pupil_id: int | None, question: str, lesson_id: str | None = None,
            exercise_id: str | None = None, language: str = "en", allowed: set[str] | None = None) -> Answer:
        """Answer one question (blocking); see stream() for the events."""
        final = None
        for kind, data in self.stream(db, pupil_id, question, lesson_id, exercise_id, language, allowed):
            if kind == "answer":
                final = data
        assert final is not None
        return final

    def stream(self, db: sqlite_utils.Database, pupil_id: int | None, question: str, lesson_id: str | None = None,
               exercise_id: str | None = None, language: str = "en",
               allowed: set[str] | None = None) -> Iterator[tuple[str, Any]]:
        """Events of one question: ("queued", {"place", "queue"}), ("token", text)..., then ("answer", Answer).

        Raises Busy before any event when this pupil already has a question pending.
        """
        question = (question or "").strip()[:MAX_QUESTION]
        with self._lock:
            if pupil_id is not None and pupil_id in self._pending:
                raise Busy(text("busy", language))
            if pupil_id is not None:
                self._pending.add(pupil_id)
            self.stats["asked"] += 1
        try:
            yield from self._answer(db, pupil_id, question, lesson_id, exercise_id, language, allowed)
        finally:
            with self._lock:
                self._pending.discard(pupil_id)  # type: ignore[arg-type]

    def _answer(self, db: sqlite_utils.Database, pupil_id: int | None, question: str, lesson_id: str | None,
                exercise_id: str | None, language: str, allowed: set[str] | None) -> Iterator[tuple[str, Any]]:
        # when the model process is down the embedder fails fast and the rules alone decide (safety.assess)
        verdict = safety.check_question(question, language, self.embed)
        lang = safety.detect_language(question, language)
        # "just tell me the answer" on an exercise gets the Socratic hint, which never contains the answer
        if verdict.refused and not (verdict.category == "homework" and exercise_id):
            answer = Answer(verdict.message, refused=True, found=False, category=verdict.category, method="refused",
                            language=lang, disclosure=verdict.disclosure)
            self.stats["refused"] += 1
            log_question(db, pupil_id, lesson_id, question, answer)
            yield "answer", answer
            return
        # an answer cached before a transcript or chapter changed (a teacher's correction, a new pack) is not reused
        key = (*cache_key(question, lesson_id, exercise_id, lang, allowed), retrieval.index_generation(db))
        hit = self._cache_get(key)
        if hit is not None:
            self.stats["cached"] += 1
            answer = Answer(**{**asdict(hit), "method": "cached"})
            log_question(db, pupil_id, lesson_id, question, answer)
            yield "answer", answer
            return
        if exercise_id:
            answer = self._socratic(db, exercise_id, lesson_id, lang)
            self._cache_put(key, answer)
            log_question(db, pupil_id, lesson_id, question, answer)
            yield "answer", answer
            return
        passages = retrieval.search(db, question, lesson_id, allowed=allowed, meaning=self.meaning(question))
        if not passages or not passages[0].found:
            answer = Answer(text("not_found", lang), found=False, method="not_found", language=lang)
            self._cache_put(key, answer)
            log_question(db, pupil_id, lesson_id, question, answer)
            yield "answer", answer
            return
        best = passages[0]
        chosen = pick_sentences(question, best)
        extractive = join(chosen)
        answer = Answer(extractive, citations=[citation(best)], method="extractive", language=lang)
        # the model only rephrases in a language it was prompted for, and in the language of the passage
        same_language = lang in PROMPTS and safety.detect_language(best.text, lang) == lang
        if same_language and chosen and self.model_available():
            ticket = Ticket(pupil_id, prompt_for(question, chosen, lang), best.text, focus_sentence(question, chosen),
                            question, key)
            generated = yield from self._generate(ticket)
            if generated:
                answer.answer, answer.method = generated, "generated"
                self.stats["generated"] += 1
            self._cache_put(key, answer)
            ticket.settled.set()
        self._cache_put(key, answer)
        log_question(db, pupil_id, lesson_id, question, answer)
        self.stats["answered"] += 1
        yield "answer", answer

    def _generate(self, ticket: Ticket) -> Iterator[tuple[str, Any]]:
        """Queue a prompt; yield place updates and verified sentences; return the generated answer or None."""
        self._submit(ticket)
        try:
            return (yield from self._follow(ticket))
        except BaseException:
            ticket.settled.set()  # the pupil went away: nothing will be cached, do not hold the queue
            raise
        finally:
            ticket.cancel.set()  # answered, given up or the pupil went away: the model stops on this one

    def _follow(self, ticket: Ticket) -> Iterator[tuple[str, Any]]:
        # the worker never lets a ticket run past submitted + timeout; a model stuck beyond that is not waited for
        give_up = ticket.submitted + self.timeout_s + GRACE_S
        last_place = -1
        shown: list[str] = []
        buffer = ""
        while True:
            place = self.place(ticket)
            if place != last_place and not buffer and not shown:
                last_place = place
                yield "queued", {"place": place, "queue": self.queue_length()}
            try:
                kind, data = ticket.events.get(timeout=min(0.25, max(0.01, give_up - time.monotonic())))
            except queue.Empty:
                if time.monotonic() >= give_up:  # a stuck model: stop waiting, the lesson's sentences answer
                    ticket.cancel.set()
                    self.stats["timeouts"] += 1
                    return None
                continue
            if kind == "unavailable":
                raise data
            if kind == "cached":
                return data.answer if data.method == "generated" else None
            if kind == "token":
                buffer = (buffer + data).lstrip()
                if "\n" in buffer:  # end of the answer line: what follows is not part of it
                    buffer = buffer.split("\n")[0]
                done_sentences = sentences(buffer)
                # a sentence is complete when more text follows it; each is checked before it is shown
                while len(done_sentences) > 1 or (done_sentences and re.search(r"[.!?。！？]\s*$", buffer)):
                    sentence = done_sentences.pop(0)
                    if not grounded(sentence, ticket.source, ticket.question):
                        return None
                    shown.append(sentence)
                    if keeps_point(join(shown), ticket.focus, ticket.question):
                        # one short faithful answer is enough: stop the model here and free it for the next pupil
                        yield "token", join(shown)
                        return join(shown)
                    if len(shown) >= 2:
                        return None
                    buffer = " ".join(done_sentences)
                continue
            if kind == "done":
                if data is None:
                    if ticket.cancel.is_set() or time.monotonic() - ticket.submitted > self.timeout_s:
                        self.stats["timeouts"] += 1
                    return None
                rest = _clean(buffer)
                if rest and re.search(r"[.!?。！？]$", rest) and grounded(rest, ticket.source, ticket.question):
                    shown.append(rest)
                    if keeps_point(join(shown), ticket.focus, ticket.question):
                        yield "token", join(shown)
                        return join(shown)
                return None

    def _socratic(self, db: sqlite_utils.Database, exercise_id: str, lesson_id: str | None, language: str) -> Answer:
        from edge_server.catalog import get_exercise

        exercise = get_exercise(db, exercise_id)
        if exercise is None or (lesson_id and exercise["lesson_id"] != lesson_id):
            return Answer(text("not_found", language), found=False, method="not_found", language=language)
        passage = retrieval.kp_passage(db, exercise["lesson_id"], exercise.get("knowledge_point"))
        return socratic(exercise, passage, language)


def _clean(raw: str) -> str:
    return re.sub(r"^[\s*\-•#>\"']+", "", raw.split("\n")[0] if raw.strip() else raw).strip()


def join(parts: list[str]) -> str:
    """Sentences joined as their script wants: no spaces between Chinese sentences."""
    out = ""
    for part in parts:
        out += part if (not out or re.search(r"[。！？]$", out)) else " " + part
    return out


# -- the log (what teachers may see) ----------------------------------------------------------------------------

def log_question(db: sqlite_utils.Database, pupil_id: int | None, lesson_id: str | None, question: str,
                 answer: Answer) -> None:
    """Keep the question (not the answer) in companion_log: refused ones are shown to teachers for pastoral care.

    A disclosure also raises a pastoral alert in the same transaction: the teacher's page shows it at the top until
    a teacher acknowledges it. Alerts live only in box.db: no statement, sync or export reads that table.
    """
    created = clock.now_iso_seconds()

    def insert(tx: Any) -> None:
        cursor = tx.execute(
            "INSERT INTO companion_log (pupil_id, lesson_id, question, refused, category, created) "
            "VALUES (?, ?, ?, ?, ?, ?)", (pupil_id, lesson_id, question, int(answer.refused), answer.category, created))
        if answer.disclosure:
            tx.execute("INSERT INTO pastoral_alerts (log_id, pupil_id, class_id, question, category, created) "
                       "VALUES (?, ?, (SELECT class_id FROM pupils WHERE id = ?), ?, ?, ?)",
                       (cursor.lastrowid, pupil_id, pupil_id, question, answer.category, created))

    write(db, insert)


def pupil_questions(db: sqlite_utils.Database, pupil_id: int, limit: int = 50) -> list[dict[str, Any]]:
    """A pupil's own recent questions, newest first."""
    return rows(db, "SELECT id, lesson_id, question, refused, category, created FROM companion_log "
                    "WHERE pupil_id = ? ORDER BY id DESC LIMIT ?", (pupil_id, limit))


# A teacher sees the questions and disclosures of the classes they own; an admin (scope None) those of every class.
_OWN_CLASSES = "k.teacher_id = :scope"


def teacher_questions(db: sqlite_utils.Database, include_all: bool, limit: int = 200,
                      scope: int | None = None) -> list[dict[str, Any]]:
    """Questions for the pastoral page: refused ones, or every one when the box's settings allow; of the classes of
    teacher `scope` (None: every class)."""
    where = [w for w in ("" if include_all else "c.refused = 1", "" if scope is None else _OWN_CLASSES) if w]
    return rows(db, "SELECT c.id, c.lesson_id, c.question, c.refused, c.category, c.created, p.name AS pupil_name, "
                    "k.name AS class_name FROM companion_log c LEFT JOIN pupils p ON p.id = c.pupil_id "
                    f"LEFT JOIN classes k ON k.id = p.class_id {'WHERE ' + ' AND '.join(where) if where else ''} "
                    "ORDER BY c.id DESC LIMIT :limit", {"scope": scope, "limit": limit})


def pastoral_alerts(db: sqlite_utils.Database, limit: int = 100, scope: int | None = None) -> list[dict[str, Any]]:
    """Disclosures no teacher has acknowledged yet, newest first, with the pupil's name and class; of the classes of
    teacher `scope` (None: every class)."""
    mine = "" if scope is None else f"AND {_OWN_CLASSES} "
    return rows(db, "SELECT a.id, a.question, a.category, a.created, p.name AS pupil_name, k.name AS class_name "
                    "FROM pastoral_alerts a LEFT JOIN pupils p ON p.id = a.pupil_id "
                    f"LEFT JOIN classes k ON k.id = a.class_id WHERE a.acknowledged IS NULL {mine}"
                    "ORDER BY a.id DESC LIMIT :limit", {"scope": scope, "limit": limit})


def open_alert_count(db: sqlite_utils.Database, scope: int | None = None) -> int:
    """How many disclosures wait for a teacher (the badge on the teacher's pages), of teacher `scope`'s classes."""
    mine = "" if scope is None else f"AND {_OWN_CLASSES}"
    return int(rows(db, "SELECT count(*) AS n FROM pastoral_alerts a LEFT JOIN classes k ON k.id = a.class_id "
                        f"WHERE a.acknowledged IS NULL {mine}", {"scope": scope})[0]["n"])


def acknowledge_alert(db: sqlite_utils.Database, alert_id: int, teacher_id: int | None,
                      scope: int | None = None) -> bool:
    """Mark a pastoral alert seen by a teacher; False when there is no such open alert in their scope."""
    done = clock.now_iso_seconds()
    mine = "" if scope is None else "AND class_id IN (SELECT id FROM classes WHERE teacher_id = :scope)"
    return write(db, lambda tx: tx.execute(
        "UPDATE pastoral_alerts SET acknowledged = :done, acknowledged_by = :teacher WHERE id = :alert "
        f"AND acknowledged IS NULL {mine}",
        {"done": done, "teacher": teacher_id, "alert": alert_id, "scope": scope}).rowcount) > 0
