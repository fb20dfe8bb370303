"""Run `edge-server` with a SIGKILL at one named phase of a pack import: fault injection from the test side.

    python -m tests.crash_import PHASE pack import PACK --data D

The hooks wrap the functions the import calls at each step, so production code carries no test switch.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from typing import Any

PHASES = ("verified", "copying", "copied", "renamed", "in-transaction", "committed", "cleaned")


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _after(fn: Callable[..., Any], when: Callable[[int], bool]) -> Callable[..., Any]:
    """fn, then SIGKILL on the calls `when` picks (by 1-based call number)."""
    calls = 0

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        result = fn(*args, **kwargs)
        if when(calls):
            _die()
        return result

    return wrapper


def install(phase: str) -> None:
    """Arrange for this process to be killed at `phase` of its next pack import."""
    from edge_server import jobs, packs_import

    if phase not in PHASES:
        raise SystemExit(f"unknown phase {phase!r}: one of {', '.join(PHASES)}")
    if phase in ("verified", "cleaned"):  # leftovers are swept after verifying and again after the switch
        nth = 1 if phase == "verified" else 2
        packs_import._remove_leftovers = _after(packs_import._remove_leftovers, lambda n: n == nth)
    elif phase == "copying":  # the first file is in staging
        packs_import._stream = _after(packs_import._stream, lambda n: n == 1)
    elif phase in ("copied", "renamed"):  # staging is complete / has become the version folder
        rename = os.rename

        def staged_rename(src: Any, dst: Any) -> None:
            moving_staging = os.path.basename(os.fspath(src)).startswith(".import-")
            if moving_staging and phase == "copied":
                _die()
            rename(src, dst)
            if moving_staging:
                _die()

        packs_import.os.rename = staged_rename  # type: ignore[attr-defined]
    elif phase == "in-transaction":  # rows swapped, COMMIT not yet run
        jobs.queue_pipeline_jobs = _after(jobs.queue_pipeline_jobs, lambda n: True)
    else:  # committed: the activation transaction returned
        packs_import.write = _after(packs_import.write, lambda n: True)


def main() -> None:
    """Install the hook for argv[1], then run the edge-server CLI with the rest."""
    install(sys.argv[1])
    from edge_server.cli import main as cli

    sys.argv = ["edge-server", *sys.argv[2:]]
    cli()


if __name__ == "__main__":
    main()
