"""Content pull from a real rsync daemon on loopback: activation, refusals, resume after kill -9, full disk."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.lrs import free_port
from tests.requirements import missing, require_rsync
from tests.sync_fixtures import CHANNEL, EDGE, media, publish, pull, trusting_box


@pytest.fixture(scope="module", autouse=True)
def _needs_rsync() -> None:
    require_rsync()


def box(data: Path, public: Path) -> Path:
    return trusting_box(data, public, "pull-test")


def active(data: Path) -> dict[str, int]:
    listed = subprocess.run([*EDGE, "pack", "list", "--data", str(data), "--json"], capture_output=True, text=True,
                            check=True)
    return {c["channel"]: c["version"] for c in json.loads(listed.stdout)["channels"]}


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def test_v1_then_v2_activate_and_an_update_moves_only_the_changed_file(tmp_path: Path, province) -> None:
    private, public, daemon = province
    data = box(tmp_path / "var", public)
    files = media(20, 50_000)
    publish(tmp_path, daemon, private, 1, files)
    first = pull(data, daemon.url)
    assert first.returncode == 0, first.stderr
    assert active(data) == {CHANNEL: 1}

    files["media/clip-07.ogg"] = os.urandom(50_000)
    origin_v2 = publish(tmp_path, daemon, private, 2, files)
    second = pull(data, daemon.url)
    assert second.returncode == 0, second.stderr
    assert active(data) == {CHANNEL: 2}
    report = json.loads(second.stdout)["channels"][0]
    assert report["status"] == "activated" and report["version"] == 2
    # One file of twenty changed: the wire carries that file and checksums, not the pack.
    assert report["bytes_received"] < 0.2 * folder_size(origin_v2)
    assert 50_000 <= report["literal_data"] < 60_000

    again = pull(data, daemon.url)
    assert again.returncode == 0 and json.loads(again.stdout)["channels"][0]["status"] == "unchanged"
    status = json.loads(subprocess.run([*EDGE, "sync", "status", "--data", str(data), "--json"],
                                       capture_output=True, text=True, check=True).stdout)
    assert status["channels"][0]["version"] == 2 and status["last_pull"] and status["last_error"] is None


def test_an_older_pack_and_a_forged_manifest_are_refused_and_the_active_version_stays(tmp_path: Path,
                                                                                      province) -> None:
    private, public, daemon = province
    data = box(tmp_path / "var", public)
    files = media(3, 2_000)
    publish(tmp_path, daemon, private, 2, files)
    assert pull(data, daemon.url).returncode == 0
    assert active(data) == {CHANNEL: 2}

    publish(tmp_path, daemon, private, 1, files)
    older = pull(data, daemon.url)
    assert older.returncode != 0 and len(older.stderr.strip().splitlines()) == 1
    assert "refused" in older.stderr and CHANNEL in older.stderr
    assert active(data) == {CHANNEL: 2}

    origin = publish(tmp_path, daemon, private, 3, files)
    manifest = json.loads((origin / "manifest.json").read_text())
    manifest["version"] = 9  # a bigger version, not signed by the province
    (origin / "manifest.json").write_text(json.dumps(manifest))
    forged = pull(data, daemon.url)
    assert forged.returncode != 0 and len(forged.stderr.strip().splitlines()) == 1 and "refused" in forged.stderr
    assert active(data) == {CHANNEL: 2}
    served = Path(json.loads(subprocess.run([*EDGE, "pack", "list", "--data", str(data), "--json"],
                                            capture_output=True, text=True, check=True).stdout)["channels"][0]["path"])
    assert (served / "media" / "clip-00.ogg").read_bytes() == files["media/clip-00.ogg"]


def test_a_pull_killed_mid_transfer_resumes_moving_at_most_1_1x_the_missing_bytes(tmp_path: Path, province) -> None:
    private, public, daemon = province
    data = box(tmp_path / "var", public)
    big = {"media/clip-00.ogg": os.urandom(3_000_000)}
    origin = publish(tmp_path, daemon, private, 1, big)
    staging = data / "content" / ".staging" / CHANNEL
    proc = subprocess.Popen([*EDGE, "sync", "pull", "--data", str(data), "--origin", daemon.url],
                            env={**os.environ, "EDGE_SERVER_RSYNC_BWLIMIT_KBPS": "600"}, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not staging.exists() or folder_size(staging) < 1_000_000):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # python and rsync alike, as a power cut would
    proc.wait()
    present = folder_size(staging)
    missing = folder_size(origin) - present
    assert present > 0 and missing > 0

    resumed = pull(data, daemon.url)
    assert resumed.returncode == 0, resumed.stderr
    report = json.loads(resumed.stdout)["channels"][0]
    assert report["status"] == "activated"
    assert report["bytes_received"] <= 1.1 * missing, (report, missing)
    assert active(data) == {CHANNEL: 1}


def test_a_full_disk_during_a_pull_gives_one_clear_line_and_the_active_version_keeps_serving(tmp_path: Path,
                                                                                              province) -> None:
    private, public, daemon = province
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        missing(f"cannot mount a small tmpfs to fill (needs root): {mounted.stderr.decode().strip()}")
    try:
        data = box(disk / "var", public)
        small = media(2, 20_000)
        publish(tmp_path, daemon, private, 1, small)
        assert pull(data, daemon.url).returncode == 0
        publish(tmp_path, daemon, private, 2, {**small, "media/clip-99.ogg": os.urandom(8_000_000)})
        full = pull(data, daemon.url)
        assert full.returncode != 0
        assert len(full.stderr.strip().splitlines()) == 1 and "disk full" in full.stderr
        assert active(data) == {CHANNEL: 1}
        served = next((data / "content" / CHANNEL).glob("v1"))
        assert (served / "media" / "clip-00.ogg").read_bytes() == small["media/clip-00.ogg"]
        # What the failed pull wrote was freed, so the box keeps working.
        assert shutil.disk_usage(disk).free > 4_000_000
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_a_file_changed_in_place_with_the_same_size_and_time_is_caught_and_pulled_again(tmp_path: Path,
                                                                                        province) -> None:
    private, public, daemon = province
    data = box(tmp_path / "var", public)
    files = media(4, 10_000)
    publish(tmp_path, daemon, private, 1, files)
    assert pull(data, daemon.url).returncode == 0
    staged = data / "content" / ".staging" / CHANNEL / "media" / "clip-02.ogg"
    files["media/clip-02.ogg"] = os.urandom(10_000)
    origin = publish(tmp_path, daemon, private, 2, files)
    # The origin's new file looks, by size and mtime, exactly like the staged old one: rsync's quick check skips it.
    stamp = staged.stat()
    os.utime(origin / "media" / "clip-02.ogg", ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    done = pull(data, daemon.url)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)["channels"][0]
    assert report["status"] == "activated" and report["version"] == 2 and report.get("rechecked")
    assert active(data) == {CHANNEL: 2}


def test_expiry_is_judged_by_trusted_time_not_by_a_box_clock_that_lags(tmp_path: Path, province) -> None:
    private, public, daemon = province
    data = box(tmp_path / "var", public)
    files = media(2, 1_000)
    # The province signed v1 in 2031: once verified, the box knows it is at least 2031, whatever its clock says.
    publish(tmp_path, daemon, private, 1, files, created=datetime(2031, 1, 1, tzinfo=UTC))
    assert pull(data, daemon.url).returncode == 0
    # v2 expired in 2030: still in the future for this box's clock, already past for its trusted time.
    publish(tmp_path, daemon, private, 2, files, created=datetime(2029, 1, 1, tzinfo=UTC),
            expires=datetime(2030, 1, 1, tzinfo=UTC))
    expired = pull(data, daemon.url)
    assert expired.returncode != 0 and "expired" in expired.stderr.lower()
    assert active(data) == {CHANNEL: 1}


def test_an_unreachable_origin_gives_one_line_and_changes_nothing(tmp_path: Path, province) -> None:
    _private, public, _daemon = province
    data = box(tmp_path / "var", public)
    done = pull(data, f"rsync://127.0.0.1:{free_port()}/packs")
    assert done.returncode != 0 and len(done.stderr.strip().splitlines()) == 1
    assert "link to the origin failed" in done.stderr
    assert active(data) == {}
    status = json.loads(subprocess.run([*EDGE, "sync", "status", "--data", str(data), "--json"],
                                       capture_output=True, text=True, check=True).stdout)
    assert status["last_error"].startswith("pull: link to the origin failed") and status["last_pull"] is None
