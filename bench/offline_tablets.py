"""Offline tablets benchmark: what a pupil's tablet stores per lesson, and how long 200 queued answers take to reach
the box when the tablet is back in reach.

A real `edge-server serve` with the sample course (3 lessons, audio) and Debian's Chromium driven by Playwright, as
tests/e2e/ does. Storage: the bytes of each kept entry (Cache Storage, read back from the tablet) per lesson, and
the browser's own count (navigator.storage.estimate) before and after the lessons were kept. Sync: 200 answers put
in the tablet's queue while offline, then the time from going online until the box acknowledged the last one,
over --rounds rounds, and once more for the same 200 sent again (duplicates).
Run: .venv/bin/python -m bench.offline_tablets [--answers 200] [--rounds 3] [--json]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.report import emit
from edge_server.store import people as people_store
from edge_server.store.db import open_box_db
from tests.e2e.box_server import CHROMIUM, CHROMIUM_ARGS, log_in_pupil, prepare, serve

LESSONS = ("water-cycle", "living-things", "shapes-and-angles")
RESPONSES = {"water-cycle-1": "0", "water-cycle-3": "2", "water-cycle-4": "1", "water-cycle-5": "4",
             "water-cycle-2": "condensation"}

SIZES_JS = """async (plan) => {
  const size = async (cache, url) => { const r = await cache.match(url); return r ? (await r.blob()).size : 0; };
  const lessons = await caches.open('box-lessons'), media = await caches.open('box-media');
  const shell = await caches.open((await caches.keys()).find(n => n.startsWith('box-shell-')));
  let shellBytes = 0;
  for (const r of await shell.keys()) shellBytes += await size(shell, r.url);
  const out = [];
  for (const l of plan.lessons) {
    let pages = 0;
    for (const u of l.urls) pages += await size(lessons, u);
    out.push({id: l.id, pages_bytes: pages, media_bytes: l.media ? await size(media, l.media.url) : 0});
  }
  return {shell_bytes: shellBytes, list_bytes: await size(lessons, '/lessons'), lessons: out};
}"""

QUEUE_JS = """async ([ids, pupil, offset, tablet, answers]) => {
  const items = Object.keys(answers), n = ids.length, start = Date.now() - n * 1000, made = [];
  for (let i = 0; i < n; i++) {
    const ex = items[i % items.length];
    const a = {attempt_id: ids[i], pupil, lesson_id: 'water-cycle', exercise_id: ex, response: answers[ex],
               answered_at: start + i * 1000, clock_offset_ms: offset, tablet};
    await boxStore.put('answers', a);
    made.push(a);
  }
  return made;
}"""


def _wait_status(page: Any, waiting: int, timeout_ms: int) -> None:
    page.wait_for_function(f"() => {{ const s = document.getElementById('tablet-status');"
                           f" return !!s && s.dataset.waiting === '{waiting}' && s.dataset.inTouch === 'true'; }}",
                           timeout=timeout_ms, polling=20)


def _until(page: Any, script: str, timeout_s: float = 120) -> None:
    """Poll an async script until it is truthy (page.wait_for_function does not await promises)."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(script):
        if time.monotonic() > deadline:
            raise TimeoutError(f"still false after {timeout_s} s: {script}")
        page.wait_for_timeout(50)


def _attempts(data: Path) -> int:
    db = open_box_db(data / "box.db")
    try:
        return db.execute("SELECT COUNT(*) FROM attempts").fetchone()[0]
    finally:
        db.conn.close()


