"""The AI job queue on a real box.db: pack import queues, the worker stores outputs, crashes are survived."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edge_server import jobs
from edge_server.settings import load_settings
from edge_server.store.db import connect, rows, write
from models.pipeline import PIPELINE_VERSION, Output, outputs_document
from models.worker import OnDemandModels
from tests.ai_support import WATER, import_source, write_spoken_source

EDGE = [str(Path(sys.executable).parent / "edge-server")]


@pytest.fixture(scope="module")
def runners(tmp_path_factory):
    """Real runners shared by this module's jobs: one real model process, so the models load once."""
    settings = load_settings(tmp_path_factory.mktemp("runners-var"), ai_threads=2, device="cpu")
    with OnDemandModels(settings.model_options()) as models:
        yield jobs.Runners(settings, models)


@pytest.fixture
def box(tmp_path, signing_key):
    """A data dir with one imported spoken lesson ("water") and its pipeline job queued."""
    data = tmp_path / "var"
    result = import_source(write_spoken_source(tmp_path / "src"), data, signing_key)
    assert result["jobs_queued"] == 1
    return data


def _job(data: Path) -> dict:
    return rows(connect(data / "box.db"), "SELECT * FROM jobs ORDER BY id")[-1]


def test_the_worker_stores_every_output_with_its_provenance_and_indexes_the_transcript(box, runners):
    seen = []
    assert jobs.run_pending(load_settings(box), progress=lambda j: seen.append(j["progress"]), runners=runners) == 1
    db = connect(box / "box.db")
    job = _job(box)
    assert (job["status"], job["progress"], job["error"]) == ("done", 1.0, None)
    assert seen == sorted(seen) and seen[-1] == 1.0
    outputs = {r["kind"]: r for r in rows(db, "SELECT * FROM ai_outputs")}
    assert set(outputs) == {"transcript", "captions_vtt", "chapters", "chapters_vtt", "summary"}
    assert all(o["media_sha256"] == job["key"] and o["pipeline_version"] == PIPELINE_VERSION
               and len(o["model_sha256"]) == 64 and o["source"] == "box" for o in outputs.values())
    assert outputs["transcript"]["model_id"].startswith("whisper-")
    assert json.loads(outputs["transcript"]["params"])["asr"]["beam_size"] == 5
    assert "evaporation" in outputs["transcript"]["content"].lower()
    assert outputs["captions_vtt"]["content"].startswith("WEBVTT")
    chapters = json.loads(outputs["chapters"]["content"])
    assert chapters and all({"start", "end", "title", "knowledge_point"} <= set(c) for c in chapters)
    assert json.loads(outputs["summary"]["content"])["summary"]
    chunks = rows(db, "SELECT * FROM transcript_chunks WHERE lesson_id = 'water' ORDER BY start")
    assert len(chunks) == len(chapters) and chunks[0]["start"] == chapters[0]["start"]
    hits = rows(db, "SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH 'evaporation'")
    assert [h["rowid"] for h in hits] == [c["id"] for c in chunks if "evaporation" in c["text"].lower()]
    # storing the outputs again (a re-run) replaces the chunks and keeps the index in step
    again = {k: Output(k, o["content"], o["model_id"], o["model_sha256"]) for k, o in outputs.items()}
    write(db, lambda tx: jobs.store_outputs(tx, job["key"], again))
    new_chunks = rows(db, "SELECT id FROM transcript_chunks")
    assert len(new_chunks) == len(chunks)
    hits = rows(db, "SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH 'evaporation'")
    assert hits and {h["rowid"] for h in hits} <= {c["id"] for c in new_chunks}


