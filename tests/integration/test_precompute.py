"""`edge-server ai precompute`: the real models on real spoken clips, a real signed pack, a real box import."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from edge_server.settings import load_settings
from edge_server.store.db import connect, rows
from edge_server.web.app import create_app
from tests.ai_support import PLANTS, WATER, import_source, speak, write_spoken_source
from tests.sync_fixtures import EDGE


def precompute(src: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([*EDGE, "ai", "precompute", str(src), "--threads", "2", *extra], capture_output=True,
                          text=True, timeout=900)


def spoken_source(folder: Path) -> Path:
    """Two spoken lessons and a third that reuses the first one's medium."""
    src = write_spoken_source(folder, clips={"water": WATER, "plants": PLANTS})
    catalog = json.loads((src / "catalog.json").read_text())
    lessons = catalog["courses"][0]["lessons"]
    lessons.append({**lessons[0], "id": "water-again", "title": "The water cycle, again"})
    (src / "catalog.json").write_text(json.dumps(catalog, indent=1))
    return src


def test_a_precomputed_pack_is_imported_with_no_job_and_its_lessons_show_captions_chapters_and_summary_at_once(
        tmp_path, signing_key):
    src = spoken_source(tmp_path / "src")
    done = precompute(src, "--device", "cpu")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["computed"], result["up_to_date"]) == (2, 0)  # the shared medium once
    assert [m["output"] for m in result["media"]] == ["media/water.ai.json", "media/plants.ai.json"]
    document = json.loads((src / "media" / "water.ai.json").read_text())
    assert document["lessons"] == ["water", "water-again"]
    assert document["computed_with"]["asr"] == result["models"]["asr"]

    data = tmp_path / "var"
    imported = import_source(src, data, signing_key)
    assert imported["jobs_queued"] == 0
    db = connect(data / "box.db")
    try:
        assert rows(db, "SELECT * FROM jobs") == []
        outputs = rows(db, "SELECT media_sha256, kind, model_id, model_sha256, source FROM ai_outputs")
        assert len(outputs) == 10 and {o["source"] for o in outputs} == {"pack"}
        made = {o["kind"]: o for o in outputs if o["media_sha256"] == document["media_sha256"]}
        for kind, model in document["output_models"].items():  # the box records which model made each output
            assert (made[kind]["model_id"], made[kind]["model_sha256"]) == (model["id"], model["sha256"])
        assert made["transcript"]["model_id"] == result["models"]["asr"]["id"]
        assert made["chapters"]["model_id"] == result["models"]["llm"]["id"]
        chunks = rows(db, "SELECT lesson_id FROM transcript_chunks")
        assert {c["lesson_id"] for c in chunks} == {"water", "water-again", "plants"}
    finally:
        db.conn.close()
    client = create_app(load_settings(data, scheduler_enabled=False, ai_jobs_enabled=False)).test_client()
    lesson = client.get("/api/v1/lessons/water").get_json()
    assert lesson["chapters"] and lesson["chapters"][0]["knowledge_point"] == "test.spoken.evaporation"
    assert "evaporation" in json.dumps(lesson["summary"]).lower()
    captions = client.get("/api/v1/lessons/water-again/captions.vtt")
    assert captions.status_code == 200 and captions.get_data(as_text=True).startswith("WEBVTT")
    assert "evaporation" in captions.get_data(as_text=True).lower()
    assert client.get("/api/v1/lessons/plants/chapters.vtt").status_code == 200
    found = client.get("/api/v1/search?q=sunlight").get_json()["results"]
    assert any(hit["lesson_id"] == "plants" for hit in found)


def test_a_rerun_computes_only_the_media_that_changed_and_force_computes_all(tmp_path):
    src = spoken_source(tmp_path / "src")
    assert precompute(src, "--device", "cpu", "--no-llm").returncode == 0
    before = (src / "media" / "water.ai.json").read_bytes()
    again = precompute(src, "--device", "cpu", "--no-llm")
    assert again.returncode == 0, again.stderr
    assert (json.loads(again.stdout)["computed"], json.loads(again.stdout)["up_to_date"]) == (0, 2)
    speak(src / "media" / "plants.wav", PLANTS + " Some animals eat both.")
    changed = precompute(src, "--device", "cpu", "--no-llm")
    assert [m["status"] for m in json.loads(changed.stdout)["media"]] == ["up to date", "computed"]
    assert (src / "media" / "water.ai.json").read_bytes() == before
    forced = precompute(src, "--device", "cpu", "--no-llm", "--force")
    assert json.loads(forced.stdout)["computed"] == 2
    assert not list((src / "media").glob(".*"))  # no temp file left to be packed


def test_device_cuda_is_refused_in_one_line_on_a_machine_without_cuda(tmp_path):
    import ctranslate2

    if ctranslate2.get_cuda_device_count() > 0:
        pytest.skip("this machine has a CUDA GPU: the refusal is for machines without one")
    src = spoken_source(tmp_path / "src")
    done = precompute(src, "--device", "cuda")
    assert done.returncode == 1
    assert done.stderr.strip() == ("error: --device cuda: no CUDA device here (CTranslate2 sees none: no NVIDIA GPU, "
                                   "driver or CUDA runtime): use --device cpu or auto, or run on the province's GPU "
                                   "machine")
    assert not list((src / "media").glob("*.ai.json"))


def test_on_a_gpu_machine_precompute_runs_the_speech_model_on_cuda(tmp_path):
    import ctranslate2

    if ctranslate2.get_cuda_device_count() < 1:
        pytest.skip("needs a CUDA GPU (none here)")
    src = write_spoken_source(tmp_path / "src")
    done = precompute(src, "--device", "cuda", "--no-llm")
    assert done.returncode == 0, done.stderr
    document = json.loads((src / "media" / "water.ai.json").read_text())
    assert document["params"]["asr"]["device"] == "cuda"


def test_a_folder_without_catalog_is_refused_in_one_line(tmp_path):
    done = precompute(tmp_path, "--device", "cpu")
    assert done.returncode == 1
    assert done.stderr.strip() == (f"error: {tmp_path} has no catalog.json: give a pack source folder (what `pack "
                                   "build` reads)")
