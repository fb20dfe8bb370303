"""The Flask app factory: create_app(settings) builds everything, nothing happens at import."""

from __future__ import annotations

import ipaddress
import secrets
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, TypeVar

from flask import Flask, Request, Response, current_app, g, jsonify, request, session
from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from edge_server import pin_guard
from edge_server.box import Box
from edge_server.settings import Settings
from edge_server.store.db import connect

LANGUAGES = ("en", "fr", "zh")
F = TypeVar("F", bound=Callable[..., Any])

# Every page and JSON answer of the app (media files are served before Flask, see media.py). The templates have
# no inline script and no event-handler attribute (all JavaScript is in static/*.js), but some have <style> blocks.
PAGE_CSP = ("default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
            "style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
            "form-action 'self'")
# An uploaded file bigger than this is spooled to disk while the form is parsed (Werkzeug's own threshold).
SPOOL_IN_MEMORY = 500 * 1024


class BoxRequest(Request):
    """Flask's request, except that uploaded files are spooled in DATA/uploads rather than in /tmp.

    /tmp is often RAM (tmpfs, a private one under systemd), and DATA/uploads is where the free disk space of a
    recording was checked before its body was read (views/recordings.py).
    """

    def _get_file_stream(self, total_content_length: int | None, content_type: str | None,
                         filename: str | None = None, content_length: int | None = None) -> IO[bytes]:
        folder = current_app.extensions["settings"].uploads_dir
        folder.mkdir(parents=True, exist_ok=True)
        # closed by Werkzeug with the request's files
        return tempfile.SpooledTemporaryFile(SPOOL_IN_MEMORY, "rb+", dir=folder)  # noqa: SIM115


def body_limit(limit: Callable[[], int | None]) -> Callable[[F], F]:
    """Let one view take a body larger than settings.max_request_kb.

    `limit()` runs before any byte of the body is read (before the CSRF check, which parses forms) and returns the
    view's limit in bytes, or None for the small one; it may raise to refuse the request first.
    """

    def mark(view: F) -> F:
        view.body_limit = limit  # type: ignore[attr-defined]
        return view

    return mark


def _limit_request_body() -> None:
    """413 for a body over this request's limit, before it is read: settings.max_request_kb unless the view says."""
    view = current_app.view_functions.get(request.endpoint or "")
    custom = getattr(view, "body_limit", None)
    limit = (custom() if custom is not None else None) or get_settings().max_request_kb * 1024
    # Also caps a body sent without Content-Length (chunked): reading it stops with 413 at the limit.
    request.max_content_length = limit
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge(f"the request body is larger than {limit // 1024} KiB")


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.is_json or request.accept_mimetypes.best == "application/json"


def _too_large(exc: RequestEntityTooLarge) -> Any:
    if _wants_json():
        return jsonify({"error": exc.description or exc.name}), 413
    return exc


def _security_headers(response: Response) -> Response:
    """The page policy on every answer of the app; a view may set a stricter one (views/share.py)."""
    response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def _from_this_machine(address: str | None) -> bool:
    try:
        return ipaddress.ip_address(address or "").is_loopback
    except ValueError:
        return False


class LocalProxyFix:
    """werkzeug's ProxyFix for `hops` proxies (X-Forwarded-For and -Proto), for requests from this machine only.

    The edge_box role's nginx runs on the box and talks to the app over 127.0.0.1, while the app still listens on
    the LAN (mDNS announces its port): a tablet that talks to it directly could otherwise forge X-Forwarded-For
    and get a fresh rate limit per forged address.
    """

    def __init__(self, app: Any, hops: int) -> None:
        self.app = app
        self.fixed = ProxyFix(app, x_for=hops, x_proto=hops)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if _from_this_machine(environ.get("REMOTE_ADDR")):
            return self.fixed(environ, start_response)
        return self.app(environ, start_response)


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


def create_app(settings: Settings, box: Box | None = None) -> Flask:
    """Build the box's web app for one data directory (on the given Box, else one started here)."""
    box = box or Box.start(settings)
    app = Flask(__name__)
    app.request_class = BoxRequest
    app.config.update(
        SECRET_KEY=_secret_key(settings),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # the small limit by default; _limit_request_body sets each request's own (views may raise it: body_limit)
        MAX_CONTENT_LENGTH=settings.max_request_kb * 1024,
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).parent.parent / "translations"),
        WTF_CSRF_TIME_LIMIT=None,
        JSON_SORT_KEYS=False,
    )
    app.extensions["settings"] = settings
    app.extensions["box"] = box
    # the pupils' PIN limits (pin_* settings), checked once here so that a wrong value stops the start, not a login
    app.extensions["pin_limits"] = pin_guard.PinLimits.from_settings(settings)

    CSRFProtect(app)
    # First of all hooks: CSRFProtect's reads the body, and the body stream keeps the limit it was opened with.
    app.before_request_funcs.setdefault(None, []).insert(0, _limit_request_body)
    app.register_error_handler(RequestEntityTooLarge, _too_large)
    app.after_request(_security_headers)
    Babel(app, locale_selector=select_locale)

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

    from edge_server.web import media
    from edge_server.web.views import (
        admin,
        api,
        api_companion,
        picture_login,
        presenter,
        progress,
        pupil,
        recordings,
        share,
        tablet,
        teacher,
    )

    for module in (api, api_companion, media, pupil, teacher, presenter, progress, recordings, admin, share, tablet,
                   picture_login):
        module.init_app(app)
    from edge_server.web.views import roster, teachers

    roster.init_app(app)
    teachers.init_app(app)
    from edge_server.web.views import quizzes

    quizzes.init_app(app)
    from edge_server.web.views import lesson_reports, recording_edits, watching

    for module in (recording_edits, lesson_reports, watching):
        module.init_app(app)
    from edge_server.web.views import install

    install.init_app(app)
    from edge_server.web import openapi

    app.extensions["openapi"] = openapi.build([openapi.CORE, api_companion.OPENAPI])
    # The box's own nginx front (front_token set by serve) is one more proxy hop on this machine.
    hops = int(settings.trusted_proxy) + (1 if settings.front_token else 0)
    if hops:
        # Outermost, so that the rate limits (get_remote_address, auth's per-address counts) see the client.
        app.wsgi_app = LocalProxyFix(app.wsgi_app, hops)  # type: ignore[method-assign]
    return app


def get_settings() -> Settings:
    """The Settings of the current app."""
    from flask import current_app

    return current_app.extensions["settings"]


def get_box() -> Box:
    """The Box of the current app: its identity and services."""
    from flask import current_app

    return current_app.extensions["box"]


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
