"""Quizzes (pure): choosing exercises by filters or by what a class is stuck on, the quiz's states, and its results
per pupil and per question. Storage is edge_server/store/quizzes.py, pages edge_server/web/views/quizzes.py.

A quiz is made for one class from the packs' exercises. It starts as a draft, is opened (pupils answer), closed (no
more answers) and then its results may be released to the pupils. Each pupil answers each item once: the first
answer counts, since pupils get no feedback until the release and a second answer would be a second attempt in the
pupil's mastery history.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from edge_server.domain import grading, mastery

STUCK_COUNT = 8  # the "what the class is stuck on" button's quiz length
MAX_ITEMS = 40
MAX_TITLE = 120
STATES = ("draft", "open", "closed")


class QuizError(ValueError):
    """A quiz request that cannot be done; the message says why, in English (views translate by kind)."""


class QuizStateError(QuizError):
    """An action that the quiz's state does not allow (open twice, release before closing, ...)."""


@dataclass(frozen=True)
class ExerciseInfo:
    """An exercise as the quiz builder lists it."""

    id: str
    lesson_id: str
    course_id: str
    knowledge_point: str
    difficulty: int
    kind: str
    prompt: str
    position: int = 0


@dataclass(frozen=True)
class Filters:
    """What the teacher narrowed the exercise list to; None = any."""

    course: str | None = None
    lesson: str | None = None
    knowledge_point: str | None = None
    difficulty: int | None = None

    @property
    def any(self) -> bool:
        """True when at least one filter is set."""
        return any(v is not None for v in (self.course, self.lesson, self.knowledge_point, self.difficulty))


def parse_filters(args: Mapping[str, Any]) -> Filters:
    """Filters from a query string: empty values mean any; a difficulty other than 1-3 is ignored."""
    def text(key: str) -> str | None:
        value = str(args.get(key) or "").strip()
        return value[:200] or None

    raw = text("difficulty")
    difficulty = int(raw) if raw in ("1", "2", "3") else None
    return Filters(text("course"), text("lesson"), text("knowledge_point"), difficulty)


def filter_exercises(exercises: Iterable[ExerciseInfo], filters: Filters) -> list[ExerciseInfo]:
    """The exercises that match every filter set, in catalog order (course, lesson, position)."""
    return [ex for ex in exercises
            if (filters.course is None or ex.course_id == filters.course)
            and (filters.lesson is None or ex.lesson_id == filters.lesson)
            and (filters.knowledge_point is None or ex.knowledge_point == filters.knowledge_point)
            and (filters.difficulty is None or ex.difficulty == filters.difficulty)]


def clean_title(title: str) -> str:
    """A quiz title: trimmed, single-spaced, at most MAX_TITLE characters; QuizError when empty."""
    cleaned = " ".join(str(title or "").split())[:MAX_TITLE]
    if not cleaned:
        raise QuizError("give the quiz a title")
    return cleaned


TOO_MANY = f"a quiz has at most {MAX_ITEMS} exercises"


def choose_items(exercise_ids: Sequence[str], known: Iterable[str]) -> list[str]:
    """The ticked exercises as quiz items: known ones only, each once, in the order ticked; QuizError when none or
    more than MAX_ITEMS."""
    catalog = set(known)
    items = list(dict.fromkeys(e for e in exercise_ids if e in catalog))
    if not items:
        raise QuizError("tick at least one exercise")
    if len(items) > MAX_ITEMS:
        raise QuizError(TOO_MANY)
    return items


# ---------------------------------------------------------------- what the class is stuck on

@dataclass(frozen=True)
class KpState:
    """One pupil's mastery row on one knowledge point."""

    pupil_id: int
    knowledge_point: str
    p_mastery: float
    attempts: int
    stuck: bool


@dataclass(frozen=True)
class KpNeed:
    """How much a class needs one knowledge point: stuck pupils, mean mastery of those who tried, not mastered."""

    knowledge_point: str
    stuck: int
    mean_p: float
    not_mastered: int


def class_needs(states: Iterable[KpState]) -> list[KpNeed]:
    """Knowledge points the class is stuck on, most needed first.

    A KP counts when at least one pupil is stuck on it (the mastery model's flag: enough attempts, low mastery), or
    when the pupils who tried it are below the stuck threshold on average after as many answers between them as
    make one pupil stuck (one early miss is not the class being stuck). Order: most stuck pupils, then lowest mean
    mastery, then most pupils not yet there.
    """
    by_kp: dict[str, list[KpState]] = {}
    for s in states:
        if s.knowledge_point:
            by_kp.setdefault(s.knowledge_point, []).append(s)
    needs = []
    for kp, rows in by_kp.items():
        stuck = sum(1 for r in rows if r.stuck)
        mean_p = sum(r.p_mastery for r in rows) / len(rows)
        not_mastered = sum(1 for r in rows if not mastery.is_mastered(r.p_mastery))
        tried = sum(r.attempts for r in rows)
        if stuck or (mean_p < mastery.STUCK_BELOW and tried >= mastery.STUCK_MIN_ATTEMPTS):
            needs.append(KpNeed(kp, stuck, mean_p, not_mastered))
    needs.sort(key=lambda n: (-n.stuck, n.mean_p, -n.not_mastered, n.knowledge_point))
    return needs


