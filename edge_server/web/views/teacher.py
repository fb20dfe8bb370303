"""Views: teacher pages (setup, login, classes, roster, PINs, assignments, recent attempts)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from edge_server import pin_guard, roster_ops
from edge_server.store import people
from edge_server.web import auth
from edge_server.web.app import get_db

bp = Blueprint("teacher", __name__, url_prefix="/teacher")


# Wrong setup tokens are login failures of this account: 5 a minute, and the client address's 20 with passwords.
SETUP_ACCOUNT = "(setup token)"


@bp.route("/setup", methods=["GET", "POST"])
def setup() -> Any:
    """Create the first teacher account with the box's one-time setup token; gone once any teacher exists."""
    db = get_db()
    if people.count_teachers(db):
        abort(404)
    error, status = None, 200
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        # the try is counted before the token is checked, so requests sent at once cannot all get through
        attempt = auth.take_login_try("login", SETUP_ACCOUNT)
        token_ok = attempt is not None and people.setup_token_matches(db, request.form.get("token", ""))
        if attempt is not None and token_ok:
            auth.login_succeeded(attempt)  # only wrong tokens count
        if attempt is None:
            error, status = gettext("Too many wrong setup tokens. Wait one minute and try again."), 429
        elif not token_ok:
            error, status = gettext("That setup token is not right."), 403
        elif not username:
            error, status = gettext("Choose a username."), 400
        elif len(password) < auth.MIN_PASSWORD:
            error, status = gettext("Use a password of at least %(n)d characters.", n=auth.MIN_PASSWORD), 400
        elif password != request.form.get("confirm", ""):
            error, status = gettext("The two passwords are different."), 400
        else:
            # only_if_none: of two right tokens posted at once, one makes the teacher; that uses up the token
            teacher_id = people.add_teacher(db, username, auth.hash_password(password), only_if_none=True)
            if teacher_id is None:
                abort(404)
            auth.login_teacher(teacher_id)
            return redirect(url_for("teacher.dashboard"))
    return render_template("teacher/setup.html", error=error), status


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Password login, rate-limited per username and per address."""
    db = get_db()
    if request.method == "GET" and not people.count_teachers(db):
        return redirect(url_for("teacher.setup"))
    error, status = None, 200
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        teacher = people.teacher_by_username(db, username)
        # the try is counted before the password is checked, so requests sent at once cannot all get through
        attempt = auth.take_login_try("login", username.lower())
        if attempt is None:
            error, status = gettext("Too many failed logins. Wait one minute and try again."), 429
        elif auth.verify_password(teacher and teacher["password_hash"], request.form.get("password", "")) and teacher:
            auth.login_succeeded(attempt)
            auth.login_teacher(teacher["id"])
            return redirect(auth.safe_next(request.args.get("next"), url_for("teacher.dashboard")))
        else:
            error, status = gettext("Wrong username or password."), 401
    return render_template("teacher/login.html", error=error), status


@bp.post("/logout")
def logout() -> Any:
    """End the teacher session."""
    auth.logout()
    return redirect(url_for("teacher.login"))


@bp.get("/")
@auth.teacher_required
def dashboard() -> Any:
    """The teacher's classes (every class for an admin) and lessons."""
    db = get_db()
    teacher = auth.current_teacher()
    classes = roster_ops.classes_for(db, teacher)
    own = {c["id"] for c in classes}
    # wrong-PIN alerts of the classes this teacher sees, and the box's own
    alerts = [a for a in pin_guard.alerts(db) if a["class_id"] in own or a["kind"] == "box"]
    return render_template("teacher/dashboard.html", classes=classes, lessons=people.lesson_titles(db),
                           login_alerts=alerts, is_admin=roster_ops.is_admin(teacher))


@bp.post("/classes")
@auth.teacher_required
def add_class() -> Any:
    """Add a class."""
    name = request.form.get("name", "").strip()[:80]
    if not name:
        flash(gettext("Give the class a name."), "error")
        return redirect(url_for("teacher.dashboard"))
    try:
        class_id = people.add_class(get_db(), name, auth.current_teacher()["id"])  # the teacher who made it owns it
    except sqlite3.IntegrityError:
        flash(gettext("A class with this name already exists."), "error")
        return redirect(url_for("teacher.dashboard"))
    return redirect(url_for("teacher.class_page", class_id=class_id))


