"""Views: quizzes. Teachers build a quiz for a class from the packs' exercises, open, close and release it, and watch
the results live (and on the projector); pupils answer it and see their own results once released."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext, lazy_gettext

from edge_server import tablets
from edge_server.domain import offline, quizzes
from edge_server.domain.quizzes import QuizError
from edge_server.store import quizzes as quiz_store
from edge_server.web import auth
from edge_server.web.app import get_box, get_db, get_settings

bp = Blueprint("quizzes", __name__)

# The domain's English reasons, as pages show them.
MESSAGES = {
    "give the quiz a title": lazy_gettext("Give the quiz a title."),
    "tick at least one exercise": lazy_gettext("Tick at least one exercise."),
    quizzes.TOO_MANY: lazy_gettext("A quiz has at most %(n)d exercises.", n=quizzes.MAX_ITEMS),
    "only a draft quiz can be opened": lazy_gettext("This quiz is already open or closed."),
    "a quiz needs at least one exercise": lazy_gettext("A quiz needs at least one exercise."),
    "only an open quiz can be closed": lazy_gettext("This quiz is not open."),
    "close the quiz before releasing its results": lazy_gettext("Close the quiz before releasing its results."),
    "the results are already released": lazy_gettext("The results are already released."),
    "only a draft quiz can be deleted": lazy_gettext("Only a quiz that was never opened can be deleted."),
    "the quiz is closed": lazy_gettext("This quiz is closed: answers are no longer taken."),
    "this question is already answered": lazy_gettext("You have already answered this question."),
    "that attempt_id belongs to another answer": lazy_gettext("You have already answered this question."),
    "that exercise is not in this quiz": lazy_gettext("That question is not in this quiz."),
    "that exercise is no longer on the box": lazy_gettext("That question is no longer on the box."),
}
POLL_MS = 3000


def message(exc: QuizError) -> str:
    """A domain error as the page says it."""
    text = MESSAGES.get(str(exc))
    return str(text) if text is not None else str(exc)


def _teacher_quiz(class_id: int, quiz_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The class (auth.require_class: 404/403) and its quiz; 404 for a quiz of another class."""
    klass = auth.require_class(class_id)
    quiz = quiz_store.get_quiz(get_db(), quiz_id)
    if quiz is None or quiz["class_id"] != class_id:
        abort(404)
    return klass, quiz


def _join_url(path: str) -> str:
    """The address pupils scan from the projector: this box as the teacher reached it (its LAN address when the
    teacher browses on the box itself), then path."""
    from edge_server.discovery import announced_addresses
    from edge_server.web.views.presenter import is_loopback, join_url

    lan = announced_addresses(get_settings()) if is_loopback(request.host_url) else []
    return join_url(request.host_url, lan).rstrip("/") + path


# ---------------------------------------------------------------- teacher: build

def _builder_context(class_id: int, title: str = "", ticked: tuple[str, ...] = ()) -> dict[str, Any]:
    db = get_db()
    filters = quizzes.parse_filters(request.values)
    exercises = quiz_store.all_exercises(db)
    options = quiz_store.filter_options(db)
    lessons = {row["id"]: row["title"] for row in options["lessons"]}
    kp_names = {row["id"]: row["name"] for row in options["knowledge_points"]}
    matching = [{"ex": ex, "lesson": lessons.get(ex.lesson_id, ex.lesson_id),
                 "kp": kp_names.get(ex.knowledge_point, ex.knowledge_point)}
                for ex in quizzes.filter_exercises(exercises, filters)]
    return {"filters": filters, "options": options, "matching": matching, "title": title, "ticked": set(ticked),
            "quizzes": quiz_store.class_quizzes(db, class_id), "max_items": quizzes.MAX_ITEMS,
            "stuck_count": quizzes.STUCK_COUNT}


@bp.get("/teacher/class/<int:class_id>/quizzes")
@auth.teacher_required
def class_quizzes(class_id: int) -> Any:
    """A class's quizzes and the quiz builder: filters, the matching exercises to tick, the "stuck" button."""
    klass = auth.require_class(class_id)
    return render_template("quizzes/class.html", klass=klass, **_builder_context(class_id))


@bp.post("/teacher/class/<int:class_id>/quizzes")
@auth.teacher_required
def create(class_id: int) -> Any:
    """Make a draft quiz of the ticked exercises; 400 with the page as it was (title, ticks) when it cannot."""
    klass = auth.require_class(class_id)
    title = request.form.get("title", "")
    ticked = tuple(request.form.getlist("exercise"))
    try:
        quiz_id = quiz_store.create_quiz(get_db(), class_id, title, list(ticked), auth.current_teacher()["id"])
    except QuizError as exc:
        return render_template("quizzes/class.html", klass=klass, error=message(exc),
                               **_builder_context(class_id, title, ticked)), 400
    return redirect(url_for("quizzes.teacher_quiz", class_id=class_id, quiz_id=quiz_id), 303)


