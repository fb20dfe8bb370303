"""Real Chromium, real box: a pupil's tablet keeps working when the Wi-Fi drops, its answers reach the box exactly
once (even when the box is killed during the sync), and take-home lessons work at home and sync the next day."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from edge_server.store import people as people_store
from edge_server.store.db import open_box_db
from edge_server.web import auth
from tests.e2e.box_server import (
    CHROMIUM,
    CHROMIUM_ARGS,
    CLI,
    free_port,
    log_in_pupil,
    log_in_teacher,
    prepare,
    serve_env,
    wait_until_up,
)
from tests.e2e.offline_steps import LESSON, open_kept_lesson, status_says
from tests.e2e.pages_data import CLASS_NAME

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]  # tests/e2e/conftest.py requires Chromium

TABLET_SLOW_BY = timedelta(hours=2)  # the tablets' clocks are wrong; the box corrects their answer times


class Box:
    """`edge-server serve` in its own process group on a fixed port, so that it can be killed (SIGKILL, every
    process of the box at once, as a power cut) and started again at the same address (the tablets' origin)."""

    def __init__(self, data: Path, log: Path, clock_shift_s: float = 0.0) -> None:
        self.data, self.log, self.port = data, log, free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.clock_shift_s = clock_shift_s

    def start(self) -> Box:
        env = serve_env()
        if self.clock_shift_s:  # the box's clock moved on (tests/e2e/clockshift/sitecustomize.py)
            shim = str(Path(__file__).parent / "clockshift")
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [shim, env.get("PYTHONPATH")]))
            env["EDGE_TEST_CLOCK_SHIFT_S"] = str(self.clock_shift_s)
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen([CLI, "serve", "--data", str(self.data), "--host", "127.0.0.1", "--port",
                                          str(self.port), "--no-announce"], stdout=out, stderr=subprocess.STDOUT,
                                         env=env, start_new_session=True)
        wait_until_up(self.proc, self.base, self.log)
        return self

    def kill(self) -> None:
        """SIGKILL to every process of the box (web workers, nginx, model process), then wait for its port."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                requests.get(f"{self.base}/api/v1/health", timeout=0.5)
            except requests.ConnectionError:
                return
            time.sleep(0.2)
        raise RuntimeError("the killed box still answers")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)


def export(data: Path) -> list[dict]:
    result = subprocess.run([CLI, "attempts", "export", "--data", str(data), "--class", CLASS_NAME],
                            capture_output=True, text=True, timeout=60, check=True)
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    root = tmp_path_factory.mktemp("offline-box")
    data = root / "var"
    people = prepare(data, root / "keys")
    db = open_box_db(data / "box.db")
    people_store.set_assignments(db, people["class_id"], {LESSON, "shapes-and-angles"})
    db.conn.close()
    server = Box(data, root / "serve.log").start()
    yield server, people
    server.stop()


def tablet(browser, clock_at: datetime | None = None):
    """A new tablet: its own browser profile, its clock TABLET_SLOW_BY slow (or at clock_at)."""
    context = browser.new_context(viewport={"width": 800, "height": 1280}, locale="en-GB")
    context.clock.install(time=clock_at or datetime.now(UTC) - TABLET_SLOW_BY)
    return context, context.new_page()


def until(page, script: str, timeout_s: float = 60) -> None:
    """Poll an async script of the page until it returns a truthy value (page.wait_for_function does not await a
    promise: an async predicate would pass at once)."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(script):
        assert time.monotonic() < deadline, f"still false after {timeout_s} s: {script}"
        page.wait_for_timeout(200)


def waiting_for_box(page, n: int) -> None:
    """Wait until the status line counts n answers waiting for the box."""
    page.wait_for_function("(n) => (document.getElementById('tablet-status') || {dataset: {}}).dataset.waiting"
                           " === String(n)", arg=n)


def status(page) -> str:
    return page.locator("#tablet-status").inner_text()


