"""Quizzes in box.db: create, change state, record answers as attempts, and read what the pages show."""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils

from edge_server import attempts, catalog, clock
from edge_server.domain import quizzes
from edge_server.domain.quizzes import QuizError
from edge_server.settings import Settings
from edge_server.store.db import one, rows, write


class QuizClosed(QuizError):
    """An answer to a quiz that is not open (any more)."""


class AlreadyAnswered(QuizError):
    """A second answer of a pupil to an item: the first one counts."""


class NotInQuiz(QuizError):
    """The exercise is not an item of the quiz."""


# ---------------------------------------------------------------- the catalog as the builder lists it

def all_exercises(db: sqlite_utils.Database) -> list[quizzes.ExerciseInfo]:
    """Every exercise of the active, unexpired packs, in catalog order."""
    expired = set(catalog.expired_channels(db))
    found = rows(db, "SELECT e.id, e.lesson_id, l.course_id, COALESCE(e.knowledge_point, '') AS knowledge_point, "
                     "e.difficulty, e.kind, e.prompt, e.position, e.channel_id FROM exercises e "
                     "JOIN lessons l ON l.id = e.lesson_id LEFT JOIN courses c ON c.id = l.course_id "
                     "ORDER BY c.position, l.course_id, l.position, e.position, e.id")
    return [quizzes.ExerciseInfo(r["id"], r["lesson_id"], r["course_id"], r["knowledge_point"],
                                 int(r["difficulty"] or 2), r["kind"], r["prompt"], int(r["position"] or 0))
            for r in found if r["channel_id"] not in expired]


def filter_options(db: sqlite_utils.Database) -> dict[str, list[dict[str, Any]]]:
    """The courses, lessons and knowledge points the builder's filters offer (those that have exercises)."""
    expired = set(catalog.expired_channels(db))

    def keep(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in r.items() if k != "channel_id"} for r in found if r["channel_id"] not in expired]

    courses = keep(rows(db, "SELECT DISTINCT c.id, c.title, c.channel_id, c.position FROM courses c "
                            "JOIN lessons l ON l.course_id = c.id JOIN exercises e ON e.lesson_id = l.id "
                            "ORDER BY c.position, c.title"))
    lessons = keep(rows(db, "SELECT DISTINCT l.id, l.title, l.course_id, l.channel_id, l.position FROM lessons l "
                            "JOIN exercises e ON e.lesson_id = l.id ORDER BY l.course_id, l.position"))
    kps = keep(rows(db, "SELECT DISTINCT k.id, k.name, k.channel_id FROM knowledge_points k "
                        "JOIN exercises e ON e.knowledge_point = k.id ORDER BY k.name COLLATE NOCASE"))
    return {"courses": courses, "lessons": lessons, "knowledge_points": kps}


def class_states(db: sqlite_utils.Database, class_id: int) -> list[quizzes.KpState]:
    """The mastery rows of a class's pupils."""
    return [quizzes.KpState(r["pupil_id"], r["knowledge_point"], float(r["p_mastery"]), int(r["attempts"]),
                            bool(r["stuck"])) for r in attempts.class_mastery(db, class_id)]


def solved_by_whole_class(db: sqlite_utils.Database, class_id: int) -> set[str]:
    """Items every pupil of the class has answered right at least once (nothing to learn from them in a quiz)."""
    pupils = [r["id"] for r in rows(db, "SELECT id FROM pupils WHERE class_id = ?", (class_id,))]
    if not pupils:
        return set()
    solved = attempts.class_solved_items(db, class_id)
    return set.intersection(*(solved.get(p, set()) for p in pupils))


# ---------------------------------------------------------------- quizzes

def create_quiz(db: sqlite_utils.Database, class_id: int, title: str, exercise_ids: list[str],
                teacher_id: int | None) -> int:
    """A draft quiz of these exercises (checked against the catalog) for a class; its id. QuizError when the title
    is empty or no exercise is known."""
    clean = quizzes.clean_title(title)
    known = {ex.id for ex in all_exercises(db)}
    items = quizzes.choose_items(exercise_ids, known)

    def _create(tx: sqlite_utils.Database) -> int:
        quiz_id = tx.execute("INSERT INTO quizzes (class_id, title, created_by, state, released, created) "
                             "VALUES (?, ?, ?, 'draft', 0, ?)",
                             (class_id, clean, teacher_id, clock.now_iso())).lastrowid
        for position, exercise_id in enumerate(items, start=1):
            tx.execute("INSERT INTO quiz_items (quiz_id, position, exercise_id) VALUES (?, ?, ?)",
                       (quiz_id, position, exercise_id))
        return quiz_id

    return write(db, _create)


def get_quiz(db: sqlite_utils.Database, quiz_id: int) -> dict[str, Any] | None:
    """One quiz with its item count."""
    quiz = one(db, "SELECT q.*, (SELECT COUNT(*) FROM quiz_items i WHERE i.quiz_id = q.id) AS item_count "
                   "FROM quizzes q WHERE q.id = ?", (quiz_id,))
    if quiz is not None:
        quiz["released"] = bool(quiz["released"])
    return quiz


