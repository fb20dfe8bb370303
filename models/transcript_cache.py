"""Transcripts kept on disk by the medium's sha256, the model's sha256 and the decoding options (and the prompt, when
those options use one): `edge-server ai transcribe`, `ai chapters` and `ai summarize` on the same medium cost one
transcription, and the box's pipeline job reads the same kind of cache (DATA/cache/transcripts) when a medium is
processed again (its lesson's language changed back, a pack ships the medium under another lesson, a job retried).

    <dir>/<key[:2]>/<key>.json   {"format": 1, "key_of": {...}, "model": {"id", "sha256"}, "params", "transcript"}

A file is written whole or not at all (a temporary file renamed); an unreadable one is transcribed again and written
over. The `ai` commands keep theirs under $XDG_CACHE_HOME/classroom-box/transcripts (default ~/.cache).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from models.asr import DETECT_WITH, DETECTABLE, DecodeOptions, Transcript, options_for

log = logging.getLogger(__name__)

FORMAT = 1
CHUNK = 1024 * 1024


def default_dir() -> Path:
    """Where the `ai` commands keep transcripts: $XDG_CACHE_HOME (or ~/.cache)/classroom-box/transcripts."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "classroom-box" / "transcripts"


def file_sha256(path: Path) -> str:
    """The sha256 of a file, read in chunks (a lesson video may be large)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


# decoding options added after the cache was: at these values a key stays what it was, so that a box keeps the
# transcripts it has (English decodes as before) and re-transcribes only what the new options change
LATE_DEFAULTS = {"no_speech_threshold": 0.6, "repetition_penalty": 1.0, "drop_loops": False, "latin_suppressed": False,
                 "voice_shifts": (0.0,)}


def cache_key(media_sha256: str, model_sha256: str, options: DecodeOptions, prompt: str | None) -> tuple[str, dict]:
    """The key of a transcript (and what it was made from): the prompt counts only when the options use one."""
    fields = {k: v for k, v in asdict(options).items() if k not in LATE_DEFAULTS or v != LATE_DEFAULTS[k]}
    made_of = {"media": media_sha256, "model": model_sha256, "options": fields,
               "prompt": prompt if options.use_prompt else None}
    text = json.dumps(made_of, sort_keys=True, ensure_ascii=False, default=list)
    return hashlib.sha256(text.encode()).hexdigest(), made_of


class CachedTranscriber:
    """A transcriber (models.asr.Transcriber, models.worker.RemoteTranscriber) behind the transcript cache.

    model_id, sha256 and params describe the model that made the last transcript returned, cached or not, as the
    pipeline records them with its outputs.
    """

    def __init__(self, inner: Any, directory: Path, models_dir: Path | None = None) -> None:
        self.inner = inner
        self.directory = directory
        self.models_dir = models_dir
        self.hits = 0
        self._made: dict[str, Any] | None = None
        self._sha: dict[tuple[str, int, int], str] = {}

    @property
    def model_id(self) -> str:
        return self._made["model"]["id"] if self._made else self.inner.model_id

    @property
    def sha256(self) -> str:
        return self._made["model"]["sha256"] if self._made else self.inner.sha256

    @property
    def params(self) -> dict[str, Any]:
        return self._made["params"] if self._made else self.inner.params

    @property
    def model(self) -> Any:
        return self.inner.model

    def _media_sha256(self, path: Path) -> str:
        stat = path.stat()
        known = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        if known not in self._sha:
            self._sha[known] = file_sha256(path)
        return self._sha[known]

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def transcribe(self, path: Path | str, progress: Callable[[float], None] | None = None,
                   prompt: str | None = None, language: str | None = None) -> Transcript:
        """The cached transcript of this medium, model and options, else the inner transcriber's (then kept)."""
        from models.registry import resolve

        options = options_for(language) if language else getattr(self.inner, "options", DecodeOptions())
        model = resolve(options.role, self.models_dir)  # re-hashed: a corrupt model fails here, cached or not
        key, made_of = cache_key(self._media_sha256(Path(path)), model.sha256, options, prompt)
        cached = self._read(key)
        if cached is not None:
            self.hits += 1
            self._made = cached
            if progress:
                progress(1.0)
            return Transcript.from_json(cached["transcript"])
        transcript = self.inner.transcribe(path, progress=progress, prompt=prompt, language=language)
        self._made = {"model": {"id": self.inner.model_id, "sha256": self.inner.sha256},
                      "params": self.inner.params}
        self._write(key, {"format": FORMAT, "key_of": made_of, **self._made, "transcript": transcript.to_json()})
        return transcript

    def language_of(self, path: Path | str, candidates: tuple[str, ...] = DETECTABLE) -> tuple[str, dict[str, float]]:
        """The language the inner transcriber's multilingual model hears in a medium, and the candidates'
        probabilities; kept by the medium's and the model's sha256 like transcripts."""
        from models.registry import resolve

        model = resolve(options_for(DETECT_WITH).role, self.models_dir)
        made_of = {"media": self._media_sha256(Path(path)), "model": model.sha256, "detect": list(candidates)}
        key = hashlib.sha256(json.dumps(made_of, sort_keys=True).encode()).hexdigest()
        known = self._read_json(self._path(key))
        if known is not None and known.get("language") in candidates:
            return known["language"], known["probabilities"]
        language, probabilities = self.inner.detect_language(path, candidates)
        self._write(key, {"format": FORMAT, "key_of": made_of, "language": language, "probabilities": probabilities})
        return language, probabilities

    @staticmethod
    def _read_json(path: Path) -> dict[str, Any] | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) and data.get("format") == FORMAT else None

    def _read(self, key: str) -> dict[str, Any] | None:
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
            Transcript.from_json(data["transcript"])
        except (OSError, ValueError, KeyError, TypeError):
            return None  # absent, torn or foreign: transcribed again and written over
        return data if data.get("format") == FORMAT else None

    def _write(self, key: str, data: dict[str, Any]) -> None:
        path = self._path(key)
        temporary = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False,
                                             encoding="utf-8") as handle:
                temporary = handle.name
                json.dump(data, handle, ensure_ascii=False)
            os.replace(temporary, path)
        except OSError as exc:  # a full or read-only disk: the transcript is still returned
            log.warning("could not keep the transcript in %s: %s", path.parent, exc)
            if temporary is not None:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
