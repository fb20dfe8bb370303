"""`edge-server backup` / `restore` on real data dirs, real archives, a real Ralph LRS; and the scheduled backup."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import sqlite3
import tarfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edge_server.backup import scheduled_backup
from edge_server.identity import init_data_dir
from edge_server.packs_import import import_pack
from edge_server.settings import load_settings
from tests.sync_fixtures import add_attempts, add_recording, edge, push, query


def tree_digest(folder: Path) -> dict[str, str]:
    """Every file under folder with its sha256 (what must not change when a restore is refused)."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name not in ("box.db-shm",)}


def test_a_restored_box_pushes_only_what_was_unsent_and_the_lrs_holds_each_statement_once(tmp_path, ralph):
    box = tmp_path / "box"
    init_data_dir(box, trust=None, name="hill-school")
    first = add_attempts(box, 300, pupils=40)
    assert push(box, ralph)["sent"] == first
    total = add_attempts(box, 120, pupils=40, start=300)
    done = edge("backup", "--data", str(box), "--out", str(tmp_path / "usb" / "box.tar.gz"))
    assert done.returncode == 1 and "folder" in done.stderr and "does not exist" in done.stderr
    (tmp_path / "usb").mkdir()
    done = edge("backup", "--data", str(box), "--out", str(tmp_path / "usb" / "box.tar.gz"))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["counts"]["outbox_unsent"] == 120
    # the disk dies; a new box is provisioned (a new identity of its own), then the backup is restored onto it
    new = tmp_path / "new-box"
    init_data_dir(new, trust=None, name="replacement")
    done = edge("restore", str(tmp_path / "usb" / "box.tar.gz"), "--data", str(new))
    assert done.returncode == 0, done.stderr
    restored = json.loads(done.stdout)
    assert restored["box_id"] == restored["backup_box_id"] and not restored["rekeyed"]
    assert query(new, "SELECT COUNT(*) FROM pupils") == [(40,)]
    assert query(new, "SELECT COUNT(*), SUM(sent_at IS NULL) FROM outbox") == [(total, 120)]
    assert query(new, "SELECT * FROM mastery ORDER BY pupil_id, knowledge_point") == \
        query(box, "SELECT * FROM mastery ORDER BY pupil_id, knowledge_point")
    # the restored identity belongs here now: the start-up clone check does not re-key it
    assert edge("rekey", "--data", str(new), "--if-cloned").returncode == 0
    assert query(new, "SELECT value FROM meta WHERE key = 'box_id'") == [(restored["backup_box_id"],)]
    result = push(new, ralph)
    assert (result["sent"], result["duplicates"], result["pending"]) == (120, 0, 0)
    outbox = {row[0] for row in query(new, "SELECT statement_id FROM outbox")}
    assert sorted(s["id"] for s in ralph.stored_lines()) == sorted(outbox)


def test_statements_sent_after_the_backup_are_sent_again_from_the_restored_box_and_stored_once(tmp_path, ralph):
    box = tmp_path / "box"
    init_data_dir(box, trust=None, name="hill-school")
    add_attempts(box, 200, pupils=10)
    assert edge("backup", "--data", str(box), "--out", str(tmp_path / "box.tar.gz")).returncode == 0
    assert push(box, ralph)["sent"] == 200  # after the backup, before the disk died
    new = tmp_path / "new-box"
    assert edge("restore", str(tmp_path / "box.tar.gz"), "--data", str(new)).returncode == 0
    result = push(new, ralph)
    assert result["pending"] == 0 and result["sent"] + result["duplicates"] >= 200
    assert len(ralph.stored_lines()) == 200 and len({s["id"] for s in ralph.statements()}) == 200


def corrupt_flip(archive: Path) -> None:
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF
    archive.write_bytes(bytes(data))


def corrupt_truncate(archive: Path) -> None:
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size * 2 // 3])


def _rewrite(archive: Path, change) -> None:
    """Re-pack the archive with change(name, bytes) -> bytes | None applied (a valid tar.gz, altered content)."""
    members = []
    with tarfile.open(archive, "r:gz") as tar:
        for m in tar:
            members.append((m, tar.extractfile(m).read()))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for m, data in members:
            extra = change("(extra)", b"") if m.name == "backup.json" else None
            if extra is not None:  # slipped in before the manifest, where a real member would be
                info = tarfile.TarInfo("keys/planted.key")
                info.size = len(extra)
                tar.addfile(info, io.BytesIO(extra))
            new = change(m.name, data)
            if new is not None:
                m.size = len(new)
                tar.addfile(m, io.BytesIO(new))
    archive.write_bytes(buffer.getvalue())


