"""The model process: one per box, owning the speech and text models, serving web workers, jobs and CLI over a socket.

Web workers never load a model. They (and the scheduler's AI jobs, and the `ai` CLI) talk to this process through a
Unix socket in the abstract namespace (no file to go stale, no 108-byte path limit), one JSON line per request and
one JSON line per reply event:

    {"op": "ping"}                          -> {"ok": true, "pid", "backend", "loaded": [...]}
    {"op": "generate", "prompt", "max_tokens", "stop", "temperature", "timeout_s", "stream": bool}
                                            -> {"piece": "..."}* then {"done": true, "text", "params"}
    {"op": "transcribe", "path", "options": DecodeOptions, "prompt"}
                                            -> {"progress": f}* then {"transcript": {...}, "params"}
    {"op": "detect", "path", "languages"}   -> {"language", "probabilities", "model"}  (the multilingual model:
                                               which of the languages is spoken; the `ai` CLI without --language)
    {"op": "embed", "texts": [...]}         -> {"vectors": {"shape", "b64"}, "model"}  (models.embed: unit vectors,
                                               float32; the companion's safety check, ~2 ms a question; a list
                                               of 64 texts or more, the exemplar bank, is cached in memory and
                                               under <data dir>/cache/embed/ by model and texts)
    any failure                             -> {"error": "one line", "kind": "ModelError" | ..., "module"}

A client that closes its socket cancels its generation. When this process dies (a native crash in llama.cpp or
CTranslate2, or SIGKILL), each client in flight gets `ModelsUnavailable` at once, not a hang: the web worker answers
503 with Retry-After, a job is retried once, and the supervisor (`edge-server serve`, or systemd) starts it again.

    python -m models.worker --address NAME [--models DIR] [--device auto] [--threads 2] [--state FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import os
import signal
import socket
import socketserver
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from models.registry import ModelError
from models.runner import ModelRunner
from models.selftest import Options, backend_choice, read_state

log = logging.getLogger("models.worker")

CONNECT_TIMEOUT_S = 2.0
START_TIMEOUT_S = 60.0
RETRY_AFTER_S = 5
# a question's safety check waits this long for its embedding, then the rules alone decide; the first call of a
# web worker also fetches the exemplar bank's vectors (a few batches, cached by the model process), each the same
EMBED_TIMEOUT_S = 10.0


class ModelsUnavailable(RuntimeError):
    """The model process is not running or stopped during the request; it is being restarted."""

    retry_after = RETRY_AFTER_S


def address_for(data_dir: Path) -> str:
    """The socket name of a data directory's model process (abstract namespace: a leading NUL)."""
    digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:20]
    return f"\0edge-server-models-{digest}"


# --- the server ---------------------------------------------------------------------------------


