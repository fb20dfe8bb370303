"""Real Chromium against a real `edge-server serve`: a pupil learns, the teacher sees it; pages in three languages."""

from __future__ import annotations

import pytest

from tests.e2e.box_server import prepare, serve
from tests.e2e.pages_data import CLASS_NAME, TEACHER

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]  # tests/e2e/conftest.py requires Chromium


@pytest.fixture(scope="module")
def box(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("browser-box")
    prepare(root / "var", root / "keys")
    with serve(root / "var", root / "serve.log") as base:
        yield base


def csp_violations(page) -> list[str]:
    """Console messages of the page that mention the Content-Security-Policy (Chromium logs each blocked script,
    style, image or medium there), collected from now on."""
    found: list[str] = []
    page.on("console", lambda message: found.append(message.text) if "Content Security Policy" in message.text
            else None)
    return found


def test_a_pupil_logs_in_plays_a_lesson_with_range_requests_answers_and_the_teacher_sees_the_answer(box, browser):
    pupil = browser.new_context(viewport={"width": 800, "height": 1280}, locale="en-GB")
    page = pupil.new_page()
    blocked = csp_violations(page)
    media_responses = []
    page.on("response", lambda r: media_responses.append(r) if "/media/" in r.url else None)

    page.goto(box + "/")
    page.get_by_role("link", name=CLASS_NAME).click()
    page.get_by_role("link", name="Amina").click()
    for digit in "1234":  # the keypad submits by itself after the fourth digit
        page.locator(f'.key[data-key="{digit}"]').click()
    page.wait_for_url("**/lessons")
    page.get_by_role("link", name="The water cycle").click()
    page.wait_for_url("**/lesson/water-cycle")

    page.locator("#chapters a.chapter", has_text="Condensation").click()  # seeks to 21.3 s and plays
    page.wait_for_function("() => document.getElementById('media').currentTime > 22.5", timeout=20_000)
    assert page.locator("#chapters a.chapter[aria-current=true]").inner_text().endswith("Condensation")
    partial = [r for r in media_responses if r.status == 206]
    assert partial, [(r.url, r.status) for r in media_responses]
    assert partial[0].headers["content-range"].startswith("bytes ")
    assert partial[0].request.headers.get("range", "").startswith("bytes=")

    page.get_by_role("button", name="Captions: off").click()  # an audio lesson: the cue is written under it
    page.wait_for_function("() => document.getElementById('caption-line').textContent.includes('vapour')")

    exercise = page.locator("#ex-water-cycle-1")
    exercise.get_by_role("button", name="Fish swimming").click()
    page.wait_for_function("() => document.querySelector('#ex-water-cycle-1 .feedback').textContent.length > 0")
    assert "Not quite" in exercise.locator(".feedback").inner_text()
    assert exercise.locator(".hint").is_visible()
    exercise.get_by_role("button", name="The heat of the sun").click()
    page.wait_for_function("() => document.querySelector('#ex-water-cycle-1').classList.contains('right')")
    assert "Well done" in exercise.locator(".feedback").inner_text()
    assert blocked == []
    pupil.close()

    teacher = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="en-GB")
    page = teacher.new_page()
    blocked = csp_violations(page)
    page.goto(box + "/teacher/login")
    page.get_by_label("Username").fill(TEACHER[0])
    page.get_by_label("Password").fill(TEACHER[1])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/teacher/")
    page.get_by_role("link", name=CLASS_NAME).click()
    rows = page.locator("table.attempts tbody tr")
    assert rows.count() == 2
    newest = rows.nth(0).inner_text()
    assert "Amina" in newest and "What makes water evaporate from a lake?" in newest and "right" in newest
    assert "wrong" in rows.nth(1).inner_text()
    # pages with <style> blocks and their own scripts, under the page policy
    for path in ("/teacher/recordings/", "/teacher/admin", "/teacher/companion"):
        assert page.goto(box + path).ok, path  # waits for the load event: scripts and styles have run
    assert blocked == []
    teacher.close()


def test_a_teacher_presents_a_lesson_and_moves_between_chapters_with_the_keyboard(box, browser):
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="en-GB")
    page = context.new_page()
    blocked = csp_violations(page)
    page.goto(box + "/teacher/login")
    page.get_by_label("Username").fill(TEACHER[0])
    page.get_by_label("Password").fill(TEACHER[1])
    page.get_by_role("button", name="Log in").click()
    page.goto(box + "/present/water-cycle")
    assert page.locator(".qr svg").is_visible()
    page.wait_for_function("() => document.getElementById('media').readyState >= 1")
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.getElementById('media').currentTime >= 21")
    page.keyboard.press("PageDown")
    page.wait_for_function("() => document.getElementById('media').currentTime >= 40.7")
    page.keyboard.press("PageUp")
    page.wait_for_function("() => (t => t >= 21 && t < 40)(document.getElementById('media').currentTime)")
    assert blocked == []  # the inline SVG QR code and the presenter's keys work under the page policy
    context.close()


@pytest.mark.parametrize(("locale", "texts"), [
    ("zh-CN", ["选择你的班级", "老师：在这里登录"]),
    ("fr-FR", ["Choisis ta classe", "Enseignants : connectez-vous ici"]),
])
def test_chinese_and_french_browsers_get_translated_pages_and_the_switcher_changes_language(box, browser, locale,
                                                                                            texts):
    context = browser.new_context(locale=locale)
    page = context.new_page()
    page.goto(box + "/")
    body = page.locator("main").inner_text()
    for text in texts:
        assert text in body
    page.get_by_role("link", name="English").click()
    assert page.locator("h1").inner_text() == "Choose your class"
    page.goto(box + "/teacher/login")
    assert page.locator("h1").inner_text() == "Teacher login"  # the choice stays for the session
    context.close()
