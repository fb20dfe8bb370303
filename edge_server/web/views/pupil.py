"""Views: pupil pages (choose class, choose name, PIN, lesson list, lesson player, exercises)."""

from __future__ import annotations

import re
from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale, gettext, lazy_gettext
from werkzeug.routing import BuildError

from edge_server import catalog, pin_guard, tablets
from edge_server.domain import offline
from edge_server.store import people
from edge_server.web import auth
from edge_server.web.app import LANGUAGES, get_box, get_db, get_settings

bp = Blueprint("pupil", __name__)

# The grader's fixed English feedback, translated for the page (anything else is shown as it comes).
FEEDBACK = {
    "Well done, that is right!": lazy_gettext("Well done, that is right!"),
    "Not quite. Have another look and try again.": lazy_gettext("Not quite. Have another look and try again."),
    "Pick one of the answers.": lazy_gettext("Pick one of the answers."),
    "Type a number, like 12, 3.5 or 1/2.": lazy_gettext("Type a number, like 12, 3.5 or 1/2."),
    "Type your answer first.": lazy_gettext("Type your answer first."),
}

LANGUAGE_NAMES = {"en": "English", "fr": "Français", "zh": "中文"}
HTML_LANG = {"en": "en", "fr": "fr", "zh": "zh-Hans"}