def answer_text(attempt: dict[str, Any]) -> str:
    """What the pupil answered, with a choice index shown as the choice's words."""
    response = attempt.get("response") or ""
    try:
        choices = json.loads(attempt.get("choices") or "null")
    except ValueError:
        choices = None
    if isinstance(choices, list) and response.strip().isdigit() and int(response) < len(choices):
        return str(choices[int(response)])
    return response


def _class_or_404(class_id: int) -> dict[str, Any]:
    return auth.require_class(class_id)


@bp.get("/class/<int:class_id>")
@auth.teacher_required
def class_page(class_id: int) -> Any:
    """A class: roster, PINs, assigned lessons and the pupils' recent attempts."""
    db = get_db()
    klass = _class_or_404(class_id)
    return render_template(
        "teacher/class.html", klass=klass, pupils=people.pupils_in_class(db, class_id),
        lessons=people.lesson_titles(db), assigned=people.assigned_lesson_ids(db, class_id),
        attempts=[{**a, "answer": answer_text(a)} for a in people.recent_attempts(db, class_id)],
        pictures=people.PICTURES, login_alerts=pin_guard.alerts(db, class_id),
    )


@bp.post("/class/<int:class_id>/pupils")
@auth.teacher_required
def add_pupil(class_id: int) -> Any:
    """Add a pupil with a picture and a PIN."""
    _class_or_404(class_id)
    name = request.form.get("name", "").strip()[:80]
    pin = request.form.get("pin", "").strip()
    if not name or not auth.valid_pin(pin):
        flash(gettext("Give a name and a PIN of four digits."), "error")
    else:
        people.add_pupil(get_db(), class_id, name, auth.hash_pin(pin), request.form.get("picture") or None)
        flash(gettext("%(name)s was added.", name=name), "ok")
    return redirect(url_for("teacher.class_page", class_id=class_id))


@bp.post("/pupil/<int:pupil_id>/pin")
@auth.teacher_required
def reset_pin(pupil_id: int) -> Any:
    """Give a pupil a new PIN."""
    db = get_db()
    pupil = people.get_pupil(db, pupil_id) or abort(404)
    auth.require_class(pupil["class_id"])  # a pupil of another teacher's class: 403
    pin = request.form.get("pin", "").strip()
    if not auth.valid_pin(pin):
        flash(gettext("A PIN is four digits."), "error")
    else:
        people.set_pin_hash(db, pupil_id, auth.hash_pin(pin))
        pin_guard.clear_pupil(db, pupil)  # a new PIN also ends a lockout that wrong PINs caused
        flash(gettext("New PIN saved for %(name)s.", name=pupil["name"]), "ok")
    return redirect(url_for("teacher.class_page", class_id=pupil["class_id"]))


@bp.post("/class/<int:class_id>/logins")
@auth.teacher_required
def open_logins(class_id: int) -> Any:
    """Let the class log in again after wrong PINs: lift its pupils' lockouts and the class and box ceilings."""
    _class_or_404(class_id)
    pin_guard.open_class(get_db(), class_id)
    flash(gettext("The class can log in again."), "ok")
    return redirect(url_for("teacher.class_page", class_id=class_id))


@bp.post("/class/<int:class_id>/assign")
@auth.teacher_required
def assign(class_id: int) -> Any:
    """Make the ticked lessons the class's assignments."""
    db = get_db()
    _class_or_404(class_id)
    known = {lesson["id"] for lesson in people.lesson_titles(db)}
    people.set_assignments(db, class_id, set(request.form.getlist("lesson")) & known)
    flash(gettext("Assigned lessons saved."), "ok")
    return redirect(url_for("teacher.class_page", class_id=class_id))


def init_app(app: Flask) -> None:
    """Register this blueprint."""
    app.register_blueprint(bp)
