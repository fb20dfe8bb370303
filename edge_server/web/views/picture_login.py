"""Views: the teacher's side of picture passwords (a class's login kind, a pupil's three pictures) and what the
pupil's login page needs to show them. The login itself is the PIN page's (views/pupil.py), with the PIN's limits."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, abort, flash, redirect, request, url_for
from flask_babel import gettext, lazy_gettext

from edge_server import picture_login, pin_guard
from edge_server.store import people
from edge_server.web import auth
from edge_server.web.app import get_db

bp = Blueprint("picture_login", __name__)

NAMES = {"apple": lazy_gettext("apple"), "ball": lazy_gettext("ball"), "bird": lazy_gettext("bird"),
         "car": lazy_gettext("car"), "dog": lazy_gettext("dog"), "house": lazy_gettext("house"),
         "key": lazy_gettext("key"), "leaf": lazy_gettext("leaf"), "moon": lazy_gettext("moon"),
         "rain": lazy_gettext("rain"), "star": lazy_gettext("star"), "tree": lazy_gettext("tree")}


def pictures() -> list[tuple[str, Any]]:
    """The 12 pictures with their names in the page's language, in their fixed order."""
    return [(name, NAMES[name]) for name in picture_login.PICTURES]


@bp.app_template_global()
def login_pictures(pupil: dict[str, Any]) -> list[tuple[str, Any]] | None:
    """The pictures to show on a pupil's login page, or None for the PIN keypad (a PIN class, or no pictures yet)."""
    db = get_db()
    if picture_login.login_kind(db, pupil.get("class_id")) != "pictures" or \
            picture_login.picture_hash(db, pupil["id"]) is None:
        return None
    return pictures()


@bp.app_template_global()
def picture_panel(class_id: int, pupils: list[dict[str, Any]]) -> dict[str, Any]:
    """What the class page's picture-password panel shows (tablet/_login_panel.html)."""
    db = get_db()
    return {"kind": picture_login.login_kind(db, class_id), "pictures": pictures(),
            "has": picture_login.has_pictures(db, [p["id"] for p in pupils])}


def typed_pictures(form: Any) -> Any:
    """The pictures a login form sent: one field joined by the keypad script, or three selects without it."""
    values = [v for v in form.getlist("pictures") if v]
    return values if len(values) > 1 else (values[0] if values else "")


@bp.post("/teacher/class/<int:class_id>/login-kind")
@auth.teacher_required
def set_login_kind(class_id: int) -> Any:
    """Choose PINs or pictures for a class's logins."""
    auth.require_class(class_id)  # 404, or 403 for another teacher's class
    kind = request.form.get("kind", "")
    if kind not in picture_login.LOGIN_KINDS:
        abort(400)
    picture_login.set_login_kind(get_db(), class_id, kind)
    flash(gettext("Login saved."), "ok")
    return redirect(url_for("teacher.class_page", class_id=class_id) + "#picture-login")


@bp.post("/teacher/pupil/<int:pupil_id>/pictures")
@auth.teacher_required
def set_pictures(pupil_id: int) -> Any:
    """Give a pupil a new picture password (three pictures in order)."""
    db = get_db()
    pupil = people.get_pupil(db, pupil_id) or abort(404)
    auth.require_class(pupil["class_id"])  # a pupil of another teacher's class: 403
    chosen = request.form.getlist("picture")
    if picture_login.normalise(chosen) is None:
        flash(gettext("Choose three pictures."), "error")
    else:
        picture_login.set_pictures(db, pupil_id, picture_login.hash_pictures(chosen))
        pin_guard.clear_pupil(db, pupil)  # new pictures also end a lockout that wrong tries caused
        flash(gettext("New pictures saved for %(name)s.", name=pupil["name"]), "ok")
    return redirect(url_for("teacher.class_page", class_id=pupil["class_id"]) + "#picture-login")


def init_app(app: Flask) -> None:
    """Register this blueprint."""
    app.register_blueprint(bp)
