"""The ai and models commands as operators run them: JSON on stdout, one clear line on failure."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ai_support import WATER, speak, spoken_words

EDGE = str(Path(sys.executable).parent / "edge-server")


def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([EDGE, *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return speak(tmp_path_factory.mktemp("clip") / "water.wav", WATER)


def test_ai_transcribe_prints_language_duration_and_timed_segments_without_a_data_dir(clip):
    done = run("ai", "transcribe", str(clip), "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["language"] == "en" and 8 < doc["duration"] < 20
    heard = spoken_words(" ".join(s["text"] for s in doc["segments"]))
    assert {"evaporation", "sun", "clouds", "condensation"} <= heard
    assert all(set(s) == {"start", "end", "text"} for s in doc["segments"])


def test_ai_chapters_follow_the_given_knowledge_points_in_spoken_order(clip, tmp_path):
    kps = tmp_path / "kps.json"
    kps.write_text(json.dumps([
        {"id": "evap", "name": "Evaporation", "description": "The sun heats water in the sea into vapour."},
        {"id": "cond", "name": "Condensation", "description": "Vapour cools and forms clouds."}]))
    done = run("ai", "chapters", str(clip), "--knowledge-points", str(kps), "--no-llm", "--json")
    assert done.returncode == 0, done.stderr
    chapters = json.loads(done.stdout)["chapters"]
    assert [c["knowledge_point"] for c in chapters] == ["evap", "cond"]
    assert chapters[0]["start"] == 0 and chapters[0]["end"] == chapters[1]["start"] < chapters[1]["end"]
    assert [c["title"] for c in chapters] == ["Evaporation", "Condensation"]


def test_ai_summarize_gives_a_short_summary_drawn_from_the_transcript(clip):
    done = run("ai", "summarize", str(clip), "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["method"] in ("generated", "extractive") and "model" in doc
    assert 0 < len(doc["summary"].split()) <= 150
    assert spoken_words(doc["summary"]) & {"evaporation", "condensation", "clouds", "sun"}


def test_a_file_that_is_not_audio_fails_with_one_line(tmp_path):
    bogus = tmp_path / "notes.wav"
    bogus.write_text("this is not sound")
    done = run("ai", "transcribe", str(bogus), "--json")
    assert done.returncode != 0 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and "not a readable audio or video file" in done.stderr


def test_models_install_list_verify_and_a_corrupt_model_named_with_its_fix(tmp_path, clip):
    data = tmp_path / "var"
    done = run("models", "install", "--data", str(data))
    assert done.returncode == 0, done.stderr
    assert {m["role"] for m in json.loads(done.stdout)["models"]} == {"asr", "llm", "asr_multilingual"}
    assert "installing models" in done.stderr  # the progress bar goes to stderr
    listed = json.loads(run("models", "list", "--data", str(data), "--json").stdout)
    assert [m["role"] for m in listed["models"]] == ["asr", "llm", "asr_multilingual"]
    assert run("models", "verify", "--data", str(data)).returncode == 0
    again = run("models", "install", "--data", str(data))
    assert again.returncode == 0 and "installing models" not in again.stderr  # intact copies are kept
    asr = listed["models"][0]
    model_bin = data / "models" / asr["path"] / "model.bin"
    with model_bin.open("r+b") as fh:
        fh.seek(4096)
        fh.write(b"\0\1\2\3")
    bad = run("models", "verify", "--data", str(data))
    assert bad.returncode == 1 and len(bad.stderr.strip().splitlines()) == 1
    assert "model.bin" in bad.stderr and "corrupt" in bad.stderr and "models install --data" in bad.stderr
    used = run("ai", "transcribe", str(clip), "--models", str(data / "models"), "--json")
    assert used.returncode == 1 and used.stdout == "" and len(used.stderr.strip().splitlines()) == 1
    assert "corrupt" in used.stderr and "models install" in used.stderr
    assert run("models", "install", "--data", str(data)).returncode == 0  # the fix it names works
    assert run("models", "verify", "--data", str(data)).returncode == 0


def test_a_missing_model_is_one_line_naming_the_fix(tmp_path, clip):
    done = run("ai", "transcribe", str(clip), "--models", str(tmp_path / "empty"), "--json")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"error: no asr model installed in {tmp_path / 'empty'}: run `edge-server models install --data {tmp_path}`"]


def _models_pack(tmp_path: Path, signing_key, gguf: bytes) -> Path:
    from edge_server.packs_import import build_pack
    from sync.trust import read_private

    src = tmp_path / "models-src"
    (src / "models").mkdir(parents=True)
    (src / "models" / "bigger.gguf").write_bytes(gguf)
    catalog = {"channel": {"id": "models.province", "title": "Models", "language": "en", "level": "any"},
               "knowledge_points": [], "courses": [],
               "models": [{"role": "llm", "id": "bigger-llm", "format": "gguf",
                           "files": [{"path": "models/bigger.gguf"}]}]}
    (src / "catalog.json").write_text(json.dumps(catalog))
    build_pack(src, tmp_path / "models-pack", read_private(signing_key.private), 1)
    return tmp_path / "models-pack"


def test_a_signed_models_pack_installs_its_model_for_its_role_and_a_tampered_one_installs_nothing(tmp_path,
                                                                                                  signing_key):
    import hashlib

    from edge_server.identity import init_data_dir

    data = tmp_path / "var"
    init_data_dir(data, trust=signing_key.public)
    gguf = b"GGUF" + bytes(range(256)) * 64
    pack = _models_pack(tmp_path, signing_key, gguf)
    done = run("models", "install", "--data", str(data), "--pack", str(pack))
    assert done.returncode == 0, done.stderr
    listed = json.loads(run("models", "list", "--data", str(data), "--json").stdout)["models"]
    assert [(m["role"], m["id"], m["sha256"]) for m in listed] == [
        ("llm", "bigger-llm", hashlib.sha256(gguf).hexdigest())]
    tampered = _models_pack(tmp_path / "t", signing_key, gguf)
    (tampered / "models" / "bigger.gguf").write_bytes(gguf[:-1] + b"X")
    other = tmp_path / "other-var"
    init_data_dir(other, trust=signing_key.public)
    refused = run("models", "install", "--data", str(other), "--pack", str(tampered))
    assert refused.returncode == 1 and refused.stderr.strip().splitlines()[-1].startswith("error: models pack refused")
    assert not (other / "models" / "models.json").exists()
