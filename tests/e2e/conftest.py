"""Fixtures of the browser tests: one headless Debian Chromium per module."""

from __future__ import annotations

import pytest

from tests.e2e.box_server import CHROMIUM, CHROMIUM_ARGS
from tests.requirements import require_chromium


@pytest.fixture(scope="module", autouse=True)
def _needs_chromium() -> None:
    """Every test here drives Debian's Chromium; without it each one fails, saying how to install it."""
    require_chromium()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
