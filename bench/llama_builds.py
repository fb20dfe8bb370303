"""Tokens/s of the portable llama.cpp wheel the box installs against a native (-march=native) build, same machine.

Each build runs in a fresh process (the native one from its own --target folder), on the same prompt, model, threads
and greedy sampling. The native build is tried as llama.cpp ships it (weights repacked for the CPU's best kernels)
and with repacking off (`use_extra_bufts = false`), the only way it runs on a Xeon whose AMX path crashes; a crash
is reported as such. Target: the portable build within 10 % of the best native run that works.

    python -m bench.llama_builds [--json] [--threads 2] [--reps 5] [--tokens 128]

The native wheel is built once by `LLAMA_WHEEL_NATIVE=1 scripts/build-llama-wheel.sh` (about 5 minutes) and cached.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.report import emit

REPO = Path(__file__).resolve().parent.parent
TARGET = REPO / ".bench" / "llama-native"
RATIO_TARGET = 0.9
PROMPT = ("Notes from a lesson:\n- Heat from the sun turns liquid water into water vapour.\n- The vapour rises, "
          "cools and forms clouds.\n- Drops join until they are heavy and fall as rain.\n\n"
          "The same notes as one short paragraph for pupils:\n")


def native_build() -> Path:
    """Build (or reuse) the native wheel and unpack it into .bench/llama-native; return that folder."""
    env = {**os.environ, "LLAMA_WHEEL_NATIVE": "1", "PYTHON": sys.executable}
    wheel = subprocess.run(["bash", str(REPO / "scripts" / "build-llama-wheel.sh")], env=env, check=True,
                           stdout=subprocess.PIPE, text=True).stdout.strip().splitlines()[-1]
    stamp = TARGET / ".wheel"
    if not stamp.is_file() or stamp.read_text() != wheel:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--upgrade", "--target",
                        str(TARGET), wheel], check=True)
        stamp.write_text(wheel)
    return TARGET


def _child(repack: bool, threads: int, reps: int, max_tokens: int) -> dict[str, Any]:
    """In the child: load with the installed llama_cpp (portable: the self-test's variant) and time generation."""
    import llama_cpp
    import llama_cpp.llama_cpp as low

    from models import llama_backend
    from models.registry import resolve
    from models.selftest import Options, ensure_backend

    backend = ensure_backend(Options(device="cpu", threads=threads)) if llama_backend.variants() else "builtin"
    if not repack:
        defaults = low.llama_model_default_params

        def no_repack() -> Any:
            params = defaults()
            params.use_extra_bufts = False
            return params

        low.llama_model_default_params = no_repack
    llm = llama_cpp.Llama(model_path=str(resolve("llm").path), n_ctx=2048, n_batch=128, n_threads=threads,
                          n_threads_batch=threads, seed=0, verbose=False)
    llm.create_completion(PROMPT, max_tokens=8, temperature=0.0, top_k=1)  # warm
    times, tokens = [], 0
    for _ in range(reps):
        t = time.perf_counter()
        out = llm.create_completion(PROMPT, max_tokens=max_tokens, temperature=0.0, top_k=1, seed=0)
        times.append(time.perf_counter() - t)
        tokens = out["usage"]["completion_tokens"]
    return {"backend": backend, "tokens": tokens, "tok_s": round(tokens / statistics.median(times), 1),
            "best_tok_s": round(tokens / min(times), 1), "library": str(Path(llama_cpp.__file__).parent)}


def run(label: str, path: Path | None, repack: bool, threads: int, reps: int, max_tokens: int) -> dict[str, Any]:
    """One build in a fresh process; a native crash becomes {"crashed": "SIGILL"}."""
    env = dict(os.environ)
    if path is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(path), str(REPO)])
    args = [sys.executable, "-m", "bench.llama_builds", "--child", "--threads", str(threads), "--reps", str(reps),
            "--tokens", str(max_tokens)] + ([] if repack else ["--no-repack"])
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=900, check=False)
    if done.returncode < 0:
        return {"build": label, "repack": repack, "crashed": signal.Signals(-done.returncode).name}
    if done.returncode != 0:
        return {"build": label, "repack": repack, "error": done.stderr.strip().splitlines()[-1:]}
    return {"build": label, "repack": repack, **json.loads(done.stdout.strip().splitlines()[-1])}


def compare(threads: int, reps: int, max_tokens: int) -> dict[str, Any]:
    native = native_build()
    rows = [run("portable", None, True, threads, reps, max_tokens),
            run("native", native, True, threads, reps, max_tokens),
            run("native", native, False, threads, reps, max_tokens)]
    portable = rows[0].get("tok_s")
    best_native = max((r.get("tok_s", 0) for r in rows[1:]), default=0)
    ratio = round(portable / best_native, 3) if portable and best_native else None
    return {"rows": rows, "ratio": ratio, "target": RATIO_TARGET, "threads": threads, "cpus": os.cpu_count(),
            "amx": "amx_tile" in Path("/proc/cpuinfo").read_text()}


def table(result: dict[str, Any]) -> str:
    lines = [f"llama.cpp builds on {result['cpus']} CPU(s), {result['threads']} thread(s), "
             f"AMX advertised: {result['amx']}", "",
             f"{'build':10s} {'repack':>6s} {'CPU backend':>16s} {'tok/s':>7s} {'best':>7s}"]
    for r in result["rows"]:
        if "tok_s" in r:
            lines.append(f"{r['build']:10s} {str(r['repack']):>6s} {r['backend']:>16s} {r['tok_s']:7.1f} "
                         f"{r['best_tok_s']:7.1f}")
        else:
            lines.append(f"{r['build']:10s} {str(r['repack']):>6s} {'':>16s} "
                         f"{'crashed with ' + r['crashed'] if 'crashed' in r else 'failed: ' + str(r['error'])}")
    if result["ratio"] is not None:
        mark = "ok" if result["ratio"] >= RATIO_TARGET else "MISS"
        lines.append(f"portable / best working native: {result['ratio']:.3f} (target >= {RATIO_TARGET}) [{mark}]")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-repack", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(not args.no_repack, args.threads, args.reps, args.tokens)))
        return 0
    result = compare(args.threads, args.reps, args.tokens)
    emit(result, table, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
