"""Views: a teacher's own recorded lessons (upload, knowledge points, processing status)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext

from edge_server import recordings
from edge_server.web.app import body_limit, get_db, get_settings
from edge_server.web.auth import current_teacher, teacher_required

bp = Blueprint("recordings", __name__, url_prefix="/teacher/recordings")


def _page(error: str | None = None, status: int = 200, title: str = "", chosen: list[str] | None = None) -> Any:
    db = get_db()
    items = recordings.recordings_status(db)
    editable = {i["lesson_id"] for i in items if recordings.may_edit(current_teacher(), i["uploaded_by"])}
    return render_template("recordings/index.html", error=error, title=title, chosen=set(chosen or []),
                           knowledge_points=recordings.knowledge_point_choices(db), items=items, editable=editable,
                           max_mb=get_settings().max_upload_mb), status


@bp.get("/")
@teacher_required
def index() -> Any:
    """The upload form and the list of recordings with their processing progress."""
    return _page()


def _upload_body_limit() -> int | None:
    """Before a byte is read: a teacher may send max_upload_mb if the disk can hold it; others the small limit."""
    if current_teacher() is None:
        return None  # teacher_required then sends them to the login page
    settings = get_settings()
    limit = settings.max_upload_mb * 1024 * 1024
    if request.content_length is None or request.content_length <= limit:
        recordings.check_free_disk(settings, request.content_length)  # UploadError(507): _refused_early
    return limit


@bp.errorhandler(recordings.UploadError)
def _refused_early(exc: recordings.UploadError) -> Any:
    """An upload refused before its body was read (the disk is too full): the page says why."""
    return _page(gettext("Not saved: %(reason)s.", reason=str(exc)), exc.status)


@bp.post("/")
@body_limit(_upload_body_limit)
@teacher_required
def upload() -> Any:
    """Check and store an uploaded recording, then queue its AI pipeline."""
    settings = get_settings()
    title = request.form.get("title", "").strip()[:200]
    kp_ids = request.form.getlist("knowledge_points")
    medium = request.files.get("media")
    if not title:
        return _page(gettext("Give the recording a title."), 400, title, kp_ids)
    if medium is None or not medium.filename:
        return _page(gettext("Choose a video or audio file."), 400, title, kp_ids)
    stored = None
    try:
        stored = recordings.save_upload(medium.stream, settings, request.content_length)
        info = recordings.probe(stored.path)
        lesson_id = recordings.add_recording(get_db(), settings, stored, info, title, kp_ids, settings.box_name,
                                             uploaded_by=current_teacher()["id"])
    except recordings.UploadError as exc:
        if stored is not None:
            stored.path.unlink(missing_ok=True)
        return _page(gettext("Not saved: %(reason)s.", reason=str(exc)), exc.status, title, kp_ids)
    flash(gettext("“%(title)s” is saved; captions, chapters and a summary are being prepared.", title=title), "ok")
    return redirect(url_for("recordings.index", added=lesson_id), code=303)


@bp.get("/status.json")
@teacher_required
def status() -> Any:
    """Processing status of every recording, polled by the page."""
    return jsonify({"recordings": recordings.recordings_status(get_db())})


def init_app(app: Flask) -> None:
    """Register this blueprint."""
    app.register_blueprint(bp)
