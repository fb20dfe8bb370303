"""The fleet commands as operators and Ansible run them: real subprocesses, JSON on stdout, one-line errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

EDGE_SERVER = str(Path(sys.executable).with_name("edge-server"))


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([EDGE_SERVER, *args], capture_output=True, text=True, timeout=120)


def _json(*args: str) -> dict:
    done = _run(*args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_cloned_data_dir_is_rekeyed_by_init_and_rekey_if_cloned_then_stays_put(tmp_path):
    original = tmp_path / "var"
    first = _json("init", "--data", str(original), "--name", "Hill")["box_id"]
    assert _json("rekey", "--data", str(original), "--if-cloned") == {
        "box_id": first, "rekeyed": False, "previous_box_id": None, "reason": "", "data": str(original)}
    clone = tmp_path / "clone"
    shutil.copytree(original, clone)

    checked = _json("rekey", "--data", str(clone), "--if-cloned")

    assert checked["rekeyed"] and checked["previous_box_id"] == first and checked["box_id"] != first
    assert _json("init", "--data", str(clone))["box_id"] == checked["box_id"]
    assert _json("init", "--data", str(original))["box_id"] == first


def test_init_on_a_copied_data_dir_rekeys_it(tmp_path):
    original = tmp_path / "var"
    first = _json("init", "--data", str(original))["box_id"]
    shutil.copytree(original, tmp_path / "copy")
    assert _json("init", "--data", str(tmp_path / "copy"))["box_id"] != first


def test_rekey_without_flags_always_gives_a_new_identity_and_adopt_host_keeps_it(tmp_path):
    data = tmp_path / "var"
    first = _json("init", "--data", str(data))["box_id"]
    forced = _json("rekey", "--data", str(data))
    assert forced["rekeyed"] and forced["box_id"] != first
    restored = tmp_path / "restored"
    shutil.copytree(data, restored)
    adopted = _json("rekey", "--data", str(restored), "--adopt-host")
    assert not adopted["rekeyed"] and adopted["box_id"] == forced["box_id"]
    assert not _json("rekey", "--data", str(restored), "--if-cloned")["rekeyed"]


def test_rekey_of_a_folder_that_is_no_box_fails_in_one_line(tmp_path):
    done = _run("rekey", "--data", str(tmp_path / "nothing"))
    assert done.returncode != 0 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "edge-server init" in done.stderr


def test_discover_refuses_a_non_positive_timeout_in_one_line():
    done = _run("discover", "--timeout", "0", "--mdns-interface", "127.0.0.1", "--json")
    assert done.returncode != 0 and done.stderr.count("\n") == 1


def test_the_model_install_wrapper_reports_changed_only_when_it_installed_something(tmp_path):
    data = tmp_path / "var"
    command = [sys.executable, "-m", "provisioning.model_install", "--data", str(data), "--role", "asr"]
    first = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["changed"] is True
    again = json.loads(subprocess.run(command, capture_output=True, text=True, timeout=300, check=True).stdout)
    assert again["changed"] is False and again["models"][0]["role"] == "asr"
    listing = json.loads((data / "models" / "models.json").read_text())["models"][0]
    model_file = data / "models" / listing["sha256"] / listing["files"][0]["name"]
    model_file.chmod(0o644)
    model_file.write_bytes(b"corrupt")
    repaired = json.loads(subprocess.run(command, capture_output=True, text=True, timeout=300, check=True).stdout)
    assert repaired["changed"] is True
