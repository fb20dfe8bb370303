"""Pupils' PIN tries: counted before the PIN is checked, per pupil, tablet, class and box, with growing lockouts.

A try is taken on every counter that applies in one immediate transaction of box.db (all or none), before the
~50 ms PIN hash: however many requests arrive at once, in however many worker processes, at most the limit of
them reach the check. A right PIN gives its try back, so a pupil who types it right is never slowed down; a
wrong one keeps it. The pupil's fifth wrong PIN locks that pupil out for 1 minute, the next time 5, then 15,
then 60 (forgotten a day after the last lockout, at a right PIN or when the teacher resets the PIN), and leaves
an alert for the teacher. The class and the box have ceilings too, short ones (minutes) that a teacher can lift
at once from the class page: a prankster can slow a class down, not lock it out for a lesson.

Those figures are the defaults of the box's settings (pin_* in config.toml, edge_server.settings.Settings), passed
down as PinLimits.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from edge_server.settings import Settings
from edge_server.store import people, rate_limits
from edge_server.store.db import rows, write

ALERTS_SHOWN_S = 24 * 3600


@dataclass(frozen=True)
class PinLimits:
    """(tries, window in seconds) per pupil, tablet, class and box (a try counts until it turns out right); the
    pupil's lockouts in seconds, growing at each one (the last repeats), forgotten forget_lockouts_s after the last."""

    per_pupil: tuple[int, int]
    per_tablet: tuple[int, int]
    per_class: tuple[int, int]
    per_box: tuple[int, int]
    lockouts_s: tuple[int, ...]
    forget_lockouts_s: int

    @classmethod
    def from_settings(cls, settings: Settings) -> PinLimits:
        """The box's limits (pin_* settings); ValueError naming the setting when one makes no sense."""
        limits = cls(per_pupil=(settings.pin_pupil_tries, settings.pin_pupil_window_s),
                     per_tablet=(settings.pin_tablet_tries, settings.pin_tablet_window_s),
                     per_class=(settings.pin_class_tries, settings.pin_class_window_s),
                     per_box=(settings.pin_box_tries, settings.pin_box_window_s),
                     lockouts_s=tuple(settings.pin_lockouts_s), forget_lockouts_s=settings.pin_forget_lockouts_s)
        for scope in ("pupil", "tablet", "class", "box"):
            tries, window = getattr(limits, f"per_{scope}")
            if int(tries) < 1 or int(window) < 1:
                raise ValueError(f"pin_{scope}_tries and pin_{scope}_window_s must be 1 or more (got {tries}, "
                                 f"{window})")
        if not limits.lockouts_s or min(limits.lockouts_s) < 1 or limits.forget_lockouts_s < 1:
            raise ValueError("pin_lockouts_s must list lockouts of 1 second or more, pin_forget_lockouts_s be positive")
        return limits


def pupil_key(ref: str) -> str:
    return f"pin/account/{ref}"


def tablet_key(address: str) -> str:
    return f"pin/ip/{address}"


def class_key(class_id: int) -> str:
    return f"pin/class/{class_id}"


BOX_KEY = "pin/box"


@dataclass(frozen=True)
class Try:
    """A try taken on these counters, to give back (right PIN) or keep (wrong PIN)."""

    pupil: dict[str, Any]
    keys: tuple[str, ...]


@dataclass(frozen=True)
class Blocked:
    """No try left: who is waiting (pupil, tablet, class or box) and for how many seconds."""

    scope: str
    wait_s: float


class _Full(Exception):
    def __init__(self, blocked: Blocked) -> None:
        super().__init__(blocked.scope)
        self.blocked = blocked


def _counters(pupil: dict[str, Any], address: str, limits: PinLimits) -> list[tuple[str, str, tuple[int, int]]]:
    counters = [("pupil", pupil_key(pupil["ref"]), limits.per_pupil),
                ("tablet", tablet_key(address), limits.per_tablet)]
    if pupil.get("class_id") is not None:
        counters.append(("class", class_key(pupil["class_id"]), limits.per_class))
    counters.append(("box", BOX_KEY, limits.per_box))
    return counters


def begin(db: sqlite_utils.Database, pupil: dict[str, Any], address: str, limits: PinLimits,
          now: float | None = None) -> Try | Blocked:
    """Take one try for this pupil from this address, or say who has none left (then nothing is counted)."""
    now = time.time() if now is None else now
    counters = _counters(pupil, address, limits)

    def take(tx: sqlite_utils.Database) -> Try:
        conn = tx.conn
        lock = people.lockout(tx, pupil["id"])
        if lock and lock[1] > now:
            raise _Full(Blocked("pupil", lock[1] - now))
        for scope, key, (limit, window) in counters:
            taken, ends = rate_limits.hit(conn, key, window, now)
            if taken > limit:
                raise _Full(Blocked(scope, ends - now))  # rolls every counter of this try back
        return Try(pupil, tuple(key for _, key, _ in counters))

    try:
        return write(db, take)
    except _Full as full:
        return full.blocked


