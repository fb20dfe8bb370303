"""The self-test: each installed model loaded in a child process, one second of speech transcribed (by tiny.en and by
the multilingual model of French and Chinese lessons), 8 tokens generated.

A native crash (SIGSEGV, SIGILL) kills only the child and is reported as that model's error. For the text model the
llama.cpp CPU variants are tried best first, and the first that generates is the one the model process loads: the
verdict is remembered (with the variants that crashed) for this machine and wheel, so a box pays for the probe once.

    python -m models.selftest [--models DIR] [--device cpu] [--threads 2] [--state FILE]   # prints the report
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from models import llama_backend

SPEECH = Path(__file__).with_name("data") / "selftest.wav"
CHILD_TIMEOUT_S = 180.0
TOKENS = 8
PROMPT = "The water cycle has three steps:"
MAX_VARIANT_TRIES = 4


@dataclass(frozen=True)
class Options:
    models_dir: Path | None = None
    device: str = "auto"
    threads: int = 2


def _child_args(role: str, options: Options, variant: str | None = None) -> list[str]:
    args = [sys.executable, "-m", "models.selftest", "--child", role, "--device", options.device,
            "--threads", str(options.threads)]
    if options.models_dir is not None:
        args += ["--models", str(options.models_dir)]
    if variant is not None:
        args += ["--variant", variant]
    return args


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"the model crashed with {signal.Signals(-code).name}"
        except ValueError:
            return f"the model was killed by signal {-code}"
    return f"the model check exited with status {code}"


def run_child(role: str, options: Options, variant: str | None = None,
              timeout_s: float = CHILD_TIMEOUT_S) -> dict[str, Any]:
    """Run one model check in a fresh process; a crash or hang becomes {"ok": False, "error": ...}."""
    started = time.monotonic()
    with tempfile.TemporaryFile() as err:
        try:
            done = subprocess.run(_child_args(role, options, variant), stdout=subprocess.PIPE, stderr=err,
                                  timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired:
            return {"ok": False, "error": f"no answer within {timeout_s:.0f} s", "seconds": timeout_s}
        err.seek(0)
        tail = err.read().decode(errors="replace").strip().splitlines()[-1:]
    seconds = round(time.monotonic() - started, 2)
    lines = done.stdout.decode(errors="replace").strip().splitlines()
    if done.returncode == 0 and lines:
        return {**json.loads(lines[-1]), "seconds": seconds}
    reason = _describe_exit(done.returncode)
    return {"ok": False, "error": f"{reason}{': ' + tail[0] if tail and done.returncode > 0 else ''}",
            "seconds": seconds, "crashed": done.returncode < 0}


def _model_facts(role: str, options: Options) -> tuple[dict[str, Any], str | None]:
    from models.registry import ModelError, resolve

    try:
        model = resolve(role, options.models_dir)
    except ModelError as exc:
        return {"role": role, "id": None, "sha256": None}, str(exc)
    return {"role": role, "id": model.id, "sha256": model.sha256}, None


CHECKED = ("asr", "llm", "asr_multilingual")


def check_asr(options: Options, role: str = "asr") -> dict[str, Any]:
    """Transcribe the bundled second of speech in a child process with a speech model (tiny.en, or the multilingual
    one). A box may do without the multilingual model (English lessons only): its absence is reported as optional."""
    from models.registry import REQUIRED_ROLES

    facts, missing = _model_facts(role, options)
    if missing:
        optional = {} if role in REQUIRED_ROLES else {"optional": True}
        return {**facts, "ok": False, "seconds": 0.0, "error": missing, **optional}
    return {**facts, "error": None, **run_child(role, options)}


def passed(report: dict[str, Any]) -> bool:
    """Every model ok, but for an optional one that is not installed."""
    return all(m.get("ok") or m.get("optional") for m in report.get("models", []))


def check_llm(options: Options, remembered: dict[str, Any] | None = None) -> dict[str, Any]:
    """Generate 8 tokens in a child process, trying the llama.cpp CPU variants best first."""
    facts, missing = _model_facts("llm", options)
    if missing:
        return {**facts, "ok": False, "seconds": 0.0, "error": missing}
    candidates = [v.name for v in llama_backend.variants()] or [None]
    rejected = dict((remembered or {}).get("rejected", {}))
    result: dict[str, Any] = {}
    tries = 0
    for name in candidates:
        if name in rejected:
            continue
        if tries == MAX_VARIANT_TRIES:
            break
        tries += 1
        result = run_child("llm", options, name)
        if result["ok"] or not result.pop("crashed", False) or name is None:
            break  # a Python error (a bad model file) is the same on every variant: do not blame the variant
        rejected[name] = result["error"]
    if not result:
        result = {"ok": False, "seconds": 0.0, "error": "every llama.cpp CPU variant crashed on this machine"}
    return {**facts, "error": None, **result, "rejected": rejected}


def run_selftest(options: Options, state: Path | None = None) -> dict[str, Any]:
    """Check every role; remember the report in state (the model process reads the chosen backend from it)."""
    remembered = read_state(state)
    llm_before = next((m for m in remembered.get("models", []) if m.get("role") == "llm"), None)
    if remembered.get("machine") != llama_backend.machine_key():
        llm_before = None  # another CPU or another wheel: crashes seen before say nothing here
    report = {"models": [check_asr(options), check_llm(options, llm_before), check_asr(options, "asr_multilingual")],
              "machine": llama_backend.machine_key(), "at": datetime.now(UTC).isoformat(timespec="seconds")}
    if state is not None:
        write_state(state, report)
    return report


def read_state(state: Path | None) -> dict[str, Any]:
    """The last report, or {} when there is none or it cannot be read."""
    if state is None:
        return {}
    try:
        data = json.loads(state.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_state(state: Path, report: dict[str, Any]) -> None:
    """Write the report atomically (a reader never sees half of it)."""
    state.parent.mkdir(parents=True, exist_ok=True)
    tmp = state.with_name(f".{state.name}.{os.getpid()}")
    tmp.write_text(json.dumps(report, indent=2))
    os.replace(tmp, state)


def backend_choice(report: dict[str, Any]) -> tuple[str | None, set[str]]:
    """The CPU variant the last self-test chose on this machine, and those that crashed (pure over the report)."""
    if report.get("machine") != llama_backend.machine_key():
        return None, set()
    llm = next((m for m in report.get("models", []) if m.get("role") == "llm"), {})
    backend = llm.get("backend") if llm.get("ok") else None
    return (backend if backend not in (None, "builtin") else None), set(llm.get("rejected", {}))


def default_state() -> Path:
    """Where a process with no data directory (the `ai` CLI, tests) remembers the verdict for this machine."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "classroom-box" / "selftest.json"


