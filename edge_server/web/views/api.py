"""Views: the JSON API under /api/v1 (health, catalog, lessons, captions and chapters tracks, search, OpenAPI)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from edge_server import __version__, catalog, clock
from edge_server.model_status import models_health
from edge_server.web import auth
from edge_server.web.app import get_db, get_settings

PREFIX = "/api/v1"
bp = Blueprint("api", __name__, url_prefix=PREFIX)
MAX_QUERY_CHARS = 200


@bp.errorhandler(HTTPException)
def _json_error(exc: HTTPException) -> tuple[Response, int]:
    return jsonify({"error": exc.description or exc.name}), exc.code or 500


def _not_found(what: str) -> tuple[Response, int]:
    return jsonify({"error": what}), 404


@bp.app_template_filter("language_name")
def _language_name(code: str) -> str:
    """A language's own name for a track label ("fr" -> "Français")."""
    from models.languages import name

    return name(code or "")


@bp.get("/health")
def health() -> Any:
    """The box is up: version, identity, catalog size, and its models (self-test, model process)."""
    facts = catalog.box_facts(get_db())
    return jsonify({"status": "ok", "version": __version__, "box_name": get_settings().box_name, **facts,
                    "models": models_health(get_settings()),
                    "time": clock.now_iso_seconds()})


def _refused(lesson_id: str) -> tuple[Response, int] | None:
    """401 for the school's own recordings without a pupil or teacher login, 410 for a lesson of an expired pack."""
    refusal = catalog.lesson_refusal(get_db(), lesson_id, auth.someone_signed_in())
    if refusal is None:
        return None
    status, reason = refusal
    return jsonify({"error": reason}), status


@bp.get("/catalog")
def catalog_index() -> Any:
    """Every active channel with its courses and lessons (the school's own recordings only with a login)."""
    return jsonify(catalog.catalog_tree(get_db(), signed_in=auth.someone_signed_in()))


@bp.get("/lessons/<lesson_id>")
def lesson(lesson_id: str) -> Any:
    """One lesson: medium, chapters, summary, knowledge points, exercises without answers."""
    refused = _refused(lesson_id)
    if refused is not None:
        return refused
    found = catalog.public_lesson(get_db(), lesson_id, PREFIX)
    return jsonify(found) if found else _not_found(f"no lesson {lesson_id!r}")


def _vtt(lesson_id: str, kind: str) -> Any:
    refused = _refused(lesson_id)
    if refused is not None:
        return refused
    text = catalog.ai_text(get_db(), lesson_id, kind)
    if text is None:
        return _not_found(f"no {kind.removesuffix('_vtt')} track for lesson {lesson_id!r} yet")
    return Response(text, mimetype="text/vtt", headers={"Cache-Control": "no-cache"})


@bp.get("/lessons/<lesson_id>/captions.vtt")
def captions(lesson_id: str) -> Any:
    """WebVTT captions made by the AI pipeline (or shipped in the pack)."""
    return _vtt(lesson_id, "captions_vtt")


@bp.get("/lessons/<lesson_id>/chapters.vtt")
def chapters(lesson_id: str) -> Any:
    """WebVTT chapters track (<track kind="chapters">)."""
    return _vtt(lesson_id, "chapters_vtt")


@bp.get("/search")
def search() -> Any:
    """Lessons by title and notes, then transcript passages with their time spans."""
    query = request.args.get("q", "")[:MAX_QUERY_CHARS]
    db = get_db()
    hidden = catalog.hidden_channels(db, auth.someone_signed_in())
    hits = [{k: hit[k] for k in ("kind", "lesson_id", "title", "snippet")}
            for hit in catalog.search(db, query, hidden=hidden)]
    hits += catalog.search_transcripts(db, query, hidden=hidden)
    return jsonify({"query": query, "results": hits})


@bp.get("/openapi.json")
def openapi_json() -> Any:
    """The OpenAPI 3.1 document of /api/v1."""
    return jsonify(current_app.extensions["openapi"])


def init_app(app: Flask) -> None:
    """Register this blueprint (request bodies are capped box-wide: app._limit_request_body)."""
    app.register_blueprint(bp)
