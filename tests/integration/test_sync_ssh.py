"""Content pull over SSH end to end: a throwaway sshd on loopback that knows only the box's key."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from edge_server.sync_runs import KNOWN_HOSTS_NAME, probe_origin
from tests.requirements import missing, require_rsync
from tests.sync_fixtures import CHANNEL, EDGE, SshServer, box_public_ssh_key, keys, media, publish, pull, trusting_box


@pytest.fixture(scope="module", autouse=True)
def _needs_rsync() -> None:
    require_rsync()


@pytest.fixture
def sshd(tmp_path: Path):
    """A running sshd on 127.0.0.1 (the test fails, with the reason, where sshd cannot run)."""
    server = SshServer(workdir=tmp_path / "sshd")
    why = server.unusable()
    if why:
        missing(why)
    try:
        server.start()
    except RuntimeError as exc:
        missing(f"sshd cannot run here: {exc}")
    yield server
    server.stop()


def box(data: Path, public: Path) -> Path:
    return trusting_box(data, public, "ssh-pull-test")


def active(data: Path) -> dict[str, int]:
    listed = subprocess.run([*EDGE, "pack", "list", "--data", str(data), "--json"], capture_output=True, text=True,
                            check=True)
    return {c["channel"]: c["version"] for c in json.loads(listed.stdout)["channels"]}


def test_a_pull_over_ssh_with_the_box_key_activates_v1_then_moves_only_the_changed_file_of_v2(tmp_path: Path,
                                                                                            sshd) -> None:
    private, public = keys(tmp_path / "province")
    data = box(tmp_path / "var", public)
    sshd.authorized_keys.write_text(box_public_ssh_key(data / "keys" / "box.key"))
    root = tmp_path / "origin"
    files = media(10, 30_000)
    publish(tmp_path, root, private, 1, files)

    assert probe_origin(sshd.origin(root))  # what the scheduler asks before pulling
    first = pull(data, sshd.origin(root))
    assert first.returncode == 0, first.stderr
    assert active(data) == {CHANNEL: 1}
    # The origin's host key was pinned in the box's own known_hosts, not the operator's ~/.ssh.
    host_key = (sshd.workdir / "ssh_host_ed25519_key.pub").read_text().split()[1]
    assert host_key in (data / "keys" / KNOWN_HOSTS_NAME).read_text()

    files["media/clip-03.ogg"] = os.urandom(30_000)
    publish(tmp_path, root, private, 2, files)
    second = pull(data, sshd.origin(root))
    assert second.returncode == 0, second.stderr
    report = json.loads(second.stdout)["channels"][0]
    assert report["status"] == "activated" and report["version"] == 2
    assert 30_000 <= report["literal_data"] < 40_000
    assert active(data) == {CHANNEL: 2}


def test_a_box_whose_key_the_origin_does_not_know_gets_one_line_and_nothing_changes(tmp_path: Path, sshd) -> None:
    private, public = keys(tmp_path / "province")
    data = box(tmp_path / "var", public)
    stranger = box(tmp_path / "other", public)
    sshd.authorized_keys.write_text(box_public_ssh_key(stranger / "keys" / "box.key"))
    root = tmp_path / "origin"
    publish(tmp_path, root, private, 1, media(2, 1_000))
    refused = pull(data, sshd.origin(root))
    assert refused.returncode != 0 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert "ssh to the origin failed" in refused.stderr and "Permission denied" in refused.stderr, refused.stderr
    assert active(data) == {}


def test_an_origin_whose_host_key_changed_is_refused_after_the_first_pull(tmp_path: Path, sshd) -> None:
    private, public = keys(tmp_path / "province")
    data = box(tmp_path / "var", public)
    sshd.authorized_keys.write_text(box_public_ssh_key(data / "keys" / "box.key"))
    root = tmp_path / "origin"
    files = media(2, 1_000)
    publish(tmp_path, root, private, 1, files)
    assert pull(data, sshd.origin(root)).returncode == 0

    # Someone else answers on the origin's address with another host key.
    sshd.stop()
    (sshd.workdir / "ssh_host_ed25519_key").unlink()
    (sshd.workdir / "ssh_host_ed25519_key.pub").unlink()
    sshd.start()
    publish(tmp_path, root, private, 2, files)
    spoofed = pull(data, sshd.origin(root))
    assert spoofed.returncode != 0 and len(spoofed.stderr.strip().splitlines()) == 1, spoofed.stderr
    assert "Host key verification failed" in spoofed.stderr and "known_hosts" in spoofed.stderr
    assert active(data) == {CHANNEL: 1}


def test_an_ssh_origin_that_does_not_answer_is_a_link_down_in_one_line(tmp_path: Path) -> None:
    from tests.lrs import free_port

    data = box(tmp_path / "var", keys(tmp_path / "province")[1])
    origin = f"ssh://sync@127.0.0.1:{free_port()}/srv/packs"
    assert not probe_origin(origin)
    down = pull(data, origin)
    assert down.returncode != 0 and len(down.stderr.strip().splitlines()) == 1, down.stderr
    assert "link to the origin failed" in down.stderr and "Connection refused" in down.stderr
    assert json.loads(down.stdout)["link_down"] is True


def test_a_malformed_ssh_origin_is_refused_before_any_transfer(tmp_path: Path) -> None:
    data = box(tmp_path / "var", keys(tmp_path / "province")[1])
    bad = pull(data, "ssh://sync@127.0.0.1:notaport/srv/packs")
    assert bad.returncode != 0 and len(bad.stderr.strip().splitlines()) == 1
    assert "bad pack origin" in bad.stderr and "ssh://USER@HOST:PORT/PATH" in bad.stderr


def test_an_ssh_refusal_reads_as_a_refusal_not_a_dropped_link_whether_rsync_exits_255_or_12() -> None:
    from sync.rsync import RsyncError

    words = ("sync@127.0.0.1: Permission denied (publickey).\n"
             "rsync: connection unexpectedly closed (0 bytes received so far) [Receiver]\n"
             "rsync error: error in rsync protocol data stream (code 12) at io.c(232) [Receiver=3.2.7]\n")
    for code in (255, 12):
        refused = RsyncError(code, words, via_ssh=True)
        assert not refused.link_down
        assert refused.reason().startswith(f"ssh to the origin failed (rsync exit {code}): sync@127.0.0.1: Permission")
    # Over a daemon, a local "Permission denied" is a file problem, not ssh's.
    assert "ssh" not in RsyncError(23, 'rsync: open "/x" failed: Permission denied (13)\n').reason()
