"""Study companion benchmark: citation accuracy, retrieval hit rates, latency with the default model, a full class.

It builds a real box in a temporary folder: a signed pack made from the narrated lessons (../shared/samples, and
bench/lessons_extra.json narrated with espeak-ng as bench/ai_quality.py does), imported with the box's own import,
then the box's AI pipeline job (models.pipeline via edge_server.jobs) for each lesson; transcripts come from the
box's Transcriber, cached in .bench/transcripts by bench/ai_quality.py. The text model is not used for chapters
or summaries here (they do not change retrieval), only for the companion's answers.

Then each lesson question is asked through the companion:
  cite_top1         the answer's first citation is the question's lesson and knowledge point (asked from the
                    lesson's player, as the chat panel does); cite_top1_box: the same, asked with no lesson
  retr_top1/top3    retrieval alone over the whole box: the right chapter first / among the first three
  first_token, full seconds to the first shown text and to the whole answer, with the default model (Gemma 3
                    270M) on --threads cores, p50 and p95 over all questions (cache off)
  class of N        N pupils asking at once through the app (Flask in-process, threads, one model, the queue):
                    all answered, none lost, wall time, slowest answer, peak memory of the process

    python -m bench.companion [--json] [--no-llm] [--askers 40] [--threads 2] [--budget S] [--timeout S]
                              [--samples DIR] [--extra FILE]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.ai_quality import CACHE, EXTRA, SAMPLES, Transcribe, load_lessons

TARGETS = {"cite_top1": (">=", 0.80), "full_p50_s": ("<=", 3.0), "answered": (">=", 1.0)}


# ---- a box with the lessons ----------------------------------------------------------------------------------

class CachedTranscriber:
    """The box's Transcriber behind bench/ai_quality.py's transcript cache (same model, same settings)."""

    model_id = "whisper-tiny.en-ct2-int8"
    sha256 = "cached-by-bench"

    def __init__(self, transcribe: Transcribe) -> None:
        self._transcribe = transcribe
        self.params = {"cache": str(transcribe.cache)}

    def transcribe(self, path: Path | str, progress: Any = None, **_options: Any) -> Any:
        from models.asr import Transcript

        segments = self._transcribe(Path(path))
        return Transcript(language="en", duration=segments[-1].end if segments else 0.0, segments=segments)


class NoTextModel:
    """Chapters and summaries stay extractive while building the bench box (the companion loads its own model)."""

    @property
    def model(self) -> Any:
        from models.registry import ModelError

        raise ModelError("not used while building the bench box")


class BenchRunners:
    """What jobs.run_job needs of the box's Runners: its settings, a transcriber and a text model."""

    def __init__(self, settings: Any, transcriber: CachedTranscriber) -> None:
        self.settings = settings
        self.transcriber = transcriber
        self.generator = NoTextModel()


def build_box(lessons: list[dict[str, Any]], root: Path, transcribe: Transcribe) -> Path:
    """A data dir with one channel holding every lesson, imported and run through the AI pipeline."""
    transcriber = CachedTranscriber(transcribe)
    return index_lessons(lessons, root, "bench.companion", lambda settings: BenchRunners(settings, transcriber))


