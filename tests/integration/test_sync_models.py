"""Models packs pulled from a real rsync daemon on loopback: installed into the models dir, never as content."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.requirements import require_rsync
from tests.sync_fixtures import (
    CHANNEL,
    EDGE,
    MODELS_CHANNEL,
    media,
    publish,
    publish_models,
    pull,
    trusting_box,
)


@pytest.fixture(scope="module", autouse=True)
def _needs_rsync() -> None:
    require_rsync()


def box(data: Path, public: Path) -> Path:
    return trusting_box(data, public, "models-pull-test")


def installed(data: Path) -> list[tuple[str, str, str]]:
    """(role, id, sha256) of each model models.json names, as `models list` reports them."""
    listed = subprocess.run([*EDGE, "models", "list", "--data", str(data), "--json"], capture_output=True, text=True)
    if not (data / "models" / "models.json").exists():
        return []
    assert listed.returncode == 0, listed.stderr
    return [(m["role"], m["id"], m["sha256"]) for m in json.loads(listed.stdout)["models"]]


def channels(data: Path) -> list[str]:
    listed = subprocess.run([*EDGE, "pack", "list", "--data", str(data), "--json"], capture_output=True, text=True,
                            check=True)
    return [c["channel"] for c in json.loads(listed.stdout)["channels"]]


def fake_gguf(seed: int) -> bytes:
    return b"GGUF" + hashlib.sha256(str(seed).encode()).digest() * 2048


def test_a_models_pack_v1_is_installed_into_models_json_and_not_imported_as_content(tmp_path: Path,
                                                                                   province) -> None:
    private, public, daemon = province
    data = box(tmp_path / "var", public)
    model = fake_gguf(1)
    publish_models(tmp_path, daemon, private, 1, model)
    done = pull(data, daemon.url)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)["channels"]
    assert [(c["channel"], c["status"], c["kind"], c["version"]) for c in report] == [
        (MODELS_CHANNEL, "activated", "models", 1)]
    assert installed(data) == [("llm", "tiny-llm", hashlib.sha256(model).hexdigest())]
    assert (data / "models" / hashlib.sha256(model).hexdigest() / "tiny.gguf").read_bytes() == model
    assert channels(data) == []  # not a content channel
    again = pull(data, daemon.url)
    assert again.returncode == 0 and json.loads(again.stdout)["channels"][0]["status"] == "unchanged"


def test_a_forged_models_pack_is_refused_and_the_installed_models_stay(tmp_path: Path, province) -> None:
    private, public, daemon = province
    data = box(tmp_path / "var", public)
    v1 = fake_gguf(1)
    publish_models(tmp_path, daemon, private, 1, v1)
    assert pull(data, daemon.url).returncode == 0
    before = (data / "models" / "models.json").read_bytes()

    # A model swapped on the origin after signing: same name, same size, different bytes.
    origin = publish_models(tmp_path, daemon, private, 2, fake_gguf(2), model_id="swapped")
    (origin / "models" / "tiny.gguf").write_bytes(fake_gguf(3))
    swapped = pull(data, daemon.url)
    assert swapped.returncode != 0 and len(swapped.stderr.strip().splitlines()) == 1
    assert "models pack refused" in swapped.stderr and MODELS_CHANNEL in swapped.stderr
    assert "sha256" in swapped.stderr or "altered" in swapped.stderr, swapped.stderr

    # A manifest edited to claim a bigger version, not signed by the province.
    origin = publish_models(tmp_path, daemon, private, 3, fake_gguf(4), model_id="forged")
    manifest = json.loads((origin / "manifest.json").read_text())
    manifest["version"] = 9
    (origin / "manifest.json").write_text(json.dumps(manifest))
    forged = pull(data, daemon.url)
    assert forged.returncode != 0 and len(forged.stderr.strip().splitlines()) == 1
    assert "models pack refused" in forged.stderr and "signature" in forged.stderr, forged.stderr

    assert (data / "models" / "models.json").read_bytes() == before
    assert installed(data) == [("llm", "tiny-llm", hashlib.sha256(v1).hexdigest())]
    left = sorted(p.name for p in (data / "models").iterdir())
    assert left == sorted(["models.json", hashlib.sha256(v1).hexdigest()]), "a refused pack left files behind"


def test_an_older_models_pack_is_refused_after_a_newer_one_installed(tmp_path: Path, province) -> None:
    private, public, daemon = province
    data = box(tmp_path / "var", public)
    v2 = fake_gguf(2)
    publish_models(tmp_path, daemon, private, 2, v2, model_id="llm-v2")
    assert pull(data, daemon.url).returncode == 0
    publish_models(tmp_path, daemon, private, 1, fake_gguf(1), model_id="llm-v1")
    older = pull(data, daemon.url)
    assert older.returncode != 0 and len(older.stderr.strip().splitlines()) == 1
    assert "models pack refused" in older.stderr and "version" in older.stderr
    assert installed(data) == [("llm", "llm-v2", hashlib.sha256(v2).hexdigest())]

    # Newer again: v3 is installed and models.json names it.
    v3 = fake_gguf(3)
    publish_models(tmp_path, daemon, private, 3, v3, model_id="llm-v3")
    newer = pull(data, daemon.url)
    assert newer.returncode == 0, newer.stderr
    assert json.loads(newer.stdout)["channels"][0]["previous_version"] == 2
    assert installed(data) == [("llm", "llm-v3", hashlib.sha256(v3).hexdigest())]
    assert os.path.exists(data / "models" / hashlib.sha256(v3).hexdigest() / "tiny.gguf")
    assert not (data / "models" / hashlib.sha256(v2).hexdigest()).exists(), "the superseded model stayed on disk"


def test_models_json_switches_only_once_every_model_of_a_pack_is_copied_and_hashed(tmp_path: Path) -> None:
    from models.registry import ModelError, install_from_dir, load_manifest

    pack, models = tmp_path / "pack", tmp_path / "models"
    (pack / "asr").mkdir(parents=True)
    (pack / "asr" / "model.bin").write_bytes(b"weights" * 1000)
    (pack / "asr" / "config.json").write_text("{}")
    (pack / "llm.gguf").write_bytes(fake_gguf(7))
    asr = {"role": "asr", "id": "asr-1", "format": "ctranslate2",
           "files": [{"path": "asr/model.bin"}, {"path": "asr/config.json"}]}
    llm = {"role": "llm", "id": "llm-1", "format": "gguf", "files": [{"path": "llm.gguf"}]}
    first = install_from_dir(models, pack, [llm])
    before = (models / "models.json").read_bytes()

    bad_llm = {**llm, "id": "llm-2", "files": [{"path": "llm.gguf", "sha256": "0" * 64}]}
    with pytest.raises(ModelError, match="expected"):
        install_from_dir(models, pack, [asr, bad_llm])  # the asr model is copied first, then the llm fails
    assert (models / "models.json").read_bytes() == before
    assert sorted(p.name for p in models.iterdir()) == sorted(["models.json", first[0].sha256])

    both = install_from_dir(models, pack, [asr, llm])
    assert [(e.role, e.id) for e in load_manifest(models)] == [("asr", "asr-1"), ("llm", "llm-1")]
    assert (models / both[0].path / "model.bin").read_bytes() == b"weights" * 1000


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def test_a_models_pack_pull_killed_mid_transfer_resumes_and_installs_beside_a_content_pack(tmp_path: Path,
                                                                                         province) -> None:
    private, public, daemon = province
    data = box(tmp_path / "var", public)
    model = os.urandom(3_000_000)
    origin = publish_models(tmp_path, daemon, private, 1, model)
    staging = data / "content" / ".staging" / MODELS_CHANNEL
    proc = subprocess.Popen([*EDGE, "sync", "pull", "--data", str(data), "--origin", daemon.url],
                            env={**os.environ, "EDGE_SERVER_RSYNC_BWLIMIT_KBPS": "600"}, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not staging.exists() or folder_size(staging) < 1_000_000):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # python and rsync alike, as a power cut would
    proc.wait()
    missing = folder_size(origin) - folder_size(staging)
    assert missing > 0 and installed(data) == []

    publish(tmp_path, daemon, private, 1, media(2, 1_000))  # a content channel beside it on the same origin
    resumed = pull(data, daemon.url)
    assert resumed.returncode == 0, resumed.stderr
    report = {c["channel"]: c for c in json.loads(resumed.stdout)["channels"]}
    assert report[MODELS_CHANNEL]["status"] == "activated" and report[CHANNEL]["status"] == "activated"
    assert report[MODELS_CHANNEL]["bytes_received"] <= 1.1 * missing, (report[MODELS_CHANNEL], missing)
    assert installed(data) == [("llm", "tiny-llm", hashlib.sha256(model).hexdigest())]
    assert channels(data) == [CHANNEL]


def test_an_expired_models_pack_is_refused_by_trusted_time_and_the_installed_model_stays(tmp_path: Path,
                                                                                        province) -> None:
    private, public, daemon = province
    data = box(tmp_path / "var", public)
    v1 = fake_gguf(1)
    # Signed in 2031: once installed, the box knows it is at least 2031 whatever its clock says.
    publish_models(tmp_path, daemon, private, 1, v1, created=datetime(2031, 1, 1, tzinfo=UTC))
    assert pull(data, daemon.url).returncode == 0
    publish_models(tmp_path, daemon, private, 2, fake_gguf(2), model_id="expired",
                   created=datetime(2029, 1, 1, tzinfo=UTC), expires=datetime(2030, 1, 1, tzinfo=UTC))
    expired = pull(data, daemon.url)
    assert expired.returncode != 0 and "expired" in expired.stderr.lower() and "models pack refused" in expired.stderr
    assert installed(data) == [("llm", "tiny-llm", hashlib.sha256(v1).hexdigest())]


def test_a_models_pack_installed_by_hand_counts_for_sync_so_an_older_one_pulled_later_is_refused(tmp_path: Path,
                                                                                                province) -> None:
    private, public, daemon = province
    data = box(tmp_path / "var", public)
    v2 = fake_gguf(2)
    carried = publish_models(tmp_path, daemon, private, 2, v2, model_id="by-hand")  # e.g. brought on a USB stick
    by_hand = subprocess.run([*EDGE, "models", "install", "--data", str(data), "--pack", str(carried)],
                             capture_output=True, text=True, timeout=120)
    assert by_hand.returncode == 0, by_hand.stderr
    publish_models(tmp_path, daemon, private, 1, fake_gguf(1), model_id="older")
    older = pull(data, daemon.url)
    assert older.returncode != 0 and "models pack refused" in older.stderr
    assert installed(data) == [("llm", "by-hand", hashlib.sha256(v2).hexdigest())]