class ModelHost:
    """The models of this process: loaded lazily, once; transcribers per decoding options."""

    def __init__(self, options: Options, state: Path | None) -> None:
        self.options = options
        self.state = state
        self._generator: Any = None
        self._transcribers: dict[str, Any] = {}
        self._embedder: Any = None
        self._lock = threading.Lock()
        # the safety exemplar bank's vectors, kept next to the self-test report (the box's data dir) across restarts
        from models.embed import VectorCache

        self.vectors = VectorCache(state.parent / "cache" / "embed" if state is not None else None)

    def generator(self) -> Any:
        with self._lock:
            if self._generator is None:
                from models.llm import TextGenerator

                self._generator = TextGenerator(models_dir=self.options.models_dir, threads=self.options.threads,
                                                device=self.options.device, backend_state=self.state)
            return self._generator

    def embedder(self) -> Any:
        with self._lock:
            if self._embedder is None:
                from models.embed import Embedder

                # one thread: a question is a few small matrix products, and the text model keeps the other cores
                self._embedder = Embedder(threads=1)
            return self._embedder

    def embed(self, texts: list[str]) -> Any:
        """Unit vectors for texts; a long list asked before (the exemplar bank) comes from the cache."""
        embedder = self.embedder()
        return self.vectors.get(embedder.model_id, texts, embedder.embed)

    def warm_embedder(self) -> None:
        """At start, on a box whose companion has embedded before: load the embedder and the cached bank now, so the
        first pupil's question does not wait for them (a box that never used it pays nothing)."""
        try:
            if self.vectors.warm():
                self.embedder().load()
        except Exception as exc:  # noqa: BLE001 - a warm-up is a bonus: the first question loads it anyway
            log.warning("embedder warm-up failed: %s", exc)

    def transcriber(self, options: dict[str, Any]) -> Any:
        from models.asr import DecodeOptions, Transcriber

        decode = DecodeOptions(**{**options, "tempos": tuple(options.get("tempos", (1.0,)))})
        key = json.dumps(asdict(decode), sort_keys=True)
        with self._lock:
            if key not in self._transcribers:
                if len(self._transcribers) >= 4:  # benches try many settings: keep memory bounded
                    self._transcribers.pop(next(iter(self._transcribers)))
                self._transcribers[key] = Transcriber(models_dir=self.options.models_dir, threads=self.options.threads,
                                                      device=self.options.device, options=decode)
            return self._transcribers[key]

    def facts(self) -> dict[str, Any]:
        from models import llama_backend

        loaded = (["llm"] if self._generator is not None and self._generator._llm is not None else []) + \
            (["asr"] if any(t._model is not None for t in self._transcribers.values()) else []) + \
            (["embed"] if self._embedder is not None and self._embedder._model is not None else [])
        return {"ok": True, "pid": os.getpid(), "backend": llama_backend.loaded(), "loaded": loaded}


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def _send(self, event: dict[str, Any]) -> None:
        self.wfile.write(json.dumps(event, ensure_ascii=False).encode() + b"\n")
        self.wfile.flush()

    def _same_user(self) -> bool:
        # the socket is in the abstract namespace, which file permissions do not guard: only the box's user may ask
        creds = self.connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        return struct.unpack("3i", creds)[1] == os.getuid()

    def handle(self) -> None:
        if not self._same_user():
            log.warning("refused a model request from another user")
            return
        try:
            request = json.loads(self.rfile.readline() or b"{}")
            op = request.get("op")
            if op == "ping":
                self._send(self.server.host.facts())
            elif op == "generate":
                self._generate(request)
            elif op == "transcribe":
                self._transcribe(request)
            elif op == "embed":
                self._embed(request)
            elif op == "detect":
                self._detect(request)
            else:
                self._send({"error": f"unknown op {op!r}", "kind": "ValueError"})
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client went away; its generation was cancelled
        except Exception as exc:  # noqa: BLE001 - any failure goes back to the caller as one line
            log.warning("model request failed: %s", exc)
            with contextlib.suppress(OSError):
                self._send({"error": str(exc), "kind": type(exc).__name__, "module": type(exc).__module__})

    def _watch_for_hangup(self) -> threading.Event:
        """An event set when the client closes its end: the generation in progress stops at the next token."""
        cancel = threading.Event()

        def watch() -> None:
            with contextlib.suppress(OSError):
                while self.connection.recv(64):
                    pass
            cancel.set()

        threading.Thread(target=watch, daemon=True, name="hangup").start()
        return cancel

    def _generate(self, request: dict[str, Any]) -> None:
        generator = self.server.host.generator()
        cancel = self._watch_for_hangup()
        kwargs = {"max_tokens": int(request.get("max_tokens", 128)), "stop": request.get("stop") or None,
                  "temperature": float(request.get("temperature", 0.0)), "timeout_s": request.get("timeout_s"),
                  "cancel": cancel}
        if request.get("stream"):
            pieces = []
            for piece in generator.stream(request["prompt"], **kwargs):
                pieces.append(piece)
                self._send({"piece": piece})
            text = "".join(pieces)
        else:
            text = generator.generate(request["prompt"], **kwargs)
        self._send({"done": True, "text": text, "params": generator.params})

    def _embed(self, request: dict[str, Any]) -> None:
        from models.embed import MAX_TEXTS, encode_vectors

        texts = request.get("texts")
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts) or len(texts) > MAX_TEXTS:
            raise ValueError(f"texts must be a list of at most {MAX_TEXTS} strings")
        host = self.server.host
        vectors = host.embed(texts)
        self._send({"vectors": encode_vectors(vectors), "model": host.embedder().model_id})

    def _detect(self, request: dict[str, Any]) -> None:
        from models.asr import DETECT_WITH, options_for

        transcriber = self.server.host.transcriber(asdict(options_for(DETECT_WITH)))
        language, probabilities = transcriber.detect_language(request["path"], tuple(request.get("languages") or ()))
        self._send({"language": language, "probabilities": probabilities,
                    "model": {"id": transcriber.model_id, "sha256": transcriber.sha256}})

    def _transcribe(self, request: dict[str, Any]) -> None:
        transcriber = self.server.host.transcriber(request.get("options") or {})
        transcript = transcriber.transcribe(request["path"], progress=lambda f: self._send({"progress": f}),
                                            prompt=request.get("prompt"))
        # the model that heard it: tiny.en or the multilingual one, by the lesson's language
        self._send({"transcript": transcript.to_json(), "params": transcriber.params,
                    "model": {"id": transcriber.model_id, "sha256": transcriber.sha256}})


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    host: ModelHost


