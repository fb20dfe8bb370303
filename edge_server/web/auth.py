"""Teachers' passwords, pupils' PINs, sessions, access decorators and login rate limits."""

from __future__ import annotations

import re
import secrets
import time
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache, wraps
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from flask import abort, g, redirect, request, session, url_for
from werkzeug.security import check_password_hash, generate_password_hash

from edge_server.store import people, rate_limits
from edge_server.store.db import write

F = TypeVar("F", bound=Callable[..., Any])

PIN_RE = re.compile(r"^[0-9]{4}$")
MIN_PASSWORD = 8

# Failed teacher logins allowed before a pause, (tries, window in seconds) per account and per client address
# (pupils' PINs: pin_guard.py).
LOGIN_PER_ACCOUNT = (5, 60)
LOGIN_PER_IP = (20, 60)


def hash_password(password: str) -> str:
    """A salted scrypt hash of a teacher's password."""
    return generate_password_hash(password, method="scrypt")


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches the stored hash; an unknown account costs the same time as a known one."""
    if not password_hash:
        check_password_hash(_dummy_hash(), password)  # no shortcut that would tell which usernames exist
        return False
    return check_password_hash(password_hash, password)


@cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_hex(16))


def valid_pin(pin: str) -> bool:
    """A PIN is exactly four digits."""
    return bool(PIN_RE.match(pin or ""))


def hash_pin(pin: str) -> str:
    """A salted hash of a pupil's PIN (pbkdf2: cheap enough for a class logging in at once)."""
    if not valid_pin(pin):
        raise ValueError("a PIN is four digits")
    return generate_password_hash(pin, method="pbkdf2:sha256:100000")


def verify_pin(pin_hash: str | None, pin: str) -> bool:
    """True when the PIN matches; a pupil without a PIN cannot log in."""
    return bool(pin_hash) and valid_pin(pin) and check_password_hash(pin_hash, pin)


# teacher login rate limits: a try is counted before the password (or setup token) is checked, like pupils' PINs


@dataclass(frozen=True)
class LoginTry:
    """One try taken on the account's and the client address's counters: given back when it turns out right."""

    keys: tuple[str, ...]


class _NoTryLeft(Exception):
    pass


def _client_ip() -> str:
    return request.remote_addr or "unknown"


def take_login_try(kind: str, account: str) -> LoginTry | None:
    """Count one try against the account and this client address, in one transaction of box.db (both or none),
    before the ~50 ms password hash: however many requests arrive at once, in however many worker processes, at most
    the limit of them reach the check. None when either has no try left (then nothing is counted)."""
    now = time.time()
    counters = ((f"{kind}/account/{account}", LOGIN_PER_ACCOUNT), (f"{kind}/ip/{_client_ip()}", LOGIN_PER_IP))

    def take(tx: Any) -> LoginTry:
        for key, (limit, window) in counters:
            taken, _ends = rate_limits.hit(tx.conn, key, window, now)
            if taken > limit:
                raise _NoTryLeft  # rolls the other counter of this try back
        return LoginTry(tuple(key for key, _ in counters))

    try:
        return write(_db(), take)
    except _NoTryLeft:
        return None


def login_succeeded(attempt: LoginTry) -> None:
    """A right password: give the try back, so that only failures count."""
    now = time.time()
    write(_db(), lambda tx: rate_limits.give_back(tx.conn, list(attempt.keys), now))


# sessions


def _db():
    from edge_server.web.app import get_db

    return get_db()


# A session holds its account's id, the account's session generation at login and the login time. It is good
# only while the account is still in that generation (logging out, a new PIN or password move it on) and for
# session_hours after the login: a signed cookie cannot be taken back, so a copied one must stop working here.
SESSION_GEN = "session_gen"
SESSION_START = "session_start"
CLOCK_SLACK_S = 300  # a login stamped a little in the future (workers' clocks, an NTP step) still counts


def session_claims(db: Any, kind: str, account_id: int) -> dict[str, Any]:
    """What a fresh session of a teacher or pupil holds: the id, the account's generation and the login time."""
    return {f"{kind}_id": account_id, SESSION_GEN: people.session_generation(db, kind, account_id),
            SESSION_START: int(time.time())}


def _start_session(kind: str, account_id: int) -> None:
    lang = session.get("lang")
    session.clear()
    session.update(session_claims(_db(), kind, account_id))
    if lang:
        session["lang"] = lang


def login_teacher(teacher_id: int) -> None:
    """Start a teacher session (a fresh session: no pupil stays logged in beside it)."""
    _start_session("teacher", teacher_id)


def login_pupil(pupil_id: int) -> None:
    """Start a pupil session."""
    _start_session("pupil", pupil_id)


