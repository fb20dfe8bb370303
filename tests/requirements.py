"""What a test needs from the machine: a missing dependency fails the test with one line saying how to install it.

Nothing here skips. A test that cannot find rsync, sshd, nginx, wrk, Chromium, espeak-ng, Ralph's venv or a model
fails (pytrace=False, so the report is that one line); only GPU tests may skip, with a reason naming the GPU
(tests/no_silent_skips.py turns every other skip into a failure).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

SYSTEM_DEPS = "run `make system-deps` (as root)"


def missing(message: str) -> None:
    """Fail the current test (or fixture) with one line and no traceback."""
    pytest.fail(message, pytrace=False)


def require_tool(name: str, install_hint: str | None = None) -> str:
    """The path of the executable `name` on PATH; fails when it is not installed."""
    found = shutil.which(name)
    if found is None:
        missing(f"{name} is not installed: {install_hint or f'{SYSTEM_DEPS} or apt-get install {name}'}")
    return found


def require_path(path: str | Path, what: str, hint: str) -> Path:
    """path, which must exist; fails with what is missing and the hint on how to get it."""
    path = Path(path)
    if not path.exists():
        missing(f"{what} is missing ({path}): {hint}")
    return path


def require_ralph() -> None:
    """Ralph LRS in its own virtual environment (.ralph-venv), as `make ralph` creates it."""
    from tests.lrs import RALPH_VENV, ralph_available

    if not ralph_available():
        missing(f"Ralph LRS's venv is missing ({RALPH_VENV}): run `make ralph`")


def require_rsync() -> str:
    return require_tool("rsync", f"{SYSTEM_DEPS} or apt-get install rsync")


def require_ssh_keygen() -> str:
    return require_tool("ssh-keygen", f"{SYSTEM_DEPS} or apt-get install openssh-client")


def require_nginx() -> str:
    return require_tool("nginx", f"{SYSTEM_DEPS} or apt-get install nginx-light")


def require_chromium() -> Path:
    """Debian's Chromium, which the browser tests drive through Playwright."""
    from tests.e2e.box_server import CHROMIUM

    return require_path(CHROMIUM, "Debian chromium", f"{SYSTEM_DEPS} or apt-get install chromium")


def require_espeak() -> str:
    """espeak-ng, which speaks the test clips."""
    return require_tool("espeak-ng", f"{SYSTEM_DEPS} or apt-get install espeak-ng")