def corrupt_member(archive: Path) -> None:
    _rewrite(archive, lambda name, data: None if name == "(extra)" else
             (data.replace(b"hill-school", b"hill-SCHOOL") if name == "config.toml" else data))


def corrupt_extra(archive: Path) -> None:
    _rewrite(archive, lambda name, data: b"not mine" if name == "(extra)" else data)


def corrupt_not_gzip(archive: Path) -> None:
    archive.write_bytes(gzip.decompress(archive.read_bytes())[:4096])


@pytest.mark.parametrize(("damage", "says"), [
    (corrupt_flip, "is damaged"),
    (corrupt_truncate, "is damaged"),
    (corrupt_member, "config.toml does not match its sha256"),
    (corrupt_extra, "keys/planted.key is not listed in backup.json"),
    (corrupt_not_gzip, "is damaged"),
], ids=["flipped-byte", "truncated", "altered-member", "extra-member", "not-gzip"])
def test_a_damaged_archive_is_refused_in_one_line_and_nothing_changes(tmp_path, damage, says):
    box = tmp_path / "box"
    init_data_dir(box, trust=None, name="hill-school")
    add_attempts(box, 500, pupils=40)
    archive = tmp_path / "box.tar.gz"
    assert edge("backup", "--data", str(box), "--out", str(archive)).returncode == 0
    target = tmp_path / "target"
    init_data_dir(target, trust=None, name="other-school")
    add_attempts(target, 30, pupils=3)
    before = tree_digest(target)
    damage(archive)
    done = edge("restore", str(archive), "--data", str(target))
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], done.stderr
    assert tree_digest(target) == before
    assert not [p for p in target.iterdir() if p.name.startswith((".restore-", ".pre-restore-"))]
    fresh = tmp_path / "fresh"  # a data dir the restore would have created is not left behind either
    assert edge("restore", str(archive), "--data", str(fresh)).returncode == 1 and not fresh.exists()


def test_restore_is_refused_while_a_server_runs_on_the_data_dir(tmp_path):
    box = tmp_path / "box"
    init_data_dir(box, trust=None, name="hill-school")
    assert edge("backup", "--data", str(box), "--out", str(tmp_path / "b.tar.gz")).returncode == 0
    (box / "run").mkdir(exist_ok=True)
    (box / "run" / "processes.json").write_text(json.dumps(
        {"supervisor": os.getpid(), "processes": [{"role": "web", "pid": os.getpid()}]}))
    done = edge("restore", str(tmp_path / "b.tar.gz"), "--data", str(box))
    assert done.returncode == 1
    assert done.stderr.strip() == (f"error: edge-server is running on {box} (pid {os.getpid()}): stop it first "
                                   "(systemctl stop edge-server)")


def test_recordings_travel_by_default_and_pack_media_only_with_media(tmp_path, sample_data_dir, signing_key):
    recording = add_recording(sample_data_dir)
    add_attempts(sample_data_dir, 50, pupils=5)
    small, full = tmp_path / "small.tar.gz", tmp_path / "full.tar.gz"
    assert edge("backup", "--data", str(sample_data_dir), "--out", str(small)).returncode == 0
    assert edge("backup", "--data", str(sample_data_dir), "--out", str(full), "--with-media").returncode == 0
    with tarfile.open(small) as tar:
        names = tar.getnames()
    assert any(n.startswith("content/local.school/v1/media/") for n in names)
    assert not any(n.startswith("content/demo.science.primary/") for n in names)

    # with media: the restored box serves the same lessons, the recording and its file at once
    whole = tmp_path / "whole"
    done = edge("restore", str(full), "--data", str(whole))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["channels_to_pull"] == []
    for sha, media, folder in query(whole, "SELECT l.media_sha256, l.media_path, c.path FROM lessons l "
                                           "JOIN channels c ON c.id = l.channel_id"):
        assert hashlib.sha256((Path(folder) / media).read_bytes()).hexdigest() == sha
    paths = query(whole, "SELECT path FROM channels ORDER BY id")
    assert all(Path(p).is_relative_to(whole.resolve()) and Path(p).is_dir() for (p,) in paths)
    assert query(whole, f"SELECT COUNT(*) FROM lessons WHERE id = '{recording}'") == [(1,)]

    # without media: the packs' channel waits for a pull, the recording is back, and re-importing the same
    # version is accepted as new and queues no AI job
    part = tmp_path / "part"
    done = edge("restore", str(small), "--data", str(part))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["channels_to_pull"] == ["demo.science.primary"]
    assert query(part, "SELECT id FROM channels") == [("local.school",)]
    assert query(part, f"SELECT COUNT(*) FROM lessons WHERE id = '{recording}'") == [(1,)]
    assert query(part, "SELECT COUNT(*) FROM attempts") == query(sample_data_dir, "SELECT COUNT(*) FROM attempts")
    result = import_pack(load_settings(part), next((sample_data_dir / "content" / "demo.science.primary").iterdir()))
    assert result["version"] == 1 and result["jobs_queued"] == 0


