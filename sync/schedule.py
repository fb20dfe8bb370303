"""When to push and pull next (pure decisions: backoff with jitter after failures), and a TCP link probe."""

from __future__ import annotations

import random
import socket
from datetime import datetime, timedelta
from urllib.parse import urlsplit

PROBE_TIMEOUT_S = 3.0


def backoff_s(failures: int, base_s: float, cap_s: float, rng: random.Random | None = None) -> float:
    """Equal-jitter exponential backoff: half the step for sure, half at random, so boxes never retry in step."""
    if failures <= 0:
        return 0.0
    step = min(cap_s, base_s * (2 ** (failures - 1)))
    return step / 2 + (rng or random).uniform(0, step / 2)


def next_attempt(now: datetime, ok: bool, failures: int, interval_s: float, base_s: float = 30.0,
                 rng: random.Random | None = None) -> datetime:
    """One interval after a success; a jittered backoff (never beyond the interval) after failures."""
    if ok:
        return now + timedelta(seconds=interval_s)
    return now + timedelta(seconds=backoff_s(failures, base_s, max(base_s, interval_s), rng))


def due(now: datetime, next_at: datetime | None) -> bool:
    """True when a run is due (never planned counts as due)."""
    return next_at is None or now >= next_at


def pull_due(now: datetime, next_at: datetime | None, was_up: bool | None, is_up: bool) -> bool:
    """Pull on schedule, and straight away when the link to the origin comes back."""
    if not is_up:
        return False
    return due(now, next_at) or was_up is False


def endpoint(target: str) -> tuple[str, int] | None:
    """(host, port) to probe for an LRS URL or a pack origin; None for a local folder."""
    if target.startswith(("http://", "https://", "rsync://")):
        parts = urlsplit(target)
        default = {"http": 80, "https": 443, "rsync": 873}[parts.scheme]
        return (parts.hostname or "", parts.port or default) if parts.hostname else None
    head = target.split("/", 1)[0]
    if "::" in head:  # HOST::MODULE daemon syntax
        return head.split("::", 1)[0], 873
    if ":" in head:  # [USER@]HOST:PATH over ssh
        return head.split(":", 1)[0].rsplit("@", 1)[-1], 22
    return None


def probe(target: str, timeout_s: float = PROBE_TIMEOUT_S) -> bool:
    """Is the link up? A TCP connect to the LRS or origin (a local folder origin is always reachable)."""
    where = endpoint(target)
    if where is None:
        return True
    try:
        with socket.create_connection(where, timeout=timeout_s):
            return True
    except OSError:
        return False