def index_lessons(lessons: list[dict[str, Any]], root: Path, channel_id: str,
                  runners_for: Callable[[Any], Any]) -> Path:
    """A data dir with one channel of these lessons (a lesson's own language marked), run through the AI pipeline."""
    from edge_server.identity import init_data_dir
    from edge_server.jobs import run_pending
    from edge_server.packs_import import build_pack, import_pack
    from edge_server.settings import load_settings
    from edge_server.store.db import connect, rows
    from sync.trust import generate_keys, read_private

    private, public, _ = generate_keys(root / "keys")
    src = root / "src"
    (src / "media").mkdir(parents=True)
    kps, docs = [], []
    for lesson in lessons:
        shutil.copyfile(lesson["audio"], src / "media" / f"{lesson['id']}.wav")
        kps.extend({"id": kp["id"], "name": kp["name"], "description": kp.get("description", "")}
                   for kp in lesson["knowledge_points"])
        doc = {"id": lesson["id"], "title": lesson["title"],
               "knowledge_points": [kp["id"] for kp in lesson["knowledge_points"]],
               "media": {"path": f"media/{lesson['id']}.wav", "kind": "audio"}, "exercises": []}
        if lesson.get("language", "en") != "en":
            doc["language"] = lesson["language"]
        docs.append(doc)
    catalog = {"channel": {"id": channel_id, "title": "Bench", "language": "en", "level": "primary"},
               "knowledge_points": kps,
               "courses": [{"id": "bench", "title": "Bench", "subject": "mixed", "grade": "5", "lessons": docs}]}
    (src / "catalog.json").write_text(json.dumps(catalog, indent=1, ensure_ascii=False))
    data = root / "var"
    init_data_dir(data, trust=public, name="bench-box")
    settings = load_settings(data, scheduler_enabled=False, announce=False)
    build_pack(src, root / "pack", read_private(private), 1)
    import_pack(settings, root / "pack")
    run_pending(settings, runners=runners_for(settings))
    db = connect(data / "box.db", readonly=True)
    try:
        failed = rows(db, "SELECT key, error FROM jobs WHERE status != 'done'")
        chunked = {r["lesson_id"] for r in rows(db, "SELECT DISTINCT lesson_id FROM transcript_chunks")}
    finally:
        db.conn.close()
    if failed or chunked != {lesson["id"] for lesson in lessons}:
        raise SystemExit(f"the AI pipeline did not index every lesson: {failed[:1]}")
    return data


# ---- measures ------------------------------------------------------------------------------------------------

