"""Views: a teacher's own recorded lessons."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("recordings", __name__)


def init_app(app: Flask) -> None:
    """Register this blueprint."""
    app.register_blueprint(bp)