def pick_stuck(states: Iterable[KpState], exercises: Iterable[ExerciseInfo], count: int = STUCK_COUNT,
               solved_by_all: Iterable[str] = ()) -> list[str]:
    """Up to `count` exercise ids on what the class is stuck on: taken in turn from each needed knowledge point
    (most needed first, so it gets the most items), easiest first within one, leaving out items every pupil has
    already solved. Empty when the class is stuck on nothing."""
    needs = class_needs(states)
    skip = set(solved_by_all)
    per_kp: dict[str, list[ExerciseInfo]] = {}
    for ex in exercises:
        if ex.knowledge_point and ex.id not in skip:
            per_kp.setdefault(ex.knowledge_point, []).append(ex)
    queues = [sorted(per_kp[n.knowledge_point], key=lambda e: (mastery.clamp_difficulty(e.difficulty), e.course_id,
                                                                e.lesson_id, e.position, e.id))
              for n in needs if per_kp.get(n.knowledge_point)]
    picked: list[str] = []
    depth = 0
    while len(picked) < count and any(depth < len(q) for q in queues):
        for queue in queues:
            if depth < len(queue) and len(picked) < count:
                picked.append(queue[depth].id)
        depth += 1
    return picked


# ---------------------------------------------------------------- states

@dataclass(frozen=True)
class QuizState:
    """Where a quiz stands."""

    state: str
    released: bool
    items: int


ACTIONS = ("open", "close", "release")


def apply_action(quiz: QuizState, action: str) -> QuizState:
    """The quiz after a teacher's action; QuizStateError when its state does not allow it.

    draft --open--> open --close--> closed --release--> closed and released. A quiz without items cannot open; results
    are released only once the quiz is closed, so no pupil sees answers while others still answer.
    """
    if action == "open":
        if quiz.state != "draft":
            raise QuizStateError("only a draft quiz can be opened")
        if quiz.items < 1:
            raise QuizStateError("a quiz needs at least one exercise")
        return QuizState("open", False, quiz.items)
    if action == "close":
        if quiz.state != "open":
            raise QuizStateError("only an open quiz can be closed")
        return QuizState("closed", quiz.released, quiz.items)
    if action == "release":
        if quiz.state != "closed":
            raise QuizStateError("close the quiz before releasing its results")
        if quiz.released:
            raise QuizStateError("the results are already released")
        return QuizState("closed", True, quiz.items)
    raise QuizStateError(f"unknown action {action!r}")


def pupil_may_answer(quiz: QuizState) -> bool:
    """Pupils answer only while the quiz is open."""
    return quiz.state == "open"


def pupil_may_see(quiz: QuizState) -> bool:
    """Pupils see a quiz once it has been opened (a draft is the teacher's alone)."""
    return quiz.state in ("open", "closed")


# ---------------------------------------------------------------- results

@dataclass(frozen=True)
class QuizItem:
    """One item of a quiz (an exercise of a pack)."""

    position: int
    exercise_id: str
    prompt: str
    kind: str
    knowledge_point: str = ""
    choices: tuple[str, ...] | None = None
    hint: str = ""


@dataclass(frozen=True)
class QuizPupil:
    """A pupil of the quiz's class."""

    id: int
    name: str


@dataclass(frozen=True)
class QuizAnswer:
    """The answer that counts for one pupil and item."""

    pupil_id: int
    exercise_id: str
    correct: bool
    response: str


@dataclass(frozen=True)
class PupilRow:
    """One pupil's line of the results: per item True (right), False (wrong) or None (not answered)."""

    pupil_id: int
    name: str
    cells: tuple[bool | None, ...]
    answered: int
    right: int


@dataclass(frozen=True)
class QuestionRow:
    """One item's line of the results."""

    position: int
    exercise_id: str
    prompt: str
    answered: int
    right: int
    percent_right: int | None
    common_wrong: str | None


@dataclass(frozen=True)
class Summary:
    """The counts the live view and the projector show."""

    class_size: int
    items: int
    answers: int
    answered_pupils: int
    finished_pupils: int


def answer_text(item: QuizItem, response: str) -> str:
    """What a pupil answered, a choice's index shown as the choice's words."""
    text = str(response or "").strip()
    if item.kind == "choice" and item.choices is not None and text.isdigit() and int(text) < len(item.choices):
        return str(item.choices[int(text)])
    return text