def logout() -> None:
    """End whoever's session, and every other session of that account, keeping the chosen language."""
    db = _db()
    for kind, account in (("teacher", current_teacher()), ("pupil", current_pupil())):
        if account is not None:
            people.end_sessions(db, kind, account["id"])
    g.pop("box_teacher", None)
    g.pop("box_pupil", None)
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def _session_lifetime_s() -> float:
    from edge_server.web.app import get_settings

    return float(get_settings().session_hours) * 3600


def session_account(sess: Mapping[str, Any], db: Any, kind: str, lifetime_s: float) -> int | None:
    """The teacher or pupil id a session holds while that session is good, else None.

    Good means: the account still exists and is in the generation the session was started in, and the login is
    less than lifetime_s old. Takes the session as a plain mapping and a box.db connection, so that the media app
    (plain WSGI, no request context) judges a cookie exactly as the Flask views do.
    """
    account_id = sess.get(f"{kind}_id")
    if account_id is None:
        return None
    started, generation = sess.get(SESSION_START), sess.get(SESSION_GEN)
    fresh = isinstance(started, int | float) and -CLOCK_SLACK_S <= time.time() - started < lifetime_s
    if fresh and isinstance(generation, int) and generation == people.session_generation(db, kind, account_id):
        return account_id
    return None


def signed_in(sess: Mapping[str, Any], db: Any, lifetime_s: float) -> bool:
    """True when the session is a good pupil or teacher session (see session_account)."""
    return any(session_account(sess, db, kind, lifetime_s) is not None for kind in ("pupil", "teacher"))


def _session_account(kind: str) -> int | None:
    """The session's teacher or pupil id while the session is good; a stale one is dropped from the cookie."""
    if session.get(f"{kind}_id") is None:
        return None
    account_id = session_account(session, _db(), kind, _session_lifetime_s())
    if account_id is None:
        for key in (f"{kind}_id", SESSION_GEN, SESSION_START):
            session.pop(key, None)
    return account_id


def current_teacher() -> dict | None:
    """The logged-in teacher, or None (also when the session was ended or is too old)."""
    if "box_teacher" not in g:
        teacher_id = _session_account("teacher")
        g.box_teacher = people.get_teacher(_db(), teacher_id) if teacher_id else None
    return g.box_teacher


def current_pupil() -> dict | None:
    """The logged-in pupil (id, ref, name, picture, class_id), or None (also when the session was ended)."""
    if "box_pupil" not in g:
        pupil_id = _session_account("pupil")
        g.box_pupil = people.get_pupil(_db(), pupil_id) if pupil_id else None
    return g.box_pupil


def require_class(class_id: int) -> dict:
    """The class the logged-in teacher may open: 404 when there is none, 403 when it is not theirs to see (a
    teacher opens the classes they own, an admin every class)."""
    from edge_server.roster_ops import may_open

    cls = people.get_class(_db(), class_id)
    if cls is None:
        abort(404)
    if not may_open(current_teacher(), cls):
        abort(403)
    return cls


def is_admin() -> bool:
    """True when the logged-in teacher is an admin of the box."""
    teacher = current_teacher()
    return teacher is not None and teacher.get("role") == "admin"


def someone_signed_in() -> bool:
    """True when this request comes with a good pupil or teacher session."""
    return current_pupil() is not None or current_teacher() is not None


def _wants_json() -> bool:
    return request.is_json or request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def teacher_required(view: F) -> F:
    """Only a logged-in teacher gets through; others go to the login page (or get 401 as JSON)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_teacher() is None:
            if _wants_json():
                abort(401)
            return redirect(url_for("teacher.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def admin_required(view: F) -> F:
    """Only a logged-in admin gets through: other teachers get 403, others go to the login page (or get 401)."""

    @teacher_required
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not is_admin():
            abort(403)
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def pupil_required(view: F) -> F:
    """Only a logged-in pupil gets through; others go back to the class chooser (or get 401 as JSON)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_pupil() is None:
            if _wants_json():
                abort(401)
            return redirect(url_for("pupil.home"))
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _is_local_path(target: str) -> bool:
    if "\\" in target or any(unicodedata.category(ch).startswith("C") for ch in target):
        return False  # backslashes and control or invisible characters: browsers read them in surprising ways
    # browsers drop tabs and newlines anywhere and spaces around: "/\t/evil.example" is "//evil.example" to them
    squeezed = "".join(ch for ch in target if not ch.isspace())
    parts = urlsplit(target)
    return (target.startswith("/") and not squeezed.startswith("//") and not parts.scheme and not parts.netloc
            and not urlsplit(squeezed).netloc)


def safe_next(target: str | None, default: str) -> str:
    """A redirect target on this box only: a path from the box's root, else default (no open redirects).

    The target is also checked percent-decoded (until it no longer changes), so "/%2F/evil.example" and
    "/%09/evil.example" are refused wherever something decodes it once more.
    """
    if not target or not isinstance(target, str):
        return default
    seen = target
    for _ in range(4):
        if not _is_local_path(seen):
            return default
        decoded = unquote(seen)
        if decoded == seen:
            return target
        seen = decoded
    return default