def answer_two_offline(page) -> list[float]:
    """Answer a choice and a number exercise while the box is out of reach; the real times of the taps."""
    tapped = [time.time()]
    page.locator("#ex-water-cycle-1 button.choice").first.click()  # the right answer is the first choice
    page.wait_for_function("() => document.querySelector('#ex-water-cycle-1').classList.contains('right')")
    page.locator("#ex-water-cycle-5 input[name=response]").fill("3")  # wrong: four states of water are asked
    tapped.append(time.time())
    page.locator("#ex-water-cycle-5 button.go").click()
    page.wait_for_function("() => document.querySelector('#ex-water-cycle-5').classList.contains('wrong')")
    assert page.locator("#ex-water-cycle-1 .feedback").inner_text() == "Well done!"
    assert page.locator("#ex-water-cycle-5 .feedback").inner_text() == "Not yet. Try again!"
    assert page.locator("#ex-water-cycle-1 .saved-note").is_visible()
    waiting_for_box(page, 2)
    assert "2 answers waiting for the box" in status(page) and "Last in touch with the box at" in status(page)
    return tapped


def wait_until_sent(page, timeout: float = 60_000) -> None:
    page.wait_for_function("() => { const s = document.getElementById('tablet-status');"
                           " return !!s && s.dataset.waiting === '0' && s.dataset.inTouch === 'true'; }",
                           timeout=timeout)


def test_offline_the_lesson_reloads_its_audio_seeks_and_two_answers_reach_the_box_once_with_their_times(box, browser):
    server, people = box
    context, page = tablet(browser)
    blocked = []  # Chromium logs each script, worker or medium the page policy blocks
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    log_in_pupil(page, server.base, "Amina")
    open_kept_lesson(page, server.base)

    context.set_offline(True)
    page.reload()
    assert page.locator("h1").inner_text() == "The water cycle"
    assert page.evaluate("navigator.onLine") is False
    page.evaluate("() => { const m = document.getElementById('media'); m.muted = true; m.currentTime = 25; }")
    page.wait_for_function("() => { const m = document.getElementById('media');"
                           " return !m.seeking && m.readyState >= 2 && Math.abs(m.currentTime - 25) < 0.5; }",
                           timeout=20_000)
    page.evaluate("() => document.getElementById('media').play()")
    page.wait_for_function("() => document.getElementById('media').currentTime > 25.5", timeout=20_000)
    tapped = answer_two_offline(page)
    queued = sorted(page.evaluate("() => boxStore.all('answers')"), key=lambda a: a["answered_at"])
    assert export(server.data) == []

    context.set_offline(False)
    wait_until_sent(page)
    assert "In touch with the box" in status(page)
    lines = export(server.data)
    amina = people["pupils"]["Amina"]["ref"]
    assert [(x["pupil"], x["item"], x["correct"]) for x in lines] == [
        (amina, "water-cycle-1", True), (amina, "water-cycle-5", False)]
    for line, real in zip(lines, tapped, strict=True):  # the tablet's time of the tap, corrected by its offset
        assert abs(datetime.fromisoformat(line["ts"]).timestamp() - real) < 5, (line, real)
    assert sorted(x["attempt_id"] for x in lines) == sorted(a["attempt_id"] for a in queued)

    # The same queue sent again (a tablet that never heard the acknowledgement), and each answer posted again to
    # the lesson's answer URL: the same results, still two attempts.
    page.evaluate("async (items) => { for (const a of items) await boxStore.put('answers', a); }", queued)
    page.evaluate("() => boxTablet.drain(true)")
    wait_until_sent(page)
    again = page.evaluate("""async (items) => Promise.all(items.map(a => fetch('/lesson/' + a.lesson_id + '/answer', {
        method: 'POST', headers: {'Content-Type': 'application/json', Accept: 'application/json',
        'X-CSRFToken': document.querySelector('meta[name=csrf-token]').content}, body: JSON.stringify(a)})
        .then(r => r.json())))""", queued)
    assert [r["correct"] for r in again] == [True, False]
    assert len(export(server.data)) == 2
    assert blocked == []
    context.close()


