"""Views: presenter mode for the projector (full-screen lesson, big chapters, QR code to join)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import segno
from flask import Blueprint, Flask, render_template, request
from markupsafe import Markup

from edge_server.web import auth
from edge_server.web.app import get_settings
from edge_server.web.views.pupil import lesson_context

bp = Blueprint("presenter", __name__)


def join_qr_svg(url: str) -> Markup:
    """An inline SVG QR code of the box's address (segno output holds no user markup)."""
    svg = segno.make(url, error="m").svg_inline(scale=6, border=2, dark="#000", light="#fff")
    return Markup(svg)  # noqa: S704 - segno escapes the encoded text


def is_loopback(host_url: str) -> bool:
    """True when a URL names this machine only (a teacher browsing on the box itself)."""
    hostname = urlsplit(host_url).hostname or ""
    return hostname in ("localhost", "::1") or hostname.startswith("127.")


def join_url(host_url: str, lan_addresses: list[str]) -> str:
    """The address pupils type or scan: the one the teacher used, unless that is this machine's loopback."""
    parts = urlsplit(host_url)
    lan = [a for a in lan_addresses if a and not a.startswith("127.")]
    if not is_loopback(host_url) or not lan:
        return host_url
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{lan[0]}{port}/"


@bp.get("/present/<lesson_id>")
@auth.teacher_required
def present(lesson_id: str) -> Any:
    """The projector view of one lesson."""
    from edge_server.discovery import announced_addresses

    lan = announced_addresses(get_settings()) if is_loopback(request.host_url) else []
    url = join_url(request.host_url, lan)
    return render_template("presenter/present.html", join_url=url, qr=join_qr_svg(url), **lesson_context(lesson_id))


def init_app(app: Flask) -> None:
    """Register this blueprint."""
    app.register_blueprint(bp)