@bp.post("/teacher/class/<int:class_id>/quizzes/stuck")
@auth.teacher_required
def create_stuck(class_id: int) -> Any:
    """Make a draft quiz of exercises on what the class is stuck on, picked from the pupils' mastery."""
    auth.require_class(class_id)
    db = get_db()
    picked = quizzes.pick_stuck(quiz_store.class_states(db, class_id), quiz_store.all_exercises(db),
                                solved_by_all=quiz_store.solved_by_whole_class(db, class_id))
    if not picked:
        flash(gettext("Nobody in this class is stuck yet: choose exercises with the filters."), "error")
        return redirect(url_for("quizzes.class_quizzes", class_id=class_id), 303)
    title = request.form.get("title", "").strip() or gettext("What we are stuck on")
    quiz_id = quiz_store.create_quiz(db, class_id, title, picked, auth.current_teacher()["id"])
    return redirect(url_for("quizzes.teacher_quiz", class_id=class_id, quiz_id=quiz_id), 303)


# ---------------------------------------------------------------- teacher: run

def _quiz_page(klass: dict[str, Any], quiz: dict[str, Any], error: str | None = None, status: int = 200) -> Any:
    db = get_db()
    rows = quiz_store.item_rows(db, quiz["id"])
    for row in rows:
        row["key"] = quizzes.answer_key_text(row["kind"] or "", row["choices"], row["answer"])
    doc = quiz_store.results(db, quiz)
    questions = {q["position"]: q for q in doc["questions"]}
    return render_template("quizzes/teacher_quiz.html", klass=klass, quiz=quiz, items=rows, doc=doc,
                           questions=questions, error=error, poll_ms=POLL_MS), status


@bp.get("/teacher/class/<int:class_id>/quizzes/<int:quiz_id>")
@auth.teacher_required
def teacher_quiz(class_id: int, quiz_id: int) -> Any:
    """One quiz: its items and answer keys, open / close / release, and the results per pupil and per question."""
    klass, quiz = _teacher_quiz(class_id, quiz_id)
    return _quiz_page(klass, quiz)


@bp.post("/teacher/class/<int:class_id>/quizzes/<int:quiz_id>/<any(open, close, release):action>")
@auth.teacher_required
def change(class_id: int, quiz_id: int, action: str) -> Any:
    """Open, close or release; 409 with the quiz page saying why when its state does not allow it."""
    klass, quiz = _teacher_quiz(class_id, quiz_id)
    try:
        quiz_store.change_state(get_db(), quiz_id, action)
    except QuizError as exc:
        return _quiz_page(klass, quiz_store.get_quiz(get_db(), quiz_id) or quiz, message(exc), 409)
    flash({"open": gettext("The quiz is open: pupils can answer now."),
           "close": gettext("The quiz is closed."),
           "release": gettext("The results are released to the pupils.")}[action], "ok")
    return redirect(url_for("quizzes.teacher_quiz", class_id=class_id, quiz_id=quiz_id), 303)


@bp.post("/teacher/class/<int:class_id>/quizzes/<int:quiz_id>/delete")
@auth.teacher_required
def delete(class_id: int, quiz_id: int) -> Any:
    """Delete a quiz that was never opened."""
    klass, quiz = _teacher_quiz(class_id, quiz_id)
    try:
        quiz_store.delete_draft(get_db(), quiz_id)
    except QuizError as exc:
        return _quiz_page(klass, quiz, message(exc), 409)
    flash(gettext("The quiz was deleted."), "ok")
    return redirect(url_for("quizzes.class_quizzes", class_id=class_id), 303)


@bp.get("/teacher/class/<int:class_id>/quizzes/<int:quiz_id>/results.json")
@auth.teacher_required
def results_json(class_id: int, quiz_id: int) -> Any:
    """The live results, polled by the quiz page and the projector."""
    _klass, quiz = _teacher_quiz(class_id, quiz_id)
    response = jsonify(quiz_store.results(get_db(), quiz))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/teacher/class/<int:class_id>/quizzes/<int:quiz_id>/present")
