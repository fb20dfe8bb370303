"""Atomic activation: `kill -9` of `edge-server pack import` at any point leaves a consistent box serving."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from edge_server.identity import init_data_dir
from edge_server.packs_import import build_pack, import_pack
from edge_server.settings import load_settings
from edge_server.store.db import connect, rows
from edge_server.web.app import create_app
from sync.trust import read_private
from tests.crash_import import PHASES as CRASH_PHASES
from tests.fixtures_packs import TINY_CHANNEL, write_source

EDGE_SERVER = str(Path(sys.executable).parent / "edge-server")
REPO = Path(__file__).resolve().parents[2]
BEFORE_SWITCH = CRASH_PHASES[:CRASH_PHASES.index("committed")]
AFTER_SWITCH = CRASH_PHASES[CRASH_PHASES.index("committed"):]


def setup_box(tmp: Path, key, media_size: int = 64 * 1024) -> SimpleNamespace:
    """v1 of the tiny channel active; v2 (new titles, one more lesson) built and waiting."""
    data = tmp / "var"
    init_data_dir(data, trust=key.public)
    private = read_private(key.private)
    build_pack(write_source(tmp / "src1", title="First", media_size=media_size), tmp / "v1", private, 1)
    import_pack(load_settings(data), tmp / "v1")
    build_pack(write_source(tmp / "src2", lessons=("tiny-1", "tiny-2", "tiny-3"), title="Second", seed=2,
                            media_size=media_size), tmp / "v2", private, 2)
    return SimpleNamespace(data=data, pack=tmp / "v2")


def start_import(box: SimpleNamespace, crash_at: str | None = None) -> subprocess.Popen:
    args = ["pack", "import", str(box.pack), "--data", str(box.data)]
    # the kill is placed from the test side: tests/crash_import.py wraps the step's function, then runs the CLI
    command = [sys.executable, "-m", "tests.crash_import", crash_at, *args] if crash_at else [EDGE_SERVER, *args]
    return subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def serving(data: Path) -> int:
    """Check that the box serves one whole version consistently and return it."""
    listed = json.loads(subprocess.run([EDGE_SERVER, "pack", "list", "--data", str(data), "--json"],
                                       capture_output=True, text=True, check=True).stdout)["channels"]
    assert [c["channel"] for c in listed] == [TINY_CHANNEL]
    version = listed[0]["version"]
    folder = Path(listed[0]["path"])
    assert folder == (data / "content" / TINY_CHANNEL / f"v{version}").resolve()
    manifest = json.loads((folder / "manifest.json").read_bytes())
    assert manifest["version"] == version
    for entry in manifest["files"]:
        assert hashlib.sha256((folder / entry["path"]).read_bytes()).hexdigest() == entry["sha256"]
    db = connect(data / "box.db", readonly=True)
    titles = {r["title"] for r in rows(db, "SELECT title FROM lessons")}
    db.conn.close()
    expected = {1: {"First tiny-1"}, 2: {"Second tiny-1", "Second tiny-2", "Second tiny-3"}}[version]
    assert titles == expected
    app = create_app(load_settings(data, scheduler_enabled=False, ai_jobs_enabled=False, announce=False))
    client = app.test_client()
    tree = client.get("/api/v1/catalog").get_json()
    lessons = [lesson for course in tree["channels"][0]["courses"] for lesson in course["lessons"]]
    assert {lesson["title"] for lesson in lessons} == expected
    media = client.get(lessons[0]["media"]["url"])
    assert media.status_code == 200
    by_path = {e["path"]: e["sha256"] for e in manifest["files"]}
    assert hashlib.sha256(media.data).hexdigest() == by_path[lessons[0]["media"]["url"].split("/", 3)[3]]
    return version


@pytest.mark.parametrize("phase", BEFORE_SWITCH)
def test_a_kill_before_the_switch_leaves_the_previous_version_serving_and_a_reimport_succeeds(
        tmp_path, signing_key, phase):
    box = setup_box(tmp_path, signing_key)
    proc = start_import(box, phase)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert serving(box.data) == 1
    proc = start_import(box)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert serving(box.data) == 2
    assert sorted(p.name for p in (box.data / "content" / TINY_CHANNEL).iterdir()) == ["v2"]
    assert not list((box.data / "content" / ".staging").glob(".import-*"))


@pytest.mark.parametrize("phase", AFTER_SWITCH)
def test_a_kill_after_the_switch_leaves_the_new_version_serving(tmp_path, signing_key, phase):
    box = setup_box(tmp_path, signing_key)
    proc = start_import(box, phase)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert serving(box.data) == 2
    again = start_import(box)
    _, err = again.communicate(timeout=60)
    assert again.returncode != 0 and b"rollback" in err


def test_kills_at_random_moments_always_leave_one_whole_version_serving(tmp_path, signing_key):
    rng = random.Random(int(os.environ.get("PACKS_KILL_SEED", "7")))
    probe = setup_box(tmp_path / "probe", signing_key, media_size=4 * 1024 * 1024)
    started = time.monotonic()
    assert start_import(probe).wait(timeout=120) == 0
    duration = time.monotonic() - started
    seen = set()
    for i in range(5):
        box = setup_box(tmp_path / f"run{i}", signing_key, media_size=4 * 1024 * 1024)
        proc = start_import(box)
        time.sleep(rng.uniform(0, duration))
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        version = serving(box.data)
        seen.add(version)
        if version == 1:
            assert start_import(box).wait(timeout=120) == 0
            assert serving(box.data) == 2
    assert seen <= {1, 2}