def serve(address: str, options: Options, state: Path | None, parent: int | None = None) -> None:
    """Serve the models on address until SIGTERM/SIGINT, or until the parent process (pid parent) is gone."""
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s")
    # the pid the starter gave: by the time this runs (imports take seconds) a parent killed outright is gone, and
    # os.getppid() would name init, which never goes
    parent = parent or os.getppid()
    with _Server(address, _Handler) as server:
        server.host = ModelHost(options, state)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())

        def orphan_watch() -> None:
            # the supervisor was killed outright: do not linger holding the models
            while os.getppid() == parent:
                time.sleep(1.0)
            log.warning("model process %d: its parent %d is gone; stopping", os.getpid(), parent)
            server.shutdown()

        threading.Thread(target=orphan_watch, daemon=True).start()
        threading.Thread(target=server.host.warm_embedder, daemon=True, name="warm-embed").start()
        log.info("model process %d serving (backend choice: %s)", os.getpid(),
                 backend_choice(read_state(state))[0] or "best not yet tested")
        server.serve_forever(poll_interval=0.5)
    # a generation thread may still be inside llama.cpp: leave without waiting for it
    os._exit(0)


# --- the client ---------------------------------------------------------------------------------


class ModelClient:
    """Talks to one model process; every failure of the process itself is `ModelsUnavailable`."""

    def __init__(self, address: str) -> None:
        self.address = address

    def _connect(self) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(CONNECT_TIMEOUT_S)
        try:
            sock.connect(self.address)
        except OSError as exc:
            sock.close()
            raise ModelsUnavailable("the model process is not running (it is being restarted)") from exc
        sock.settimeout(None)
        return sock

    def events(self, request: dict[str, Any], timeout_s: float | None = None) -> Iterator[dict[str, Any]]:
        """Send one request and yield its reply events; closing the iterator hangs up (and cancels)."""
        sock = self._connect()
        try:
            if timeout_s is not None:
                sock.settimeout(timeout_s)
            try:
                sock.sendall(json.dumps(request).encode() + b"\n")
            except OSError as exc:  # the process died (or refused us) between connect and send
                raise ModelsUnavailable(f"the model process closed the connection ({exc})") from exc
            reader = sock.makefile("rb")
            while True:
                try:
                    line = reader.readline()
                except TimeoutError as exc:
                    raise ModelsUnavailable(f"the model process did not answer within {timeout_s:.0f} s") from exc
                except OSError as exc:
                    raise ModelsUnavailable(f"the model process stopped during the request ({exc})") from exc
                if not line:
                    raise ModelsUnavailable("the model process stopped during the request (it is being restarted)")
                event = json.loads(line)
                if "error" in event:
                    raise _remote_error(event)
                yield event
                if "piece" not in event and "progress" not in event:
                    return
        finally:
            sock.close()

    def ping(self, timeout_s: float = 2.0) -> dict[str, Any] | None:
        """The process's facts, or None when it does not answer."""
        try:
            return next(self.events({"op": "ping"}, timeout_s))
        except (ModelsUnavailable, StopIteration, ValueError):
            return None

    def embed(self, texts: Sequence[str], timeout_s: float = EMBED_TIMEOUT_S) -> Any:
        """Unit sentence vectors (numpy, n x dim) for texts, from the model process; ModelsUnavailable if it is down."""
        import numpy as np

        from models.embed import DIM, MAX_TEXTS, decode_vectors

        parts = []
        for start in range(0, len(texts), MAX_TEXTS):  # a long list (the safety exemplar bank) in several requests
            event = next(self.events({"op": "embed", "texts": list(texts[start:start + MAX_TEXTS])}, timeout_s))
            parts.append(decode_vectors(event["vectors"]))
        return np.concatenate(parts) if parts else np.zeros((0, DIM), dtype=np.float32)  # as Embedder.embed([])


