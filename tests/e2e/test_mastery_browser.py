"""Real Chromium: a stuck pupil follows "next for you" to the exact second of the video; the teacher's dashboard."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from pathlib import Path

import pytest

from tests.e2e.box_server import CLI, log_in_pupil, log_in_teacher, prepare, serve

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]  # tests/e2e/conftest.py requires Chromium


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    root = tmp_path_factory.mktemp("mastery-box")
    data = root / "var"
    people = prepare(data, root / "keys")
    bao, amina = people["pupils"]["Bao"]["ref"], people["pupils"]["Amina"]["ref"]
    lines = []
    for i in range(7):  # Bao keeps missing evaporation; Amina gets condensation right every time
        lines.append({"pupil": bao, "pupil_name": "Bao", "knowledge_point": "sci.water.evaporation",
                      "item": "water-cycle-5", "correct": False, "ts": f"2026-03-02T09:{i:02d}:00Z", "difficulty": 3})
        lines.append({"pupil": amina, "pupil_name": "Amina", "knowledge_point": "sci.water.condensation",
                      "item": "water-cycle-2", "correct": True, "ts": f"2026-03-02T09:{i:02d}:30Z"})
    marks = root / "marks.jsonl"
    marks.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    subprocess.run([CLI, "attempts", "import", str(marks), "--data", str(data)], check=True, capture_output=True)
    with serve(data, root / "serve.log") as base:
        yield base, people


def test_a_stuck_pupil_is_sent_to_the_chapter_on_that_knowledge_point_at_its_second(box, browser):
    base, _people = box
    context = browser.new_context(viewport={"width": 800, "height": 1280}, locale="en-GB")
    page = context.new_page()
    log_in_pupil(page, base, "Bao")
    page.goto(base + "/progress")
    assert "Evaporation" in page.locator(".kp-progress").inner_text()
    first = page.locator(".next-list a").first
    href = first.get_attribute("href")
    assert href.startswith("/lesson/water-cycle?t=")
    start = int(href.split("t=")[1])
    first.click()
    page.wait_for_url("**/lesson/water-cycle?t=*")
    page.wait_for_function(f"() => document.getElementById('media').currentTime >= {max(0, start - 1)}", timeout=20_000)
    context.close()


def test_the_teacher_sees_the_heatmap_the_stuck_pupil_a_drill_down_and_a_csv(box, browser):
    base, people = box
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="en-GB", accept_downloads=True)
    page = context.new_page()
    log_in_teacher(page, base)
    page.goto(f"{base}/teacher/dashboard/{people['class_id']}")
    heat = page.locator("#heatmap")
    assert heat.is_visible()
    assert heat.locator("td.stuck").count() == 1 and heat.locator("td.h4").count() >= 1
    stuck = page.locator("#stuck")
    assert "Bao" in stuck.inner_text() and "Amina" not in stuck.inner_text()
    assert stuck.locator('a[href^="/lesson/water-cycle?t="]').count() == 1
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    table = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert {(r["pupil"], r["knowledge_point"], r["stuck"]) for r in table} == {
        ("Bao", "sci.water.evaporation", "1"), ("Amina", "sci.water.condensation", "0")}
    page.locator("#heatmap").get_by_role("link", name="Bao").click()
    page.wait_for_url(f"**/teacher/dashboard/{people['class_id']}/pupil/*")
    assert "Evaporation" in page.locator("#pupil-mastery").inner_text()
    context.close()
