"""Real Chromium against a real `edge-server serve`: a teacher moves a chapter boundary of her recording; the pupil's
player and the companion's citation both use it; the pupil's watching reaches the lesson report."""

from __future__ import annotations

import pytest

from edge_server.store.db import connect, rows
from tests.e2e.box_server import log_in_pupil, log_in_teacher, prepare, serve
from tests.recording_fixtures import add_recording

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(400)]  # tests/e2e/conftest.py requires Chromium


def _pupil_page(browser):
    """A tablet's page without the offline service worker: these tests are about the player and the box, and with
    the worker a teacher's WAV recording sometimes stopped at once with MEDIA_ERR_NETWORK (2 of 6 fresh logins; the
    sample's OGG never did): an open issue of static/sw.js, not of what is tested here."""
    return browser.new_context(viewport={"width": 800, "height": 1280}, locale="en-GB",
                               service_workers="block").new_page()


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    root = tmp_path_factory.mktemp("edits-box")
    people = prepare(root / "var", root / "keys")
    lesson_id, _sha = add_recording(root / "var", people["teacher_id"])
    with serve(root / "var", root / "serve.log") as base:
        yield {"base": base, "lesson": lesson_id, "data": root / "var", **people}


def test_a_moved_chapter_boundary_is_what_the_pupils_player_and_the_companions_citation_use(box, browser):
    base, lesson = box["base"], box["lesson"]
    teacher = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="en-GB").new_page()
    log_in_teacher(teacher, base)
    teacher.goto(base + "/teacher/recordings/")
    teacher.get_by_role("link", name="Correct", exact=True).click()
    teacher.get_by_role("link", name="Chapters", exact=True).click()
    start = teacher.get_by_label("Start of chapter 2")
    assert start.input_value() == "0:06"
    # ⏱ writes the player's time into the field
    teacher.wait_for_function("() => document.getElementById('edit-media').readyState >= 1")
    teacher.evaluate("document.getElementById('edit-media').currentTime = 5")
    teacher.wait_for_function("() => Math.abs(document.getElementById('edit-media').currentTime - 5) < 0.01")
    teacher.get_by_role("button", name="Use the player’s time for chapter 2").click()
    assert start.input_value() == "0:05"
    teacher.get_by_label("Title of chapter 2").fill("Clouds form")
    teacher.get_by_role("button", name="Save the chapters").last.click()
    teacher.get_by_text("Chapters saved.").wait_for()
    assert teacher.get_by_label("Start of chapter 2").input_value() == "0:05"

    pupil = _pupil_page(browser)
    log_in_pupil(pupil, base, "Amina")
    pupil.goto(f"{base}/lesson/{lesson}")
    second = pupil.locator("#chapters a.chapter").nth(1)
    assert second.get_attribute("data-start") == "5.0" and second.inner_text().startswith("0:05")
    assert "Clouds form" in second.inner_text()
    pupil.wait_for_function("() => document.getElementById('media').readyState >= 1")
    second.click()
    pupil.wait_for_function("() => Math.abs(document.getElementById('media').currentTime - 5) < 0.5")

    pupil.fill("#companion-question", "How do clouds form?")
    pupil.get_by_role("button", name="Ask", exact=True).click()
    cite = pupil.locator(".companion-log li.a a.cite").first
    cite.wait_for(timeout=90_000)
    assert cite.get_attribute("href") == f"/lesson/{lesson}?t=5"
    assert cite.inner_text().endswith("Listen from 0:05")


def test_a_pupils_playing_and_replay_reach_the_lesson_report(box, browser):
    base, lesson = box["base"], box["lesson"]
    pupil = _pupil_page(browser)
    log_in_pupil(pupil, base, "Bao")
    pupil.goto(f"{base}/lesson/{lesson}")
    pupil.wait_for_function("() => document.getElementById('media').readyState >= 1")
    pupil.evaluate("document.getElementById('media').play()")
    pupil.wait_for_function("() => document.getElementById('media').currentTime > 4", timeout=60_000)
    pupil.evaluate("document.getElementById('media').currentTime = 1.5")  # back to a part already played
    pupil.wait_for_function("() => !document.getElementById('media').seeking")
    with pupil.expect_response(lambda r: r.url.endswith("/progress") and r.request.method == "POST") as beat:
        pupil.evaluate("document.getElementById('media').pause()")
    assert beat.value.ok
    watched = rows(connect(box["data"] / "box.db"), "SELECT furthest, seconds FROM lesson_watching "
                                                     "WHERE lesson_id = ? AND pupil_id = ?",
                   (lesson, box["pupils"]["Bao"]["id"]))
    # the furthest point is the last one the player saw played (it reports every ~250 ms)
    assert len(watched) == 1 and watched[0]["furthest"] > 3 and watched[0]["seconds"] > 2

    teacher = browser.new_context(viewport={"width": 800, "height": 1280}, locale="en-GB").new_page()
    log_in_teacher(teacher, base)
    teacher.goto(f"{base}/teacher/class/{box['class_id']}")
    teacher.get_by_role("link", name="Lesson reports").click()
    teacher.locator(f"a[href$='/reports/{lesson}']").click()
    row = teacher.locator("#pupils tr", has_text="Bao")
    assert "%" in row.inner_text()
    replayed = teacher.locator("#replayed li").first
    assert "Evaporation" in replayed.inner_text() and "1 replay" in replayed.inner_text()
