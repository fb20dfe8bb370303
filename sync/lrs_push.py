"""Push the outbox of xAPI statements to the province's LRS: oldest first, batched, exactly once as the LRS sees it.

A row is marked sent only after the LRS acknowledged it. A resend after a lost acknowledgement is the same
statement (same id, same bytes), which an LRS stores once. The queue is any `Outbox` (the box's lives in
edge_server/store/outbox.py); this module knows no table.

Transport: basic-auth credentials and pupils' records go over https://, checked against exactly the CA bundle of
LrsConfig.ca_file when it is set (the province's own CA; the system store otherwise). Plain http:// is used only for
a loopback LRS (a local tunnel or test) unless allow_insecure_http says otherwise: for any other host the push
stops before a byte is sent. A certificate the bundle does not vouch for stops the push too, before the request is
sent (the TLS handshake fails first), with the reason in one line; every statement stays queued.
"""

from __future__ import annotations

import ipaddress
import random
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests

XAPI_VERSION = "1.0.3"
REJECTED = "rejected:"  # last_error prefix of rows the LRS refused for good; skipped so they never block the queue
CONFLICT = "conflict:"  # last_error prefix of rows whose id the LRS holds with other content; counted as delivered


class Outbox(Protocol):
    """The statements waiting for the LRS, oldest first; rows are (row id, statement id, canonical JSON text)."""

    def pending_count(self) -> int:
        """Statements not yet acknowledged (rejected ones included)."""

    def rejected_count(self) -> int:
        """Statements the LRS refused for good, kept unsent and skipped."""

    def oldest_unsent(self, limit: int) -> list[tuple[int, str, str]]:
        """Up to `limit` unsent statements that are not rejected, oldest first."""

    def mark_sent(self, ids: list[int], note: str | None = None) -> None:
        """The LRS acknowledged these rows (atomically; a crash before it means a harmless resend)."""

    def mark_failed(self, ids: list[int], error: str) -> None:
        """A try of these rows failed with `error` (REJECTED prefix: for good)."""


class PushError(Exception):
    """A push stopped before the outbox was empty."""


@dataclass(frozen=True)
class LrsConfig:
    """Where and how to reach the LRS; url is the xAPI base (statements go to url/statements)."""

    url: str
    user: str = ""
    password: str = ""
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 60.0
    # PEM bundle the LRS's certificate must chain to (only it: the system store is not consulted); None = system
    ca_file: str | None = None
    # send over plain http:// to a host that is not this machine (credentials and records readable on the way)
    allow_insecure_http: bool = False

    @property
    def statements_url(self) -> str:
        return self.url.rstrip("/") + "/statements"

    @property
    def verify(self) -> str | bool:
        """What requests checks the server's certificate against: the pinned bundle, or the system store."""
        return self.ca_file or True


def is_loopback_host(host: str) -> bool:
    """True for a name or address of this machine only: localhost, 127.0.0.0/8, ::1."""
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def transport_problem(lrs: LrsConfig) -> str | None:
    """Why the push must not reach this LRS as configured (one line naming the setting to change), or None.

    Checked before any connection: plain http:// to another host (unless allowed), a URL that is not http(s), a CA
    bundle that is missing or holds no certificate.
    """
    try:
        parts = urlsplit(lrs.url)
        host = parts.hostname or ""
    except ValueError as exc:
        return f"lrs_url {lrs.url!r} is not a URL ({exc})"
    if parts.scheme not in ("http", "https") or not host:
        return f"lrs_url {lrs.url!r} must be an https:// URL (the xAPI base, e.g. https://lrs.example:8100/xAPI)"
    if parts.username or parts.password:
        return "lrs_url carries credentials: put them in lrs_user and lrs_password instead"
    if parts.scheme == "http" and not is_loopback_host(host) and not lrs.allow_insecure_http:
        return (f"refusing to send the LRS credentials and pupils' records over plain http:// to {host}: "
                "use an https:// lrs_url (with lrs_ca_file, the province's CA bundle), or set "
                "lrs_allow_insecure_http = true in config.toml to accept that")
    if lrs.ca_file:
        path = Path(lrs.ca_file)
        if not path.is_file():
            return f"lrs_ca_file {lrs.ca_file} does not exist: copy the province's CA bundle (PEM) there"
        try:
            context = ssl.create_default_context(cafile=str(path))
        except (OSError, ssl.SSLError, ValueError) as exc:
            return f"lrs_ca_file {lrs.ca_file} is not a PEM CA bundle ({exc})"
        if not context.get_ca_certs():
            return f"lrs_ca_file {lrs.ca_file} holds no CA certificate: it must be the province's CA bundle (PEM)"
    return None


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter: sleep a random time up to min(cap, base * 2**attempt)."""

    base_s: float = 0.5
    cap_s: float = 30.0
    retries: int = 4

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number `attempt` (0-based)."""
        return (rng or random).uniform(0, min(self.cap_s, self.base_s * (2 ** attempt)))


