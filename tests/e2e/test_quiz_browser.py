"""Real Chromium against a real `edge-server serve`: a teacher builds a quiz, opens it and puts it on the projector;
three pupils on three tablets answer at the same moment; the teacher watches the results come in, closes the quiz
and releases the results; each pupil sees their own."""

from __future__ import annotations

from datetime import datetime

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from edge_server.store.db import connect, rows
from tests.e2e.box_server import log_in_pupil, log_in_teacher, prepare, serve
from tests.e2e.pages_data import CLASS_NAME

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]  # tests/e2e/conftest.py requires Chromium

TITLE = "Water cycle check"
QUESTIONS = {"water-cycle-1": "What makes water evaporate from a lake?",
             "water-cycle-2": "What do we call water vapour turning back into tiny drops?",
             "water-cycle-5": "The water cycle in the lesson has how many stages?"}
# Each pupil's answers (a choice's words, or what they type) and how many are right.
ANSWERS = {"Amina": ("The heat of the sun", "condensation", "4"),
           "Bao": ("Fish swimming", "Condensation", "5"),
           "Chloé": ("The heat of the sun", "evaporation", "4")}
RIGHT = {"Amina": 3, "Bao": 1, "Chloé": 2}


def csp_violations(page) -> list[str]:
    """Console messages of the page about the Content-Security-Policy (a blocked script, style or image)."""
    found: list[str] = []
    page.on("console", lambda message: found.append(message.text) if "Content Security Policy" in message.text
            else None)
    return found


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    root = tmp_path_factory.mktemp("quiz-box")
    people = prepare(root / "var", root / "keys")
    with serve(root / "var", root / "serve.log") as base:
        yield base, people, root / "var"


def fill_in(page, name: str) -> None:
    """Give every answer of this pupil without sending it."""
    choice, text, number = ANSWERS[name]
    page.locator("#q-water-cycle-1 label.choice", has_text=choice).click()
    page.locator("#q-water-cycle-2 input[name=response]").fill(text)
    page.locator("#q-water-cycle-5 input[name=response]").fill(number)


