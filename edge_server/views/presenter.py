"""Views: presenter mode for the projector (full-screen lesson, big chapters, QR code to join)."""

from __future__ import annotations

from typing import Any

import segno
from flask import Blueprint, Flask, render_template, request
from markupsafe import Markup

from edge_server import auth
from edge_server.views.pupil import lesson_context

bp = Blueprint("presenter", __name__)


def join_qr_svg(url: str) -> Markup:
    """An inline SVG QR code of the box's address (segno output holds no user markup)."""
    svg = segno.make(url, error="m").svg_inline(scale=6, border=2, dark="#000", light="#fff")
    return Markup(svg)  # noqa: S704 - segno escapes the encoded text


@bp.get("/present/<lesson_id>")
@auth.teacher_required
def present(lesson_id: str) -> Any:
    """The projector view of one lesson."""
    join_url = request.host_url
    return render_template("presenter/present.html", join_url=join_url, qr=join_qr_svg(join_url),
                           **lesson_context(lesson_id))


def init_app(app: Flask) -> None:
    """Register this blueprint."""
    app.register_blueprint(bp)
