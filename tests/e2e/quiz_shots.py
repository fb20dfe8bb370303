"""Screenshots of the quiz pages (part of `make screenshots`, tests/e2e/screenshots.py): the builder, live results,
the projector, a pupil's home page with quizzes, a pupil answering and a pupil's released results, at tablet and
projector sizes in en, fr and zh.

Two quizzes are made through the pages first: one answered, closed and released, one open with some answers in.
"""

from __future__ import annotations

from pathlib import Path

from tests.e2e.box_server import log_in_pupil, log_in_teacher

RELEASED = ("What makes water evaporate from a lake?", "Which of these is NOT a kind of precipitation?",
            "What do we call water vapour turning back into tiny drops?")
LIVE = ("How many sides does a hexagon have?", "Which shape is NOT a polygon?",
        "An angle smaller than a right angle is called...", "How many degrees is a right angle?")


def _make_quiz(page, base: str, class_id: int, query: str, prompts: tuple[str, ...], title: str) -> str:
    """Build and open a quiz through the teacher's pages; its URL."""
    page.goto(f"{base}/teacher/class/{class_id}/quizzes?{query}")
    for prompt in prompts:
        page.locator("label.quiz-pick", has_text=prompt).locator("input").check()
    page.locator("input[name=title]").fill(title)
    page.locator("#quiz-builder form[method=post] button[type=submit]").click()
    page.wait_for_url("**/quizzes/*")
    url = page.url
    page.locator(".quiz-actions form button.go").click()  # open
    page.wait_for_url(url)
    return url


def _answer(browser, base: str, name: str, quiz_path: str, answers: dict[str, str]) -> None:
    """One pupil answers some questions: a choice's words, or what they type."""
    context = browser.new_context()
    page = context.new_page()
    log_in_pupil(page, base, name)
    page.goto(base + quiz_path)
    for exercise, answer in answers.items():
        form = page.locator(f"#q-{exercise}")
        if form.locator("label.choice").count():
            form.locator("label.choice", has_text=answer).click()
        else:
            form.locator("input[name=response]").fill(answer)
        form.locator("button[type=submit]").click()
        page.wait_for_function("id => document.querySelector('#q-' + id).classList.contains('saved')", arg=exercise)
    context.close()


def prepare_quizzes(browser, base: str, class_id: int) -> dict[str, str]:
    """The two quizzes the shots show: their teacher page URLs and pupil page paths."""
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="en-GB")
    page = context.new_page()
    log_in_teacher(page, base)
    released = _make_quiz(page, base, class_id, "lesson=water-cycle", RELEASED, "Water cycle check")
    released_path = "/quiz/" + released.rsplit("/", 1)[1]
    _answer(browser, base, "Amina", released_path,
            {"water-cycle-1": "The heat of the sun", "water-cycle-3": "Cloud", "water-cycle-2": "condensation"})
    _answer(browser, base, "Bao", released_path,
            {"water-cycle-1": "The wind stopping", "water-cycle-3": "Cloud", "water-cycle-2": "evaporation"})
    page.locator(".quiz-actions form button.go").click()  # close
    page.wait_for_url(released)
    page.locator(".quiz-actions form button.go").click()  # release
    page.wait_for_url(released)
    live = _make_quiz(page, base, class_id, "course=maths-primary", LIVE, "Shapes and angles")
    live_path = "/quiz/" + live.rsplit("/", 1)[1]
    _answer(browser, base, "Amina", live_path, {"shapes-and-angles-1": "6", "shapes-and-angles-2": "Circle",
                                                 "shapes-and-angles-3": "Acute", "shapes-and-angles-4": "90"})
    _answer(browser, base, "Bao", live_path, {"shapes-and-angles-1": "8", "shapes-and-angles-2": "Circle"})
    context.close()
    return {"released": released, "released_path": released_path, "live": live, "live_path": live_path}


def quiz_shots(browser, base: str, class_id: int, sizes: dict[str, tuple[int, int]], locales: dict[str, str],
               out: Path) -> list[Path]:
    """Every quiz page at every size in every language; the PNGs written."""
    quizzes = prepare_quizzes(browser, base, class_id)
    shots: list[Path] = []
    for lang, locale in locales.items():
        for size, (width, height) in sizes.items():
            def shot(page, name: str, size: str = size, lang: str = lang) -> None:
                path = out / f"{name}-{size}-{lang}.png"
                page.screenshot(path=str(path))
                shots.append(path)

            teacher = browser.new_context(viewport={"width": width, "height": height}, locale=locale)
            page = teacher.new_page()
            log_in_teacher_in(page, base)
            page.goto(f"{base}/teacher/class/{class_id}/quizzes?lesson=water-cycle")
            page.locator("label.quiz-pick input").first.check()
            page.evaluate("document.getElementById('quiz-builder').scrollIntoView()")
            shot(page, "quiz-builder")
            page.goto(quizzes["live"])
            shot(page, "quiz-results")
            if size == "projector":
                page.goto(quizzes["live"] + "/present")
                shot(page, "quiz-present")
            teacher.close()
            pupil = browser.new_context(viewport={"width": width, "height": height}, locale=locale)
            tablet = pupil.new_page()
            log_in_pupil(tablet, base, "Bao")
            shot(tablet, "quiz-pupil-home")  # the open quiz and the released results on the pupil's lessons page
            tablet.goto(base + quizzes["live_path"])
            tablet.locator("#q-shapes-and-angles-3 label.choice").nth(2).click()
            shot(tablet, "quiz-pupil")
            tablet.goto(base + quizzes["released_path"])
            shot(tablet, "quiz-pupil-results")
            pupil.close()
    return shots


def log_in_teacher_in(page, base: str) -> None:
    """The teacher's login form, whatever the page's language (box_server.log_in_teacher reads English labels)."""
    from tests.e2e.pages_data import TEACHER

    page.goto(f"{base}/teacher/login")
    page.locator("input[name=username]").fill(TEACHER[0])
    page.locator("input[name=password]").fill(TEACHER[1])
    page.locator("form button[type=submit]").click()
    page.wait_for_url("**/teacher/")