def test_the_scheduled_backup_runs_once_a_day_keeps_the_newest_n_and_says_when_the_stick_is_missing(tmp_path):
    box = tmp_path / "box"
    init_data_dir(box, trust=None, name="hill-school")
    add_attempts(box, 40, pupils=4)
    usb = tmp_path / "usb"
    settings = load_settings(box, backup_dir=str(usb), backup_keep=3)
    start = datetime(2026, 3, 1, 1, 15, tzinfo=UTC)
    assert scheduled_backup(settings, now=start) == "failed"
    last = json.loads(query(box, "SELECT value FROM sync_state WHERE key = 'last_backup'")[0][0])
    assert last["ok"] is False and "is not there (is the USB stick plugged in and mounted?)" in last["error"]
    usb.mkdir()
    (usb / "holiday-photos.tar.gz").write_bytes(b"not ours")
    outcomes = [scheduled_backup(settings, now=start + timedelta(days=day)) for day in range(5)]
    assert outcomes == ["done"] * 5
    assert scheduled_backup(settings, now=start + timedelta(days=4, hours=3)) == "waiting"
    kept = sorted(p.name for p in usb.iterdir())
    assert kept == ["edge-server-backup-hill-school-20260303T011500Z.tar.gz",
                    "edge-server-backup-hill-school-20260304T011500Z.tar.gz",
                    "edge-server-backup-hill-school-20260305T011500Z.tar.gz", "holiday-photos.tar.gz"]
    check = edge("restore", str(usb / kept[-2]), "--data", str(tmp_path / "check"), "--check")
    assert check.returncode == 0, check.stderr
    assert json.loads(check.stdout)["counts"]["attempts"] == 40 and not (tmp_path / "check").exists()


def test_the_box_schedules_its_backup_only_when_a_backup_folder_is_set():
    from edge_server.scheduler import box_jobs, build_scheduler, resolve_target
    from edge_server.settings import Settings

    def ids(settings: Settings) -> set[str]:
        return {job.id for job in build_scheduler(settings).get_jobs()}

    assert "backup" in ids(Settings(backup_dir="/media/usb"))
    assert "backup" not in ids(Settings())
    assert resolve_target(next(j for j in box_jobs() if j.name == "backup").target) is scheduled_backup


def test_an_archive_from_a_newer_edge_server_is_refused_and_nothing_changes(tmp_path):
    box = tmp_path / "box"
    init_data_dir(box, trust=None, name="hill-school")
    conn = sqlite3.connect(box / "box.db")
    with conn:
        conn.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
                     "VALUES ('edge_server', '9999_from_the_future', '2030-01-01')")
    conn.close()
    archive = tmp_path / "box.tar.gz"
    assert edge("backup", "--data", str(box), "--out", str(archive)).returncode == 0
    target = tmp_path / "target"
    init_data_dir(target, trust=None, name="other-school")
    before = tree_digest(target)
    done = edge("restore", str(archive), "--data", str(target))
    assert done.returncode == 1
    assert done.stderr.strip() == ("error: the backup was made by a newer edge-server (schema 9999_from_the_future): "
                                   "upgrade this box first")
    assert tree_digest(target) == before
