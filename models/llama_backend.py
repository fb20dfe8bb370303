"""Which llama.cpp CPU backend this process runs: one of the variants the portable wheel carries, chosen at run time.

The wheel (scripts/build-llama-wheel.sh) holds one `libggml-cpu-<variant>.so` per instruction-set level. llama.cpp
would load the best one the CPU advertises, but on some Xeons that is the AMX variant, which dies with SIGSEGV on
the first decode. So the box loads the variant itself, before llama.cpp looks: the best by llama.cpp's own score
that the self-test (models.selftest) has not seen crash. A wheel built without variants (a plain pip build) has its
backend linked in, and nothing here changes it.
"""

from __future__ import annotations

import ctypes
import json
import os
import platform
import threading
from dataclasses import dataclass
from pathlib import Path

PREFIX = "libggml-cpu-"
_loaded: str | None = None
_lock = threading.Lock()


class BackendError(RuntimeError):
    """No usable llama.cpp CPU backend could be loaded."""


@dataclass(frozen=True)
class Variant:
    name: str  # e.g. "haswell"
    path: Path
    score: int  # llama.cpp's ggml_backend_score: 0 = this CPU lacks an instruction it needs


def lib_dir() -> Path:
    """The folder of libllama.so and the backend modules inside the installed llama_cpp package."""
    import importlib.util

    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or spec.origin is None:
        raise BackendError("llama-cpp-python is not installed: run `make venv`")
    return Path(spec.origin).parent / "lib"


def _library(directory: Path, name: str) -> Path:
    """The file the other libraries load by soname (libX.so.0): a wheel holds copies, not links, and loading another
    copy would give this process a second ggml registry that libllama never sees."""
    sonamed = sorted(directory.glob(f"{name}.so.[0-9]"))
    return sonamed[0] if sonamed else directory / f"{name}.so"


def _score(path: Path) -> int:
    # dlopen only runs the module's static initialisers, which ggml compiles for the baseline CPU
    handle = ctypes.CDLL(str(path), mode=os.RTLD_LOCAL)
    fn = getattr(handle, "ggml_backend_score", None)
    if fn is None:
        return 0
    fn.restype = ctypes.c_int
    return int(fn())


def variants(directory: Path | None = None) -> list[Variant]:
    """The CPU variants in the wheel, best first; empty for a wheel with its CPU backend linked in."""
    directory = directory or lib_dir()
    base = _library(directory, "libggml-base")
    if base.exists():
        # the variants link to it by soname only, as llama.cpp loads them into a process that already has it
        ctypes.CDLL(str(base), mode=os.RTLD_GLOBAL)
    found = []
    for path in sorted(directory.glob(f"{PREFIX}*.so")):
        found.append(Variant(path.name.removeprefix(PREFIX).removesuffix(".so"), path, _score(path)))
    return sorted((v for v in found if v.score > 0), key=lambda v: -v.score)


def choose(candidates: list[Variant], rejected: set[str]) -> Variant | None:
    """The best candidate not rejected by an earlier self-test (pure)."""
    return next((v for v in candidates if v.name not in rejected), None)


def loaded() -> str | None:
    """The variant this process loaded ("builtin" for a wheel without variants), or None before load()."""
    return _loaded


def load(variant: str | None = None, rejected: set[str] | frozenset[str] = frozenset(),
         device: str = "cpu") -> str:
    """Load the CPU backend (a named variant, else the best not rejected) and any GPU backend; once per process.

    Must run before llama_cpp.Llama is first built: llama.cpp then finds backends registered and loads no others.
    """
    global _loaded
    with _lock:
        if _loaded is not None:
            return _loaded
        directory = lib_dir()
        candidates = variants(directory)
        if not candidates:
            _loaded = "builtin"
            return _loaded
        if variant is not None:
            pick = next((v for v in candidates if v.name == variant), None)
            if pick is None:
                raise BackendError(f"llama.cpp CPU variant {variant!r} is not in this wheel or not for this CPU "
                                   f"(have: {', '.join(v.name for v in candidates)})")
        else:
            pick = choose(candidates, set(rejected))
            if pick is None:
                raise BackendError("every llama.cpp CPU variant failed the self-test on this machine: "
                                   "run `edge-server models selftest --json` and report its errors")
        ggml = ctypes.CDLL(str(_library(directory, "libggml")), mode=os.RTLD_GLOBAL)
        ggml.ggml_backend_load.restype = ctypes.c_void_p
        ggml.ggml_backend_load.argtypes = [ctypes.c_char_p]
        if device != "cpu":
            for gpu in sorted(directory.glob("libggml-*.so")):
                if gpu.name.startswith((PREFIX, "libggml-base")):
                    continue
                ggml.ggml_backend_load(str(gpu).encode())  # NULL when no such device: the CPU serves alone
        if not ggml.ggml_backend_load(str(pick.path).encode()):
            raise BackendError(f"llama.cpp could not load its CPU backend {pick.path}")
        _loaded = pick.name
        return _loaded


def machine_key() -> str:
    """What a remembered self-test verdict depends on: this CPU's flags, the architecture, the wheel's files."""
    import hashlib

    flags = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                flags = line
                break
    except OSError:
        pass
    try:
        wheel = sorted(f"{p.name}:{p.stat().st_size}" for p in lib_dir().glob("*.so"))
    except BackendError:
        wheel = []
    return hashlib.sha256(json.dumps([platform.machine(), flags, wheel]).encode()).hexdigest()[:16]