class RemoteError(RuntimeError):
    """An exception raised inside the model process, by kind (its class name) and module."""

    def __init__(self, message: str, kind: str = "", module: str = "") -> None:
        super().__init__(f"{kind}: {message}" if kind else message)
        self.kind, self.module = kind, module


def _remote_error(event: dict[str, Any]) -> Exception:
    kind, message = event.get("kind", ""), event["error"]
    if kind in ("ModelError", "BackendError"):
        return ModelError(message)
    if kind == "GenerationTimeout":
        from models.llm import GenerationTimeout

        return GenerationTimeout(message)
    if kind in ("FileNotFoundError",):
        return FileNotFoundError(message)
    return RemoteError(message, kind, event.get("module", ""))


class _Remote(ModelRunner):
    """A runner whose model lives in the model process: identity and params here, the work over the socket."""

    def __init__(self, client: ModelClient, models_dir: Path | None, device: str, threads: int) -> None:
        super().__init__(models_dir=models_dir, threads=threads, device=device)
        self.client = client
        self._params: dict[str, Any] | None = None  # what the model process reports after its first answer


class RemoteGenerator(_Remote):
    """models.llm.TextGenerator's interface, served by the model process."""

    role = "llm"

    @property
    def params(self) -> dict[str, Any]:
        return self._params or {"threads": self.threads, "device": self.device_setting}

    def _request(self, prompt: str, max_tokens: int, stop: list[str] | None, temperature: float,
                 timeout_s: float | None, stream: bool) -> dict[str, Any]:
        return {"op": "generate", "prompt": prompt, "max_tokens": max_tokens, "stop": stop or [],
                "temperature": temperature, "timeout_s": timeout_s, "stream": stream}

    def generate(self, prompt: str, max_tokens: int = 128, stop: list[str] | None = None, temperature: float = 0.0,
                 timeout_s: float | None = None, cancel: threading.Event | None = None) -> str:
        """Complete a prompt in the model process."""
        text = "".join(self.stream(prompt, max_tokens, stop, temperature, timeout_s, cancel))
        return text

    def stream(self, prompt: str, max_tokens: int = 128, stop: list[str] | None = None, temperature: float = 0.0,
               timeout_s: float | None = None, cancel: threading.Event | None = None) -> Iterator[str]:
        """Yield text pieces as the model process generates them; cancel or closing hangs up."""
        # the socket waits a little longer than the generation may take, so a stuck process is not waited on forever
        wait = None if timeout_s is None else timeout_s + 30.0
        events = self.client.events(self._request(prompt, max_tokens, stop, temperature, timeout_s, True), wait)
        try:
            for event in events:
                if "piece" in event:
                    yield event["piece"]
                    if cancel is not None and cancel.is_set():
                        return
                elif event.get("done"):
                    self._params = event.get("params")
        finally:
            events.close()

    def __call__(self, prompt: str) -> str:
        return self.generate(prompt)