def test_the_box_killed_during_the_sync_and_restarted_still_has_each_answer_once(box, browser):
    server, people = box
    context, page = tablet(browser)
    log_in_pupil(page, server.base, "Bao")
    open_kept_lesson(page, server.base)
    context.set_offline(True)
    page.reload()
    answer_two_offline(page)
    before = len(export(server.data))

    # The box receives the sync and commits it, and dies (SIGKILL) before the tablet hears back.
    killed = []

    def die_after_commit(route):
        reply = route.fetch()
        killed.append(reply.status)
        server.kill()
        route.abort("connectionreset")

    context.route("**/tablet/sync", die_after_commit)
    context.set_offline(False)
    deadline = time.monotonic() + 60
    while not killed and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    assert killed == [200]
    context.unroute("**/tablet/sync")
    assert len(export(server.data)) == before + 2  # committed before the kill
    assert page.locator("#tablet-status").get_attribute("data-waiting") == "2"  # ... but not acknowledged

    server.start()
    wait_until_sent(page, timeout=90_000)  # the tablet's next try, on its own
    bao = people["pupils"]["Bao"]["ref"]
    mine = [x for x in export(server.data) if x["pupil"] == bao]
    assert [(x["item"], x["correct"]) for x in mine] == [("water-cycle-1", True), ("water-cycle-5", False)]
    context.close()


def teacher_class_page(browser, base: str, class_id: int):
    """The teacher's class page in its own context. The teacher's board needs no service worker, and closing a
    context while one is starting can hang Chromium's close (puppeteer#11627), so it is blocked here."""
    context = browser.new_context(viewport={"width": 1280, "height": 1200}, locale="en-GB",
                                  service_workers="block")
    page = context.new_page()
    log_in_teacher(page, base)
    page.goto(f"{base}/teacher/class/{class_id}")
    return context, page


def kept_urls(page) -> list[str]:
    return page.evaluate("async () => (await (await caches.open('box-lessons')).keys()).map(r => r.url)")


def test_a_take_home_lesson_works_at_home_overnight_and_its_answers_come_back_the_next_morning(browser, tmp_path):
    data = tmp_path / "var"
    people = prepare(data, tmp_path / "keys")
    db = open_box_db(data / "box.db")
    people_store.set_assignments(db, people["class_id"], {LESSON})  # "What living things need" is not assigned
    db.conn.close()
    server = Box(data, tmp_path / "serve.log").start()
    try:
        # At school: the teacher sends "What living things need" home for two days.
        teacher, page = teacher_class_page(browser, server.base, people["class_id"])
        page.get_by_label("Take home: What living things need").check()
        page.get_by_label("Days").fill("2")
        page.get_by_role("button", name="Save take-home lessons").click()
        assert "Take-home lessons saved." in page.locator(".flash").inner_text()
        assert page.locator("#take-home-until").is_visible()
        teacher.close()

        school = datetime.now(UTC) - TABLET_SLOW_BY
        context, page = tablet(browser, school)
        log_in_pupil(page, server.base, "Chloé")
        page.get_by_role("link", name="What living things need").click()
        status_says(page, "This lesson works without the box")
        offset_ms = page.evaluate("() => boxStore.meta('clock_offset_ms')")
        assert abs(offset_ms - TABLET_SLOW_BY.total_seconds() * 1000) < 5000

        # Evening: the box is switched off, the tablet goes home (no box there) and its clock moves on 8 hours.
        server.stop()
        context.set_offline(True)
        context.clock.set_system_time(school + timedelta(hours=8))
        page.goto(server.base + "/lessons")
        page.get_by_role("link", name="What living things need").click()
        page.wait_for_url("**/lesson/living-things")
        answered = [page.evaluate("Date.now()")]
        page.locator("#ex-living-things-1 button.choice").first.click()
        page.wait_for_function("() => document.querySelector('#ex-living-things-1').classList.contains('right')")
        page.locator("#ex-living-things-4 input[name=response]").fill("4")
        answered.append(page.evaluate("Date.now()"))
        page.locator("#ex-living-things-4 button.go").click()
        page.wait_for_function("() => document.querySelector('#ex-living-things-4').classList.contains('right')")
        waiting_for_box(page, 2)

        # Next morning: the box starts a day later (Chloé's login has long ended), the tablet is back at school.
        server.clock_shift_s = 24 * 3600
        server.start()
        context.clock.set_system_time(school + timedelta(hours=24))
        context.set_offline(False)
        wait_until_sent(page, timeout=90_000)
        assert page.evaluate("() => fetch('/tablet/hello').then(r => r.json())")["pupil"] is None  # sent by token
        chloe = people["pupils"]["Chloé"]["ref"]
        lines = [x for x in export(data) if x["pupil"] == chloe]
        assert [(x["item"], x["correct"]) for x in lines] == [("living-things-1", True), ("living-things-4", True)]
        for line, tapped in zip(lines, answered, strict=True):  # the evening, by the box's clock
            assert abs(datetime.fromisoformat(line["ts"]).timestamp() * 1000 - (tapped + offset_ms)) < 3000
            received = datetime.fromisoformat(line["received_at"]) - datetime.fromisoformat(line["ts"])
            assert timedelta(hours=15) < received < timedelta(hours=17)

        # Sent again (an acknowledgement lost on the way), still two; the teacher sees the tablet synced.
        queued = [{"attempt_id": x["attempt_id"], "pupil": chloe, "lesson_id": "living-things",
                   "exercise_id": x["item"], "response": "0" if x["item"].endswith("-1") else "4",
                   "answered_at": 0, "clock_offset_ms": 0} for x in lines]
        page.evaluate("async (items) => { for (const a of items) await boxStore.put('answers', a); }", queued)
        page.evaluate("() => boxTablet.drain(true)")
        wait_until_sent(page)
        assert [x["ts"] for x in export(data) if x["pupil"] == chloe] == [x["ts"] for x in lines]
        teacher, board = teacher_class_page(browser, server.base, people["class_id"])
        row = board.locator("#tablets tr", has_text="Chloé")
        assert row.locator(".synced").inner_text().startswith("2 ·")
        assert row.locator(".kept").inner_text() == "1 / 1" and row.locator(".waiting").inner_text() == "0"
        teacher.close()

        # Three days on, the take-home has ended: at Chloé's next login her tablet lets the lesson go.
        server.stop()
        server.clock_shift_s = 3 * 24 * 3600
        server.start()
        context.clock.set_system_time(school + timedelta(days=3))
        log_in_pupil(page, server.base, "Chloé")
        until(page, "async () => !(await (await caches.open('box-lessons')).keys())"
                    ".some(r => r.url.endsWith('/lesson/living-things'))")
        assert any(url.endswith(f"/lesson/{LESSON}") for url in kept_urls(page))
        context.close()
    finally:
        server.stop()