def succeeded(db: sqlite_utils.Database, attempt: Try, now: float | None = None) -> None:
    """A right PIN: give the try back and forget the pupil's lockouts."""
    now = time.time() if now is None else now

    def undo(tx: sqlite_utils.Database) -> None:
        rate_limits.give_back(tx.conn, list(attempt.keys), now)
        people.lift_lockout(tx, attempt.pupil["id"])

    write(db, undo)


def _alert(db: sqlite_utils.Database, kind: str, class_id: int | None, pupil_id: int | None, now: float,
           quiet_s: float) -> None:
    """One alert per pupil, class or box per quiet_s, however many wrong PINs follow."""
    if not people.has_open_alert(db, kind, class_id, pupil_id, now - quiet_s):
        people.add_login_alert(db, kind, class_id, pupil_id, now)


def failed(db: sqlite_utils.Database, attempt: Try, limits: PinLimits, now: float | None = None) -> None:
    """A wrong PIN: the try stays counted; at the pupil's limit a lockout (longer each time) and an alert."""
    now = time.time() if now is None else now
    pupil = attempt.pupil
    class_id = pupil.get("class_id")

    def judge(tx: sqlite_utils.Database) -> None:
        conn = tx.conn
        lockouts = limits.lockouts_s
        if rate_limits.count(conn, pupil_key(pupil["ref"]), now) >= limits.per_pupil[0]:
            lock = people.lockout(tx, pupil["id"])
            if lock is None or lock[1] <= now:  # tries that were in flight together lock the pupil out once
                level = lock[0] if lock is not None and lock[1] > now - limits.forget_lockouts_s else 0
                until = now + lockouts[min(level, len(lockouts) - 1)]
                people.set_lockout(tx, pupil["id"], level + 1, until)
                _alert(tx, "pupil", class_id, pupil["id"], now, lockouts[0])
        if class_id is not None and rate_limits.count(conn, class_key(class_id), now) >= limits.per_class[0]:
            _alert(tx, "class", class_id, None, now, limits.per_class[1])
        if rate_limits.count(conn, BOX_KEY, now) >= limits.per_box[0]:
            _alert(tx, "box", None, None, now, limits.per_box[1])

    write(db, judge)


def clear_pupil(db: sqlite_utils.Database, pupil: dict[str, Any], now: float | None = None) -> None:
    """The teacher gave the pupil a new PIN: no lockout, no counted tries, the pupil's alerts seen."""
    now = time.time() if now is None else now

    def clear(tx: sqlite_utils.Database) -> None:
        rate_limits.clear(tx.conn, [pupil_key(pupil["ref"])])
        people.lift_lockout(tx, pupil["id"])
        people.clear_pupil_alerts(tx, pupil["id"], now)

    write(db, clear)


def open_class(db: sqlite_utils.Database, class_id: int, now: float | None = None) -> None:
    """The teacher lets the class log in again: the class and box ceilings and its pupils' lockouts lifted."""
    now = time.time() if now is None else now

    def clear(tx: sqlite_utils.Database) -> None:
        refs = [r["ref"] for r in rows(tx, "SELECT ref FROM pupils WHERE class_id = ?", (class_id,))]
        rate_limits.clear(tx.conn, [class_key(class_id), BOX_KEY, *map(pupil_key, refs)])
        people.lift_class_lockouts(tx, class_id)
        people.clear_class_alerts(tx, class_id, now)

    write(db, clear)


def alerts(db: sqlite_utils.Database, class_id: int | None = None, now: float | None = None) -> list[dict[str, Any]]:
    """The last day's alerts not yet dealt with, newest first (of one class and the box's, when class_id is given):
    kind (pupil, class, box), pupil and class names, created (epoch) and time (HH:MM, the box's local time)."""
    now = time.time() if now is None else now
    where = "" if class_id is None else "AND (a.class_id = :class_id OR a.kind = 'box') "
    found = rows(db, "SELECT a.id, a.kind, a.class_id, a.pupil_id, a.created, p.name AS pupil, c.name AS class "
                     "FROM login_alerts a LEFT JOIN pupils p ON p.id = a.pupil_id "
                     "LEFT JOIN classes c ON c.id = a.class_id "
                     f"WHERE a.cleared IS NULL AND a.created > :since {where}ORDER BY a.created DESC LIMIT 20",
                 {"since": now - ALERTS_SHOWN_S, "class_id": class_id})
    for alert in found:
        alert["time"] = time.strftime("%H:%M", time.localtime(alert["created"]))
    return found


def wait_minutes(blocked: Blocked) -> int:
    """The wait rounded up to whole minutes (at least one)."""
    return max(1, -(-int(blocked.wait_s) // 60))
