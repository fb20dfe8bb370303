"""Views: a class's roster (import a CSV class list, export it, login cards, new PINs for the class) and one
pupil's page (move to another class, remove after a confirmation)."""

from __future__ import annotations

from typing import Any

import segno
from flask import Blueprint, Flask, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext
from markupsafe import Markup

from edge_server import roster_ops
from edge_server.domain import roster
from edge_server.store import people
from edge_server.web import auth
from edge_server.web.app import body_limit, get_db, get_settings

bp = Blueprint("roster", __name__, url_prefix="/teacher")

# A multipart form around the file: the file itself is checked against roster.MAX_BYTES.
FORM_OVERHEAD = 16 * 1024

# What removing a pupil erases, by table, for the confirmation page (other tables are shown by name).
ERASED = {
    "attempts": lazy_gettext("answers"),
    "mastery": lazy_gettext("mastery records"),
    "chapter_views": lazy_gettext("chapters watched"),
    "companion_log": lazy_gettext("questions to the study companion"),
    "pastoral_alerts": lazy_gettext("pastoral alerts"),
    "login_alerts": lazy_gettext("wrong-PIN alerts"),
    "pin_lockouts": lazy_gettext("PIN lockouts"),
    "tablets": lazy_gettext("tablets"),
    "quiz_answers": lazy_gettext("quiz answers"),
    "lesson_watching": lazy_gettext("lessons watched"),
    "lesson_replays": lazy_gettext("parts watched again"),
}


def _pupil_of_mine(pupil_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The pupil and their class, when the logged-in teacher may open that class (404 / 403 otherwise)."""
    pupil = people.get_pupil(get_db(), pupil_id) or abort(404)
    if pupil["class_id"] is None:
        abort(404)
    return pupil, auth.require_class(pupil["class_id"])


def login_url(ref: str) -> str:
    """The address of a pupil's own login page, as a tablet on the LAN reaches it (see presenter.join_url)."""
    from edge_server.discovery import announced_addresses
    from edge_server.web.views.presenter import is_loopback, join_url

    lan = announced_addresses(get_settings()) if is_loopback(request.host_url) else []
    return join_url(request.host_url, lan).rstrip("/") + url_for("pupil.pin", ref=ref)


def card_qr(url: str) -> Markup:
    """A small inline SVG QR code (segno escapes what it encodes; nothing else goes into the markup)."""
    svg = segno.make(url, error="l").svg_inline(scale=1, border=1, dark="#000", light="#fff", omitsize=True)
    return Markup(svg)  # noqa: S704 - segno output, no user markup


def _cards(klass: dict[str, Any], pupils: list[dict[str, Any]], pins: dict[int, str] | None, status: int = 200,
           note: str | None = None) -> Any:
    """The printable login-cards sheet; PINs (in clear) only right after the box made them, and never cached."""
    cards = [{**p, "pin": (pins or {}).get(p["id"]), "qr": card_qr(login_url(p["ref"]))} for p in pupils]
    response = Response(render_template("teacher/cards.html", klass=klass, cards=cards, with_pins=pins is not None,
                                        note=note), status)
    if pins is not None:
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_template_global()
def roster_panel(klass: dict[str, Any]) -> dict[str, Any]:
    """What the class page's roster panel needs (teacher/_roster_panel.html): limits, and for an admin the
    teachers the class can be handed to."""
    teacher = auth.current_teacher()
    admin = roster_ops.is_admin(teacher)
    return {"max_kb": roster.MAX_BYTES // 1024, "max_pupils": roster.MAX_PUPILS, "is_admin": admin,
            "teachers": roster_ops.list_teachers(get_db()) if admin else [],
            "pictures": ", ".join(people.PICTURES)}


def _import_limit() -> int | None:
    # before any byte is read: a teacher may send a roster file; anyone else gets the small limit (then the login)
    return roster.MAX_BYTES + FORM_OVERHEAD if auth.current_teacher() is not None else None


@bp.get("/class/<int:class_id>/roster")
@auth.teacher_required
def import_page(class_id: int) -> Any:
    """The import form on its own page (where a refused file's errors are shown)."""
    klass = auth.require_class(class_id)
    return render_template("teacher/roster_import.html", klass=klass, errors=[], more=0, **roster_panel(klass))


@bp.post("/class/<int:class_id>/roster")
@body_limit(_import_limit)
@auth.teacher_required
def import_roster(class_id: int) -> Any:
    """Add the pupils of a CSV class list; the login cards with their PINs come back at once, and only once."""
    db = get_db()
    klass = auth.require_class(class_id)
    upload = request.files.get("roster")
    errors: list[roster.RosterError] = []
    more = 0
    if upload is None or not upload.filename:
        errors = [roster.RosterError(0, roster.NO_FILE)]
    else:
        data = upload.stream.read(roster.MAX_BYTES + 1)
        try:
            rows = roster.parse_roster(data, people.PICTURES, roster_ops.class_names(db, class_id))
            pupils, made = roster.with_pins(rows)
            hashes = {p.row: auth.hash_pin(p.pin or "") for p in pupils}  # before the write lock: ~50 ms each
            added = roster_ops.import_roster(db, class_id, pupils, hashes, made)
        except roster.RosterRefused as refused:
            errors, more = refused.errors, refused.more
    if errors:
        # each message in the page's language (roster.py's messages are marked for translation)
        shown = [{"row": e.row, "message": gettext(e.template, **e.params)} for e in errors]
        return render_template("teacher/roster_import.html", klass=klass, errors=shown, more=more,
                               **roster_panel(klass)), 400
    pins = {p.id: p.pin for p in added}
    listed = [{"id": p.id, "ref": p.ref, "name": p.name, "picture": p.picture} for p in added]
    note = gettext("%(n)d pupils added. Print these cards now: the box keeps only a hash of each PIN, so they "
                   "are shown only this once.", n=len(added))
    return _cards(klass, listed, pins, note=note)


@bp.get("/class/<int:class_id>/roster.csv")
@auth.teacher_required
def export_roster(class_id: int) -> Response:
    """The class list as CSV (name, picture): what the import reads, without PINs or their hashes."""
    klass = auth.require_class(class_id)
    body = roster.roster_csv(people.pupils_in_class(get_db(), class_id))
    filename = "class-" + "".join(c if c.isalnum() else "-" for c in klass["name"]) + ".csv"
    return Response("\ufeff" + body, mimetype="text/csv",  # the BOM: spreadsheets then read it as UTF-8
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "no-store"})