def answer_key_text(kind: str, choices: Sequence[str] | None, answer: Any) -> str:
    """The expected answer as the teacher reads it: a choice's words, accepted answers joined by " / "."""
    if answer is None:
        return ""
    accepted = answer if isinstance(answer, list) else [answer]
    if kind == "choice" and choices is not None:
        words = [str(choices[int(a)]) for a in accepted
                 if isinstance(a, int | str) and str(a).strip().isdigit() and int(a) < len(choices)]
        return " / ".join(words)
    return " / ".join(str(a) for a in accepted)


def _index(answers: Iterable[QuizAnswer]) -> dict[tuple[int, str], QuizAnswer]:
    found: dict[tuple[int, str], QuizAnswer] = {}
    for a in answers:
        found.setdefault((a.pupil_id, a.exercise_id), a)  # the first answer counts
    return found


def pupil_rows(items: Sequence[QuizItem], pupils: Sequence[QuizPupil],
               answers: Iterable[QuizAnswer]) -> list[PupilRow]:
    """Results per pupil, in roster order: each item right, wrong or unanswered, and the pupil's score."""
    found = _index(answers)
    out = []
    for p in pupils:
        cells = tuple(found[(p.id, i.exercise_id)].correct if (p.id, i.exercise_id) in found else None
                      for i in items)
        out.append(PupilRow(p.id, p.name, cells, sum(c is not None for c in cells), sum(c is True for c in cells)))
    return out


def question_rows(items: Sequence[QuizItem], pupils: Sequence[QuizPupil],
                  answers: Iterable[QuizAnswer]) -> list[QuestionRow]:
    """Results per item: how many of the class answered, how many were right, and the most common wrong answer."""
    found = _index(answers)
    class_ids = {p.id for p in pupils}
    out = []
    for item in items:
        given = [a for (pupil_id, ex), a in found.items() if ex == item.exercise_id and pupil_id in class_ids]
        right = sum(1 for a in given if a.correct)
        # Wrong answers that mean the same ("Rain", "rain.") are counted together, shown as first written.
        shown: dict[str, str] = {}
        wrong: Counter[str] = Counter()
        for a in given:
            if not a.correct:
                text = answer_text(item, a.response)
                key = grading.normalise_text(text) or text
                shown.setdefault(key, text)
                wrong[key] += 1
        common = shown[min(wrong.items(), key=lambda kv: (-kv[1], kv[0]))[0]] if wrong else None
        out.append(QuestionRow(item.position, item.exercise_id, item.prompt, len(given), right,
                               round(100 * right / len(given)) if given else None, common))
    return out


def summary(items: Sequence[QuizItem], pupils: Sequence[QuizPupil], answers: Iterable[QuizAnswer]) -> Summary:
    """How many answers have come in, from how many pupils, and how many pupils answered every item."""
    rows = pupil_rows(items, pupils, answers)
    return Summary(len(pupils), len(items), sum(r.answered for r in rows), sum(1 for r in rows if r.answered),
                   sum(1 for r in rows if items and r.answered == len(items)))


@dataclass(frozen=True)
class OwnLine:
    """One item of a pupil's own released results."""

    item: QuizItem
    answered: bool
    correct: bool
    answer: str
    hint: str


@dataclass(frozen=True)
class OwnResult:
    """A pupil's own results of a released quiz."""

    right: int
    total: int
    lines: tuple[OwnLine, ...]


def own_result(items: Sequence[QuizItem], pupil_id: int, answers: Iterable[QuizAnswer]) -> OwnResult:
    """One pupil's score, which items were right, and the hint of each item missed or left out."""
    found = _index(a for a in answers if a.pupil_id == pupil_id)
    lines = []
    for item in items:
        a = found.get((pupil_id, item.exercise_id))
        correct = bool(a and a.correct)
        lines.append(OwnLine(item, a is not None, correct, answer_text(item, a.response) if a else "",
                             "" if correct else item.hint))
    return OwnResult(sum(1 for line in lines if line.correct), len(items), tuple(lines))


def results_document(state: QuizState, items: Sequence[QuizItem], pupils: Sequence[QuizPupil],
                     answers: Iterable[QuizAnswer]) -> dict[str, Any]:
    """The live results as JSON for the teacher's page and the projector."""
    answers = list(answers)
    s = summary(items, pupils, answers)
    return {
        "state": state.state, "released": state.released, "class_size": s.class_size, "items": s.items,
        "answers": s.answers, "answered_pupils": s.answered_pupils, "finished_pupils": s.finished_pupils,
        "pupils": [{"id": r.pupil_id, "name": r.name, "answered": r.answered, "right": r.right,
                    "cells": ["none" if c is None else "right" if c else "wrong" for c in r.cells]}
                   for r in pupil_rows(items, pupils, answers)],
        "questions": [{"position": q.position, "exercise_id": q.exercise_id, "answered": q.answered,
                       "right": q.right, "percent_right": q.percent_right, "common_wrong": q.common_wrong}
                      for q in question_rows(items, pupils, answers)],
    }
