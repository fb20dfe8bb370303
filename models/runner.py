"""What every model runner shares: the model it resolves lazily by role, and its identity."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Self

from models.registry import ResolvedModel, resolve


class ModelRunner:
    """A runner for one registry role; subclasses load the model itself lazily."""

    role = ""

    def __init__(self, model: ResolvedModel | None = None, *, models_dir: Path | None = None, threads: int = 2,
                 device: str = "auto") -> None:
        self._model_ref = model
        self._models_dir = models_dir
        self.threads = threads
        self.device_setting = device

    @classmethod
    def from_settings(cls, settings: Any, models_dir: Path | None = None, **kwargs: Any) -> Self:
        """Threads and device from a box Settings."""
        return cls(models_dir=models_dir, threads=settings.ai_threads, device=settings.device, **kwargs)

    @property
    def model(self) -> ResolvedModel:
        if self._model_ref is None:
            self._model_ref = resolve(self.role, self._models_dir)
        return self._model_ref

    @property
    def model_id(self) -> str:
        return self.model.id

    @property
    def sha256(self) -> str:
        return self.model.sha256