@bp.get("/class/<int:class_id>/cards")
@auth.teacher_required
def cards(class_id: int) -> Any:
    """Login cards for the whole class, without PINs (only their hashes are kept): name, picture, QR code."""
    klass = auth.require_class(class_id)
    return _cards(klass, people.pupils_in_class(get_db(), class_id), None)


@bp.route("/class/<int:class_id>/new-pins", methods=["GET", "POST"])
@auth.teacher_required
def new_pins(class_id: int) -> Any:
    """New PINs for every pupil of the class (after a confirmation), with their login cards, shown once."""
    db = get_db()
    klass = auth.require_class(class_id)
    pupils = people.pupils_in_class(db, class_id)
    if request.method == "GET" or not pupils:
        return render_template("teacher/new_pins.html", klass=klass, pupils=pupils)
    pins = dict(zip((p["id"] for p in pupils), roster.new_pins(len(pupils)), strict=True))
    roster_ops.new_class_pins(db, class_id, {pid: (pin, auth.hash_pin(pin)) for pid, pin in pins.items()})
    note = gettext("New PINs for %(n)d pupils. Print these cards now: they are shown only this once.", n=len(pins))
    return _cards(klass, pupils, pins, note=note)


@bp.get("/pupil/<int:pupil_id>")
@auth.teacher_required
def pupil_page(pupil_id: int) -> Any:
    """One pupil: move to another class, or remove."""
    pupil, klass = _pupil_of_mine(pupil_id)
    others = [c for c in roster_ops.classes_for(get_db(), auth.current_teacher()) if c["id"] != klass["id"]]
    return render_template("teacher/pupil.html", pupil=pupil, klass=klass, classes=others)


@bp.post("/pupil/<int:pupil_id>/move")
@auth.teacher_required
def move(pupil_id: int) -> Any:
    """Move a pupil to another class the teacher may open (an admin: any class)."""
    pupil, klass = _pupil_of_mine(pupil_id)
    try:
        target_id = int(request.form.get("class_id", ""))
    except ValueError:
        abort(400)
    target = auth.require_class(target_id)
    try:
        roster_ops.move_pupil(get_db(), pupil_id, target_id)
    except roster_ops.RosterConflict:
        flash(gettext("%(class)s already has a pupil called %(name)s. Rename one of them first.",
                      **{"class": target["name"], "name": pupil["name"]}), "error")
        return redirect(url_for("roster.pupil_page", pupil_id=pupil_id))
    flash(gettext("%(name)s is now in %(class)s.", **{"name": pupil["name"], "class": target["name"]}), "ok")
    return redirect(url_for("teacher.class_page", class_id=klass["id"]))


@bp.route("/pupil/<int:pupil_id>/remove", methods=["GET", "POST"])
@auth.teacher_required
def remove(pupil_id: int) -> Any:
    """Remove a pupil: a confirmation page that says what is erased, then the erasure in one transaction."""
    from edge_server.attempts import box_identity
    from edge_server.identity import ProvisionError

    db = get_db()
    pupil, klass = _pupil_of_mine(pupil_id)
    if request.method == "GET" or request.form.get("confirm") != "yes":
        counts = roster_ops.removal_summary(db, pupil_id)
        listed = [(ERASED.get(table, table), n) for table, n in counts.items() if n]
        return render_template("teacher/remove_pupil.html", pupil=pupil, klass=klass, erased=listed)
    try:
        secret: bytes | None = box_identity(get_settings())[1]
    except ProvisionError:  # no box identity: the box has never made a statement to find
        secret = None
    roster_ops.remove_pupil(db, pupil_id, secret)
    flash(gettext("%(name)s was removed from the box, with their answers, progress and questions.",
                  name=pupil["name"]), "ok")
    return redirect(url_for("teacher.class_page", class_id=klass["id"]))


def init_app(app: Flask) -> None:
    """Register this blueprint."""
    app.register_blueprint(bp)
