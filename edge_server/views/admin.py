"""Views: admin."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("admin", __name__)


def init_app(app: Flask) -> None:
    """Register this blueprint."""
    app.register_blueprint(bp)
