"""Text generation with llama-cpp-python: lazy, loaded once, one generation at a time, with a timeout."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from models.registry import ModelError, ResolvedModel
from models.runner import ModelRunner


class GenerationTimeout(TimeoutError):
    """The model was busy for longer than the caller was willing to wait."""


class TextGenerator(ModelRunner):
    """llama.cpp behind a lock: `generate(prompt)` for text, `stream(prompt)` for tokens as they come."""

    role = "llm"

    def __init__(self, model: ResolvedModel | None = None, *, models_dir: Path | None = None, threads: int = 2,
                 device: str = "auto", n_ctx: int = 4096, n_batch: int = 128, seed: int = 0,
                 backend_state: Path | None = None) -> None:
        super().__init__(model, models_dir=models_dir, threads=threads, device=device)
        # the self-test report that says which llama.cpp CPU variant is safe here (None: the user's cache)
        self.backend_state = backend_state
        self.n_ctx = n_ctx
        # llama.cpp's compute buffer and llama-cpp-python's score array are each sized for n_batch tokens' logits
        # over Gemma's 262k vocabulary: 512 (the default) reserves 1,148 MiB per process and 128 reserves 378, for
        # about 5% slower reading of long prompts
        self.n_batch = n_batch
        self.seed = seed
        self.n_gpu_layers = 0
        self._llm: Any = None
        self._load_lock = threading.Lock()
        # one generation at a time: a class of 40 asking at once queues here instead of exhausting memory
        self._lock = threading.Lock()

    @property
    def params(self) -> dict[str, Any]:
        return {"n_ctx": self.n_ctx, "n_batch": self.n_batch, "threads": self.threads,
                "n_gpu_layers": self.n_gpu_layers, "seed": self.seed, "device": self.device_setting}

    def load(self) -> Any:
        """Load the GGUF once; offload all layers when the device allows and llama.cpp was built with a GPU."""
        with self._load_lock:
            if self._llm is None:
                import llama_cpp

                from models.selftest import Options, ensure_backend

                ensure_backend(Options(self._models_dir, self.device_setting, self.threads), self.backend_state)
                gpu = self.device_setting in ("auto", "cuda") and bool(llama_cpp.llama_supports_gpu_offload())
                self.n_gpu_layers = -1 if gpu else 0
                try:
                    self._llm = llama_cpp.Llama(model_path=str(self.model.path), n_ctx=self.n_ctx,
                                                n_batch=self.n_batch, n_threads=self.threads,
                                                n_threads_batch=self.threads, n_gpu_layers=self.n_gpu_layers,
                                                seed=self.seed, verbose=False)
                except (ValueError, RuntimeError) as exc:
                    raise ModelError(f"text model {self.model.id} cannot be loaded ({exc}): run "
                                     "`edge-server models verify` and reinstall it") from exc
            return self._llm

    def _acquire(self, timeout_s: float | None) -> float | None:
        """Take the generation lock; return the deadline left for generating."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        if not self._lock.acquire(timeout=-1 if timeout_s is None else max(0.0, timeout_s)):
            raise GenerationTimeout(f"the text model stayed busy for {timeout_s:.0f} s")
        return deadline

    def _completion(self, prompt: str, max_tokens: int, stop: list[str] | None, temperature: float,
                    deadline: float | None, cancel: threading.Event | None, stream: bool) -> Any:
        import llama_cpp

        llm = self.load()

        def _stop_now(_ids: Any, _logits: Any) -> bool:
            return (deadline is not None and time.monotonic() > deadline) or (cancel is not None and cancel.is_set())

        criteria = llama_cpp.StoppingCriteriaList([_stop_now]) if (deadline or cancel) else None
        return llm.create_completion(prompt, max_tokens=max_tokens, stop=stop or [], temperature=temperature,
                                     top_k=1 if temperature == 0.0 else 40, seed=self.seed, stream=stream,
                                     stopping_criteria=criteria)

    def generate(self, prompt: str, max_tokens: int = 128, stop: list[str] | None = None, temperature: float = 0.0,
                 timeout_s: float | None = None, cancel: threading.Event | None = None) -> str:
        """Complete a prompt; stops at max_tokens, a stop string, the timeout or cancel (text so far)."""
        deadline = self._acquire(timeout_s)
        try:
            out = self._completion(prompt, max_tokens, stop, temperature, deadline, cancel, stream=False)
            return out["choices"][0]["text"]
        finally:
            self._lock.release()

    def stream(self, prompt: str, max_tokens: int = 128, stop: list[str] | None = None, temperature: float = 0.0,
               timeout_s: float | None = None, cancel: threading.Event | None = None) -> Iterator[str]:
        """Yield text pieces as they are generated; closing the iterator or cancel/timeout ends generation."""
        deadline = self._acquire(timeout_s)
        try:
            for chunk in self._completion(prompt, max_tokens, stop, temperature, deadline, cancel, stream=True):
                piece = chunk["choices"][0]["text"]
                if piece:
                    yield piece
                if (deadline is not None and time.monotonic() > deadline) or (cancel is not None and cancel.is_set()):
                    break
        finally:
            self._lock.release()

    def __call__(self, prompt: str) -> str:
        """The plain prompt -> text callable the pure steps take."""
        return self.generate(prompt)