def run(answers: int, rounds: int) -> dict[str, Any]:
    """Measure storage per kept lesson and the time to sync `answers` queued answers."""
    from playwright.sync_api import sync_playwright

    root = Path(tempfile.mkdtemp(prefix="bench-offline-"))
    data = root / "var"
    people = prepare(data, root / "keys")
    db = open_box_db(data / "box.db")
    people_store.set_assignments(db, people["class_id"], set(LESSONS))
    db.conn.close()
    with serve(data, root / "serve.log") as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 800, "height": 1280}, locale="en-GB")
        page = context.new_page()
        page.goto(base + "/")
        _until(page, "async () => (await navigator.serviceWorker.ready) && "
                     "(await caches.keys()).some(n => n.startsWith('box-shell-'))")
        shell_usage = page.evaluate("async () => (await navigator.storage.estimate()).usage")
        log_in_pupil(page, base, "Amina")
        started = time.perf_counter()
        _until(page, f"async () => {{ const o = await boxStore.meta('offline');"
                     f" return o && o.lessons.length === {len(LESSONS)} && o.lessons.every(l => l.media); }}")
        keep_seconds = time.perf_counter() - started
        plan = page.evaluate("() => fetch('/tablet/plan').then(r => r.json())")
        sizes = page.evaluate(SIZES_JS, plan)
        usage = page.evaluate("async () => (await navigator.storage.estimate()).usage")
        for lesson in sizes["lessons"]:
            lesson["total_bytes"] = lesson["pages_bytes"] + lesson["media_bytes"]

        pupil = people["pupils"]["Amina"]["ref"]
        tablet = page.evaluate("() => boxStore.meta('tablet')")
        offset = page.evaluate("() => boxStore.meta('clock_offset_ms')")
        timings, resend, last = [], None, []
        for n in range(rounds + 1):
            context.set_offline(True)
            page.reload()
            if n < rounds:
                ids = [str(uuid.uuid4()) for _ in range(answers)]
                made = page.evaluate(QUEUE_JS, [ids, pupil, offset, tablet, RESPONSES])
            else:  # the same answers again: every one a duplicate
                made = last
                page.evaluate("async (items) => { for (const a of items) await boxStore.put('answers', a); }", made)
            page.reload()
            page.wait_for_function(f"() => (document.getElementById('tablet-status') || {{dataset: {{}}}})"
                                   f".dataset.waiting === '{answers}'")
            before = _attempts(data)
            start = time.perf_counter()
            context.set_offline(False)
            _wait_status(page, 0, 300_000)
            took = time.perf_counter() - start
            added = _attempts(data) - before
            if n < rounds:
                timings.append({"seconds": round(took, 3), "attempts_added": added})
                last = made
            else:
                resend = {"seconds": round(took, 3), "attempts_added": added}
        browser.close()
    seconds = [t["seconds"] for t in timings]
    return {
        "lessons": sizes["lessons"], "shell_bytes": sizes["shell_bytes"], "list_bytes": sizes["list_bytes"],
        "estimate_usage_shell": shell_usage, "estimate_usage_all": usage,
        "estimate_per_lesson": round((usage - shell_usage) / len(LESSONS)), "keep_seconds": round(keep_seconds, 2),
        "answers": answers, "rounds": timings, "sync_median_s": statistics.median(seconds),
        "per_answer_ms": round(statistics.median(seconds) / answers * 1000, 2), "resend": resend,
    }


def table(r: dict[str, Any]) -> str:
    """The detailed table."""
    lines = ["lesson               pages+documents B   media B    total B",
             *[f"{x['id']:<20} {x['pages_bytes']:>17,} {x['media_bytes']:>9,} {x['total_bytes']:>10,}"
               for x in r["lessons"]],
             f"app shell {r['shell_bytes']:,} B, lessons list {r['list_bytes']:,} B; browser's count "
             f"{r['estimate_usage_shell']:,} B with the shell, {r['estimate_usage_all']:,} B with the lessons "
             f"({r['estimate_per_lesson']:,} B per lesson); kept in {r['keep_seconds']} s",
             f"sync of {r['answers']} queued answers: " + ", ".join(f"{t['seconds']} s (+{t['attempts_added']})"
                                                                   for t in r["rounds"])
             + f"; median {r['sync_median_s']} s = {r['per_answer_ms']} ms per answer",
             f"the same {r['answers']} sent again: {r['resend']['seconds']} s (+{r['resend']['attempts_added']})"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    emit(run(args.answers, args.rounds), table, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
