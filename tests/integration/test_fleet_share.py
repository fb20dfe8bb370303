"""Box-to-box sharing: one box serves its active packs over HTTP, another imports them with every pack check."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from werkzeug.serving import make_server

from edge_server import jobs, share_pull
from edge_server.identity import init_data_dir
from edge_server.sample import SAMPLE_CHANNEL
from edge_server.settings import load_settings
from edge_server.store.channels import active_version
from edge_server.store.db import connect, open_box_db, rows
from edge_server.web.app import create_app
from sync.trust import generate_keys

CLI = [str(Path(sys.executable).with_name("edge-server"))]


@pytest.fixture
def source_box(sample_data_dir: Path) -> Iterator[str]:
    """The sample-course box served by a real threaded HTTP server on 127.0.0.1."""
    settings = load_settings(sample_data_dir, scheduler_enabled=False, ai_jobs_enabled=False)
    server = make_server("127.0.0.1", 0, create_app(settings), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


def _pull(url: str, data: Path, channel: str = SAMPLE_CHANNEL) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run([*CLI, "share", "pull", "--from", url, "--channel", channel, "--data", str(data)],
                          capture_output=True, text=True, timeout=120, env=env)


def _version(data: Path) -> int | None:
    db = open_box_db(data / "box.db")
    try:
        return active_version(db, SAMPLE_CHANNEL)
    finally:
        db.conn.close()


def test_a_box_imports_a_channel_from_a_nearby_box_and_refuses_the_same_version_again(
        tmp_path, source_box, signing_key):
    target = tmp_path / "target"
    init_data_dir(target, signing_key.public, "Valley")

    done = _pull(source_box, target)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["channel"] == SAMPLE_CHANNEL and result["version"] == 1
    assert _version(target) == 1
    assert not list((target / "content" / ".staging").iterdir())

    again = _pull(source_box, target)
    assert again.returncode != 0
    assert len(again.stderr.strip().splitlines()) == 1
    assert "rollback" in again.stderr or "not newer" in again.stderr
    assert _version(target) == 1


def test_a_pack_signed_by_a_key_this_box_does_not_trust_is_refused_and_nothing_is_kept(
        tmp_path, source_box):
    _priv, other_pub, _kid = generate_keys(tmp_path / "other-keys")
    target = tmp_path / "target"
    init_data_dir(target, other_pub)

    refused = _pull(source_box, target)

    assert refused.returncode != 0
    assert "untrusted key" in refused.stderr
    assert _version(target) is None
    assert not list((target / "content" / ".staging").iterdir())


def test_a_tampered_file_on_the_serving_box_is_refused_and_changes_nothing(
        tmp_path, source_box, sample_data_dir, signing_key):
    pack = next((sample_data_dir / "content" / SAMPLE_CHANNEL).glob("v*"))
    catalog = pack / "catalog.json"
    catalog.write_bytes(catalog.read_bytes().replace(b"water", b"wine!", 1))
    target = tmp_path / "target"
    init_data_dir(target, signing_key.public)

    refused = _pull(source_box, target)

    assert refused.returncode != 0
    assert "catalog.json" in refused.stderr and "sha256" in refused.stderr
    assert _version(target) is None


def test_the_share_endpoints_list_channels_and_serve_only_files_the_manifest_lists(source_box, sample_data_dir):
    listing = requests.get(f"{source_box}/share/v1/channels", timeout=10).json()
    assert [(c["id"], c["version"]) for c in listing["channels"]] == [(SAMPLE_CHANNEL, 1)]
    base = f"{source_box}/share/v1/channels/{SAMPLE_CHANNEL}"
    manifest = requests.get(f"{base}/manifest.json", timeout=10)
    assert manifest.status_code == 200
    media = next(f["path"] for f in manifest.json()["files"] if f["path"].startswith("media/"))
    part = requests.get(f"{base}/{media}", headers={"Range": "bytes=0-99"}, timeout=10)
    assert part.status_code == 206 and len(part.content) == 100
    pack = next((sample_data_dir / "content" / SAMPLE_CHANNEL).glob("v*"))
    (pack / "unlisted.txt").write_text("not part of the signed pack")
    for path in ("unlisted.txt", "../../../keys/box.key", "..%2F..%2F..%2Fkeys%2Fbox.key", "%2E%2E/box.db"):
        assert requests.get(f"{base}/{path}", timeout=10).status_code == 404, path
    assert requests.get(f"{source_box}/share/v1/channels/no.such.channel/manifest.json",
                        timeout=10).status_code == 404


def test_pulling_from_an_address_where_no_box_answers_fails_in_one_line(tmp_path, signing_key):
    target = tmp_path / "target"
    init_data_dir(target, signing_key.public)
    refused = _pull("http://127.0.0.1:9", target)
    assert refused.returncode != 0
    assert refused.stderr.count("\n") == 1 and "cannot reach" in refused.stderr


def test_a_file_longer_than_the_signed_manifest_says_is_cut_off_and_refused(
        tmp_path, source_box, sample_data_dir, signing_key):
    pack = next((sample_data_dir / "content" / SAMPLE_CHANNEL).glob("v*"))
    media = next((pack / "media").glob("*.ogg"))
    with media.open("ab") as fh:
        fh.write(b"\0" * 4 * 1024 * 1024)
    target = tmp_path / "target"
    init_data_dir(target, signing_key.public)

    refused = _pull(source_box, target)

    assert refused.returncode != 0
    assert "bigger than the signed manifest" in refused.stderr
    assert _version(target) is None
    assert not list((target / "content" / ".staging").iterdir())


def test_the_teachers_recordings_are_never_listed_served_or_announced_to_other_boxes(tmp_path, sample_data_dir):
    import hashlib
    import shutil

    from edge_server.discovery import _channel_ids
    from edge_server.recordings import LOCAL_CHANNEL, MediaInfo, StoredUpload, add_recording, local_channel_dir

    settings = load_settings(sample_data_dir, scheduler_enabled=False, ai_jobs_enabled=False, announce=False)
    medium = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(256)) * 8
    upload = tmp_path / "poem.wav"
    upload.write_bytes(medium)
    db = open_box_db(settings.db_path)
    try:
        add_recording(db, settings, StoredUpload(upload, hashlib.sha256(medium).hexdigest(), len(medium)),
                      MediaInfo("audio", "wav", 2.0), "Amina reads her poem", ["sci.living.needs"], settings.box_name)
    finally:
        db.conn.close()
    # Whatever lies in the recordings' folder (here a pack manifest), it is not another box's to read.
    sample_pack = next((sample_data_dir / "content" / SAMPLE_CHANNEL).glob("v*"))
    shutil.copyfile(sample_pack / "manifest.json", local_channel_dir(settings) / "manifest.json")

    client = create_app(settings).test_client()
    listed = [c["id"] for c in client.get("/share/v1/channels").get_json()["channels"]]
    assert listed == [SAMPLE_CHANNEL]
    assert client.get(f"/share/v1/channels/{LOCAL_CHANNEL}/manifest.json").status_code == 404
    assert client.get(f"/share/v1/channels/{SAMPLE_CHANNEL}/manifest.json").status_code == 200
    assert _channel_ids(settings) == [SAMPLE_CHANNEL]  # nor in the box's mDNS announcement


def _jobs(data: Path) -> list[dict]:
    db = connect(data / "box.db")
    try:
        return rows(db, "SELECT kind, status, progress, message, error, tries FROM jobs WHERE kind = 'share-pull'")
    finally:
        db.conn.close()


def _queue(data: Path, url: str) -> bool:
    db = open_box_db(data / "box.db")
    try:
        return share_pull.queue_pull(db, {"box_id": "valley-1", "name": "Valley", "url": url}, SAMPLE_CHANNEL)
    finally:
        db.conn.close()


def test_a_queued_share_pull_is_run_by_the_job_queue_to_done_and_the_channel_is_active(
        tmp_path, source_box, signing_key):
    target = tmp_path / "target"
    init_data_dir(target, signing_key.public, "Hill")
    settings = load_settings(target, scheduler_enabled=False, ai_jobs_enabled=False, announce=False)

    assert _queue(target, source_box)
    assert not _queue(target, source_box)  # the same pull queued twice is one job
    assert [j["status"] for j in _jobs(target)] == ["queued"]
    assert _version(target) is None
    seen: list[float] = []

    assert jobs.run_pending(settings, kind=jobs.SHARE_PULL, progress=lambda j: seen.append(j["progress"])) == 1

    [job] = _jobs(target)
    assert (job["status"], job["progress"], job["message"], job["error"]) == ("done", 1.0, "version 1", None)
    assert seen and seen == sorted(seen) and seen[-1] == pytest.approx(0.9)
    assert _version(target) == 1
    assert not list((target / "content" / ".staging").iterdir())


def test_a_share_pull_that_fails_keeps_its_error_on_the_job_and_imports_nothing(
        tmp_path, source_box, sample_data_dir, signing_key):
    pack = next((sample_data_dir / "content" / SAMPLE_CHANNEL).glob("v*"))
    media = next((pack / "media").glob("*.ogg"))
    with media.open("ab") as fh:
        fh.write(b"\0" * 1024)
    target = tmp_path / "target"
    init_data_dir(target, signing_key.public, "Hill")
    settings = load_settings(target, scheduler_enabled=False, ai_jobs_enabled=False, announce=False)
    _queue(target, source_box)

    assert jobs.run_pending(settings, kind=jobs.SHARE_PULL) == 1

    [job] = _jobs(target)
    assert job["status"] == "failed" and "bigger than the signed manifest" in job["error"]
    assert _version(target) is None
    assert not list((target / "content" / ".staging").iterdir())
    db = connect(target / "box.db")
    try:
        assert rows(db, "SELECT id FROM lessons") == []
    finally:
        db.conn.close()


def test_a_share_pull_the_box_was_stopped_in_runs_again_and_its_leftover_download_is_cleared(
        tmp_path, source_box, signing_key):
    target = tmp_path / "target"
    init_data_dir(target, signing_key.public, "Hill")
    settings = load_settings(target, scheduler_enabled=False, ai_jobs_enabled=False, announce=False)
    _queue(target, source_box)
    db = connect(target / "box.db")
    claimed = jobs.claim_next(db, (jobs.SHARE_PULL,))  # a worker took it, then the box lost power
    db.conn.close()
    leftover = settings.staging_dir / f"share-{SAMPLE_CHANNEL}-job{claimed['id']}"
    (leftover / "media").mkdir(parents=True)
    (leftover / "media" / "half.ogg").write_bytes(b"\0" * 100)

    assert jobs.run_pending(settings, kind=jobs.SHARE_PULL) == 1

    [job] = _jobs(target)
    assert (job["status"], job["tries"]) == ("done", 2)
    assert _version(target) == 1
    assert not leftover.exists()


def test_a_share_pull_does_not_wait_behind_the_ai_lane(tmp_path, source_box, signing_key):
    import fcntl

    target = tmp_path / "target"
    init_data_dir(target, signing_key.public, "Hill")
    settings = load_settings(target, scheduler_enabled=False, ai_jobs_enabled=False, announce=False)
    _queue(target, source_box)
    with (target / jobs.LOCK_NAME).open("w") as held:  # the AI worker's lock, held as during a long pipeline run
        fcntl.flock(held, fcntl.LOCK_EX)
        assert jobs.run_pending(settings, kind=jobs.SHARE_PULL) == 1
    assert _version(target) == 1


def test_the_scheduler_runs_share_pulls_even_where_ai_jobs_are_off():
    from edge_server.scheduler import box_jobs, build_scheduler, resolve_target
    from edge_server.settings import Settings

    ids = {job.id for job in build_scheduler(Settings(ai_jobs_enabled=False)).get_jobs()}
    assert "share-pulls" in ids and "ai-jobs" not in ids
    assert resolve_target(next(j for j in box_jobs() if j.name == "share-pulls").target) is jobs.scheduled_share_pulls


def test_the_scheduler_process_jobs_run_a_queued_share_pull_and_the_admin_page_then_leaves_it_to_them(
        tmp_path, source_box, signing_key):
    import time

    from edge_server.scheduler import build_scheduler, heartbeat

    target = tmp_path / "target"
    init_data_dir(target, signing_key.public, "Hill")
    settings = load_settings(target, scheduler_enabled=True, ai_jobs_enabled=False, announce=False)
    db = connect(target / "box.db")
    try:
        assert not jobs.scheduler_is_running(db, settings)  # no heartbeat yet: the web app runs pulls itself
        heartbeat(settings)
        assert jobs.scheduler_is_running(db, settings)
        assert not jobs.scheduler_is_running(db, settings.with_overrides(scheduler_enabled=False))
    finally:
        db.conn.close()
    _queue(target, source_box)
    scheduler = build_scheduler(settings)
    scheduler.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and _jobs(target)[0]["status"] in ("queued", "running"):
            time.sleep(0.2)
    finally:
        scheduler.shutdown(wait=True)
    assert _jobs(target)[0]["status"] == "done"
    assert _version(target) == 1


def test_jobs_wait_runs_a_queued_share_pull_where_no_server_runs_the_queue(
        tmp_path, source_box, signing_key):
    # refused by this box's trust anchors, so that no AI job (which needs the models) follows the pull
    _priv, other_pub, _kid = generate_keys(tmp_path / "other-keys")
    target = tmp_path / "target"
    init_data_dir(target, other_pub, "Hill")
    _queue(target, source_box)

    waited = subprocess.run([*CLI, "jobs", "wait", "--data", str(target), "--timeout", "120", "--json"],
                            capture_output=True, text=True, timeout=180)

    assert waited.returncode == 0, waited.stderr
    assert json.loads(waited.stdout)["counts"] == {"failed": 1}
    [job] = _jobs(target)
    assert job["status"] == "failed" and "untrusted key" in job["error"]
    assert _version(target) is None
