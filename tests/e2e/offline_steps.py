"""Steps of the offline-tablet browser tests: a pupil's lesson kept by the service worker, the tablet's status line."""

from __future__ import annotations

LESSON = "water-cycle"


def status_says(page, text: str, timeout: float = 60_000) -> None:
    """Wait until the tablet's status line says this (null-safe: the check also runs while a page loads)."""
    page.wait_for_function("(text) => ((document.getElementById('tablet-status') || {}).textContent || '')"
                           ".includes(text)", arg=text, timeout=timeout)


def open_kept_lesson(page, base: str) -> None:
    """Open the lesson and wait until the service worker keeps it (page, documents and its audio)."""
    page.goto(f"{base}/lesson/{LESSON}")
    status_says(page, "This lesson works without the box")
    kept = page.evaluate("async () => (await (await caches.open('box-media')).keys()).map(r => r.url)")
    assert any(url.endswith("/water-cycle.ogg") for url in kept), kept
