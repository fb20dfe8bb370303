"""Views: the installable web app (manifest, service worker, offline page) and the tablet's contact with the box
(hello, offline plan, answer keys, sync of queued answers), and the teacher's take-home and tablet panels.

The domain is in edge_server/tablets.py and edge_server/domain/offline.py; these views only read requests and answer.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from flask_wtf.csrf import generate_csrf

from edge_server import catalog, tablets
from edge_server.domain import offline
from edge_server.store import people
from edge_server.web import auth
from edge_server.web.app import get_box, get_db, get_settings

bp = Blueprint("tablet", __name__)
STATIC = Path(__file__).resolve().parent.parent / "static"


@bp.get("/sw.js")
def service_worker() -> Any:
    """The service worker, served from the root so that its scope is the whole box."""
    response = Response((STATIC / "sw.js").read_bytes(), mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"  # a new version reaches tablets at their next visit
    return response


@bp.get("/manifest.webmanifest")
def web_manifest() -> Any:
    """The web app manifest: the box installs as "Classroom box" and opens on the pupil's lessons."""
    manifest = {
        "name": get_settings().box_name,
        "short_name": gettext("Classroom box"),
        "start_url": "/lessons",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#0d1b2a",
        "icons": [{"src": url_for("static", filename="icon.svg"), "sizes": "any", "type": "image/svg+xml",
                   "purpose": "any"},
                  {"src": url_for("static", filename="icon-192.png"), "sizes": "192x192", "type": "image/png"},
                  {"src": url_for("static", filename="icon-512.png"), "sizes": "512x512", "type": "image/png"}],
    }
    response = jsonify(manifest)
    response.mimetype = "application/manifest+json"
    return response


@bp.get("/tablet/offline")
def offline_page() -> Any:
    """What a tablet shows for a page it does not keep while the box is out of reach (kept by the service worker)."""
    return render_template("tablet/offline.html")


@bp.get("/tablet/hello")
def hello() -> Any:
    """The tablet's contact: the box's time (for the tablet's clock offset), a fresh CSRF token, who is logged in,
    and a sync token for that pupil's answers from this tablet."""
    db = get_db()
    pupil = auth.current_pupil()
    tablet_id = tablets.valid_tablet_id(request.args.get("tablet"))
    found: dict[str, Any] = {"time": time.time() * 1000, "csrf": generate_csrf(), "pupil": None, "token": None}
    if pupil is not None:
        found["pupil"] = {"ref": pupil["ref"], "name": pupil["name"]}
        if tablet_id is not None:
            found["token"] = tablets.issue_token(db, current_app.secret_key, get_settings(), pupil["id"], tablet_id)
    response = jsonify(found)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/tablet/plan")
@auth.pupil_required
def plan() -> Any:
    """What the logged-in pupil's tablet keeps offline (see tablets.offline_plan)."""
    db, pupil = get_db(), auth.current_pupil()
    response = jsonify(tablets.offline_plan(db, pupil, tablets.visible_lessons(db, pupil)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/tablet/lesson/<lesson_id>/keys.json")
@auth.pupil_required
def keys(lesson_id: str) -> Any:
    """The answers of a lesson's choice and number exercises, for feedback while the box is out of reach."""
    allowed = tablets.visible_lessons(get_db(), auth.current_pupil())
    if (allowed is not None and lesson_id not in allowed) or catalog.get_lesson(get_db(), lesson_id) is None:
        abort(404)
    response = jsonify(tablets.offline_keys(get_db(), lesson_id))
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.post("/tablet/sync")
def sync() -> Any:
    """Queued answers and chapter views from a tablet, with its sync token (no session, hence no CSRF token: the
    token in the body is the credential, and a page of another site cannot know it)."""
    try:
        result = tablets.sync(get_db(), get_settings(), current_app.secret_key, request.get_json(silent=True),
                              box=get_box().identity)
    except tablets.SyncRefused as exc:
        return jsonify({"error": str(exc)}), 401
    except ValueError as exc:
        return jsonify({"error": str(exc)}), 400
    return jsonify(result)


# ---------------------------------------------------------------- the teacher's side

@bp.app_template_global()
def tablet_panel(class_id: int) -> dict[str, Any]:
    """What the class page shows about tablets and take-home lessons (used by tablet/_class_panel.html)."""
    db = get_db()
    titles = {lesson["id"]: lesson["title"] for lesson in people.lesson_titles(db)}
    home = tablets.take_home(db, class_id)
    return {"tablets": tablets.class_tablets(db, class_id), "take_home": home,
            "until": min(home.values()) if home else None, "titles": titles,
            "offline": {"media_budget_mb": tablets.media_budget_mb(db, class_id)},
            "max_days": offline.MAX_TAKE_HOME_DAYS}


def _class_or_404(class_id: int) -> dict[str, Any]:
    return auth.require_class(class_id)  # 404, or 403 for another teacher's class


def _int_field(name: str, low: int, high: int) -> int | None:
    try:
        value = int(request.form.get(name, ""))
    except ValueError:
        return None
    return value if low <= value <= high else None


@bp.post("/teacher/class/<int:class_id>/take-home")
@auth.teacher_required
def set_take_home(class_id: int) -> Any:
    """Make the ticked lessons the class's take-home lessons for the chosen number of days."""
    db = get_db()
    _class_or_404(class_id)
    days = _int_field("days", 1, offline.MAX_TAKE_HOME_DAYS)
    if days is None:
        flash(gettext("Choose from 1 to %(n)d days.", n=offline.MAX_TAKE_HOME_DAYS), "error")
    else:
        known = {lesson["id"] for lesson in people.lesson_titles(db)}
        tablets.set_take_home(db, class_id, set(request.form.getlist("lesson")) & known, days)
        flash(gettext("Take-home lessons saved."), "ok")
    return redirect(url_for("teacher.class_page", class_id=class_id) + "#tablets")


@bp.post("/teacher/class/<int:class_id>/media-budget")
@auth.teacher_required
def set_media_budget(class_id: int) -> Any:
    """How much lesson media each tablet of the class keeps offline."""
    _class_or_404(class_id)
    megabytes = _int_field("media_budget_mb", 0, 100_000)
    if megabytes is None:
        flash(gettext("Give a number of megabytes from 0 to 100000."), "error")
    else:
        tablets.set_media_budget(get_db(), class_id, megabytes)
        flash(gettext("Media budget saved."), "ok")
    return redirect(url_for("teacher.class_page", class_id=class_id) + "#tablets")


def init_app(app: Flask) -> None:
    """Register this blueprint; the sync endpoint carries its own credential (a sync token), not a CSRF token."""
    app.register_blueprint(bp)
    app.extensions["csrf"].exempt(sync)
