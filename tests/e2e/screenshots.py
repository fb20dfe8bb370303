"""`make screenshots`: the main pages at tablet (800x1280) and projector (1920x1080) sizes, in English and Chinese
(quiz pages in French too).

Runs a real `edge-server serve` over a fresh data dir with the sample course and drives Debian's Chromium.
PNGs go to screenshots/ (or --out); --docs also copies the ones docs/pages.md shows into docs/img/.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.e2e.box_server import CHROMIUM, CHROMIUM_ARGS, prepare, serve
from tests.e2e.pages_data import CLASS_NAME, TEACHER
from tests.e2e.recording_shots import DOC_SHOTS as RECORDING_DOC_SHOTS

SIZES = {"tablet": (800, 1280), "projector": (1920, 1080)}
LOCALES = {"en": "en-GB", "zh": "zh-CN"}
DOC_SHOTS = {("pupil-home", "tablet", "en"), ("lesson-player", "tablet", "en"), ("exercise", "tablet", "zh"),
             ("teacher-class", "projector", "en"), ("presenter", "projector", "en"),
             ("lesson-player", "projector", "zh")}
# Quiz pages (tests/e2e/quiz_shots.py) are shot in French too.
QUIZ_LOCALES = {"en": "en-GB", "fr": "fr-FR", "zh": "zh-CN"}
DOC_SHOTS |= {("quiz-results", "projector", "en"), ("quiz-present", "projector", "zh"),
              ("quiz-builder", "tablet", "en"), ("quiz-pupil", "tablet", "fr"), ("quiz-pupil-results", "tablet", "zh"),
              ("quiz-pupil-home", "tablet", "fr")}
# Roster and teacher pages (tests/e2e/roster_shots.py), in en, fr and zh like the quiz pages.
DOC_SHOTS |= {("login-cards", "tablet", "en"), ("roster-import", "tablet", "fr"), ("class-roster", "projector", "zh"),
              ("teachers", "projector", "en"), ("pupil-manage", "tablet", "zh")}
# A teacher's recording editors and the lesson reports (tests/e2e/recording_shots.py), in en, fr and zh.
DOC_SHOTS |= RECORDING_DOC_SHOTS


def _pupil_shots(browser, base: str, ref: str, size: str, lang: str, out: Path) -> list[Path]:
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height}, locale=LOCALES[lang])
    page = context.new_page()
    shots = []

    def shot(name: str, full: bool = False) -> None:
        path = out / f"{name}-{size}-{lang}.png"
        page.screenshot(path=str(path), full_page=full)
        shots.append(path)

    page.goto(f"{base}/")
    shot("pupil-home")
    page.get_by_role("link", name=CLASS_NAME).click()
    shot("pupil-names")
    page.goto(f"{base}/login/{ref}")
    page.locator('.key[data-key="1"]').click()
    page.locator('.key[data-key="2"]').click()
    shot("pupil-pin")
    page.locator('.key[data-key="3"]').click()
    page.locator('.key[data-key="4"]').click()
    page.wait_for_url("**/lessons")
    shot("pupil-lessons")
    page.goto(f"{base}/lesson/water-cycle?t=21.5")
    page.wait_for_function("() => document.getElementById('media').readyState >= 1")
    page.locator("#captions-toggle").click()
    page.evaluate("document.getElementById('media').play()")
    page.wait_for_function("() => document.getElementById('caption-line').textContent.length > 0", timeout=15_000)
    page.evaluate("document.getElementById('media').pause()")
    shot("lesson-player")
    exercise = page.locator("#ex-water-cycle-1")
    exercise.locator("button.choice").nth(2).click()
    page.wait_for_function("() => document.querySelector('#ex-water-cycle-1 .feedback').textContent.length > 0")
    exercise.locator("button.choice").nth(0).click()
    page.wait_for_function("() => document.querySelector('#ex-water-cycle-1').classList.contains('right')")
    page.locator("#ex-water-cycle-2 input[name=response]").fill("evaporation")
    page.locator("#ex-water-cycle-2 button.go").click()
    page.wait_for_function("() => document.querySelector('#ex-water-cycle-2 .feedback').textContent.length > 0")
    page.locator("#ex-water-cycle-1").scroll_into_view_if_needed()
    page.evaluate("document.querySelector('.exercises').scrollIntoView()")
    shot("exercise")
    context.close()
    return shots


def _teacher_shots(browser, base: str, class_id: int, size: str, lang: str, out: Path) -> list[Path]:
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height}, locale=LOCALES[lang])
    page = context.new_page()
    page.goto(f"{base}/teacher/login")
    page.locator("input[name=username]").fill(TEACHER[0])
    page.locator("input[name=password]").fill(TEACHER[1])
    page.locator("form button[type=submit]").click()
    page.wait_for_url("**/teacher/")
    shots = []
    page.goto(f"{base}/teacher/class/{class_id}")
    path = out / f"teacher-class-{size}-{lang}.png"
    page.screenshot(path=str(path))
    shots.append(path)
    page.goto(f"{base}/present/water-cycle?t=41")
    page.wait_for_function("() => document.getElementById('media').readyState >= 1")
    page.wait_for_function("() => document.querySelector('#chapters a[aria-current=true]') !== null || "
                           "document.getElementById('media').currentTime > 40")
    page.evaluate("document.getElementById('media').dispatchEvent(new Event('timeupdate'))")
    path = out / f"presenter-{size}-{lang}.png"
    page.screenshot(path=str(path))
    shots.append(path)
    context.close()
    return shots


def _all_shots(browser, base: str, root: Path, people: dict, out: Path) -> list[Path]:
    shots: list[Path] = []
    amina = people["pupils"]["Amina"]["ref"]
    for lang in LOCALES:
        for size in SIZES:
            shots += _pupil_shots(browser, base, amina, size, lang, out)
            shots += _teacher_shots(browser, base, people["class_id"], size, lang, out)
    from tests.e2e.quiz_shots import quiz_shots

    shots += quiz_shots(browser, base, people["class_id"], SIZES, QUIZ_LOCALES, out)
    from tests.e2e.roster_shots import roster_shots

    shots += roster_shots(browser, base, SIZES, QUIZ_LOCALES, out)
    from tests.e2e.recording_shots import add_activity, recording_shots

    shots += recording_shots(browser, base, people["class_id"], add_activity(root / "var", people), SIZES,
                             QUIZ_LOCALES, out)
    return shots


def run(argv: list[str] | None, description: str, doc_shots: set[tuple[str, str, str]],
        take: Callable[[Any, str, Path, dict, Path], list[Path]]) -> int:
    """Serve a fresh box with the sample course, take the shots in Chromium, copy the docs' ones if asked."""
    parser = argparse.ArgumentParser(description=description.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("screenshots"))
    parser.add_argument("--docs", action="store_true", help="also copy the docs' shots into docs/img/")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="box-screenshots-") as tmp:
        root = Path(tmp)
        people = prepare(root / "var", root / "keys")
        with serve(root / "var", root / "serve.log") as base, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            shots = take(browser, base, root, people, args.out)
            browser.close()
    if args.docs:
        docs = Path("docs/img")
        docs.mkdir(parents=True, exist_ok=True)
        for name, size, lang in sorted(doc_shots):
            shutil.copyfile(args.out / f"{name}-{size}-{lang}.png", docs / f"{name}-{size}-{lang}.png")
    for path in shots:
        print(path, file=sys.stderr)
    print(f"{len(shots)} screenshots in {args.out}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Capture every page at both sizes in both languages."""
    return run(argv, __doc__ or "", DOC_SHOTS, _all_shots)


if __name__ == "__main__":
    sys.exit(main())