def test_the_box_installs_as_an_app_whose_service_worker_controls_its_pages(box, browser, tmp_path):
    server, _people = box
    context = browser.browser_type.launch_persistent_context(tmp_path / "profile", executable_path=CHROMIUM,
                                                               args=CHROMIUM_ARGS, locale="en-GB")
    try:
        page = context.pages[0] if context.pages else context.new_page()
        log_in_pupil(page, server.base, "Amina")
        page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=30_000)
        cdp = context.new_cdp_session(page)
        manifest = cdp.send("Page.getAppManifest")
        assert manifest["errors"] == [] and json.loads(manifest["data"])["start_url"] == "/lessons"
        # Chromium checks installability in the background (manifest, icons, service worker): on a loaded machine
        # the first answers can still name a check in progress, so ask until it settles.
        deadline = time.monotonic() + 30
        errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
        while errors and time.monotonic() < deadline:
            page.wait_for_timeout(500)
            errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
        assert errors == []
    finally:
        context.close()


def test_a_tablet_without_room_says_so_to_the_pupil_and_the_teacher(box, browser):
    server, people = box
    context, page = tablet(browser)
    page.goto(server.base + "/")
    cdp = context.new_cdp_session(page)  # this tablet has 300 KB for the box: the lesson's audio (384 KiB) cannot fit
    cdp.send("Storage.overrideQuotaForOrigin", {"origin": server.base, "quotaSize": 300 * 1024})
    log_in_pupil(page, server.base, "Amina")
    page.goto(f"{server.base}/lesson/{LESSON}")
    status_says(page, "This tablet is full: some lessons are not kept. Ask your teacher.")
    assert page.evaluate("() => boxStore.meta('offline')")["error"] == "quota"
    teacher, board = teacher_class_page(browser, server.base, people["class_id"])
    tablet_id = page.evaluate("() => boxStore.meta('tablet')")
    error = board.locator(f'#tablets tr[data-tablet="{tablet_id}"] .storage-error')
    deadline = time.monotonic() + 30
    while not error.count() and time.monotonic() < deadline:  # the tablet reports it at its next contact
        board.wait_for_timeout(500)
        board.reload()
    assert error.inner_text() == "Full: some lessons are not kept"
    teacher.close()
    context.close()


