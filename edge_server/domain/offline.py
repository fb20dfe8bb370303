"""Pure rules of tablets that work offline: answer ids, device times, take-home windows.

No Flask and no I/O: edge_server/tablets.py and the views call these with plain values.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

# An answer the tablet says is older than this is stamped with this age at most (a tablet clock set years off
# by hand, an offset measured before it was changed); a take-home lasts at most MAX_TAKE_HOME_DAYS.
MAX_ANSWER_AGE = timedelta(days=60)
MAX_TAKE_HOME_DAYS = 30


class BadAnswerOrigin(ValueError):
    """attempt_id, answered_at or clock_offset_ms is malformed."""


def attempt_id(value: Any) -> str | None:
    """The tablet's answer id as a canonical UUID string, None when absent; BadAnswerOrigin when malformed."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 64:
        raise BadAnswerOrigin("attempt_id must be a UUID")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise BadAnswerOrigin("attempt_id must be a UUID") from None


def _moment(value: Any) -> datetime | None:
    """An ISO 8601 time or milliseconds since 1970 (JavaScript's Date.now()), as aware UTC; None when absent."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise BadAnswerOrigin("answered_at must be an ISO 8601 time or milliseconds since 1970")
    try:
        if isinstance(value, int | float):
            if not math.isfinite(value):
                raise ValueError
            return datetime.fromtimestamp(float(value) / 1000, UTC)
        if isinstance(value, str) and len(value) <= 40:
            text = value.strip()
            moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
            return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        pass
    raise BadAnswerOrigin("answered_at must be an ISO 8601 time or milliseconds since 1970")


def clock_offset_ms(value: Any) -> float:
    """The box-minus-tablet clock offset a tablet measured (0 when it sends none); BadAnswerOrigin when malformed."""
    if value is None or value == "":
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or abs(value) > 10 * 365 * 86_400_000:
        raise BadAnswerOrigin("clock_offset_ms must be a number of milliseconds")
    return float(value)


def answer_time(answered_at: Any, offset_ms: Any, received: datetime) -> datetime:
    """When an answer was given, on the box's clock.

    answered_at is the tablet's own clock when the pupil tapped; offset_ms is box minus tablet, as the tablet
    measured it at its last contact with the box before that tap. The result is never later than when the box
    received the answer, nor more than MAX_ANSWER_AGE before; without answered_at it is the time received.
    """
    moment = _moment(answered_at)
    offset = clock_offset_ms(offset_ms)
    if moment is None:
        return received
    try:
        corrected = moment + timedelta(milliseconds=offset)
    except OverflowError:
        return received
    return min(received, max(received - MAX_ANSWER_AGE, corrected))


def iso(moment: datetime) -> str:
    """A time as attempts.ts stores it (UTC, microseconds)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def take_home_until(now: datetime, days: int) -> datetime:
    """The end of a take-home of `days` days marked now (on the box's clock)."""
    if not 1 <= int(days) <= MAX_TAKE_HOME_DAYS:
        raise ValueError(f"a take-home lasts 1 to {MAX_TAKE_HOME_DAYS} days")
    return now.astimezone(UTC) + timedelta(days=int(days))