class RemoteTranscriber(_Remote):
    """models.asr.Transcriber's interface, served by the model process."""

    role = "asr"

    def __init__(self, client: ModelClient, models_dir: Path | None, device: str, threads: int,
                 options: Any = None) -> None:
        from models.asr import DecodeOptions

        super().__init__(client, models_dir, device, threads)
        self.options = options or DecodeOptions()
        self._used: dict[str, str] | None = None

    @property
    def params(self) -> dict[str, Any]:
        return self._params or {**asdict(self.options), "device": self.device_setting, "threads": self.threads}

    @property
    def model_id(self) -> str:
        """The model of the last transcription (its language's), else this runner's own."""
        return self._used["id"] if self._used else super().model_id

    @property
    def sha256(self) -> str:
        return self._used["sha256"] if self._used else super().sha256

    def detect_language(self, path: Path | str, candidates: Sequence[str] = ("en", "fr", "zh")) -> tuple[str, dict]:
        """The language spoken in a file, among candidates, and their probabilities (the model process's multilingual
        model, models.asr.Transcriber.detect_language)."""
        request = {"op": "detect", "path": str(Path(path).resolve()), "languages": list(candidates)}
        for event in self.client.events(request):
            return event["language"], event["probabilities"]
        raise ModelsUnavailable("the model process ended the language detection without a result")

    def transcribe(self, path: Path | str, progress: Callable[[float], None] | None = None,
                   prompt: str | None = None, language: str | None = None) -> Any:
        """Transcribe a file in the model process (it reads the file itself), with the lesson language's decoding."""
        from models.asr import Transcript, options_for

        options = options_for(language) if language and language != self.options.language else self.options
        request = {"op": "transcribe", "path": str(Path(path).resolve()), "options": asdict(options),
                   "prompt": prompt}
        for event in self.client.events(request):
            if "progress" in event:
                if progress:
                    progress(float(event["progress"]))
            else:
                self._params = event.get("params")
                self._used = event.get("model")
                return Transcript.from_json(event["transcript"])
        raise ModelsUnavailable("the model process ended the transcription without a result")


# --- the process ----------------------------------------------------------------------------------


