"""Speed of the lesson AI: whole-pipeline real-time factor, runner tokens/s against raw llama-cpp-python, memory.

  rtf        per lesson: wall time of the whole pipeline (model loads, transcription, chapters, titles, summary)
             divided by the audio's duration; each lesson runs in a fresh process so every model load is counted
  peak_mb    that process's peak resident memory (getrusage ru_maxrss)
  tok/s      completion tokens per second on one prompt, through models.llm.TextGenerator and through a raw
             llama_cpp.Llama with the same file, n_ctx, threads, seed and sampling; median of --reps alternating runs

Lessons: ../shared/samples/audio/*.wav (with lessons.json for knowledge points) when present, else the bundled
sample course (edge_server/sample_course). References: pipeline <= 0.3x real time on 2 cores; our runner at least
0.9 of raw tokens/s.

    python -m bench.ai_speed [--json] [--threads 2] [--device cpu] [--reps 5] [--tokens 128] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bench.report import emit

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO.parent / "shared" / "samples"
SAMPLE_COURSE = REPO / "edge_server" / "sample_course"
RTF_TARGET = 0.3
TOKS_RATIO_TARGET = 0.9
PROMPT = ("Notes from a lesson:\n- Heat from the sun turns liquid water into water vapour.\n- The vapour rises, "
          "cools and forms clouds.\n- Drops join until they are heavy and fall as rain.\n\n"
          "The same notes as one short paragraph for pupils:\n")


def lessons(samples: Path) -> list[dict[str, Any]]:
    """Lessons to time: (id, audio path, knowledge points)."""
    found = []
    audio = samples / "audio"
    meta = samples / "lessons.json"
    if audio.is_dir() and meta.is_file():
        by_id = {lesson["id"]: lesson for lesson in json.loads(meta.read_text())["lessons"]}
        for wav in sorted(audio.glob("*.wav")):
            kps = by_id.get(wav.stem, {}).get("knowledge_points", [])
            found.append({"id": wav.stem, "path": str(wav), "kps": kps})
    if found:
        return found
    catalog = json.loads((SAMPLE_COURSE / "catalog.json").read_text())
    kp_by_id = {kp["id"]: kp for kp in catalog["knowledge_points"]}
    for course in catalog["courses"]:
        for lesson in course["lessons"]:
            if lesson.get("media"):
                found.append({"id": lesson["id"], "path": str(SAMPLE_COURSE / lesson["media"]["path"]),
                              "kps": [kp_by_id[k] for k in lesson["knowledge_points"]]})
    return found


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _time_pipeline(lesson: dict[str, Any], threads: int, device: str, use_llm: bool, out: Any) -> None:
    """In a fresh process: load the models and run the whole pipeline on one lesson."""
    started = time.perf_counter()
    from models.asr import Transcriber
    from models.llm import TextGenerator
    from models.pipeline import run_pipeline
    from models.types import KnowledgePoint

    kps = [KnowledgePoint(k["id"], k["name"], k.get("description", "")) for k in lesson["kps"]]
    stages: dict[str, float] = {}
    last = [started, "transcribing"]

    def progress(_fraction: float, message: str) -> None:
        if message != last[1]:
            now = time.perf_counter()
            stages[last[1]] = stages.get(last[1], 0.0) + now - last[0]
            last[:] = [now, message]

    transcriber = Transcriber(threads=threads, device=device)
    generator = TextGenerator(threads=threads, device=device) if use_llm else None
    outputs = run_pipeline(Path(lesson["path"]), kps, transcriber, generator, progress)
    wall = time.perf_counter() - started
    duration = json.loads(outputs["transcript"].content)["duration"]
    summary = json.loads(outputs["summary"].content)
    out.put({"lesson": lesson["id"], "audio_s": round(duration, 2), "wall_s": round(wall, 2),
             "rtf": round(wall / duration, 3), "peak_mb": round(_peak_mb(), 1),
             "stages_s": {k: round(v, 2) for k, v in stages.items()}, "summary_method": summary["method"],
             "device": transcriber.device, "load_avg_1m": round(os.getloadavg()[0], 2)})


def time_lesson(lesson: dict[str, Any], threads: int, device: str, use_llm: bool) -> dict[str, Any]:
    """Whole-pipeline timing of one lesson in a spawned process (so model loads and memory are its own)."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_time_pipeline, args=(lesson, threads, device, use_llm, queue))
    proc.start()
    try:
        result = queue.get(timeout=900)
    finally:
        proc.join(60)
    return result