def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def rss_mb() -> float:
    """Resident memory of this process now (MiB)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def retrieval_hits(db: Any, questions: list[dict[str, Any]]) -> dict[str, float]:
    """Top-1 and top-3 hit rates of the right chapter (lesson and knowledge point), over the whole box."""
    from edge_server import retrieval

    top1 = top3 = 0
    for q in questions:
        hits = [(p.lesson_id, p.knowledge_point) for p in retrieval.search(db, q["q"], None, limit=3)]
        top1 += bool(hits) and hits[0] == (q["lesson"], q["kp"])
        top3 += (q["lesson"], q["kp"]) in hits
    return {"retr_top1": top1 / len(questions), "retr_top3": top3 / len(questions)}


def ask_all(service: Any, db: Any, questions: list[dict[str, Any]], scoped: bool) -> list[dict[str, Any]]:
    """Ask every question once (cache emptied first), timing the first shown text and the full answer."""
    out = []
    for n, q in enumerate(questions):
        service._cache.clear()
        started = time.monotonic()
        first = None
        answer = None
        for kind, data in service.stream(db, 10_000 + n, q["q"], q["lesson"] if scoped else None, None, "en"):
            if kind == "token" and first is None:
                first = time.monotonic() - started
            if kind == "answer":
                answer = data
        full = time.monotonic() - started
        cited = answer.citations[0] if answer and answer.citations else {}
        out.append({"question": q["q"], "lesson": q["lesson"], "kp": q["kp"], "method": answer.method,
                    "answer": answer.answer, "cited": [cited.get("lesson"), cited.get("knowledge_point")],
                    "right": (cited.get("lesson"), cited.get("knowledge_point")) == (q["lesson"], q["kp"]),
                    "first_token_s": round(first if first is not None else full, 3), "full_s": round(full, 3)})
    return out


def full_class(data: Path, questions: list[dict[str, Any]], askers: int, generator: Any,
               timeout_s: float, budget_s: float | None) -> dict[str, Any]:
    """askers pupils post one question each at the same moment through the app; all must be answered."""
    from edge_server import companion
    from edge_server.box import Box
    from edge_server.settings import load_settings
    from edge_server.store import people
    from edge_server.store.db import open_box_db
    from edge_server.web import auth
    from edge_server.web.app import create_app

    db = open_box_db(data / "box.db")
    class_id = people.add_class(db, "Bench class")
    ids = [people.add_pupil(db, class_id, f"Pupil {i}", None)["id"] for i in range(askers)]
    settings = load_settings(data, scheduler_enabled=False, ai_jobs_enabled=False, announce=False,
                             companion_timeout_s=timeout_s, companion_rephrase_budget_s=budget_s)
    service = companion.Companion(settings, generator=generator)
    app = create_app(settings, Box.start(settings, companion=service))
    app.config.update(WTF_CSRF_ENABLED=False)  # the bench measures answering, the tests check CSRF
    clients = []
    for pid in ids:
        client = app.test_client()
        with client.session_transaction() as session:  # what the PIN login gives: the account and its generation
            session.update(auth.session_claims(db, "pupil", pid))
        clients.append(client)
    db.conn.close()
    results: list[dict[str, Any] | None] = [None] * askers
    go = threading.Barrier(askers)
    peak = [rss_mb()]
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss_mb())
            time.sleep(0.05)

    def run(i: int) -> None:
        q = questions[i % len(questions)]
        go.wait()
        started = time.monotonic()
        response = clients[i].post("/api/v1/companion/ask", json={"question": q["q"], "lesson_id": q["lesson"]})
        body = response.get_json(silent=True) or {}
        results[i] = {"status": response.status_code, "seconds": time.monotonic() - started,
                      "answered": bool(body.get("answer")), "method": body.get("method"),
                      "right": [c.get("knowledge_point") for c in body.get("citations", [])[:1]] == [q["kp"]]}

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    before = rss_mb()
    started = time.monotonic()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(askers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    wall = time.monotonic() - started
    done.set()
    got = [r for r in results if r is not None]
    methods: dict[str, int] = {}
    for r in got:
        methods[r["method"] or "none"] = methods.get(r["method"] or "none", 0) + 1
    return {"askers": askers, "answered": sum(r["status"] == 200 and r["answered"] for r in got) / askers,
            "lost": askers - len(got), "right": sum(r["right"] for r in got) / askers, "wall_s": round(wall, 2),
            "slowest_s": round(max((r["seconds"] for r in got), default=0.0), 2),
            "p50_s": round(percentile([r["seconds"] for r in got], 50), 2), "methods": methods,
            "rss_before_mb": round(before, 1), "rss_peak_mb": round(peak[0], 1),
            "maxrss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "timeout_s": timeout_s}


def table(report: dict[str, Any]) -> str:
    """The figures beside their targets."""
    s = report["summary"]
    c = report["class"]
    lines = [f"{'measure':<34}{'figure':>12}  target",
             f"{'top-1 citation right (in lesson)':<34}{s['cite_top1']:>12.2f}  >= 0.80",
             f"{'top-1 citation right (whole box)':<34}{s['cite_top1_box']:>12.2f}",
             f"{'retrieval top-1 (whole box)':<34}{s['retr_top1']:>12.2f}",
             f"{'retrieval top-3 (whole box)':<34}{s['retr_top3']:>12.2f}",
             f"{'first token p50 / p95 (s)':<34}{s['first_p50_s']:>5.2f} / {s['first_p95_s']:<5.2f}",
             f"{'full answer p50 / p95 (s)':<34}{s['full_p50_s']:>5.2f} / {s['full_p95_s']:<5.2f}  p50 <= 3.0",
             f"{'answers phrased by the model':<34}{s['generated']:>12.2f}",
             f"{'class: askers answered / lost':<34}{c['answered']:>8.2f} / {c['lost']:<3d}  all answered, none lost",
             f"{'class: wall / slowest / p50 (s)':<34}{c['wall_s']:>6.1f} / {c['slowest_s']:.1f} / {c['p50_s']:.1f}",
             f"{'class: citations right':<34}{c['right']:>12.2f}",
             f"{'class: RSS before / peak (MiB)':<34}{c['rss_before_mb']:>6.0f} / {c['rss_peak_mb']:<6.0f} bounded",
             f"{'class: answer methods':<34}{json.dumps(c['methods'])}",
             f"lessons {report['lessons']}, questions {report['questions']}, model {report['model']}, "
             f"threads {report['threads']}, rephrasing budget {report['budget_s']} s, "
             f"load average at start {report['loadavg']}"]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Build the box, run the measures, print the table (or --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=Path, default=SAMPLES, help="folder with lessons.json and audio/")
    parser.add_argument("--extra", type=Path, default=EXTRA, help="extra lessons.json to narrate ('' for none)")
    parser.add_argument("--cache", type=Path, default=CACHE, help="narrations and transcripts cache")
    parser.add_argument("--no-llm", action="store_true", help="extractive answers only (no text model)")
    parser.add_argument("--askers", type=int, default=40, help="pupils asking at once")
    parser.add_argument("--threads", type=int, default=2, help="text model threads (cores)")
    parser.add_argument("--timeout", type=float, default=30.0, help="companion_timeout_s")
    parser.add_argument("--budget", type=float, default=None,
                        help="companion_rephrase_budget_s (default: the box's default, 2.5 s)")
    parser.add_argument("--json", action="store_true", help="JSON to stdout instead of the table")
    args = parser.parse_args(argv)
    from edge_server import companion
    from edge_server.settings import load_settings
    from edge_server.store.db import open_box_db

    extra = args.extra if str(args.extra) not in ("", ".") else None
    lessons = load_lessons(args.samples, extra, args.cache)
    if not lessons:
        print("no lessons found: pass --samples DIR or --extra FILE", file=sys.stderr)
        return 1
    questions = [{"q": q["q"], "kp": q["kp"], "lesson": lesson["id"], "set": lesson["set"]}
                 for lesson in lessons for q in lesson.get("questions", [])]
    generator: Any = False
    if not args.no_llm:
        from models.llm import TextGenerator

        generator = TextGenerator(threads=args.threads, device="cpu")
        generator.load()
    loadavg = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    with tempfile.TemporaryDirectory(prefix="bench-companion-") as tmp:
        print(f"building a box with {len(lessons)} lessons", file=sys.stderr)
        data = build_box(lessons, Path(tmp), Transcribe(args.cache))
        settings = load_settings(data, scheduler_enabled=False, announce=False, companion_timeout_s=args.timeout,
                                 companion_rephrase_budget_s=args.budget)
        service = companion.Companion(settings, generator=generator)
        db = open_box_db(data / "box.db")
        print(f"asking {len(questions)} questions", file=sys.stderr)
        hits = retrieval_hits(db, questions)
        scoped = ask_all(service, db, questions, scoped=True)
        unscoped = ask_all(companion.Companion(settings, generator=False), db, questions, scoped=False)
        db.conn.close()
        print(f"{args.askers} pupils asking at once", file=sys.stderr)
        klass = full_class(data, questions, args.askers, generator, args.timeout, args.budget)
    firsts = [r["first_token_s"] for r in scoped]
    fulls = [r["full_s"] for r in scoped]
    summary = {"cite_top1": sum(r["right"] for r in scoped) / len(scoped),
               "cite_top1_box": sum(r["right"] for r in unscoped) / len(unscoped), **hits,
               "first_p50_s": percentile(firsts, 50), "first_p95_s": percentile(firsts, 95),
               "full_p50_s": percentile(fulls, 50), "full_p95_s": percentile(fulls, 95),
               "generated": sum(r["method"] == "generated" for r in scoped) / len(scoped)}
    report = {"lessons": len(lessons), "questions": len(questions), "threads": args.threads, "loadavg": loadavg,
              "budget_s": service.timeout_s,
              "model": "none (extractive)" if args.no_llm else "Gemma 3 270M Q4_K_M", "summary": summary,
              "class": klass, "answers": scoped, "targets": {k: list(v) for k, v in TARGETS.items()}}
    if args.json:
        json.dump(report, sys.stdout, indent=2, ensure_ascii=False)
        print()
    else:
        for r in scoped:
            mark = "ok " if r["right"] else "BAD"
            print(f"{mark} {r['full_s']:5.2f}s {r['method']:<10} {r['question']} -> {r['answer'][:90]}",
                  file=sys.stderr)
        print(table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
