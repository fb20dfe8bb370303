"""Sentence vectors of the companion's passages (transcript chunks and knowledge points), for edge_server.domain.fusion.

Vectors come from the model process's `embed` op (models.embed: the web worker holds no model) and are kept in
memory and under DATA/cache/embed/passages/<embedder>/, one small file per text named by the sha256 of the
embedder's id and the text: a chunk that is written again with the same text (a job run again, another lesson on the
same medium) keeps its vector, and a new embedder version never reads an old one. The AI pipeline job embeds a
medium's passages when it stores them (warm), so a pupil's question embeds only itself; a passage without a vector
(a pack's precomputed outputs, a box from before) is embedded when a question first needs it, at most MAX_NEW a
question, and ranked by its words alone until then.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from edge_server.domain import fusion
from models.embed import save_array

log = logging.getLogger(__name__)

Embed = Callable[[Sequence[str]], Any]

MAX_NEW = 64  # texts a question may embed on its way (~15 ms each for a long chunk, in the model process)
BATCH = 64  # texts per embed request when warming
KEEP = 50_000  # vectors held in memory per process (2 KiB each)


@functools.cache
def embedder_id() -> str:
    """The embedder the vectors come from: its package and version (the weights ship inside, pinned by hash)."""
    from models.embed import PACKAGE

    try:
        return f"{PACKAGE}-{metadata.version(PACKAGE)}"
    except metadata.PackageNotFoundError:
        return PACKAGE


def texts_of(passage: Any) -> list[str]:
    """The texts a passage is compared by: what was said in it, and its knowledge point's name and description."""
    texts = [passage.text.strip()]
    kp = ". ".join(t.strip() for t in (passage.kp_name, passage.kp_description) if t and t.strip())
    if kp:
        texts.append(kp)
    return [t for t in texts if t]


