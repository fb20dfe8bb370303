"""Views: api_companion."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("api_companion", __name__)


def init_app(app: Flask) -> None:
    """Register this blueprint."""
    app.register_blueprint(bp)