def test_a_quiz_goes_from_creation_to_released_results_with_three_pupils_answering_at_once(box, browser):
    base, people, data = box
    teacher = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="en-GB")
    teacher.set_default_timeout(60_000)
    page = teacher.new_page()
    blocked = csp_violations(page)
    log_in_teacher(page, base)
    page.get_by_role("link", name=CLASS_NAME).click()
    page.get_by_role("link", name="Quizzes", exact=True).click()
    page.locator("select[name=lesson]").select_option("water-cycle")
    page.get_by_role("button", name="Show exercises").click()
    page.wait_for_url("**/quizzes?**lesson=water-cycle**")
    assert page.locator("label.quiz-pick").count() == 5
    for prompt in QUESTIONS.values():
        page.locator("label.quiz-pick", has_text=prompt).locator("input").check()
    page.get_by_label("Title").fill(TITLE)
    page.get_by_role("button", name="Create the quiz").click()
    page.wait_for_url("**/quizzes/*")
    quiz_url = page.url
    assert page.locator("#quiz-state").inner_text() == "Draft"
    page.get_by_role("button", name="Open the quiz").click()
    page.wait_for_url(quiz_url)
    assert page.locator("#quiz-state").inner_text() == "Open now"

    projector = teacher.new_page()
    blocked += csp_violations(projector)
    projector.goto(quiz_url + "/present")
    assert projector.locator(".qr svg").count() == 1 and "/quiz/" in projector.locator(".join strong").inner_text()
    assert projector.locator("#present-count").inner_text() == "0 / 3"

    pupils, replies = {}, []
    for name in ANSWERS:
        context = browser.new_context(viewport={"width": 800, "height": 1280}, locale="en-GB")
        context.set_default_timeout(60_000)  # this test machine's two cores are shared: logins can wait
        tablet = context.new_page()
        blocked += csp_violations(tablet)
        tablet.on("response", lambda r, name=name: replies.append((name, r.url.rsplit("/", 1)[1], r.status))
                  if r.url.endswith("/answer") else None)
        log_in_pupil(tablet, base, name)
        tablet.get_by_role("link", name=TITLE).click()
        tablet.wait_for_url("**/quiz/*")
        fill_in(tablet, name)
        pupils[name] = (context, tablet)

    # Every pupil sends every answer at the same moment on the shared clock: nine answers reach the box together.
    moment = pupils["Amina"][1].evaluate("Date.now() + 800")
    for _context, tablet in pupils.values():
        tablet.evaluate("""([ids, at]) => ids.forEach(id =>
            setTimeout(() => document.getElementById('q-' + id).requestSubmit(), at - Date.now()))""",
                        [list(QUESTIONS), moment])
    for name, (_context, tablet) in pupils.items():
        try:
            # each answer is an fsync'd transaction (synchronous = FULL): slow when the disk is busy
            tablet.wait_for_function("() => document.querySelectorAll('form.quiz-item.saved').length === 3",
                                     timeout=60_000)
        except PlaywrightTimeout:
            pytest.fail(f"{name}'s answers: {tablet.locator('.quiz-status').all_inner_texts()}; replies: {replies}")
        assert tablet.locator(".quiz-status", has_text="Answer saved.").count() == 3
        assert tablet.locator("text=Well done").count() == 0  # nothing said about right or wrong yet

    # The teacher's page and the projector follow the answers without a reload.
    page.wait_for_function("() => document.getElementById('quiz-live').textContent.includes("
                           "'3 of 3 pupils have answered, 3 finished')", timeout=30_000)
    for name, right in RIGHT.items():
        row = page.locator("#by-pupil tr", has_text=name)
        assert row.locator(".score").inner_text() == f"{right} / 3"
    assert page.locator("#by-pupil tr", has_text="Bao").locator(".mark").all_inner_texts() == ["✗", "✓", "✗"]
    first = page.locator('#by-question tr[data-position="1"]')
    assert first.locator(".answered").inner_text() == "3" and first.locator(".right-pct").inner_text() == "67%"
    assert first.locator(".wrong-answer").inner_text() == "Fish swimming"
    projector.wait_for_function("() => document.getElementById('present-count').textContent === '3 / 3'",
                                timeout=30_000)

    page.get_by_role("button", name="Close the quiz").click()
    page.wait_for_url(quiz_url)
    assert page.locator("#quiz-state").inner_text() == "Closed"
    for _context, tablet in pupils.values():  # each tablet notices and shows the quiz closed
        tablet.wait_for_selector("#quiz-closed", timeout=30_000)
    late = pupils["Bao"][1].evaluate("""url => fetch(url, {method: 'POST', headers: {'Content-Type': 'application/json',
        'X-CSRFToken': document.querySelector('meta[name=csrf-token]').content},
        body: JSON.stringify({exercise_id: 'water-cycle-1', response: '0'})}).then(r => r.status)""",
                                     pupils["Bao"][1].url + "/answer")
    assert late == 409

    page.get_by_role("button", name="Release the results to the pupils").click()
    page.wait_for_url(quiz_url)
    assert page.locator("#quiz-state").inner_text() == "Results released"
    for name, (_context, tablet) in pupils.items():
        tablet.wait_for_selector("#quiz-score", timeout=30_000)
        assert tablet.locator("#quiz-score").inner_text() == f"You got {RIGHT[name]} of 3 right!"
    bao = pupils["Bao"][1]
    assert bao.locator(".quiz-own li.wrong").count() == 2
    assert "Think about what warms the water." in bao.locator(".quiz-own").inner_text()
    assert "Think about" not in pupils["Amina"][1].locator(".quiz-own").inner_text()
    projector.wait_for_function("() => document.getElementById('present-state').textContent === 'Results released'",
                                timeout=30_000)
    assert "67% right" in projector.locator('li[data-position="1"] .present-stat').inner_text()
    assert blocked == []

    # The quiz's answers are the pupils' attempts: nine of them, one per pupil and question, folded into mastery.
    db = connect(data / "box.db")
    made = rows(db, "SELECT p.name, a.item, a.correct, a.received_at FROM attempts a "
                    "JOIN pupils p ON p.id = a.pupil_id JOIN quiz_answers q ON q.attempt_id = a.id")
    mastery = rows(db, "SELECT p.name, m.knowledge_point, m.attempts FROM mastery m JOIN pupils p ON p.id = m.pupil_id")
    db.conn.close()
    assert len(made) == 9 and {(r["name"], r["item"]) for r in made} == {(n, q) for n in ANSWERS for q in QUESTIONS}
    assert {name: sum(r["correct"] for r in made if r["name"] == name) for name in ANSWERS} == RIGHT
    received = sorted(datetime.fromisoformat(r["received_at"]) for r in made)
    assert (received[-1] - received[0]).total_seconds() < 3  # they did come in together
    assert {(r["name"], r["knowledge_point"]): r["attempts"] for r in mastery} == {
        (n, kp): count for n in ANSWERS for kp, count in (("sci.water.evaporation", 2), ("sci.water.condensation", 1))}
    for context, _tablet in pupils.values():
        context.close()
    teacher.close()
