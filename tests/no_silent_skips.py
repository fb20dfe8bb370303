"""A pytest plugin: a skip whose reason does not name the GPU is a failure, so no test goes missing silently.

tests/conftest.py loads these hooks for the whole suite. A missing dependency must fail with what is missing and
how to install it (see tests/requirements.py); only tests that need a GPU may skip, with a reason that says so.
xfail results are left alone.
"""

from __future__ import annotations

import re

import pytest

GPU_REASON = re.compile(r"gpu|cuda", re.IGNORECASE)


def _reason(longrepr) -> str:
    """The reason of a skip report: its longrepr is (path, lineno, "Skipped: reason")."""
    text = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return text.removeprefix("Skipped: ")


def _fail_unless_gpu(report) -> None:
    if not report.skipped or hasattr(report, "wasxfail"):
        return
    reason = _reason(report.longrepr)
    if GPU_REASON.search(reason):
        return
    report.outcome = "failed"
    report.longrepr = (f"skipped without a GPU reason: {reason} "
                       "(a missing dependency must fail, see tests/requirements.py)")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    _fail_unless_gpu(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector):
    report = yield
    _fail_unless_gpu(report)  # a module-level skip fails its module's collection
    return report
