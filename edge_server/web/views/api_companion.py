"""Views: the study companion's API (ask, stream, history) and the teachers' pastoral page of refused questions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import get_locale, gettext
from werkzeug.exceptions import HTTPException

from edge_server import catalog, companion
from edge_server.store import people
from edge_server.store.db import connect
from edge_server.web import auth, openapi
from edge_server.web.app import get_box, get_db, get_settings
from models.worker import ModelsUnavailable

bp = Blueprint("api_companion", __name__)


@bp.errorhandler(HTTPException)
def _error(exc: HTTPException) -> Any:
    if request.path.startswith("/api/"):
        return jsonify({"error": exc.description or exc.name}), exc.code or 500
    return exc


def _service() -> companion.Companion:
    return get_box().companion


def _request() -> tuple[str, str | None, str | None, set[str] | None]:
    """The question, lesson and exercise of a JSON body, and the lessons the pupil may open (_allowed); 400 when
    malformed, 404 when they name nothing the pupil may open, 410 when their pack has expired."""
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        abort(400, "send JSON: {\"question\": \"...\", \"lesson_id\": \"...\"}")
    question = payload.get("question")
    lesson_id = payload.get("lesson_id") or None
    exercise_id = payload.get("exercise_id") or None
    if not isinstance(question, str) or not question.strip():
        abort(400, "question must be a non-empty string")
    if any(v is not None and not isinstance(v, str) for v in (lesson_id, exercise_id)):
        abort(400, "lesson_id and exercise_id are strings")
    db = get_db()
    allowed = _allowed(auth.current_pupil())
    if lesson_id and catalog.get_lesson(db, lesson_id) is None:
        abort(404, "no such lesson")
    exercise = catalog.get_exercise(db, exercise_id) if exercise_id else None
    if exercise_id and exercise is None:
        abort(404, "no such exercise")
    for lesson in (lesson_id, exercise["lesson_id"] if exercise else None):
        refusal = catalog.lesson_refusal(db, lesson, signed_in=True) if lesson else None
        if refusal is not None:
            abort(*refusal)  # 410 Gone: nobody asks about a lesson of an expired pack any more
    if lesson_id and allowed is not None and lesson_id not in allowed:
        abort(404, "no such lesson")
    if exercise and allowed is not None and exercise["lesson_id"] not in allowed:
        abort(404, "no such exercise")
    return question, lesson_id, exercise_id, allowed


def _allowed(pupil: dict[str, Any]) -> set[str] | None:
    """The lessons this pupil may open (their class's assigned lessons; all when none are assigned), never those of
    an expired pack. The set is also the companion's cache scope: once a pack expires, no answer cached before
    (citing it) is served again."""
    db = get_db()
    assigned = people.assigned_lesson_ids(db, pupil["class_id"]) if pupil.get("class_id") else set()
    expired = catalog.expired_channels(db)
    if not expired:
        return assigned or None
    return (assigned or catalog.lesson_ids(db)) - catalog.lesson_ids(db, channels=set(expired))


def _language() -> str:
    return str(get_locale() or "en")


def _unavailable(exc: ModelsUnavailable) -> Response:
    response = jsonify({"error": str(exc), "retry_after": exc.retry_after})
    response.status_code = 503
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _busy(exc: companion.Busy) -> Response:
    response = jsonify({"error": str(exc)})
    response.status_code = 429
    response.headers["Retry-After"] = "2"
    return response


@bp.post("/api/v1/companion/ask")
@auth.pupil_required
def ask() -> Any:
    """Answer a pupil's question from the lessons, with citations (blocking; the page uses /stream)."""
    question, lesson_id, exercise_id, allowed = _request()
    pupil = auth.current_pupil()
    try:
        answer = _service().ask(get_db(), pupil["id"], question, lesson_id, exercise_id, _language(), allowed)
    except companion.Busy as exc:
        return _busy(exc)
    except ModelsUnavailable as exc:
        return _unavailable(exc)
    return jsonify(answer.public())


def _event(kind: str, data: Any) -> str:
    """One Server-Sent Event: queued {place, queue}, token {text} or answer {answer, refused, citations, ...}."""
    payload = data.public() if kind == "answer" else {"text": data} if kind == "token" else data
    return f"event: {kind}\ndata: {json.dumps(payload, ensure_ascii=False)}\n\n"


@bp.post("/api/v1/companion/stream")
@auth.pupil_required
def stream() -> Any:
    """The same answer as Server-Sent Events: `queued` (place in the queue), `token` (text), then `answer`."""
    question, lesson_id, exercise_id, allowed = _request()
    pupil = auth.current_pupil()
    language = _language()
    service = _service()
    db = connect(get_settings().db_path)
    events = service.stream(db, pupil["id"], question, lesson_id, exercise_id, language, allowed)
    try:
        first = next(events)  # Busy is raised here, before any byte is sent
    except companion.Busy as exc:
        db.conn.close()
        return _busy(exc)
    except ModelsUnavailable as exc:
        db.conn.close()
        return _unavailable(exc)

    def body() -> Iterator[str]:
        try:
            yield _event(*first)
            for kind, data in events:
                yield _event(kind, data)
        except ModelsUnavailable as exc:  # the headers are sent: the page shows the reason and asks again later
            yield _event("error", {"error": str(exc), "retry_after": exc.retry_after})
        finally:
            events.close()
            db.conn.close()

    return Response(stream_with_context(body()), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@bp.get("/api/v1/companion/history")
@auth.pupil_required
def history() -> Any:
    """The logged-in pupil's own questions (never anyone else's)."""
    items = companion.pupil_questions(get_db(), auth.current_pupil()["id"])
    return jsonify({"questions": [{**q, "refused": bool(q["refused"])} for q in items]})


@bp.get("/teacher/companion")
@auth.teacher_required
def pastoral() -> Any:
    """Questions the companion refused (all questions when the box's settings say so), for pastoral care."""
    show_all = get_settings().companion_show_questions_to_teacher
    items = companion.teacher_questions(get_db(), show_all, scope=_scope())
    return render_template("companion/teacher.html", questions=items, show_all=show_all,
                           alerts=companion.pastoral_alerts(get_db(), scope=_scope()))


def _scope() -> int | None:
    """Whose classes' questions the logged-in teacher sees: their own, or every class for an admin (None)."""
    return None if auth.is_admin() else (auth.current_teacher() or {}).get("id", -1)


@bp.post("/teacher/companion/alerts/<int:alert_id>/acknowledge")
@auth.teacher_required
def acknowledge(alert_id: int) -> Any:
    """A teacher has seen a pupil's disclosure and is looking after them: the alert leaves the top of the page."""
    if not companion.acknowledge_alert(get_db(), alert_id, (auth.current_teacher() or {}).get("id"), scope=_scope()):
        abort(404)
    flash(gettext("Alert marked as seen."), "ok")
    return redirect(url_for("api_companion.pastoral"))


@bp.app_context_processor
def _pastoral_badge() -> dict[str, Any]:
    # the number on the teacher's link to the pastoral page: disclosures nobody has acknowledged yet
    def count() -> int:
        return companion.open_alert_count(get_db(), scope=_scope()) if auth.current_teacher() else 0

    return {"pastoral_alert_count": count}


_ERROR = openapi.ref("Error")
_QUESTION = {
    "type": "object", "required": ["question"],
    "properties": {"question": {"type": "string", "minLength": 1, "maxLength": 2000},
                   "lesson_id": {"type": ["string", "null"]},
                   "exercise_id": {"type": ["string", "null"],
                                   "description": "Socratic mode: a hint and a chapter pointer, never the answer"}},
}
_CITATION = {
    "type": "object", "required": ["lesson", "knowledge_point", "start", "end", "url"],
    "properties": {"lesson": {"type": "string"}, "knowledge_point": {"type": ["string", "null"]},
                   "start": {"type": "number"}, "end": {"type": "number"},
                   "url": {"type": "string", "pattern": "^/lesson/", "description": "opens the player at start"}},
}
_ANSWER = {
    "type": "object", "required": ["answer", "refused", "citations"],
    "properties": {"answer": {"type": "string"}, "refused": {"type": "boolean"},
                   "citations": {"type": "array", "items": openapi.ref("Citation")},
                   "found": {"type": "boolean", "description": "false: nothing in the lessons answers it"},
                   "category": {"type": ["string", "null"], "description": "why a question was refused"},
                   "method": {"type": "string",
                              "enum": ["generated", "extractive", "socratic", "refused", "not_found", "cached"]}},
}
_BODY = {"required": True, "content": {"application/json": {"schema": openapi.ref("CompanionQuestion")}}}
_FAILS = {"400": {"description": "Malformed question", "content": {"application/json": {"schema": _ERROR}}},
          "401": {"description": "Not a logged-in pupil"},
          "404": {"description": "No such lesson or exercise"},
          "410": {"description": "The lesson (or the exercise's lesson) belongs to a pack that has expired",
                  "content": {"application/json": {"schema": _ERROR}}},
          "429": {"description": "This pupil already has a question pending",
                  "content": {"application/json": {"schema": _ERROR}}},
          "503": {"description": "The model process is restarting: ask again after Retry-After seconds",
                  "content": {"application/json": {"schema": _ERROR}}}}
_ASK = {"post": {
    "operationId": "companionAsk", "summary": "Ask the study companion (pupils only)", "requestBody": _BODY,
    "responses": {"200": {"description": "The answer", "content": {"application/json": {
        "schema": openapi.ref("CompanionAnswer")}}}, **_FAILS}}}
_STREAM = {"post": {
    "operationId": "companionStream", "summary": "Ask, with the answer as Server-Sent Events "
    "(queued {place, queue}, token {text}, answer CompanionAnswer)", "requestBody": _BODY,
    "responses": {"200": {"description": "Event stream", "content": {"text/event-stream": {
        "schema": {"type": "string"}}}}, **_FAILS}}}
_HISTORY = {"get": {
    "operationId": "companionHistory", "summary": "The logged-in pupil's own questions",
    "responses": {"200": {"description": "Questions, newest first", "content": {"application/json": {"schema": {
        "type": "object", "required": ["questions"], "properties": {"questions": {"type": "array", "items": {
            "type": "object"}}}}}}}, "401": {"description": "Not a logged-in pupil"}}}}


OPENAPI = openapi.Part(
    paths={"/api/v1/companion/ask": _ASK, "/api/v1/companion/stream": _STREAM, "/api/v1/companion/history": _HISTORY},
    schemas={"CompanionQuestion": _QUESTION, "Citation": _CITATION, "CompanionAnswer": _ANSWER})


def init_app(app: Flask) -> None:
    """Register this blueprint."""
    app.register_blueprint(bp)