def tokens_per_second(threads: int, device: str, reps: int, max_tokens: int) -> dict[str, Any]:
    """Completion tokens/s through TextGenerator and through raw llama_cpp.Llama, same prompt and settings."""
    import llama_cpp

    from models.llm import TextGenerator

    ours = TextGenerator(threads=threads, device=device, n_ctx=2048)
    ours.load()
    raw = llama_cpp.Llama(model_path=str(ours.model.path), n_ctx=ours.n_ctx, n_threads=threads,
                          n_threads_batch=threads, n_gpu_layers=ours.n_gpu_layers, seed=ours.seed, verbose=False)
    n_tokens = None

    def run_raw() -> tuple[float, str, int]:
        t = time.perf_counter()
        out = raw.create_completion(PROMPT, max_tokens=max_tokens, temperature=0.0, top_k=1, seed=ours.seed)
        return time.perf_counter() - t, out["choices"][0]["text"], out["usage"]["completion_tokens"]

    def run_ours() -> tuple[float, str]:
        t = time.perf_counter()
        text = ours.generate(PROMPT, max_tokens=max_tokens, temperature=0.0)
        return time.perf_counter() - t, text

    run_raw(), run_ours()  # warm both (first-call allocations)
    raw_times, our_times, same = [], [], True
    for rep in range(reps):
        # alternate which goes first so a drift in machine load does not favour one side
        if rep % 2:
            dt_ours, our_text = run_ours()
            dt_raw, raw_text, n_tokens = run_raw()
        else:
            dt_raw, raw_text, n_tokens = run_raw()
            dt_ours, our_text = run_ours()
        raw_times.append(dt_raw)
        our_times.append(dt_ours)
        same = same and raw_text == our_text
    # same prompt, same greedy decoding: the same text, so the same number of completion tokens
    raw_tps = n_tokens / statistics.median(raw_times)
    our_tps = n_tokens / statistics.median(our_times)
    # on a shared machine the best run is the least disturbed one: report that ratio too
    best_ratio = min(raw_times) / min(our_times)
    return {"completion_tokens": n_tokens, "raw_tok_s": round(raw_tps, 1), "ours_tok_s": round(our_tps, 1),
            "ratio": round(our_tps / raw_tps, 3), "best_raw_tok_s": round(n_tokens / min(raw_times), 1),
            "best_ours_tok_s": round(n_tokens / min(our_times), 1), "best_ratio": round(best_ratio, 3),
            "same_text": same, "reps": reps, "n_gpu_layers": ours.n_gpu_layers, "peak_mb": round(_peak_mb(), 1),
            "load_avg_1m": round(os.getloadavg()[0], 2)}


def table(result: dict[str, Any]) -> str:
    lines = [f"AI speed on {result['cpus']} CPU(s), {result['threads']} thread(s), device {result['device']}", "",
             f"{'lesson':24s} {'audio s':>8s} {'wall s':>8s} {'RTF':>6s} {'target':>7s} {'peak MB':>8s}  stages (s)"]
    for r in result["pipeline"]:
        mark = "ok" if r["rtf"] <= RTF_TARGET else "MISS"
        stages = ", ".join(f"{k} {v}" for k, v in r["stages_s"].items())
        lines.append(f"{r['lesson']:24s} {r['audio_s']:8.1f} {r['wall_s']:8.1f} {r['rtf']:6.3f} "
                     f"{'<=' + str(RTF_TARGET):>7s} {r['peak_mb']:8.0f}  {stages} [{mark}] (load {r['load_avg_1m']})")
    if result["pipeline"]:
        lines.append(f"{'mean':24s} {'':8s} {'':8s} {result['mean_rtf']:6.3f} {'<=' + str(RTF_TARGET):>7s}")
    t = result.get("tokens")
    if t:
        mark = "ok" if t["ratio"] >= TOKS_RATIO_TARGET else "MISS"
        lines += ["", f"{'tokens/s':24s} {'raw llama_cpp':>14s} {'TextGenerator':>14s} {'ratio':>7s} {'target':>7s}",
                  f"{str(t['completion_tokens']) + ' tokens, median':24s} {t['raw_tok_s']:14.1f} "
                  f"{t['ours_tok_s']:14.1f} {t['ratio']:7.3f} {'>=' + str(TOKS_RATIO_TARGET):>7s} [{mark}]",
                  f"{'best run':24s} {t['best_raw_tok_s']:14.1f} {t['best_ours_tok_s']:14.1f} {t['best_ratio']:7.3f}",
                  f"(same text both ways: {t['same_text']}; peak MB of the tokens run: {t['peak_mb']:.0f}; "
                  f"1-minute load average {t['load_avg_1m']} on {result['cpus']} CPUs)"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=Path, default=SAMPLES)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--limit", type=int, default=None, help="time only the first N lessons")
    parser.add_argument("--no-llm", action="store_true", help="pipeline without the text model (extractive)")
    parser.add_argument("--skip-pipeline", action="store_true")
    parser.add_argument("--skip-tokens", action="store_true")
    parser.add_argument("--json", action="store_true", help="print JSON on stdout (the table goes to stderr)")
    args = parser.parse_args(argv)
    result: dict[str, Any] = {"cpus": os.cpu_count(), "threads": args.threads, "device": args.device,
                              "targets": {"rtf_max": RTF_TARGET, "tok_s_ratio_min": TOKS_RATIO_TARGET},
                              "pipeline": [], "tokens": None}
    if not args.skip_pipeline:
        for lesson in lessons(args.samples)[:args.limit]:
            print(f"timing {lesson['id']}…", file=sys.stderr)
            result["pipeline"].append(time_lesson(lesson, args.threads, args.device, not args.no_llm))
        if result["pipeline"]:
            result["mean_rtf"] = round(statistics.mean(r["rtf"] for r in result["pipeline"]), 3)
    if not args.skip_tokens:
        result["tokens"] = tokens_per_second(args.threads, args.device, args.reps, args.tokens)
    emit(result, table, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
