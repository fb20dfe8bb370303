"""Views: share."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("share", __name__)


def init_app(app: Flask) -> None:
    """Register this blueprint."""
    app.register_blueprint(bp)