def state_of(quiz: dict[str, Any]) -> quizzes.QuizState:
    """The pure state of a stored quiz."""
    return quizzes.QuizState(quiz["state"], bool(quiz["released"]), int(quiz.get("item_count") or 0))


def class_quizzes(db: sqlite_utils.Database, class_id: int) -> list[dict[str, Any]]:
    """A class's quizzes, newest first, with item and answer counts."""
    found = rows(db, "SELECT q.id, q.title, q.state, q.released, q.created, q.opened, q.closed, "
                     "(SELECT COUNT(*) FROM quiz_items i WHERE i.quiz_id = q.id) AS item_count, "
                     "(SELECT COUNT(*) FROM quiz_answers a WHERE a.quiz_id = q.id) AS answer_count "
                     "FROM quizzes q WHERE q.class_id = ? ORDER BY q.id DESC", (class_id,))
    return [{**q, "released": bool(q["released"])} for q in found]


def change_state(db: sqlite_utils.Database, quiz_id: int, action: str) -> quizzes.QuizState:
    """Open, close or release a quiz in one transaction (QuizStateError when its state does not allow it)."""
    column = {"open": "opened", "close": "closed", "release": "released_at"}.get(action)
    if column is None:
        raise quizzes.QuizStateError(f"unknown action {action!r}")

    def _change(tx: sqlite_utils.Database) -> quizzes.QuizState:
        quiz = get_quiz(tx, quiz_id)
        if quiz is None:
            raise QuizError("no such quiz")
        after = quizzes.apply_action(state_of(quiz), action)  # read inside the transaction: a double click fails
        tx.execute(f"UPDATE quizzes SET state = ?, released = ?, {column} = ? WHERE id = ?",  # noqa: S608
                   (after.state, int(after.released), clock.now_iso(), quiz_id))
        return after

    return write(db, _change)


def delete_draft(db: sqlite_utils.Database, quiz_id: int) -> None:
    """Delete a quiz that was never opened (QuizStateError otherwise: answered quizzes stay)."""

    def _delete(tx: sqlite_utils.Database) -> None:
        quiz = get_quiz(tx, quiz_id)
        if quiz is None or quiz["state"] != "draft":
            raise quizzes.QuizStateError("only a draft quiz can be deleted")
        tx.execute("DELETE FROM quiz_items WHERE quiz_id = ?", (quiz_id,))
        tx.execute("DELETE FROM quizzes WHERE id = ?", (quiz_id,))

    write(db, _delete)


def item_rows(db: sqlite_utils.Database, quiz_id: int) -> list[dict[str, Any]]:
    """A quiz's items with their exercises (answer keys included: pupil pages use items(), which has none)."""
    found = rows(db, "SELECT i.position, i.exercise_id, e.lesson_id, e.kind, e.prompt, e.choices, e.answer, "
                     "e.hint, e.difficulty, COALESCE(e.knowledge_point, '') AS knowledge_point, "
                     "COALESCE(k.name, e.knowledge_point, '') AS knowledge_point_name FROM quiz_items i "
                     "LEFT JOIN exercises e ON e.id = i.exercise_id "
                     "LEFT JOIN knowledge_points k ON k.id = e.knowledge_point "
                     "WHERE i.quiz_id = ? ORDER BY i.position", (quiz_id,))
    for r in found:
        r["choices"] = json.loads(r["choices"]) if r["choices"] else None
        r["answer"] = json.loads(r["answer"]) if r["answer"] else None
    return found


def items(db: sqlite_utils.Database, quiz_id: int) -> list[quizzes.QuizItem]:
    """A quiz's items as the pure results functions take them (an exercise gone with its pack keeps its id)."""
    return [quizzes.QuizItem(r["position"], r["exercise_id"], r["prompt"] or r["exercise_id"], r["kind"] or "text",
                             r["knowledge_point"], tuple(r["choices"]) if r["choices"] is not None else None,
                             r["hint"] or "") for r in item_rows(db, quiz_id)]


def class_pupils(db: sqlite_utils.Database, class_id: int) -> list[quizzes.QuizPupil]:
    """The class's pupils by name."""
    return [quizzes.QuizPupil(r["id"], r["name"]) for r in rows(
        db, "SELECT id, name FROM pupils WHERE class_id = ? ORDER BY name COLLATE NOCASE, id", (class_id,))]


def answers(db: sqlite_utils.Database, quiz_id: int, pupil_id: int | None = None) -> list[quizzes.QuizAnswer]:
    """The answers that count (one per pupil and item), of everyone or of one pupil."""
    where, params = ("AND q.pupil_id = ?", (quiz_id, pupil_id)) if pupil_id is not None else ("", (quiz_id,))
    return [quizzes.QuizAnswer(r["pupil_id"], r["exercise_id"], bool(r["correct"]), r["response"] or "")
            for r in rows(db, "SELECT q.pupil_id, q.exercise_id, a.correct, a.response FROM quiz_answers q "
                              f"JOIN attempts a ON a.id = q.attempt_id WHERE q.quiz_id = ? {where} "
                              "ORDER BY a.id", params)]


