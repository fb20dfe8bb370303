"""The box's one clock: the current time in UTC, and the two text forms box.db stores it in.

Everything reads time.time (as sessions, rate limits and the tests' `clock` fixture do), so moving it moves the
whole box. Two text forms, because rows already stored in them are compared as strings:

- now_iso(): microseconds ("2026-11-30T10:00:00.123456+00:00"): attempts.ts, chapter views, kp_params, quizzes,
  jobs and AI outputs; answers given within one second must keep their order.
- now_iso_seconds(): whole seconds ("2026-11-30T10:00:00+00:00"): teachers, classes, pupils and assignments
  (created), sync_state.updated and the last push/pull; these are shown on pages and compared with rows of the
  same precision.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.fromtimestamp(time.time(), UTC)


def now_iso() -> str:
    """The current time as stored with microseconds (attempts.ts and most time columns)."""
    return now().isoformat(timespec="microseconds")


def now_iso_seconds() -> str:
    """The current time as stored in whole seconds (people's created columns, sync_state)."""
    return now().isoformat(timespec="seconds")
