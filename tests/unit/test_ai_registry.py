"""Model registry: install by content hash, models.json, re-hash on verify, one clear line per problem."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from models.registry import (
    ModelError,
    install_from_dir,
    listing_sha256,
    load_manifest,
    package_sources,
    resolve,
    verify,
)


def _pack(tmp_path: Path) -> Path:
    src = tmp_path / "models-pack"
    (src / "asr").mkdir(parents=True)
    (src / "asr" / "model.bin").write_bytes(b"weights" * 1000)
    (src / "asr" / "config.json").write_text('{"a": 1}')
    (src / "tiny.gguf").write_bytes(b"GGUF" + bytes(range(256)) * 10)
    return src


ENTRIES = [
    {"role": "asr", "id": "whisper-test", "format": "ctranslate2",
     "files": [{"path": "asr/model.bin"}, {"path": "asr/config.json"}]},
    {"role": "llm", "id": "tiny-test", "format": "gguf", "files": [{"path": "tiny.gguf"}]},
]


def test_models_from_a_pack_are_stored_under_their_sha256_and_named_by_role_in_models_json(tmp_path):
    src, models = _pack(tmp_path), tmp_path / "var" / "models"
    install_from_dir(models, src, ENTRIES)
    doc = json.loads((models / "models.json").read_text())
    by_role = {m["role"]: m for m in doc["models"]}
    gguf_sha = hashlib.sha256((src / "tiny.gguf").read_bytes()).hexdigest()
    assert by_role["llm"]["sha256"] == gguf_sha  # a one-file model keeps its file's published hash
    assert by_role["llm"]["path"] == f"{gguf_sha}/tiny.gguf"
    assert (models / gguf_sha / "tiny.gguf").read_bytes() == (src / "tiny.gguf").read_bytes()
    asr = by_role["asr"]
    assert asr["path"] == asr["sha256"] and (models / asr["sha256"] / "model.bin").is_file()
    assert asr["sha256"] == listing_sha256(load_manifest(models)[0].files)
    assert asr["size"] == 7000 + len('{"a": 1}')
    assert verify(models) == []
    assert resolve("llm", models).path == models / gguf_sha / "tiny.gguf"


def test_a_corrupted_model_file_is_reported_in_one_line_naming_the_model_and_the_fix(tmp_path):
    src, models = _pack(tmp_path), tmp_path / "var" / "models"
    install_from_dir(models, src, ENTRIES)
    entry = next(e for e in load_manifest(models) if e.role == "asr")
    target = models / entry.sha256 / "model.bin"
    data = bytearray(target.read_bytes())
    data[10] ^= 0xFF
    target.write_bytes(bytes(data))
    problems = verify(models)
    assert len(problems) == 1
    assert "whisper-test" in problems[0] and "model.bin" in problems[0] and "corrupt" in problems[0]
    assert "edge-server models install --data" in problems[0] and "\n" not in problems[0]
    with pytest.raises(ModelError, match="corrupt"):
        resolve("asr", models)


def test_a_missing_or_truncated_file_and_a_missing_role_each_get_their_own_line(tmp_path):
    src, models = _pack(tmp_path), tmp_path / "var" / "models"
    install_from_dir(models, src, ENTRIES[:1])
    entry = load_manifest(models)[0]
    (models / entry.sha256 / "config.json").unlink()
    (models / entry.sha256 / "model.bin").write_bytes(b"short")
    problems = verify(models)
    assert len(problems) == 3
    assert any("config.json is missing" in p for p in problems)
    assert any("truncated" in p for p in problems)
    assert any(p.startswith("no llm model installed") for p in problems)
    with pytest.raises(ModelError, match="no llm model installed .*models install"):
        resolve("llm", models)


def test_a_declared_sha256_that_does_not_match_installs_nothing(tmp_path):
    src, models = _pack(tmp_path), tmp_path / "var" / "models"
    bad = [{**ENTRIES[1], "sha256": "0" * 64}]
    with pytest.raises(ModelError, match="expected 000000000000"):
        install_from_dir(models, src, bad)
    assert load_manifest(models) == []
    assert [p.name for p in models.iterdir()] == []


def test_pack_paths_that_escape_the_pack_are_refused(tmp_path):
    with pytest.raises(ModelError, match="escapes"):
        install_from_dir(tmp_path / "models", _pack(tmp_path),
                         [{"role": "llm", "id": "x", "files": [{"path": "../etc/passwd"}]}])


def test_the_default_models_are_found_inside_the_installed_python_packages():
    sources = package_sources()
    assert set(sources) == {"asr", "llm", "asr_multilingual"}
    asr_files = set(sources["asr"].parts)
    assert {"model.bin", "config.json", "tokenizer.json"} <= asr_files
    assert sources["llm"].format == "gguf" and len(sources["llm"].parts[sources["llm"].main]) == 4
    multilingual = sources["asr_multilingual"]
    assert len(multilingual.parts["model.bin"]) == 2 and multilingual.file_sha256["model.bin"].startswith("d01c3014")