def ensure_backend(options: Options, state: Path | None = None) -> str:
    """Load the llama.cpp CPU variant the self-test judged safe here; probe in child processes if none was judged."""
    if llama_backend.loaded() is not None:
        return llama_backend.loaded() or ""
    device = "cpu" if options.device == "cpu" else options.device
    if not llama_backend.variants():
        return llama_backend.load(device=device)
    state = state or default_state()
    report = read_state(state)
    chosen, rejected = backend_choice(report)
    if chosen is None:
        same_machine = report.get("machine") == llama_backend.machine_key()
        before = next((m for m in report.get("models", []) if m.get("role") == "llm"), None) if same_machine else None
        llm = check_llm(options, before)
        others = [m for m in report.get("models", []) if m.get("role") != "llm"] if same_machine else []
        write_state(state, {**report, "models": [*others, llm], "machine": llama_backend.machine_key(),
                            "at": datetime.now(UTC).isoformat(timespec="seconds")})
        chosen, rejected = (llm.get("backend") if llm.get("ok") else None), set(llm.get("rejected", {}))
    return llama_backend.load(chosen, rejected, device=device)


def is_current(report: dict[str, Any], options: Options) -> bool:
    """True when the report is for this machine and wheel and for the models installed now, all ok."""
    if report.get("machine") != llama_backend.machine_key():
        return False
    if {m.get("role") for m in report.get("models", [])} != set(CHECKED):
        return False
    for model in report.get("models", []):
        facts, missing = _model_facts(model.get("role", ""), options)
        if model.get("optional") and missing:
            continue  # still not installed: nothing new to test
        if missing or facts["sha256"] != model.get("sha256") or not model.get("ok"):
            return False
    return bool(report.get("models"))


def selftest_if_needed(options: Options, state: Path) -> dict[str, Any]:
    """The report in state if it is current; else this machine's known verdict for these models; else a new run."""
    report = read_state(state)
    if is_current(report, options):
        return report
    known = read_state(default_state())
    if is_current(known, options):
        write_state(state, known)
        return known
    report = run_selftest(options, state)
    if passed(report):
        write_state(default_state(), report)
    return report


def _child(role: str, options: Options, variant: str | None) -> dict[str, Any]:
    """In the child: load one model and use it once."""
    if role == "asr":
        from models.asr import DecodeOptions, Transcriber

        asr = Transcriber(models_dir=options.models_dir, threads=options.threads, device=options.device,
                          options=DecodeOptions(tempos=(1.0,), beam_size=1))
        transcript = asr.transcribe(SPEECH)
        return {"ok": True, "output": transcript.text.strip()}
    if role == "asr_multilingual":
        from models.asr import DecodeOptions, Transcriber
        from models.registry import resolve

        # the multilingual model hears the bundled English speech, and tells its language as the `ai` CLI asks it
        asr = Transcriber(resolve(role, options.models_dir), threads=options.threads, device=options.device,
                          options=DecodeOptions(tempos=(1.0,), beam_size=1))
        transcript = asr.transcribe(SPEECH)
        language, _probabilities = Transcriber(
            resolve(role, options.models_dir), threads=options.threads, device=options.device,
            options=DecodeOptions(language="fr", tempos=(1.0,), beam_size=1)).detect_language(SPEECH)
        return {"ok": True, "output": transcript.text.strip(), "language": language}
    from models.llm import TextGenerator

    backend = llama_backend.load(variant, device="cpu" if options.device == "cpu" else options.device)
    llm = TextGenerator(models_dir=options.models_dir, threads=options.threads, device=options.device, n_ctx=512)
    text = llm.generate(PROMPT, max_tokens=TOKENS)
    tokens = len(llm.load().tokenize(text.encode(), add_bos=False))
    if tokens == 0:
        return {"ok": False, "backend": backend, "error": "the text model generated no tokens"}
    return {"ok": True, "backend": backend, "tokens": tokens, "output": text}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, help="a models folder with models.json (default: the packages')")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--state", type=Path, help="where to remember the report")
    parser.add_argument("--child", choices=list(CHECKED), help=argparse.SUPPRESS)
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    options = Options(models_dir=args.models, device=args.device, threads=args.threads)
    if args.child:
        try:
            result = _child(args.child, options, args.variant)
        except Exception as exc:  # noqa: BLE001 - any failure is the check's answer, on one line
            result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(result), flush=True)
        return 0
    print(json.dumps(run_selftest(options, args.state), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