@dataclass
class PushResult:
    """What a push did and what is left."""

    sent: int = 0
    batches: int = 0
    duplicates: int = 0
    conflicts: int = 0
    rejected: int = 0
    retries: int = 0
    pending: int = 0
    error: str | None = None

    @property
    def complete(self) -> bool:
        return self.pending == 0 and self.error is None

    def as_dict(self) -> dict[str, Any]:
        return {"sent": self.sent, "batches": self.batches, "duplicates": self.duplicates,
                "conflicts": self.conflicts, "rejected": self.rejected, "retries": self.retries,
                "pending": self.pending, "error": self.error, "complete": self.complete}


class _LinkDown(Exception):
    """The request did not get an answer (connection refused, reset, timeout, 5xx)."""


def _tls_reason(exc: BaseException) -> tuple[bool, str]:
    """(whether the certificate was refused, the TLS layer's own words: "unable to get local issuer certificate",
    a hostname mismatch, "wrong version number" for a port that does not speak TLS, ...)."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        err = todo.pop()
        if id(err) in seen:
            continue
        seen.add(id(err))
        if isinstance(err, ssl.SSLCertVerificationError):
            return True, err.verify_message or err.reason or str(err)
        if isinstance(err, ssl.SSLError):
            return False, err.reason or str(err)
        todo += [e for e in (err.__cause__, err.__context__, getattr(err, "reason", None), *err.args)
                 if isinstance(e, BaseException)]
    return False, str(exc)[:200]


def _tls_error(lrs: LrsConfig, exc: requests.exceptions.SSLError) -> Exception:
    """A refused certificate stops the push (PushError: it does not fix itself in seconds, so no retries); any
    other TLS failure (a link cut mid-handshake or mid-body) is the link, retried like one."""
    refused, reason = _tls_reason(exc)
    if not refused:
        return _LinkDown(f"link down: TLS failed ({reason}); is lrs_url's port serving https?")
    against = f"the CA bundle in lrs_ca_file ({lrs.ca_file})" if lrs.ca_file else "the system's CA store"
    return PushError(f"TLS to the LRS failed, nothing was sent: its certificate was refused ({reason}), checked "
                     f"against {against}; check lrs_url and lrs_ca_file")


def _session(lrs: LrsConfig) -> requests.Session:
    session = requests.Session()
    if lrs.user:
        session.auth = (lrs.user, lrs.password)
    session.headers.update({"X-Experience-API-Version": XAPI_VERSION, "Content-Type": "application/json"})
    return session


def _request(session: requests.Session, lrs: LrsConfig, method: str, url: str, body: bytes,
             params: dict[str, str] | None = None) -> requests.Response:
    try:
        # verify on each request: set on the session, REQUESTS_CA_BUNDLE in the environment would override it
        response = session.request(method, url, data=body, params=params, verify=lrs.verify,
                                   timeout=(lrs.connect_timeout_s, lrs.read_timeout_s), allow_redirects=False)
    except requests.exceptions.SSLError as exc:
        # a certificate the bundle does not vouch for: stop, nothing sent, nothing lost; a cut: retried
        raise _tls_error(lrs, exc) from exc
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise _LinkDown(f"link down: {type(exc).__name__}") from exc
    except requests.RequestException as exc:  # e.g. a body cut mid-chunk: the link, not the statement
        raise _LinkDown(f"link down: {type(exc).__name__}") from exc
    if response.status_code >= 500 or response.status_code in (408, 429):
        raise _LinkDown(f"LRS busy or failing: HTTP {response.status_code}")
    return response


def _fatal(response: requests.Response) -> str | None:
    if response.status_code in (401, 403):
        return f"the LRS refused our credentials (HTTP {response.status_code}): check lrs_user and lrs_password"
    if response.status_code == 404:
        return f"no xAPI statements endpoint at {response.url} (HTTP 404): check lrs_url (the xAPI base)"
    if 300 <= response.status_code < 400:
        # never followed: credentials and records go to lrs_url and nowhere else (an https -> http hop included)
        where = response.headers.get("Location", "elsewhere")
        return f"the LRS redirected the push to {where} (HTTP {response.status_code}): set lrs_url to that address"
    return None


def _one_by_one(session: requests.Session, lrs: LrsConfig, outbox: Outbox,
                batch: list[tuple[int, str, str]], result: PushResult) -> None:
    """PUT each statement of a refused batch to learn which are known, conflicting or malformed."""
    for row_id, statement_id, text in batch:
        response = _request(session, lrs, "PUT", lrs.statements_url, text.encode(),
                            params={"statementId": statement_id})
        fatal = _fatal(response)
        if fatal:
            raise PushError(fatal)
        code = response.status_code
        if code in (200, 204):
            outbox.mark_sent([row_id])
            result.sent += 1
        elif code == 409:
            # The LRS holds this id with other content: resending can never succeed, so it must not block.
            outbox.mark_sent([row_id], f"{CONFLICT} the LRS holds a different statement with this id")
            result.conflicts += 1
        else:
            outbox.mark_failed([row_id], f"{REJECTED} HTTP {code}: {response.text[:300]}")
            result.rejected += 1


def _stored_count(response: requests.Response, sent: int) -> int:
    """How many statements the LRS newly stored (200 lists their ids; 204 means all were known)."""
    if response.status_code == 204 or not response.content:
        return 0
    try:
        ids = response.json()
    except ValueError:
        return sent
    return len(ids) if isinstance(ids, list) else sent


def push(outbox: Outbox, lrs: LrsConfig, *, batch_size: int = 200, max_batch_size: int | None = 2000,
         backoff: Backoff | None = None, max_batches: int | None = None, sleep: Callable[[float], None] = time.sleep,
         session: requests.Session | None = None) -> PushResult:
    """Send the oldest unsent statements in batches until none are left, the link drops or max_batches is hit.

    Batches start at batch_size, double after each acknowledgement up to max_batch_size (None: fixed size) and
    halve after a dropped link: big batches on a good link (an LRS pays per request), small ones on a flaky one
    (a cut wastes at most one batch).
    """
    problem = transport_problem(lrs)
    if problem:  # before any connection: nothing sent, every statement stays queued
        return PushResult(pending=outbox.pending_count(), error=problem)
    backoff = backoff or Backoff()
    own_session = session is None
    session = session or _session(lrs)
    result = PushResult()
    attempt = 0
    size = max(1, batch_size)
    ceiling = max(size, max_batch_size) if max_batch_size else size
    try:
        while max_batches is None or result.batches < max_batches:
            batch = outbox.oldest_unsent(size)
            if not batch:
                break
            # Rows already hold canonical JSON: join the exact bytes, so a resend is byte-for-byte the same.
            body = ("[" + ",".join(text for _, _, text in batch) + "]").encode()
            try:
                response = _request(session, lrs, "POST", lrs.statements_url, body)
                fatal = _fatal(response)
                if fatal:
                    raise PushError(fatal)
                if response.status_code == 413 and len(batch) > 1:
                    # Too big for the LRS (or a proxy before it): smaller batches from now on, nothing lost.
                    ceiling = size = max(1, len(batch) // 2)
                    continue
                if response.status_code in (200, 204):
                    outbox.mark_sent([row_id for row_id, _, _ in batch])
                    result.sent += len(batch)
                    result.duplicates += len(batch) - _stored_count(response, len(batch))
                else:
                    # 409 (some id known with other content) or 400 (a malformed one): find which, one by one.
                    _one_by_one(session, lrs, outbox, batch, result)
                result.batches += 1
                attempt = 0
                size = min(ceiling, size * 2)
            except _LinkDown as exc:
                outbox.mark_failed([row_id for row_id, _, _ in batch], str(exc))
                size = max(min(10, batch_size), size // 2)
                if attempt >= backoff.retries:
                    raise PushError(str(exc)) from exc
                sleep(backoff.delay(attempt))
                attempt += 1
                result.retries += 1
    except PushError as exc:
        result.error = str(exc)
    finally:
        if own_session:
            session.close()
    result.pending = outbox.pending_count()
    if result.error is None and outbox.rejected_count():
        result.error = (f"{outbox.rejected_count()} statements were refused by the LRS as malformed: "
                        "see outbox.last_error")
    return result
