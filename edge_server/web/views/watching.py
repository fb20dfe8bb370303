"""Views: the lesson player's progress beacon (pupils only), and what the player needs to count replays."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, abort, jsonify, make_response, request

from edge_server import tablets, watching
from edge_server.web import auth
from edge_server.web.app import get_db

bp = Blueprint("watching", __name__)


@bp.app_context_processor
def _player_globals() -> dict[str, Any]:
    return {"watched_so_far": _watched_so_far}


def _watched_so_far(lesson_id: str) -> float:
    """How far the logged-in pupil has played a lesson (0 for teachers): the player's replays count from there."""
    pupil = auth.current_pupil()
    return watching.furthest(get_db(), pupil["id"], lesson_id) if pupil else 0.0


@bp.post("/lesson/<lesson_id>/progress")
@auth.pupil_required
def progress(lesson_id: str) -> Any:
    """One beat of the player: how far the pupil has played, the seconds played since the last beat, replays."""
    db = get_db()
    pupil = auth.current_pupil()
    allowed = tablets.visible_lessons(db, pupil)
    if not watching.known_lesson(db, lesson_id) or (allowed is not None and lesson_id not in allowed):
        abort(404)
    try:
        beat = watching.parse_beat(request.get_json(silent=True))
    except watching.BadBeat as exc:
        abort(make_response(jsonify({"error": str(exc)}), 400))
    totals = watching.record_beat(db, pupil["id"], lesson_id, beat)
    if totals is None:
        response = make_response(jsonify({"error": "too many beats: one every few seconds is plenty"}), 429)
        response.headers["Retry-After"] = "60"
        return response
    return jsonify(totals)


def init_app(app: Flask) -> None:
    """Register this blueprint."""
    app.register_blueprint(bp)