class ModelProcess:
    """Starts, watches and stops one model process (the supervisor's handle on it)."""

    def __init__(self, address: str, options: Options, state: Path | None = None,
                 log: Callable[[str], None] | None = None, stderr: Any = None) -> None:
        self.address = address
        self.options = options
        self.state = state
        self.stderr = stderr  # None: the supervisor's own stderr (the server log)
        self.client = ModelClient(address)
        self._process: subprocess.Popen[bytes] | None = None
        self._log = log or (lambda message: logging.getLogger("models.worker").warning(message))
        self.restarts = 0

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def args(self) -> list[str]:
        args = [sys.executable, "-m", "models.worker", "--address", self.address.lstrip("\0"),
                "--device", self.options.device, "--threads", str(self.options.threads), "--parent", str(os.getpid())]
        if self.options.models_dir is not None:
            args += ["--models", str(self.options.models_dir)]
        if self.state is not None:
            args += ["--state", str(self.state)]
        return args

    def start(self, wait: bool = True, timeout_s: float = START_TIMEOUT_S) -> None:
        """Start the process; with wait, return once it answers a ping."""
        self._process = subprocess.Popen(self.args(), stdin=subprocess.DEVNULL, stderr=self.stderr)
        if wait:
            self.wait_ready(timeout_s)

    def wait_ready(self, timeout_s: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.client.ping(1.0) is not None:
                return
            if not self.alive():
                raise ModelsUnavailable(f"the model process exited at start ({self.exit_reason()})")
            time.sleep(0.05)
        raise ModelsUnavailable(f"the model process did not answer within {timeout_s:.0f} s")

    def alive(self) -> bool:
        # gunicorn's master reaps any child it sees exit, so poll() may report 0 for a process killed by a signal
        return self._process is not None and self._process.poll() is None

    def exit_reason(self) -> str:
        code = self._process.returncode if self._process is not None else None
        if code is None:
            return "running"
        if code < 0:
            return f"killed by {signal.Signals(-code).name}" if -code in signal.valid_signals() else f"signal {-code}"
        # 0 also when gunicorn's master reaped it first and the status was lost
        return f"exit status {code}" if code else "exited"

    def restart_if_dead(self) -> bool:
        """Start the process again if it has died; True when it did."""
        if self._process is None or self.alive():
            return False
        self._log(f"model process {self._process.pid} stopped ({self.exit_reason()}); starting it again")
        self.restarts += 1
        self.start(wait=False)
        return True

    def stop(self, timeout_s: float = 10.0) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


class OnDemandModels:
    """A client that starts a model process of its own on first use (for commands that may need no model at all)."""

    def __init__(self, options: Options, state: Path | None = None) -> None:
        self.options, self.state = options, state
        self._process: ModelProcess | None = None
        self._lock = threading.Lock()
        # a command's stderr is for its own one-line messages: the model process logs here, read back on a crash
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()

    def _client(self) -> ModelClient:
        with self._lock:
            if self._process is None or not self._process.alive():
                self._process = ModelProcess(f"\0edge-server-models-{uuid.uuid4().hex}", self.options, self.state,
                                             stderr=self._log)
                try:
                    self._process.start(wait=True)
                except ModelsUnavailable as exc:
                    raise ModelsUnavailable(f"{exc}: {self.log_tail()}") from exc
            return self._process.client

    def log_tail(self) -> str:
        """The last line the model process logged."""
        self._log.seek(0)
        lines = self._log.read().decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else ""

    def events(self, request: dict[str, Any], timeout_s: float | None = None) -> Iterator[dict[str, Any]]:
        return self._client().events(request, timeout_s)

    def ping(self, timeout_s: float = 2.0) -> dict[str, Any] | None:
        return self._process.client.ping(timeout_s) if self._process is not None else None

    def embed(self, texts: Sequence[str], timeout_s: float = EMBED_TIMEOUT_S) -> Any:
        """ModelClient.embed, from this command's own model process."""
        return self._client().embed(texts, timeout_s)

    def close(self) -> None:
        if self._process is not None:
            self._process.stop()
        self._log.close()

    def __enter__(self) -> OnDemandModels:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


@contextlib.contextmanager
def private_models(options: Options, state: Path | None = None) -> Iterator[ModelClient]:
    """A model process of this command's own (CLI runs with no server): started at first use, stopped on the way out."""
    models = OnDemandModels(options, state)
    try:
        yield models  # type: ignore[misc]
    finally:
        models.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", required=True, help="abstract socket name (without the leading NUL)")
    parser.add_argument("--models", type=Path)
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--state", type=Path, help="the self-test report: which llama.cpp CPU variant to load")
    parser.add_argument("--parent", type=int, help="the pid of the process that started this one: stop when it is gone")
    args = parser.parse_args(argv)
    serve("\0" + args.address, Options(models_dir=args.models, device=args.device, threads=args.threads), args.state,
          args.parent)
    return 0


if __name__ == "__main__":
    sys.exit(main())
