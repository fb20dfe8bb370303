"""Screenshots of a teacher's recording editors and of a lesson report (part of `make screenshots`,
tests/e2e/screenshots.py), at tablet and projector sizes in en, fr and zh.

A recording (a spoken clip with the pipeline's outputs for a fixed transcript) is added for the pages' teacher, and
the class's pupils watch, replay and answer the water cycle lesson through the box's own code first.

    python -m tests.e2e.recording_shots [--out screenshots] [--docs]   # these pages alone
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from tests.e2e.pages_data import TEACHER

DOC_SHOTS = {("recording-chapters", "tablet", "en"), ("recording-captions", "projector", "fr"),
             ("recording-chapters", "projector", "zh"), ("lesson-report", "tablet", "fr"),
             ("lesson-report", "projector", "en"), ("lesson-report", "tablet", "zh")}


def add_activity(data_dir: Path, people: dict) -> str:
    """A recording by the pages' teacher, and the class watching and answering the water cycle; its lesson id."""
    from edge_server.attempts import record_attempt
    from edge_server.settings import load_settings
    from edge_server.store.db import open_box_db
    from edge_server.watching import Beat, record_beat
    from tests.recording_fixtures import add_recording

    lesson_id, _sha = add_recording(data_dir, people["teacher_id"], title="Our water cycle")
    settings = load_settings(data_dir, scheduler_enabled=False, ai_jobs_enabled=False, announce=False)
    db = open_box_db(settings.db_path)
    try:
        now = time.time() - 600
        plans = {"Amina": (68.0, [(25.0, 6), (33.0, 2), (45.0, 1)], ["0", "evaporation", "1"]),
                 "Bao": (40.0, [(22.0, 3), (5.0, 1)], ["2"]), "Chloé": (12.0, [], [])}
        for name, (reach, replays, answers) in plans.items():
            pupil_id = people["pupils"][name]["id"]
            record_beat(db, pupil_id, "water-cycle", Beat(0, min(reach, 15), 15, 76.7, ()), now)
            record_beat(db, pupil_id, "water-cycle", Beat(reach, reach, reach - 15, 76.7,
                                                          tuple(at for at, n in replays for _ in range(n))),
                        now + reach)
            for n, response in enumerate(answers, 1):
                record_attempt(db, settings, pupil_id, f"water-cycle-{n}", response)
    finally:
        db.conn.close()
    return lesson_id


def recording_shots(browser, base: str, class_id: int, lesson_id: str, sizes: dict, locales: dict,
                    out: Path) -> list[Path]:
    """The recording's overview and its three editors, and the class's water cycle report."""
    shots: list[Path] = []
    for lang, locale in locales.items():
        for size, (width, height) in sizes.items():
            context = browser.new_context(viewport={"width": width, "height": height}, locale=locale)
            page = context.new_page()
            page.goto(f"{base}/teacher/login?lang={lang}")
            page.locator("input[name=username]").fill(TEACHER[0])
            page.locator("input[name=password]").fill(TEACHER[1])
            page.locator("form.stack button[type=submit]").click()
            page.wait_for_url("**/teacher/")

            edit = f"/teacher/recordings/{lesson_id}/edit"
            for name, url in (("recording-edit", edit), ("recording-chapters", edit + "/chapters"),
                              ("recording-captions", edit + "/captions"), ("recording-summary", edit + "/summary"),
                              ("lesson-report", f"/teacher/class/{class_id}/reports/water-cycle")):
                page.goto(base + url)
                if page.locator("#edit-media").count():
                    page.wait_for_function("() => document.getElementById('edit-media').readyState >= 1")
                path = out / f"{name}-{size}-{lang}.png"
                page.screenshot(path=str(path))
                shots.append(path)
            context.close()
    return shots


def main(argv: list[str] | None = None) -> int:
    """These pages alone, on a fresh box."""
    from tests.e2e.screenshots import QUIZ_LOCALES, SIZES, run

    def take(browser, base: str, root: Path, people: dict, out: Path) -> list[Path]:
        lesson_id = add_activity(root / "var", people)
        return recording_shots(browser, base, people["class_id"], lesson_id, SIZES, QUIZ_LOCALES, out)

    return run(argv, __doc__ or "", DOC_SHOTS, take)


if __name__ == "__main__":
    sys.exit(main())