class PassageVectors:
    """Unit vectors of texts by embedder and sha256: memory, then disk, then the embedder (then kept)."""

    def __init__(self, directory: Path | None, model: str | None = None) -> None:
        self.model = model or embedder_id()
        self.directory = directory / self.model if directory is not None else None
        self._memory: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        self._failing = False

    def key(self, text: str) -> str:
        return _key(self.model, text)

    def get(self, texts: Sequence[str], embed: Embed | None, limit: int = MAX_NEW) -> list[np.ndarray | None]:
        """The vector of each text; those not kept yet are embedded (at most limit of them; None for the others, and
        for all of them when the embedder fails)."""
        keys = [self.key(t) for t in texts]
        found = self._known(keys)
        missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in found}
        if missing and embed is not None and limit > 0:
            found.update(self._embed(dict(list(missing.items())[:limit]), embed))
        return [found.get(k) for k in keys]

    def warm(self, texts: Sequence[str], embed: Embed) -> int:
        """Embed and keep every text not kept yet, in batches; how many were embedded (0 when the embedder fails)."""
        keys = [self.key(t) for t in texts]
        found = self._known(keys)
        missing = list({k: t for k, t in zip(keys, texts, strict=True) if k not in found}.items())
        done = 0
        for start in range(0, len(missing), BATCH):
            got = self._embed(dict(missing[start:start + BATCH]), embed)
            if not got:
                break
            done += len(got)
        return done

    def _known(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        with self._lock:
            found = {k: self._memory[k] for k in keys if k in self._memory}
        for k in keys:
            if k not in found:
                vector = self._read(k)
                if vector is not None:
                    found[k] = vector
                    self._remember(k, vector)
        return found

    def _embed(self, texts: dict[str, str], embed: Embed) -> dict[str, np.ndarray]:
        try:
            vectors = np.asarray(embed(list(texts.values())), dtype=np.float32)
        except Exception as exc:  # noqa: BLE001 - no model process: words alone rank until it answers again
            if not self._failing:
                log.warning("passages not embedded (%s): the companion ranks by words alone until it answers", exc)
            self._failing = True
            return {}
        self._failing = False
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        out = dict(zip(texts, vectors, strict=True))
        for k, vector in out.items():
            self._remember(k, vector)
            self._write(k, vector)
        return out

    def _remember(self, key: str, vector: np.ndarray) -> None:
        with self._lock:
            self._memory[key] = vector
            while len(self._memory) > KEEP:
                self._memory.pop(next(iter(self._memory)))

    def _path(self, key: str) -> Path | None:
        return self.directory / key[:2] / f"{key}.npy" if self.directory is not None else None

    def _read(self, key: str) -> np.ndarray | None:
        path = self._path(key)
        if path is None or not path.is_file():
            return None
        try:
            vector = np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            return None  # a torn or foreign file: embedded again and written over
        return vector.astype(np.float32, copy=False) if vector.ndim == 1 else None

    def _write(self, key: str, vector: np.ndarray) -> None:
        path = self._path(key)
        if path is not None:
            save_array(path, vector)  # a full or read-only disk: the vector is still served from memory


@functools.lru_cache(maxsize=16384)
def _key(model: str, text: str) -> str:
    # every question looks up every passage in scope: the hashes of unchanged texts are made once
    return hashlib.sha256(f"{model}\0{text}".encode()).hexdigest()[:32]


class QuestionMeaning:
    """One question's vector and where passage vectors come from: what retrieval.rank asks for similarities."""

    def __init__(self, vector: np.ndarray, store: PassageVectors, embed: Embed | None) -> None:
        vector = np.asarray(vector, dtype=np.float32).reshape(-1)
        self.vector = vector / max(float(np.linalg.norm(vector)), 1e-12)
        self.store = store
        self.embed = embed

    def similarities(self, passages: Sequence[Any]) -> list[float | None] | None:
        """Each passage's similarity to the question (None for one without vectors yet); None when none has any."""
        texts = [texts_of(p) for p in passages]
        flat = [t for group in texts for t in group]
        vectors = iter(self.store.get(flat, self.embed))
        out = [fusion.passage_similarity(self.vector, [next(vectors) for _ in group]) for group in texts]
        return out if any(s is not None for s in out) else None


class QuestionEmbedder:
    """An embedder (texts -> vectors) that answers a one-text request made again within REUSE_S from memory, its
    failure too: the companion's safety check and its search embed the same question, once."""

    REUSE_S = 5.0
    KEEP = 64

    def __init__(self, embed: Embed) -> None:
        self.embed = embed
        self._recent: dict[str, tuple[float, Any]] = {}  # text -> (when, vectors or the exception)
        self._lock = threading.Lock()

    # equal to another wrapper of the same embedder: the safety layer keeps one exemplar bank per embedder
    def __eq__(self, other: object) -> bool:
        return isinstance(other, QuestionEmbedder) and other.embed == self.embed

    def __hash__(self) -> int:
        return hash(self.embed)

    def __call__(self, texts: Sequence[str]) -> Any:
        if len(texts) != 1:
            return self.embed(texts)  # a batch (the safety exemplar bank, passages): passed through
        now = time.monotonic()
        with self._lock:
            when, got = self._recent.get(texts[0], (0.0, None))
        if got is not None and now - when < self.REUSE_S:
            if isinstance(got, Exception):
                raise got  # a model process that did not answer is not waited for twice in one question
            return got
        try:
            got = self.embed(texts)
        except Exception as exc:
            self._keep(texts[0], now, exc)
            raise
        self._keep(texts[0], now, got)
        return got

    def _keep(self, text: str, when: float, got: Any) -> None:
        with self._lock:
            self._recent[text] = (when, got)
            while len(self._recent) > self.KEEP:
                self._recent.pop(next(iter(self._recent)))


def vectors_for(data_dir: Path) -> PassageVectors:
    """The passage vectors of a data directory (its cache under DATA/cache/embed/passages); the Box's companion keeps
    one for the process, a job run makes its own."""
    return PassageVectors(data_dir / "cache" / "embed" / "passages")