@auth.teacher_required
def present(class_id: int, quiz_id: int) -> Any:
    """The quiz on the projector: its questions, a QR code to join, and how many pupils have answered."""
    from edge_server.web.views.presenter import join_qr_svg

    klass, quiz = _teacher_quiz(class_id, quiz_id)
    url = _join_url(url_for("quizzes.pupil_quiz", quiz_id=quiz_id))
    return render_template("quizzes/present.html", klass=klass, quiz=quiz, items=quiz_store.items(get_db(), quiz_id),
                           doc=quiz_store.results(get_db(), quiz), join_url=url, qr=join_qr_svg(url),
                           poll_ms=POLL_MS)


# ---------------------------------------------------------------- pupils

def _pupil_quiz(quiz_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The logged-in pupil and a quiz of their class they may see; 404 otherwise (another class's quiz, a draft)."""
    pupil = auth.current_pupil()
    quiz = quiz_store.get_quiz(get_db(), quiz_id)
    if quiz is None or quiz["class_id"] != pupil.get("class_id") or not quizzes.pupil_may_see(
            quiz_store.state_of(quiz)):
        abort(404)
    return pupil, quiz


@bp.get("/quiz/<int:quiz_id>")
@auth.pupil_required
def pupil_quiz(quiz_id: int) -> Any:
    """A quiz for the pupil: the questions while it is open, then a wait, then their own results once released."""
    pupil, quiz = _pupil_quiz(quiz_id)
    db = get_db()
    items = quiz_store.items(db, quiz_id)
    result = quizzes.own_result(items, pupil["id"], quiz_store.answers(db, quiz_id, pupil["id"])) \
        if quiz["released"] else None
    answered = quiz_store.answered_items(db, quiz_id, pupil["id"])
    shown = {i.exercise_id: quizzes.answer_text(i, answered[i.exercise_id]) for i in items if i.exercise_id in answered}
    return render_template("quizzes/pupil_quiz.html", quiz=quiz, items=items, answered=answered, shown=shown,
                           result=result)


@bp.get("/quiz/<int:quiz_id>/state.json")
@auth.pupil_required
def pupil_state(quiz_id: int) -> Any:
    """Whether the quiz is still open and whether its results are out (the pupil's page reloads when that changes)."""
    _pupil, quiz = _pupil_quiz(quiz_id)
    response = jsonify({"state": quiz["state"], "released": quiz["released"]})
    response.headers["Cache-Control"] = "no-store"
    return response


def _refuse(status: int, reason: str, text: str) -> Any:
    if request.is_json:
        return jsonify({"error": text, "reason": reason}), status
    flash(text, "error")
    return redirect(url_for("quizzes.pupil_quiz", quiz_id=request.view_args["quiz_id"]), 303)


@bp.post("/quiz/<int:quiz_id>/answer")
@auth.pupil_required
def answer(quiz_id: int) -> Any:
    """Record the pupil's answer to one item (JSON from the page's script, or the plain form): an ordinary attempt
    tied to the quiz. The same attempt_id sent again counts once; the first answer to an item is the one that counts;
    nothing is taken once the quiz is closed (409). No right or wrong is said before the results are released."""
    pupil, _quiz = _pupil_quiz(quiz_id)
    payload = (request.get_json(silent=True) if request.is_json else request.form) or {}
    exercise_id = str(payload.get("exercise_id", ""))
    response = str(payload.get("response", "")).strip()[:200]
    if not response:
        return _refuse(400, "empty", gettext("Type your answer first."))
    try:
        origin = tablets.answer_origin(payload, payload.get("tablet"))
    except offline.BadAnswerOrigin as exc:
        abort(make_response(jsonify({"error": str(exc)}), 400))
    try:
        status = quiz_store.record_answer(get_db(), get_settings(), quiz_id, pupil["id"], exercise_id, response,
                                          origin, box=get_box().identity)
    except quiz_store.NotInQuiz:
        abort(404)
    except quiz_store.QuizClosed as exc:
        return _refuse(409, "closed", message(exc))
    except quiz_store.AlreadyAnswered as exc:
        return _refuse(409, "answered", message(exc))
    if request.is_json:
        return jsonify({"status": status, "exercise_id": exercise_id})
    flash(gettext("Answer saved."), "ok")
    return redirect(url_for("quizzes.pupil_quiz", quiz_id=quiz_id) + f"#q-{exercise_id}", 303)


@bp.app_template_global()
def pupil_quiz_panel() -> dict[str, list[dict[str, Any]]]:
    """The logged-in pupil's open quizzes and released results, for their home page (quizzes/_pupil_panel.html)."""
    pupil = auth.current_pupil()
    if pupil is None:
        return {"open": [], "released": []}
    return quiz_store.pupil_quizzes(get_db(), pupil.get("class_id"), pupil["id"])


def init_app(app: Flask) -> None:
    """Register this blueprint."""
    app.register_blueprint(bp)
