"""Views: the admin's teacher management: list teachers, add one, reset a password, hand a class over."""

from __future__ import annotations

import sqlite3
from typing import Any

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from edge_server import roster_ops
from edge_server.store import people
from edge_server.web import auth
from edge_server.web.app import get_db

bp = Blueprint("teachers", __name__, url_prefix="/teacher/admin")

MAX_USERNAME = 40
MAX_DISPLAY_NAME = 80


def _page(error: str | None = None, status: int = 200, form: dict[str, str] | None = None) -> Any:
    db = get_db()
    return render_template("admin/teachers.html", teachers=roster_ops.list_teachers(db),
                           classes=people.list_classes(db), error=error, form=form or {},
                           min_password=auth.MIN_PASSWORD), status


@bp.get("/teachers")
@auth.admin_required
def index() -> Any:
    """Every teacher with their role and classes; the classes with their owners."""
    return _page()


@bp.post("/teachers")
@auth.admin_required
def add() -> Any:
    """Add a teacher (or another admin)."""
    username = request.form.get("username", "").strip()
    display_name = request.form.get("display_name", "").strip()[:MAX_DISPLAY_NAME]
    password = request.form.get("password", "")
    role = request.form.get("role", "teacher")
    form = {"username": username, "display_name": display_name, "role": role}
    if not username or len(username) > MAX_USERNAME or any(ch.isspace() for ch in username):
        return _page(gettext("Choose a username of up to %(n)d characters, without spaces.", n=MAX_USERNAME),
                     400, form)
    if role not in people.ROLES:
        return _page(gettext("Choose a role."), 400, form)
    if len(password) < auth.MIN_PASSWORD:
        return _page(gettext("Use a password of at least %(n)d characters.", n=auth.MIN_PASSWORD), 400, form)
    try:
        people.add_teacher(get_db(), username, auth.hash_password(password), display_name or None, role=role)
    except sqlite3.IntegrityError:
        return _page(gettext("There is already a teacher called %(name)s.", name=username), 400, form)
    flash(gettext("%(name)s can now log in.", name=username), "ok")
    return redirect(url_for("teachers.index"), code=303)


@bp.post("/teachers/<int:teacher_id>/password")
@auth.admin_required
def reset_password(teacher_id: int) -> Any:
    """Give a teacher a new password; every session of theirs ends."""
    db = get_db()
    teacher = people.get_teacher(db, teacher_id) or abort(404)
    password = request.form.get("password", "")
    if len(password) < auth.MIN_PASSWORD:
        return _page(gettext("Use a password of at least %(n)d characters.", n=auth.MIN_PASSWORD), 400)
    people.set_password_hash(db, teacher_id, auth.hash_password(password))
    if teacher_id == auth.current_teacher()["id"]:
        auth.login_teacher(teacher_id)  # an admin who changes their own password stays logged in here
    flash(gettext("New password saved for %(name)s; their sessions have ended.", name=teacher["username"]), "ok")
    return redirect(url_for("teachers.index"), code=303)


@bp.post("/classes/<int:class_id>/teacher")
@auth.admin_required
def hand_over(class_id: int) -> Any:
    """Hand a class over to another teacher."""
    db = get_db()
    klass = people.get_class(db, class_id) or abort(404)
    try:
        teacher_id = int(request.form.get("teacher_id", ""))
    except ValueError:
        abort(400)
    teacher = people.get_teacher(db, teacher_id) or abort(400)
    roster_ops.hand_over(db, class_id, teacher_id)
    flash(gettext("%(class)s now belongs to %(name)s.",
                  **{"class": klass["name"], "name": teacher["display_name"] or teacher["username"]}), "ok")
    back = auth.safe_next(request.form.get("next"), url_for("teachers.index"))
    return redirect(back, code=303)


def init_app(app: Flask) -> None:
    """Register this blueprint."""
    app.register_blueprint(bp)