def test_a_job_interrupted_by_a_crash_is_queued_again_and_finished_by_jobs_wait(box):
    env = {**os.environ, "EDGE_SERVER_AI_THREADS": "2", "EDGE_SERVER_DEVICE": "cpu"}
    worker = subprocess.Popen([*EDGE, "jobs", "wait", "--data", str(box)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while _job(box)["status"] != "running":
            assert time.monotonic() < deadline and worker.poll() is None, "the worker never started the job"
            time.sleep(0.05)
        os.killpg(worker.pid, signal.SIGKILL)  # a power cut, as far as the queue can tell
    finally:
        worker.wait(10)
    assert _job(box)["status"] == "running"
    done = subprocess.run([*EDGE, "jobs", "wait", "--data", str(box), "--json"], capture_output=True, text=True,
                          env=env, timeout=180)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["counts"] == {"done": 1}
    job = _job(box)
    assert (job["status"], job["tries"]) == ("done", 2)
    listed = subprocess.run([*EDGE, "jobs", "list", "--data", str(box), "--json"], capture_output=True, text=True)
    doc = json.loads(listed.stdout)
    assert [(j["lesson_id"], j["status"], j["progress"]) for j in doc["jobs"]] == [("water", "done", 1.0)]


def test_a_failing_job_is_recorded_with_a_message_that_says_what_to_do(box, runners):
    db = connect(box / "box.db")
    channel_path = Path(rows(db, "SELECT path FROM channels")[0]["path"])
    (channel_path / "media" / "water.wav").unlink()
    assert jobs.run_pending(load_settings(box), runners=runners) == 1
    job = _job(box)
    assert job["status"] == "failed"
    assert "missing on disk" in job["error"] and "import its pack again" in job["error"]
    assert rows(db, "SELECT * FROM ai_outputs") == []


def test_only_one_process_runs_jobs_for_a_data_dir(box, runners):
    settings = load_settings(box)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT); "
        "fcntl.flock(fd, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(30)"), str(box / jobs.LOCK_NAME)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert jobs.run_pending(settings, runners=runners) is None
        assert _job(box)["status"] == "queued"
    finally:
        holder.kill()
        holder.wait()


def test_outputs_shipped_in_the_pack_are_used_as_they_are_and_no_job_runs(tmp_path, signing_key):
    import hashlib

    src = write_spoken_source(tmp_path / "src")
    media_sha = hashlib.sha256((src / "media" / "water.wav").read_bytes()).hexdigest()
    transcript = {"language": "en", "duration": 9.0, "segments": [{"start": 0, "end": 9, "text": WATER}]}
    chapters = [{"start": 0, "end": 9, "title": "Heat makes vapour", "knowledge_point": "test.spoken.evaporation"}]
    shipped = {k: Output(k, json.dumps(v), "central-model", "ee" * 32) for k, v in (
        ("transcript", transcript), ("chapters", chapters),
        ("summary", {"summary": "Central summary.", "method": "generated"}))}
    (src / "media" / "water.ai.json").write_text(json.dumps(outputs_document(shipped, media_sha)))
    data = tmp_path / "var"
    assert import_source(src, data, signing_key)["jobs_queued"] == 0
    db = connect(data / "box.db")
    assert rows(db, "SELECT * FROM jobs") == []
    outputs = {r["kind"]: r for r in rows(db, "SELECT * FROM ai_outputs")}
    assert json.loads(outputs["summary"]["content"])["summary"] == "Central summary."
    assert json.loads(outputs["chapters"]["content"])[0]["title"] == "Heat makes vapour"
    assert {o["source"] for o in outputs.values()} == {"pack"}
    assert "Heat makes vapour" in outputs["chapters_vtt"]["content"]
    assert rows(db, "SELECT lesson_id, knowledge_point FROM transcript_chunks") == [
        {"lesson_id": "water", "knowledge_point": "test.spoken.evaporation"}]


def test_a_job_that_keeps_crashing_the_worker_is_failed_instead_of_retried_forever(box, runners):
    db = connect(box / "box.db")
    db.execute("UPDATE jobs SET status = 'running', tries = ?", (jobs.MAX_TRIES,))
    assert jobs.run_pending(load_settings(box), runners=runners) == 0
    job = _job(box)
    assert job["status"] == "failed" and "stopped during this job 3 times" in job["error"]


def test_the_scheduler_process_of_a_running_box_works_the_queue_off_and_jobs_wait_only_watches(box):
    from edge_server.supervisor import Supervisor

    settings = load_settings(box, scheduler_enabled=True, ai_jobs_enabled=True, announce=False, ai_threads=2,
                             device="cpu")
    scheduler = Supervisor(settings)  # the box's scheduler process and the model process its jobs use
    scheduler.start()
    try:
        deadline = time.monotonic() + 60
        while _job(box)["status"] == "queued":  # the scheduler claims it, nobody else is running jobs
            assert time.monotonic() < deadline, "the scheduler never took the job"
            time.sleep(0.1)
        waited = subprocess.run([*EDGE, "jobs", "wait", "--data", str(box), "--timeout", "120", "--json"],
                                capture_output=True, text=True, timeout=180)
    finally:
        scheduler.stop()
    assert waited.returncode == 0, waited.stderr
    assert json.loads(waited.stdout)["counts"] == {"done": 1}
    assert _job(box)["status"] == "done"
