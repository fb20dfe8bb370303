"""Real Chromium plays a medium longer than one capped range part, served by a real `edge-server serve`."""

from __future__ import annotations

import time
import wave
from pathlib import Path

import numpy as np
import pytest

from edge_server.web.media import OPEN_RANGE_CAP
from tests.e2e.box_server import CHROMIUM, CHROMIUM_ARGS
from tests.integration.test_media_serve import CHANNEL, make_box, serve
from tests.requirements import require_chromium

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture(scope="module", autouse=True)
def _needs_chromium() -> None:
    require_chromium()


SECONDS = 60
RATE = 44100


def write_wav(path: Path) -> int:
    """A 60 s stereo 16-bit tone (about 10 MB, many capped parts); returns its size."""
    t = np.arange(SECONDS * RATE) / RATE
    tone = (np.sin(2 * np.pi * 440 * t) * 8000).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(np.repeat(tone, 2).tobytes())
    return path.stat().st_size


def test_chromium_plays_on_across_capped_open_ended_ranges(tmp_path):
    from playwright.sync_api import sync_playwright

    data = make_box(tmp_path, b"x")
    size = write_wav(data / "content" / CHANNEL / "v2" / "media" / "tone.wav")
    assert size > 5 * OPEN_RANGE_CAP
    with serve(data, env={"EDGE_SERVER_SCHEDULER_ENABLED": "0"}) as (_proc, started), sync_playwright() as p:
        base = f"http://127.0.0.1:{started['port']}"
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(base + "/api/v1/health")
            page.set_content(f'<audio id="a" src="{base}/media/{CHANNEL}/media/tone.wav"></audio>')
            page.wait_for_function("() => document.getElementById('a').readyState >= 1", timeout=30_000)
            assert page.evaluate("document.getElementById('a').duration") == pytest.approx(SECONDS, abs=0.1)
            page.evaluate("(() => { const a = document.getElementById('a'); a.playbackRate = 16; a.play(); })()")
            # Past 3 MiB of audio (about 18 s) means at least four capped parts were fetched and played.
            deadline = time.monotonic() + 60
            while page.evaluate("document.getElementById('a').currentTime") < 20:
                assert page.evaluate("document.getElementById('a').error") is None
                assert time.monotonic() < deadline, "playback stalled"
                time.sleep(0.2)
        finally:
            browser.close()