def test_with_no_media_budget_a_tablet_keeps_the_lesson_but_not_its_audio(box, browser):
    server, people = box
    teacher, board = teacher_class_page(browser, server.base, people["class_id"])
    board.get_by_label("Audio and video kept on each tablet (MB)").fill("0")
    board.locator("#tablets").get_by_role("button", name="Save", exact=True).click()
    assert "Media budget saved." in board.locator(".flash").inner_text()
    try:
        context, page = tablet(browser)
        log_in_pupil(page, server.base, "Amina")
        page.goto(f"{server.base}/lesson/{LESSON}")
        status_says(page, "This lesson works without the box, but not its audio or video")
        assert page.evaluate("async () => (await (await caches.open('box-media')).keys()).length") == 0
        assert any(url.endswith(f"/lesson/{LESSON}") for url in kept_urls(page))
        context.close()
    finally:
        board.goto(f"{server.base}/teacher/class/{people['class_id']}")
        board.get_by_label("Audio and video kept on each tablet (MB)").fill("200")
        board.locator("#tablets").get_by_role("button", name="Save", exact=True).click()
        board.locator(".flash", has_text="Media budget saved.").wait_for()  # never close mid-navigation
        teacher.close()


def test_a_pupil_who_cannot_read_logs_in_by_tapping_her_three_pictures(box, browser):
    server, _people = box
    db = open_box_db(server.data / "box.db")
    reception = people_store.add_class(db, "Reception")
    people_store.add_pupil(db, reception, "Dara", auth.hash_pin("1357"), "moon")
    db.conn.close()
    teacher, board = teacher_class_page(browser, server.base, reception)
    board.get_by_label("With three pictures, for pupils who cannot read yet").check()
    board.get_by_role("button", name="Save login").click()
    assert "Login saved." in board.locator(".flash").inner_text()
    for n, picture in enumerate(("dog", "apple", "dog"), start=1):
        board.get_by_label(f"Picture {n} for Dara").select_option(picture)
    board.get_by_role("button", name="Save pictures").click()
    assert "New pictures saved for Dara." in board.locator(".flash").inner_text()
    teacher.close()

    context, page = tablet(browser)
    page.goto(server.base + "/")
    page.get_by_role("link", name="Reception").click()
    page.get_by_role("link", name="Dara").click()
    for wrong in ("key", "key", "key"):  # three wrong pictures: said so, and counted
        page.get_by_role("button", name=wrong, exact=True).click()
    page.wait_for_load_state()
    assert "Those pictures are not right" in page.locator(".flash.error").inner_text()
    for picture in ("dog", "apple", "dog"):
        page.get_by_role("button", name=picture, exact=True).click()
    page.wait_for_url("**/lessons")
    assert "Hello, Dara!" in page.locator("h1").inner_text()
    context.close()


NUMBERS = ["4", "4.0", "3,5", "1/2", "1 1/2", "-2", "\u22122", "1 000", "1\u00a0000", "50%", "1e3", ".5", "5.", "+7",
           " 12 ", "1,000", "1/0", "four", "", "\uff14", "2/4", "0.30000000000000004", "1,5,0", "--4", "4 5"]


def test_the_tablet_grades_choice_and_number_answers_as_the_box_does(box, browser):
    from edge_server import tablets
    from edge_server.catalog import get_lesson
    from edge_server.domain import grading

    server, _people = box
    db = open_box_db(server.data / "box.db")
    cases = []
    for lesson_id in ("water-cycle", "living-things", "shapes-and-angles"):
        keys = tablets.offline_keys(db, lesson_id)["exercises"]
        for exercise in get_lesson(db, lesson_id)["exercises"]:
            if exercise["kind"] == "text":
                assert exercise["id"] not in keys  # judged by the box only
                continue
            responses = NUMBERS if exercise["kind"] == "number" else ["0", "1", "2", "3", " 1", "x", "-1"]
            cases += [(keys[exercise["id"]], r, grading.grade(exercise, r).correct) for r in responses]
    db.conn.close()
    context, page = tablet(browser)
    log_in_pupil(page, server.base, "Amina")
    on_tablet = page.evaluate("(cases) => cases.map(c => boxGrade.grade(c[0], c[1]))", [c[:2] for c in cases])
    assert [c[2] for c in cases] == on_tablet
    parsed = page.evaluate("(xs) => xs.map(x => boxGrade.parseNumber(x))", NUMBERS)
    assert parsed == [grading.parse_number(x) for x in NUMBERS]
    context.close()
