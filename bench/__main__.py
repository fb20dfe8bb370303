"""`make bench`: run every benchmark in bench/ and print one table of figures beside their references.

Each script runs as `python -m bench.<name> --json` in its own process; its own detailed table goes to
.bench/<name>.txt and its JSON to .bench/<name>.json. Usage: python -m bench [--only NAME ...] [--quick]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

OUT = Path(".bench")
Row = tuple[str, str, str, str]  # figure, measured, reference, target


def _serving(r: dict[str, Any]) -> list[Row]:
    box, nginx, api = r["box_media"], r["nginx_media"], r["box_api"]
    return [
        (f"media MB/s, 60 clients, 256 KiB ranges (front {r['config']['front']})", f"{box['mb_per_s']:.0f}",
         f"nginx {nginx['mb_per_s']:.0f}",
         f"ratio >= 0.3 (got {r['ratio']:.2f})"),
        ("media p99 ms", f"{box['p99_ms']:.0f}", f"nginx {nginx['p99_ms']:.0f}", "< 250"),
        ("media MB/s with the app alone (--front none)", f"{r['app_alone_media']['mb_per_s']:.0f}",
         f"nginx {nginx['mb_per_s']:.0f}", f"(ratio {r['app_alone_ratio']:.2f})"),
        (f"{api['path']} p99 ms, 60 clients", f"{api['p99_ms']:.0f}", "", "< 250"),
        ("errors", str(box["errors"] + api["errors"]), f"nginx {nginx['errors']}", "0"),
    ]


def _ai_quality(r: dict[str, Any]) -> list[Row]:
    m = next(x for x in r["means"] if x["lesson"] == "MEAN")
    sets = {x["lesson"]: x["wer"] for x in r["means"]}
    o, eq, tt = m["ours"], m["equal"], m["texttiling"]
    return [
        ("word error rate (mean, normalised)", f"{m['wer']:.3f}",
         f"raw {m['raw_wer']:.3f}; samples {sets.get('mean samples', 0):.3f} / extra {sets.get('mean extra', 0):.3f}",
         "<= 0.12"),
        ("boundary F1 (+-8 s)", f"{o['f1']:.2f}", f"equal {eq['f1']:.2f} / TextTiling {tt['f1']:.2f}", ">= 0.80"),
        ("knowledge-point accuracy", f"{o['kp_acc']:.2f}", f"equal {eq['kp_acc']:.2f} / TT {tt['kp_acc']:.2f}",
         ">= 0.85"),
        ("summary key-term coverage", f"{o['terms']:.2f}", f"equal {eq['terms']:.2f} / TT {tt['terms']:.2f}",
         ">= 0.50"),
    ]


def _ai_speed(r: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    if r.get("pipeline"):
        rows.append(("pipeline real-time factor (mean)", f"{r['mean_rtf']:.3f}", "real time = 1.0", "<= 0.3"))
        rows.append(("pipeline peak memory MB", f"{max(p['peak_mb'] for p in r['pipeline']):.0f}", "", ""))
    t = r.get("tokens")
    if t:
        rows.append(("tokens/s, our runner", f"{t['ours_tok_s']:.1f}", f"raw llama-cpp-python {t['raw_tok_s']:.1f}",
                     f">= 0.9x (got {t['ratio']:.2f})"))
    return rows


def _llama_builds(r: dict[str, Any]) -> list[Row]:
    rows = {(x["build"], x["repack"]): x for x in r["rows"]}

    def shown(row: dict[str, Any]) -> str:
        return f"{row['tok_s']:.1f} ({row['backend']})" if "tok_s" in row else f"crashed {row.get('crashed', '?')}"

    native = " / ".join(f"{'repack' if k[1] else 'no repack'} {shown(v)}" for k, v in rows.items() if k[0] == "native")
    return [("tokens/s, portable wheel vs native build", shown(rows[("portable", True)]), f"native: {native}",
             f">= 0.9x best native (got {r['ratio']})")]


def _box_memory(r: dict[str, Any]) -> list[Row]:
    idle, after = r["idle"]["total"], r["after_asks"]["total"]
    return [(f"whole box PSS idle / after {r['asks']} asks MiB", f"{idle['pss_mb']:.0f} / {after['pss_mb']:.0f}",
             f"RSS sum {idle['rss_mb']:.0f} / {after['rss_mb']:.0f}", "one copy of each model")]


def _mastery(r: dict[str, Any]) -> list[Row]:
    a, b = r["summary"]["a"], r["summary"]["b"]
    rows = [
        ("(a) next-answer AUC", f"{a['auc_ours']:.4f}",
         f"true params {a['auc_ceiling']:.4f}, floor {a['auc_floor']:.4f}",
         "within 0.01 of ceiling"),
        ("(a) stuck F1", f"{a['stuck_f1']:.3f}", f"true params {a['stuck_f1_true_params']:.3f}", ">= 0.80"),
        ("(b) next-answer AUC", f"{b['auc_ours']:.4f}", f"plain BKT {b['auc_plain_bkt']:.4f}", "+0.02 over plain"),
        ("(b) stuck F1", f"{b['stuck_f1']:.3f}", f"plain BKT {b['stuck_f1_plain_bkt']:.3f}", ">= 0.78"),
    ]
    if r.get("dashboard"):
        rows.append(("dashboard 40 pupils x 30 KPs, median ms", f"{r['dashboard']['median_ms']:.0f}", "", "< 300"))
    return rows


def _sync(r: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    rates = [x for x in r.get("push_rate", []) if x.get("adaptive")] or r.get("push_rate", [])
    if rates:
        rows.append(("statements/s pushed to Ralph", f"{rates[-1]['per_second']:,}", "", ">= 2,000"))
    if "forced_cuts" in r:
        c = r["forced_cuts"]
        rows.append((f"lost / duplicated over {c['cuts']} forced cuts", f"{c['lost']} / {c['duplicated']}", "",
                     "0 / 0"))
    u = r["pack_update"]
    rows.append(("bytes for a 1-of-20-files pack update", f"{u['update_bytes']:,}", f"full pack {u['pack_bytes']:,}",
                 "~1/20"))
    rows.append(("pull resume: bytes moved / missing", f"{r['pull_resume']['ratio']}x", "", "<= 1.1x"))
    rows.append(("pull resume: time to finish s", f"{r['pull_resume']['resume_seconds']}", "", ""))
    return rows


def _companion(r: dict[str, Any]) -> list[Row]:
    s, c = r["summary"], r["class"]
    return [
        ("companion top-1 citation right", f"{s['cite_top1']:.2f}", f"retrieval alone {s['retr_top1']:.2f}",
         ">= 0.80"),
        ("companion full answer p50 / p95 s", f"{s['full_p50_s']:.2f} / {s['full_p95_s']:.2f}", "", "p50 <= 3"),
        ("40 askers: answered / lost", f"{c['answered']:.2f} / {c['lost']}", "", "1.00 / 0"),
        ("40 askers: RSS before / peak MiB", f"{c['rss_before_mb']:.0f} / {c['rss_peak_mb']:.0f}", "", "bounded"),
    ]


def _classroom(r: dict[str, Any]) -> list[Row]:
    m, a, routes = r["pss_mb"], r["anon_mb"], r["routes"]
    media, answer = routes.get("GET media (range)", {}), routes.get("POST /lesson/<id>/answer", {})
    return [
        (f"{r['tablets']} tablets {r['minutes']:g} min: requests / 5xx", f"{r['requests']:,} / {r['server_errors']}",
         f"companion 429 {r['companion_busy_429']}, other errors {r['other_errors']}", "5xx = 0"),
        ("classroom p50 / p99 ms, all routes", f"{r['p50_ms']:.0f} / {r['p99_ms']:.0f}",
         f"media p99 {media.get('p99_ms', 0):.0f}, answer p99 {answer.get('p99_ms', 0):.0f}", ""),
        ("classroom server PSS after 1 min / middle / end MiB",
         f"{m['after_first_minute']:.0f} / {m['middle']:.0f} / {m['end']:.0f}",
         f"cold start {m['start']:.0f}, peak {m['peak']:.0f}", "bounded"),
        ("classroom anonymous memory growth MiB/10 min, after 1 min / second half",
         f"{a['growth_per_10_min']:+.1f} / {a['growth_second_half_per_10_min']:+.1f}",
         f"anonymous after 1 min {a['after_first_minute']:.0f}, end {a['end']:.0f}", "no growth"),
        # in use swings by tens of MiB between garbage collections: the means of the first and last thirds
        *[(f"classroom {name} malloc in use MiB, first / last third",
           f"{v['in_use']['first_third_mean']:.0f} / {v['in_use']['last_third_mean']:.0f}",
           f"free at end {v['free']['end']:.0f}, mmap'd {v['mmapped']['first_third_mean']:.0f} -> "
           f"{v['mmapped']['last_third_mean']:.0f}", "no growth")
          for name, v in r.get("heap_by_worker_mb", {}).items()],
    ]


def _safety(r: dict[str, Any]) -> list[Row]:
    langs = r["by_language"]
    lowest = min(v["recall"] for v in langs.values())
    return [
        (f"unsafe asks refused, {r['split']} split, en / fr / zh",
         " / ".join(f"{v['recall']:.2f}" for v in langs.values()), r["method"],
         f">= 0.95 each (min {lowest:.2f})"),
        ("safe questions refused, en / fr / zh",
         " / ".join(f"{v['safe_refused']}/{v['safe_n']}" for v in langs.values()),
         f"disclosures flagged {r['disclosure_recall']:.2f}", "<= 1 in 30 each"),
        ("safety check latency p50 / p95 ms", f"{r['latency_ms']['p50']} / {r['latency_ms']['p95']}", "", ""),
    ]


def _province(r: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    p = r.get("precompute")
    if p:
        rows.append((f"ai precompute, sample course ({p['audio_seconds']:.0f} s audio) s", f"{p['wall_seconds']:.1f}",
                     f"pipeline {p['pipeline_seconds']:.1f}, load {p['load_before']}", ""))
        rows.append(("jobs queued importing a precomputed pack", str(p["jobs_queued_precomputed"]),
                     f"without {p['jobs_queued_plain']}", "0"))
    b = r["backup_box"]
    rows.append((f"backup, {b['pupils']} pupils / {b['attempts']:,} attempts: MB / s",
                 f"{b['backup']['bytes'] / 1e6:.2f} / {b['backup']['seconds']:.2f}",
                 f"box.db {b['box_db_bytes'] / 1e6:.1f} MB", ""))
    return rows


def _offline_tablets(r: dict[str, Any]) -> list[Row]:
    per_lesson = [x["total_bytes"] for x in r["lessons"]]
    pages = [x["pages_bytes"] for x in r["lessons"]]
    resent = r["resend"]
    return [
        ("tablet storage per kept lesson KB (pages+documents / with audio)",
         f"{min(pages) / 1024:.0f}-{max(pages) / 1024:.0f} / {min(per_lesson) / 1024:.0f}-{max(per_lesson) / 1024:.0f}",
         f"browser's count {r['estimate_per_lesson'] / 1024:.0f} per lesson, shell {r['shell_bytes'] / 1024:.0f}", ""),
        (f"sync of {r['answers']} queued answers s (median)", f"{r['sync_median_s']:.2f}",
         f"{r['per_answer_ms']:.1f} ms per answer; resent {resent['seconds']:.2f} s (+{resent['attempts_added']})", ""),
    ]


BENCHES: dict[str, tuple[Callable[[dict[str, Any]], list[Row]], list[str], list[str]]] = {
    # name: (headline rows, full args, --quick args)
    # the box's own defaults: a web worker per core, models in one model process
    "serving": (_serving, [], ["--seconds", "5"]),
    "llama_builds": (_llama_builds, [], ["--reps", "2"]),
    "box_memory": (_box_memory, [], ["--asks", "20"]),
    "mastery_eval": (_mastery, [], ["--seeds", "101"]),
    "sync": (_sync, [], ["--statements", "3000"]),
    "ai_quality": (_ai_quality, [], ["--extra", ""]),
    "ai_speed": (_ai_speed, [], ["--limit", "1", "--reps", "2"]),
    "companion": (_companion, [], []),
    "classroom": (_classroom, [], ["--minutes", "1"]),
    "province": (_province, [], ["--attempts", "2000"]),
    # the dev split: the test split is held out and run once, by hand, for a report (bench/safety.py)
    "safety": (_safety, [], []),
    "offline_tablets": (_offline_tablets, [], ["--rounds", "1"]),
}


def run_one(name: str, args: list[str]) -> tuple[dict[str, Any] | None, str, float]:
    """Run one benchmark in its own process; return its JSON, its log and the wall time."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", f"bench.{name}", *args, "--json"], capture_output=True, text=True)
    took = time.perf_counter() - start
    (OUT / f"{name}.txt").write_text(proc.stderr)
    try:
        data = json.loads(proc.stdout)
    except json.JSONDecodeError:
        return None, proc.stderr.strip().splitlines()[-1:][0] if proc.stderr.strip() else "no output", took
    (OUT / f"{name}.json").write_text(json.dumps(data, indent=2))
    return data, "", took


