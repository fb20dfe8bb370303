"""The Flask app factory: create_app(settings) builds everything, nothing happens at import."""

from __future__ import annotations

import secrets
import threading
from pathlib import Path

from flask import Flask, g, request, session
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect

from edge_server import rate_limits
from edge_server.db import connect, open_box_db
from edge_server.settings import Settings

LANGUAGES = ("en", "fr", "zh")


def _secret_key(settings: Settings) -> str:
    """The session key: from settings, else persisted once in the data dir."""
    if settings.secret_key:
        return settings.secret_key
    path = settings.keys_dir / "session.secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def select_locale() -> str:
    """The language chosen by the switcher, else by the browser."""
    chosen = request.args.get("lang") or session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or "en"


def create_app(settings: Settings) -> Flask:
    """Build the box's web app for one data directory."""
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=_secret_key(settings),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=settings.max_upload_mb * 1024 * 1024,
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).parent / "translations"),
        WTF_CSRF_TIME_LIMIT=None,
        JSON_SORT_KEYS=False,
    )
    app.extensions["settings"] = settings
    open_box_db(settings.db_path).conn.close()

    CSRFProtect(app)
    Babel(app, locale_selector=select_locale)
    limiter = Limiter(get_remote_address, app=app, storage_uri=rate_limits.storage_uri(settings.db_path),
                      default_limits=[])
    app.extensions["box_limiter"] = limiter

    @app.before_request
    def _remember_language() -> None:
        lang = request.args.get("lang")
        if lang in LANGUAGES:
            session["lang"] = lang

    app.extensions["db_per_thread"] = threading.local()

    @app.teardown_appcontext
    def _end_request(_exc: BaseException | None) -> None:
        db = g.pop("db", None)
        # A request must never leave a transaction open on the thread's reused connection.
        if db is not None and db.conn.in_transaction:
            db.conn.rollback()

    from edge_server import media
    from edge_server.views import (
        admin,
        api,
        api_companion,
        presenter,
        progress,
        pupil,
        recordings,
        share,
        teacher,
    )

    for module in (api, api_companion, media, pupil, teacher, presenter, progress, recordings, admin, share):
        module.init_app(app)
    return app


def get_settings() -> Settings:
    """The Settings of the current app."""
    from flask import current_app

    return current_app.extensions["settings"]


def get_db():
    """The current thread's box.db connection, opened once per thread and reused across requests."""
    from flask import current_app

    if "db" not in g:
        local = current_app.extensions["db_per_thread"]
        db = getattr(local, "db", None)
        if db is None:
            db = local.db = connect(get_settings().db_path)
        g.db = db
    return g.db
