"""Test only: this Python process's wall clock runs EDGE_TEST_CLOCK_SHIFT_S seconds ahead (time.time, time.time_ns,
datetime.now, utcnow, today). tests/e2e/test_offline_tablet_browser.py puts this folder first on PYTHONPATH of a box
it starts, so that the box (its web workers, sessions, take-home windows, answer times) lives a day later, as a box
switched on the next morning would. Nothing here is imported by the box itself."""

from __future__ import annotations

import datetime as _datetime
import os
import time as _time

SHIFT_S = float(os.environ.get("EDGE_TEST_CLOCK_SHIFT_S") or 0)

if SHIFT_S:
    _real_time, _real_time_ns = _time.time, _time.time_ns
    _time.time = lambda: _real_time() + SHIFT_S
    _time.time_ns = lambda: _real_time_ns() + int(SHIFT_S * 1e9)

    class _ShiftedDatetime(_datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            return cls.fromtimestamp(_time.time(), tz)

        @classmethod
        def utcnow(cls):
            return cls.fromtimestamp(_time.time(), _datetime.UTC).replace(tzinfo=None)

        @classmethod
        def today(cls):
            return cls.fromtimestamp(_time.time())

    _datetime.datetime = _ShiftedDatetime