def render(rows: list[tuple[str, Row]]) -> str:
    """One aligned Markdown table."""
    head = ("bench", "figure", "measured", "reference", "target")
    body = [(b, *r) for b, r in rows]
    widths = [max(len(str(x[i])) for x in [head, *body]) for i in range(5)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"  # noqa: E731
    return "\n".join([line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, body)])


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=sorted(BENCHES), help="run only these")
    parser.add_argument("--quick", action="store_true", help="shorter runs (less precise)")
    args = parser.parse_args(argv)
    OUT.mkdir(exist_ok=True)
    rows: list[tuple[str, Row]] = []
    for name in args.only or BENCHES:
        headline, full, quick = BENCHES[name]
        print(f"running bench.{name} ...", file=sys.stderr, flush=True)
        data, error, took = run_one(name, quick if args.quick else full)
        if data is None:
            rows.append((name, ("FAILED", error[:80], "", f"see .bench/{name}.txt")))
            continue
        try:
            rows.extend((name, r) for r in headline(data))
        except (KeyError, StopIteration, TypeError) as exc:
            rows.append((name, ("unreadable result", repr(exc)[:80], "", f"see .bench/{name}.json")))
        print(f"  done in {took:.0f} s", file=sys.stderr, flush=True)
    table = render(rows)
    (OUT / "table.md").write_text(table + "\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