def results(db: sqlite_utils.Database, quiz: dict[str, Any]) -> dict[str, Any]:
    """The live results document of a quiz (quizzes.results_document)."""
    return quizzes.results_document(state_of(quiz), items(db, quiz["id"]), class_pupils(db, quiz["class_id"]),
                                    answers(db, quiz["id"]))


def record_answer(db: sqlite_utils.Database, settings: Settings, quiz_id: int, pupil_id: int, exercise_id: str,
                  response: str, origin: attempts.AnswerOrigin | None = None,
                  box: tuple[str, bytes] | None = None) -> str:
    """Record a pupil's answer to a quiz item as an ordinary attempt (grading, mastery, xAPI) tied to the quiz, all
    in one transaction: "recorded", or "duplicate" for an attempt_id the box already has for this item.

    QuizClosed when the quiz is not open when the answer is written (a close racing it wins or loses whole),
    AlreadyAnswered for another answer to an item the pupil has answered (the first counts), NotInQuiz.
    """
    if one(db, "SELECT 1 AS x FROM quiz_items WHERE quiz_id = ? AND exercise_id = ?", (quiz_id, exercise_id)) is None:
        raise NotInQuiz("that exercise is not in this quiz")
    if origin is not None and origin.client_id is not None and _linked(db, quiz_id, pupil_id, exercise_id,
                                                                       origin.client_id):
        return "duplicate"  # sent again after a lost reply: it counted, even if the quiz has closed since
    exercise = catalog.get_exercise(db, exercise_id)
    if exercise is None:
        raise NotInQuiz("that exercise is no longer on the box")

    def link(tx: sqlite_utils.Database, attempt_id: int) -> None:
        quiz = one(tx, "SELECT state FROM quizzes WHERE id = ?", (quiz_id,))
        if quiz is None or quiz["state"] != "open":
            raise QuizClosed("the quiz is closed")
        if one(tx, "SELECT 1 AS x FROM quiz_answers WHERE quiz_id = ? AND pupil_id = ? AND exercise_id = ?",
               (quiz_id, pupil_id, exercise_id)) is not None:
            raise AlreadyAnswered("this question is already answered")
        tx.execute("INSERT INTO quiz_answers (quiz_id, pupil_id, exercise_id, attempt_id) VALUES (?, ?, ?, ?)",
                   (quiz_id, pupil_id, exercise_id, attempt_id))

    # Checked before grading too, so that a late answer is refused without the work; link() decides for certain.
    quiz = one(db, "SELECT state FROM quizzes WHERE id = ?", (quiz_id,))
    if quiz is None or quiz["state"] != "open":
        raise QuizClosed("the quiz is closed")
    result = attempts.record_attempt(db, settings, pupil_id, exercise_id, response, origin, exercise=exercise,
                                     box=box, link=link)
    if not result.get("duplicate"):
        return "recorded"
    # The same attempt_id sent twice at once: it counts once, if it was this item's answer in this quiz.
    if not _linked(db, quiz_id, pupil_id, exercise_id, origin.client_id if origin else None):
        raise AlreadyAnswered("that attempt_id belongs to another answer")
    return "duplicate"


def _linked(db: sqlite_utils.Database, quiz_id: int, pupil_id: int, exercise_id: str, client_id: str | None) -> bool:
    """True when the pupil's answer to this item of the quiz is the attempt the tablet named client_id."""
    return one(db, "SELECT 1 AS x FROM quiz_answers q JOIN attempts a ON a.id = q.attempt_id WHERE q.quiz_id = ? "
                   "AND q.pupil_id = ? AND q.exercise_id = ? AND a.client_id = ?",
               (quiz_id, pupil_id, exercise_id, client_id)) is not None


def answered_items(db: sqlite_utils.Database, quiz_id: int, pupil_id: int) -> dict[str, str]:
    """The items a pupil has answered in a quiz, with what they answered (no correctness: that waits for release)."""
    return {a.exercise_id: a.response for a in answers(db, quiz_id, pupil_id)}


def pupil_quizzes(db: sqlite_utils.Database, class_id: int | None, pupil_id: int) -> dict[str, list[dict[str, Any]]]:
    """What a pupil's home page lists: the class's open quizzes (with how many items the pupil answered), and its
    quizzes whose results are released (newest first, a few)."""
    if class_id is None:
        return {"open": [], "released": []}
    found = rows(db, "SELECT q.id, q.title, q.state, q.released, "
                     "(SELECT COUNT(*) FROM quiz_items i WHERE i.quiz_id = q.id) AS item_count, "
                     "(SELECT COUNT(*) FROM quiz_answers a WHERE a.quiz_id = q.id AND a.pupil_id = ?) AS answered "
                     "FROM quizzes q WHERE q.class_id = ? AND (q.state = 'open' OR q.released = 1) "
                     "ORDER BY q.id DESC", (pupil_id, class_id))
    return {"open": [q for q in found if q["state"] == "open"],
            "released": [q for q in found if q["released"]][:5]}