@bp.app_context_processor
def _page_globals() -> dict[str, Any]:
    locale = str(get_locale() or "en")
    return {
        "box_name": get_settings().box_name,
        "languages": [(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
        "current_lang": locale,
        "html_lang": HTML_LANG.get(locale, locale),
        "current_pupil": auth.current_pupil(),
        "current_teacher": auth.current_teacher(),
        "page_link": page_link,
    }


def page_link(endpoint: str, **values: Any) -> str | None:
    """The URL of another area's page, or None when that page is not part of this box (yet)."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


@bp.get("/")
def home() -> Any:
    """Choose your class (or go straight to your lessons when logged in)."""
    if auth.current_pupil():
        return redirect(url_for("pupil.lessons"))
    return render_template("pupil/home.html", classes=people.list_classes(get_db()))


@bp.get("/class/<int:class_id>")
def choose_name(class_id: int) -> Any:
    """Choose your name or picture in a class."""
    db = get_db()
    klass = people.get_class(db, class_id) or abort(404)
    return render_template("pupil/class.html", klass=klass, pupils=people.pupils_in_class(db, class_id))


@bp.route("/login/<ref>", methods=["GET", "POST"])
def pin(ref: str) -> Any:
    """Type your four-digit PIN; failed tries are rate-limited per pupil and per tablet."""
    db = get_db()
    pupil = people.pupil_by_ref(db, ref) or abort(404)
    status = 200
    error = None
    if request.method == "POST":
        # the try is counted before the PIN is checked, so requests sent at once cannot all get through
        limits = current_app.extensions["pin_limits"]
        attempt = pin_guard.begin(db, pupil, request.remote_addr or "unknown", limits)
        if isinstance(attempt, pin_guard.Blocked):
            error, status = _blocked_message(attempt), 429
        elif _right_credential(db, pupil):
            pin_guard.succeeded(db, attempt)
            auth.login_pupil(pupil["id"])
            return redirect(url_for("pupil.lessons"))
        else:
            pin_guard.failed(db, attempt, limits)
            error, status = gettext("That number is not right. Try again."), 400
            if "pictures" in request.form:
                error = gettext("Those pictures are not right. Try again.")
    pupil.pop("pin_hash", None)
    return render_template("pupil/pin.html", pupil=pupil, error=error), status


def _right_credential(db: Any, pupil: dict[str, Any]) -> bool:
    """The PIN, or the picture password of a class that logs in with pictures (edge_server.picture_login), is right."""
    if "pictures" in request.form:
        from edge_server import picture_login
        from edge_server.web.views.picture_login import typed_pictures

        return picture_login.login_kind(db, pupil.get("class_id")) == "pictures" and picture_login.verify_pictures(
            picture_login.picture_hash(db, pupil["id"]), typed_pictures(request.form))
    return auth.verify_pin(pupil["pin_hash"], request.form.get("pin", ""))


def _blocked_message(blocked: pin_guard.Blocked) -> str:
    if blocked.scope in ("class", "box"):
        return gettext("Too many wrong PINs in this class. Wait a few minutes, or ask your teacher.")
    minutes = pin_guard.wait_minutes(blocked)
    if minutes <= 1:
        return gettext("Too many tries. Wait one minute, or ask your teacher.")
    return gettext("Too many tries. Wait %(minutes)d minutes, or ask your teacher.", minutes=minutes)


@bp.post("/logout")
def logout() -> Any:
    """Log out (pupil or teacher) and go back to the class chooser."""
    auth.logout()
    return redirect(url_for("pupil.home"))


@bp.get("/lessons")
@auth.pupil_required
def lessons() -> Any:
    """The lessons assigned to your class (all lessons when none are assigned)."""
    pupil = auth.current_pupil()
    tree = catalog.catalog_tree(get_db(), tablets.visible_lessons(get_db(), pupil))
    courses = [course for channel in tree["channels"] for course in channel["courses"] if course["lessons"]]
    return render_template("pupil/lessons.html", courses=courses)


_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ITEM = re.compile(r"^\s*(?:[-*]|\d+[.)])\s+")


def _spans(line: str) -> list[tuple[str, bool]]:
    """A line as (text, bold) pieces: the only inline Markdown that lesson notes use."""
    parts = _BOLD.split(line)
    return [(part, i % 2 == 1) for i, part in enumerate(parts) if part]


def notes_blocks(text: str, title: str = "") -> list[dict[str, Any]]:
    """Lesson notes (a small Markdown subset) as headings, lists and paragraphs; escaped by the template."""
    blocks: list[dict[str, Any]] = []
    for chunk in (c.strip() for c in text.split("\n\n")):
        if not chunk:
            continue
        lines = chunk.splitlines()
        if len(lines) == 1 and lines[0].startswith("#"):
            heading = lines[0].lstrip("#").strip()
            if heading != title:
                blocks.append({"kind": "h", "lines": [_spans(heading)]})
        elif all(_ITEM.match(line) for line in lines):
            blocks.append({"kind": "ol" if lines[0].lstrip()[0].isdigit() else "ul",
                           "lines": [_spans(_ITEM.sub("", line)) for line in lines]})
        else:
            blocks.append({"kind": "p", "lines": [_spans(" ".join(line.strip() for line in lines))]})
    return blocks


def refuse_expired(lesson_id: str) -> None:
    """Stop with 410 Gone for a lesson of a pack that has expired by the box's trusted time (catalog.lesson_refusal):
    a page that says so, or the reason as JSON to the player's scripts."""
    refusal = catalog.lesson_refusal(get_db(), lesson_id, signed_in=True)
    if refusal is None or refusal[0] != 410:
        return
    if request.is_json or request.accept_mimetypes.best == "application/json":
        abort(make_response(jsonify({"error": refusal[1]}), 410))
    abort(make_response(render_template("pupil/gone.html"), 410))


def lesson_context(lesson_id: str) -> dict[str, Any]:
    """What the lesson player and presenter pages show about a lesson (the API's document: no answers); 410 for a
    lesson of an expired pack."""
    refuse_expired(lesson_id)
    lesson = catalog.public_lesson(get_db(), lesson_id) or abort(404)
    kp_names = {kp["id"]: kp["name"] for kp in lesson["knowledge_points"]}
    chapters = [
        {"start": float(c["start"]), "end": float(c.get("end") or c["start"]), "title": c.get("title") or "",
         "knowledge_point": c.get("knowledge_point"), "kp_name": kp_names.get(c.get("knowledge_point") or "")}
        for c in lesson["chapters"] if isinstance(c, dict) and isinstance(c.get("start"), int | float)
    ]
    try:
        start = max(0.0, float(request.args.get("t", "0")))
    except ValueError:
        start = 0.0
    return {
        "lesson": lesson,
        "exercises": lesson["exercises"],
        "chapters": chapters,
        "notes": notes_blocks(lesson.get("notes") or "", lesson["title"]),
        "start": start if start == start and start < 86_400 else 0.0,  # drop NaN and absurd values
    }


@bp.get("/lesson/<lesson_id>")
def lesson(lesson_id: str) -> Any:
    """The lesson player: medium, chapters, captions, summary, notes and exercises."""
    pupil = auth.current_pupil()
    if pupil is None and auth.current_teacher() is None:
        return redirect(url_for("pupil.home"))
    allowed = tablets.visible_lessons(get_db(), pupil) if pupil else None
    if allowed is not None and lesson_id not in allowed:
        abort(404)
    context = lesson_context(lesson_id)
    answered = people.pupil_attempts(get_db(), pupil["id"], lesson_id) if pupil else {}
    return render_template("pupil/lesson.html", answered=answered, **context)


@bp.post("/lesson/<lesson_id>/answer")
@auth.pupil_required
def answer(lesson_id: str) -> Any:
    """Record one answer of the logged-in pupil and return immediate feedback."""
    from edge_server.attempts import record_attempt

    payload = request.get_json(silent=True) if request.is_json else request.form
    payload = payload or {}
    exercise_id = str(payload.get("exercise_id", ""))
    response = str(payload.get("response", "")).strip()[:200]
    exercise = catalog.get_exercise(get_db(), exercise_id)
    if exercise is None or exercise["lesson_id"] != lesson_id:
        abort(404)
    refuse_expired(lesson_id)
    if not response:
        abort(400)
    pupil = auth.current_pupil()
    try:  # the tablet's attempt_id: the same one sent twice is one attempt, with the same result
        origin = tablets.answer_origin(payload, payload.get("tablet"))
    except offline.BadAnswerOrigin as exc:
        abort(make_response(jsonify({"error": str(exc)}), 400))
    result = record_attempt(get_db(), get_settings(), pupil["id"], exercise_id, response, origin, exercise=exercise,
                            box=get_box().identity)
    correct = bool(result.get("correct"))
    feedback = str(FEEDBACK.get(result.get("feedback") or "", result.get("feedback") or ""))
    feedback = feedback or (gettext("Well done!") if correct else gettext("Not yet. Try again!"))
    if request.is_json:
        return jsonify({"correct": correct, "feedback": feedback, "hint": result.get("hint"),
                        "p_mastery": result.get("p_mastery")})
    flash(feedback, "ok" if correct else "error")
    return redirect(url_for("pupil.lesson", lesson_id=lesson_id) + f"#ex-{exercise_id}")


@bp.post("/lesson/<lesson_id>/watched")
@auth.pupil_required
def watched(lesson_id: str) -> Any:
    """Record that the logged-in pupil played one chapter of a lesson through."""
    from edge_server.attempts import record_chapter_view

    payload = request.get_json(silent=True) or {}
    lesson = catalog.get_lesson(get_db(), lesson_id) or abort(404)
    refuse_expired(lesson_id)
    kp = payload.get("knowledge_point")
    if kp is not None and kp not in {k["id"] for k in lesson["knowledge_points"]}:
        abort(400)
    try:
        start, end = float(payload.get("start", 0)), float(payload.get("end", 0))
    except (TypeError, ValueError):
        abort(400)
    view_id = record_chapter_view(get_db(), get_settings(), auth.current_pupil()["id"], lesson_id, kp, start, end,
                                  box=get_box().identity)
    return jsonify({"id": view_id}), 201


def init_app(app: Flask) -> None:
    """Register this blueprint."""
    app.register_blueprint(bp)
