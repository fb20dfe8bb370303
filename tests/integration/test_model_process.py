"""The models in their own process: the portable llama.cpp build, the self-test, crashes that cost one request.

Faults are injected from the test side only: a real SIGKILL of the real model process, a real child process that
dies of SIGSEGV, a socket nobody listens on.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests

from edge_server import jobs
from edge_server.settings import load_settings
from edge_server.store.db import connect, rows
from models import llama_backend, selftest
from models.selftest import Options
from models.worker import (
    ModelClient,
    ModelsUnavailable,
    OnDemandModels,
    RemoteError,
    RemoteGenerator,
    RemoteTranscriber,
)
from tests.ai_support import import_source, write_spoken_source
from tests.e2e.box_server import free_port, prepare
from tests.integration.test_media_serve import alive
from tests.processes import stop_process

CLI = str(Path(sys.executable).with_name("edge-server"))
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
QUESTION = {"question": "How are clouds made?", "lesson_id": "water-cycle"}


def _run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=timeout, check=False)


def test_the_installed_llama_cpp_is_the_portable_build_with_cpu_variants_chosen_at_run_time() -> None:
    found = llama_backend.variants()
    names = {v.name for v in found}
    # x86-64 wheels carry the AVX2 level every supported box has; arm64 wheels the armv8.0 baseline
    assert {"haswell", "x64"} & names or any(n.startswith("armv8") for n in names), names
    assert [v.score for v in found] == sorted((v.score for v in found), reverse=True)
    assert not list(llama_backend.lib_dir().glob("libggml-cpu.so")), "a single natively built CPU backend is in use"


def test_the_self_test_generates_real_tokens_with_every_model_ok_and_names_the_cpu_variant(tmp_path) -> None:
    done = _run("models", "selftest", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    by_role = {m["role"]: m for m in report["models"]}
    assert set(by_role) == {"asr", "llm", "asr_multilingual"}
    assert all(m["ok"] and m["error"] is None and m["seconds"] > 0 for m in by_role.values()), report
    # the multilingual model of French and Chinese lessons hears the English speech and tells its language
    assert by_role["asr_multilingual"]["language"] == "en" and by_role["asr_multilingual"]["output"].strip()
    assert by_role["llm"]["tokens"] > 0 and by_role["llm"]["output"].strip()
    assert by_role["llm"]["backend"] in {v.name for v in llama_backend.variants()}
    # the variant that crashed here (if any) is remembered, so the probe is paid once per machine
    assert set(by_role["llm"]["rejected"]) <= {v.name for v in llama_backend.variants()}


def test_a_model_check_that_dies_of_sigsegv_is_reported_as_a_crash_not_raised(monkeypatch) -> None:
    crash = [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"]
    monkeypatch.setattr(selftest, "_child_args", lambda *a, **k: crash)
    result = selftest.run_child("llm", Options(device="cpu"))
    assert result["ok"] is False and result["crashed"] is True
    assert "SIGSEGV" in result["error"]


def test_a_cpu_variant_that_crashes_is_rejected_and_the_next_best_one_is_chosen(monkeypatch) -> None:
    candidates = [v.name for v in llama_backend.variants()]
    assert len(candidates) >= 2, candidates
    real = selftest.run_child
    tried: list[str | None] = []

    def first_variant_crashes(role, options, variant=None, **kw):
        tried.append(variant)
        if variant == candidates[0]:
            return {"ok": False, "crashed": True, "error": "the model crashed with SIGSEGV", "seconds": 0.1}
        return real(role, options, variant, **kw)

    monkeypatch.setattr(selftest, "run_child", first_variant_crashes)
    result = selftest.check_llm(Options(device="cpu"))
    assert result["ok"], result
    assert result["rejected"][candidates[0]] == "the model crashed with SIGSEGV"
    assert result["backend"] == tried[-1] != candidates[0]
    # remembered: a second check does not try the crashing variant again
    tried.clear()
    again = selftest.check_llm(Options(device="cpu"), result)
    assert again["ok"] and candidates[0] not in tried


def test_the_model_process_serves_generation_and_transcription_to_remote_runners(tmp_path) -> None:
    from models.asr import DecodeOptions

    with OnDemandModels(Options(device="cpu")) as models:
        generator = RemoteGenerator(models, None, "cpu", 2)
        pieces = list(generator.stream("The water cycle has three steps:", max_tokens=8))
        assert len(pieces) >= 2 and "".join(pieces).strip()
        assert generator.params["n_gpu_layers"] == 0  # reported by the model process after generating
        speech = Path(selftest.__file__).with_name("data") / "selftest.wav"
        transcript = RemoteTranscriber(models, None, "cpu", 2, DecodeOptions(tempos=(1.0,))).transcribe(speech)
        assert "morning" in transcript.text.lower()
        facts = models.ping()
        assert set(facts["loaded"]) == {"llm", "asr"} and facts["pid"] != os.getpid()


def test_a_client_of_a_model_process_that_is_not_running_gets_models_unavailable_at_once() -> None:
    client = ModelClient("\0edge-server-models-nobody-listens-here")
    started = time.monotonic()
    with pytest.raises(ModelsUnavailable):
        list(RemoteGenerator(client, None, "cpu", 2).stream("Hello", max_tokens=4))
    assert time.monotonic() - started < 3


def test_a_job_whose_model_process_is_gone_is_retried_once_then_failed_with_the_reason(tmp_path, signing_key) -> None:
    data = tmp_path / "var"
    import_source(write_spoken_source(tmp_path / "src"), data, signing_key)
    settings = load_settings(data)
    dead = jobs.Runners(settings, ModelClient("\0edge-server-models-nobody-listens-here"))
    assert jobs.run_pending(settings, max_jobs=1, runners=dead) == 1
    job = rows(connect(data / "box.db"), "SELECT * FROM jobs")[-1]
    assert job["status"] == "queued" and "model process" in job["error"] and job["message"].startswith("retrying")
    assert jobs.run_pending(settings, max_jobs=1, runners=dead) == 1
    job = rows(connect(data / "box.db"), "SELECT * FROM jobs")[-1]
    assert job["status"] == "failed" and job["tries"] == 2 and "model process" in job["error"]


@pytest.fixture
def live_box(tmp_path: Path, signing_key):
    """`edge-server serve` (default workers) over the sample course; yields the base URL, data dir and a pupil."""
    data = tmp_path / "var"
    people = prepare(data, signing_key.dir)
    amina = people["pupils"]["Amina"]
    # the model's rephrasing may take its time on a busy CI machine: these asks are about the process, not speed
    with (data / "config.toml").open("a") as config:
        config.write("\ncompanion_rephrase_budget_s = 30\n")
    port = free_port()
    env = {**os.environ, "EDGE_SERVER_AI_JOBS_ENABLED": "false", "EDGE_SERVER_ANNOUNCE": "false"}
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([CLI, "serve", "--data", str(data), "--host", "127.0.0.1", "--port", str(port)],
                                stdout=out, stderr=subprocess.STDOUT, env=env)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 180  # the first start runs the self-test
            while True:
                assert proc.poll() is None, log.read_text()[-3000:]
                try:
                    if requests.get(f"{base}/api/v1/health", timeout=2).ok:
                        break
                except requests.ConnectionError:
                    pass
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.2)
            pupil = requests.Session()
            token = CSRF.search(pupil.get(f"{base}/login/{amina['ref']}").text).group(1)
            pupil.post(f"{base}/login/{amina['ref']}", data={"pin": amina["pin"], "csrf_token": token})
            pupil.headers["X-CSRFToken"] = CSRF.search(pupil.get(f"{base}/lesson/water-cycle").text).group(1)
            yield base, data, pupil, log
        finally:
            stop_process(proc, timeout=20)


def _status(data: Path) -> dict:
    done = _run("status", "--data", str(data), "--json", timeout=30)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _models_pid(data: Path, other_than: int | None = None, within_s: float = 60) -> int:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        pids = [p["pid"] for p in _status(data)["processes"] if p["role"] == "models"]
        if pids and pids[0] != other_than:
            return pids[0]
        time.sleep(0.5)
    raise AssertionError("no (new) model process within the time")


def test_status_lists_the_web_workers_the_model_process_and_the_scheduler_of_a_serving_box(live_box) -> None:
    base, data, _pupil, _log = live_box
    deadline = time.monotonic() + 10  # the supervisor records the workers' pids once a second
    while True:
        facts = _status(data)
        roles = [p["role"] for p in facts["processes"]]
        if roles.count("web") == os.cpu_count() or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert roles.count("web") == os.cpu_count() and roles.count("models") == 1 and roles.count("scheduler") == 1
    assert all(m["ok"] for m in facts["models"]["models"])
    assert facts["models_process"]["pid"] == _models_pid(data)
    assert set(facts["jobs"]) >= {"pending", "counts"}
    health = requests.get(f"{base}/api/v1/health", timeout=5).json()["models"]
    assert health["process"] == "up" and health["text"] == "generated"
    assert {m["role"] for m in health["selftest"]} == {"asr", "llm", "asr_multilingual"}


def test_sigkill_of_the_model_process_mid_ask_is_a_503_while_health_answers_and_asks_work_again(live_box) -> None:
    base, data, pupil, log = live_box
    first = pupil.post(f"{base}/api/v1/companion/ask", json=QUESTION, timeout=60)
    assert first.status_code == 200 and first.json()["method"] == "generated", first.text
    victim = _models_pid(data)
    os.kill(victim, signal.SIGSTOP)  # the ask below is sure to be in the model process when it dies
    answer: dict = {}

    def ask() -> None:
        started = time.monotonic()
        response = pupil.post(f"{base}/api/v1/companion/ask", json={**QUESTION, "question": "Why does it rain?"},
                              timeout=60)
        answer.update(response=response, seconds=time.monotonic() - started)

    asking = threading.Thread(target=ask)
    asking.start()
    time.sleep(0.8)
    os.kill(victim, signal.SIGKILL)
    asking.join(60)
    response = answer["response"]
    assert response.status_code == 503, response.text
    assert "model process" in response.json()["error"] and int(response.headers["Retry-After"]) > 0
    assert answer["seconds"] < 30
    assert requests.get(f"{base}/api/v1/health", timeout=5).status_code == 200
    _models_pid(data, other_than=victim, within_s=30)
    deadline = time.monotonic() + 60
    while True:
        again = pupil.post(f"{base}/api/v1/companion/ask", json={**QUESTION, "question": "Where do clouds come from?"},
                           timeout=60)
        if again.status_code == 200:
            break
        assert again.status_code == 503 and time.monotonic() < deadline, again.text
        time.sleep(1)
    assert again.json()["answer"] and again.json()["method"] in ("generated", "extractive")
    # the new model process loaded the text model for that ask (the rephrasing budget decides if it was used)
    assert "llm" in _status(data)["models_process"]["loaded"]
    assert "starting it again" in log.read_text()


def test_a_text_model_that_failed_its_self_test_leaves_the_box_answering_from_the_lessons_and_saying_so(
        tmp_path, signing_key) -> None:
    from werkzeug.test import Client

    from edge_server.web.app import create_app
    from tests.integration.test_reliability_hostile import as_pupil

    data = tmp_path / "var"
    people = prepare(data, signing_key.dir)
    report = {"machine": llama_backend.machine_key(), "at": "2026-11-29T00:00:00+00:00", "models": [
        {"role": "asr", "id": "whisper", "ok": True, "seconds": 1.0, "error": None},
        {"role": "llm", "id": "gemma", "ok": False, "seconds": 1.0, "error": "the model crashed with SIGILL"}]}
    selftest.write_state(data / "selftest.json", report)
    app = create_app(load_settings(data, scheduler_enabled=False, ai_jobs_enabled=False))
    pupil = Client(as_pupil(app, people["pupils"]["Amina"]["id"]))
    answer = pupil.post("/api/v1/companion/ask", json=QUESTION)
    assert answer.status_code == 200 and answer.get_json()["method"] == "extractive", answer.get_json()
    health = app.test_client().get("/api/v1/health").get_json()["models"]
    assert health["text"] == "extractive" and health["process"] == "down"
    assert next(m for m in health["selftest"] if m["role"] == "llm")["error"] == "the model crashed with SIGILL"


def test_the_model_process_answers_only_its_own_user() -> None:
    with OnDemandModels(Options(device="cpu")) as models:
        client = models._client()
        assert client.ping() is not None
        read, write = os.pipe()
        child = os.fork()
        if child == 0:  # another user on the box: same socket name, no answer
            try:
                os.setgid(65534)
                os.setuid(65534)
                os.write(write, b"answered" if client.ping(5.0) is not None else b"refused")
            except BaseException as exc:  # noqa: BLE001 - the parent shows what went wrong
                os.write(write, repr(exc).encode())
            finally:
                os._exit(0)
        os.close(write)
        os.waitpid(child, 0)
        assert os.read(read, 100) == b"refused"
        os.close(read)
        assert models.ping() is not None  # still serving its own user


def test_the_model_process_embeds_texts_for_the_safety_check_and_reports_the_embedder_loaded() -> None:
    import numpy as np

    from edge_server.domain import safety

    with OnDemandModels(Options(device="cpu")) as models:
        vectors = models.embed(["How do plants make food?", "植物怎样制造养分？", "How do I steal a bike?"])
        assert vectors.shape == (3, 512) and vectors.dtype == np.float32
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
        assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
        assert "embed" in models.ping()["loaded"]
        # the safety check through the model process, as the companion runs it (no rule names this wording)
        assert safety.classify("what is the quickest way to stop existing") is None
        assert safety.classify("what is the quickest way to stop existing", models.embed) == "self_harm"
        assert safety.classify("What is sexual reproduction in plants?", models.embed) is None
        assert models.embed(["x"] * 600).shape == (600, 512)  # sent in requests of at most 512 texts
        with pytest.raises(RemoteError, match="at most"):
            next(models.events({"op": "embed", "texts": ["x"] * 600}))


def test_the_safety_check_falls_back_to_the_rules_when_the_model_process_is_not_running() -> None:
    from edge_server.domain import safety

    client = ModelClient("\0edge-server-models-nobody-listens-here")
    started = time.monotonic()
    assert safety.classify("how do i make a b0mb", client.embed) == "violence"
    assert safety.classify("What is photosynthesis?", client.embed) is None
    assert time.monotonic() - started < 3


def test_the_exemplar_bank_is_embedded_once_per_box_and_kept_under_the_data_dir_across_restarts(tmp_path) -> None:
    import numpy as np

    from edge_server.domain.safety_embedding import Layer

    state = tmp_path / "selftest.json"  # as the supervisor starts it: the cache lives next to the self-test report
    with OnDemandModels(Options(device="cpu"), state) as models:
        first = Layer(models.embed)  # the first web worker: the model process embeds the bank and keeps it
    kept = sorted((tmp_path / "cache" / "embed").glob("*.npy"))
    assert kept and not list((tmp_path / "cache" / "embed").glob("*.tmp"))
    assert sum(np.load(p).shape[0] for p in kept) == len(first.exemplars)

    with OnDemandModels(Options(device="cpu"), state) as models:  # a restart: the bank is read back, not embedded
        next(models.events({"op": "ping"}))  # starts the process (nothing embedded yet)
        deadline = time.monotonic() + 60
        while "embed" not in (models.ping() or {}).get("loaded", []) and time.monotonic() < deadline:
            time.sleep(0.2)  # a box that used the companion before loads the embedder at start, in the background
        assert "embed" in models.ping()["loaded"]
        again = Layer(models.embed)
        assert np.allclose(again.vectors, first.vectors, atol=1e-6)
        models.embed(["a question of my own"])  # a pupil's question is never written to disk
    assert sorted((tmp_path / "cache" / "embed").glob("*.npy")) == kept


def test_a_model_process_whose_starter_is_killed_before_it_is_up_stops_by_itself(tmp_path) -> None:
    # the starter is gone long before the model process has imported its libraries: it must still see that
    subprocess.run([sys.executable, "-c", (
        "import pathlib; from models.worker import ModelProcess; from models.selftest import Options\n"
        f"p = ModelProcess('edge-server-test-orphan-{uuid.uuid4().hex}', Options(device='cpu'), stderr=open("
        f"{str(tmp_path / 'models.log')!r}, 'wb'))\n"
        f"p.start(wait=False); pathlib.Path({str(tmp_path / 'pid')!r}).write_text(str(p.pid))")],
        stdout=subprocess.DEVNULL, timeout=60, check=True)
    orphan = int((tmp_path / "pid").read_text())
    deadline = time.monotonic() + 60
    while alive(orphan) and time.monotonic() < deadline:
        time.sleep(0.2)
    if alive(orphan):
        os.kill(orphan, signal.SIGKILL)
        pytest.fail("the model process outlived the process that started it")
    assert "is gone; stopping" in (tmp_path / "models.log").read_text()
