"""`edge-server pack import` refuses every bad pack with one line, a non-zero exit, and changes nothing."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from edge_server.identity import init_data_dir
from edge_server.packs_import import build_pack, import_pack
from edge_server.settings import load_settings
from edge_server.store.db import connect, rows
from sync.trust import generate_keys, read_private
from tests.fixtures_packs import TINY_CHANNEL, resign, write_source

EDGE_SERVER = str(Path(sys.executable).parent / "edge-server")
TABLES = ("channels", "knowledge_points", "courses", "lessons", "lesson_knowledge_points", "exercises",
          "catalog_fts", "jobs", "meta")


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([EDGE_SERVER, *args], capture_output=True, text=True, timeout=60)


def snapshot(data: Path) -> tuple:
    """Every catalog row and every file under content/ with its hash: what 'changes nothing' means."""
    db = connect(data / "box.db", readonly=True)
    try:
        tables = {t: sorted(map(repr, rows(db, f"SELECT * FROM {t}"))) for t in TABLES}
    finally:
        db.conn.close()
    files = sorted((str(p.relative_to(data)), hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir")
                   for p in (data / "content").rglob("*"))
    return tables, files


@pytest.fixture
def box(tmp_path: Path, signing_key) -> SimpleNamespace:
    """A data dir trusting signing_key with the tiny channel v1 active."""
    data = tmp_path / "var"
    init_data_dir(data, trust=signing_key.public)
    src = write_source(tmp_path / "src-v1")
    build_pack(src, tmp_path / "pack-v1", read_private(signing_key.private), 1)
    import_pack(load_settings(data), tmp_path / "pack-v1")
    return SimpleNamespace(data=data, tmp=tmp_path, key=signing_key)


def make_pack(box: SimpleNamespace, name: str = "pack-v2", version: int = 2, expires: datetime | None = None,
              **source) -> Path:
    src = write_source(box.tmp / f"src-{name}", title="Tiny lesson v2", seed=2, **source)
    out = box.tmp / name
    build_pack(src, out, read_private(box.key.private), version, expires=expires)
    return out


def assert_refused(box: SimpleNamespace, pack: Path, reason: str) -> str:
    before = snapshot(box.data)
    result = cli("pack", "import", str(pack), "--data", str(box.data))
    assert result.returncode != 0
    lines = result.stderr.strip().split("\n")
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: pack refused: ")
    assert reason in lines[0], lines[0]
    assert result.stdout == ""
    assert snapshot(box.data) == before
    return lines[0]


def flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x40
    path.write_bytes(bytes(data))


def test_a_good_newer_pack_is_imported_and_replaces_the_old_version(box):
    pack = make_pack(box, lessons=("tiny-1", "tiny-2"))
    result = cli("pack", "import", str(pack), "--data", str(box.data))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["version"] == 2
    listed = json.loads(cli("pack", "list", "--data", str(box.data), "--json").stdout)["channels"]
    assert [(c["channel"], c["version"], c["lessons"]) for c in listed] == [(TINY_CHANNEL, 2, 2)]
    assert sorted(p.name for p in (box.data / "content" / TINY_CHANNEL).iterdir()) == ["v2"]
    db = connect(box.data / "box.db", readonly=True)
    assert [r["title"] for r in rows(db, "SELECT title FROM lessons ORDER BY id")] == [
        "Tiny lesson v2 tiny-1", "Tiny lesson v2 tiny-2"]
    assert len(rows(db, "SELECT * FROM jobs WHERE kind = 'pipeline' AND status = 'queued'")) == 3


def test_one_flipped_byte_in_a_media_file_is_refused(box):
    pack = make_pack(box)
    flip_byte(pack / "media" / "tiny-1.ogg", 1000)
    assert_refused(box, pack, "does not match its sha256")


def test_one_flipped_byte_in_manifest_json_is_refused(box):
    pack = make_pack(box)
    flip_byte(pack / "manifest.json", 30)
    assert_refused(box, pack, "signature")


def test_a_pack_signed_by_an_untrusted_key_is_refused(box):
    other_private, _, _ = generate_keys(box.tmp / "rogue")
    src = write_source(box.tmp / "src-rogue", seed=3)
    build_pack(src, box.tmp / "rogue-pack", read_private(other_private), 2)
    assert_refused(box, box.tmp / "rogue-pack", "untrusted key")


@pytest.mark.parametrize("version", [1, 2])
def test_rolling_back_to_the_active_or_an_older_version_is_refused(box, version):
    cli("pack", "import", str(make_pack(box, "pack-v2", 2)), "--data", str(box.data))
    assert_refused(box, make_pack(box, f"again-v{version}", version), "rollback")


def test_a_pack_expired_by_trusted_time_is_refused_even_when_the_box_clock_is_behind(box):
    # a verified manifest created in 10 days raises the floor: the box clock is evidently behind
    later = datetime.now(UTC) + timedelta(days=10)
    src = write_source(box.tmp / "src-other", channel="test.other", lessons=("other-1",))
    build_pack(src, box.tmp / "other", read_private(box.key.private), 1, created=later)
    import_pack(load_settings(box.data), box.tmp / "other")
    pack = make_pack(box, expires=datetime.now(UTC) + timedelta(days=5))
    # by the system clock alone the pack is still valid
    assert cli("pack", "verify", str(pack), "--trust", str(box.key.public)).returncode == 0
    assert_refused(box, pack, "expired")


def test_after_a_pack_signed_with_a_clock_years_ahead_the_operator_resets_trusted_time_and_updates_flow_again(box):
    future = datetime.now(UTC) + timedelta(days=3650)
    src = write_source(box.tmp / "src-future", channel="test.future", lessons=("future-1",))
    build_pack(src, box.tmp / "future", read_private(box.key.private), 1, created=future)
    imported = cli("pack", "import", str(box.tmp / "future"), "--data", str(box.data))
    assert imported.returncode == 0
    assert "trusted time is 3650 days ahead" in imported.stderr and "--reset" in imported.stderr
    pack = make_pack(box, expires=datetime.now(UTC) + timedelta(days=30))
    assert_refused(box, pack, "expired")
    status = json.loads(cli("sync", "status", "--data", str(box.data)).stdout)
    assert status["trusted_time"]["floor_ahead_s"] > 3649 * 86400

    reset = cli("trusted-time", "--data", str(box.data), "--reset", "--yes")
    assert reset.returncode == 0, reset.stderr
    report = json.loads(reset.stdout)
    assert report["reset_from"].startswith(str(future.year)) and report["floor_ahead_s"] == 0
    assert cli("pack", "import", str(pack), "--data", str(box.data)).returncode == 0


def test_trusted_time_is_not_reset_while_the_system_clock_is_behind_the_last_activation(box):
    db = connect(box.data / "box.db")
    db.execute("UPDATE channels SET activated_at = ?", ((datetime.now(UTC) + timedelta(days=2)).isoformat(),))
    db.conn.close()
    before = json.loads(cli("trusted-time", "--data", str(box.data)).stdout)
    reset = cli("trusted-time", "--data", str(box.data), "--reset", "--yes")
    assert reset.returncode != 0
    assert "set the clock first" in reset.stderr
    assert json.loads(cli("trusted-time", "--data", str(box.data)).stdout)["floor"] == before["floor"]


def test_a_missing_file_is_refused(box):
    pack = make_pack(box)
    (pack / "media" / "tiny-1.ogg").unlink()
    assert_refused(box, pack, "missing file media/tiny-1.ogg")


def test_a_truncated_file_is_refused(box):
    pack = make_pack(box)
    media = pack / "media" / "tiny-1.ogg"
    media.write_bytes(media.read_bytes()[:-100])
    assert_refused(box, pack, "truncated")


def test_a_file_bigger_than_listed_is_refused(box):
    pack = make_pack(box)
    with open(pack / "media" / "tiny-1.ogg", "ab") as fh:
        fh.write(b"extra bytes")
    assert_refused(box, pack, "too big")


def test_a_signed_manifest_with_a_dot_dot_path_is_refused(box):
    pack = make_pack(box)
    (box.tmp / "outside.ogg").write_bytes(b"x")
    resign(pack, box.key.private, lambda doc: doc["files"].append(
        {"path": "../outside.ogg", "sha256": hashlib.sha256(b"x").hexdigest(), "size": 1}))
    assert_refused(box, pack, "escapes")


def test_a_signed_manifest_with_an_absolute_path_is_refused(box):
    pack = make_pack(box)
    target = box.tmp / "abs.ogg"
    target.write_bytes(b"y")
    resign(pack, box.key.private, lambda doc: doc["files"].append(
        {"path": str(target), "sha256": hashlib.sha256(b"y").hexdigest(), "size": 1}))
    assert_refused(box, pack, "absolute")


def test_a_listed_file_that_is_a_symlink_is_refused(box):
    pack = make_pack(box)
    media = pack / "media" / "tiny-1.ogg"
    real = box.tmp / "real.ogg"
    real.write_bytes(media.read_bytes())
    media.unlink()
    media.symlink_to(real)
    assert_refused(box, pack, "symbolic link")


def test_a_listed_file_inside_a_symlinked_folder_is_refused(box):
    pack = make_pack(box)
    (pack / "media").rename(box.tmp / "elsewhere")
    (pack / "media").symlink_to(box.tmp / "elsewhere")
    assert_refused(box, pack, "symbolic link")


def test_a_manifest_over_the_size_cap_is_refused(box):
    pack = make_pack(box)
    resign(pack, box.key.private, lambda doc: doc.update(padding="p" * (1024 * 1024)))
    assert_refused(box, pack, "over the 1048576-byte cap")


def test_a_catalog_json_over_the_size_cap_is_refused(box):
    pack = make_pack(box)
    catalog = pack / "catalog.json"
    catalog.write_bytes(catalog.read_bytes() + b" " * (4 * 1024 * 1024))
    data = catalog.read_bytes()

    def edit(doc: dict) -> None:
        entry = next(f for f in doc["files"] if f["path"] == "catalog.json")
        entry.update(size=len(data), sha256=hashlib.sha256(data).hexdigest())

    resign(pack, box.key.private, edit)
    assert_refused(box, pack, "catalog.json is")


def test_a_signed_but_malformed_manifest_is_refused(box):
    pack = make_pack(box)
    from sync.packs import sign

    broken = b'{"format": 1, "channel": {"id": "test.tiny"'
    (pack / "manifest.json").write_bytes(broken)
    (pack / "manifest.sig").write_bytes(sign(broken, read_private(box.key.private)))
    assert_refused(box, pack, "not valid JSON")


def test_a_signed_pack_with_malformed_catalog_json_is_refused(box):
    pack = make_pack(box)
    catalog = pack / "catalog.json"
    catalog.write_bytes(b'{"channel": [')
    data = catalog.read_bytes()
    resign(pack, box.key.private, lambda doc: next(f for f in doc["files"] if f["path"] == "catalog.json").update(
        size=len(data), sha256=hashlib.sha256(data).hexdigest()))
    assert_refused(box, pack, "catalog.json is not valid JSON")


def test_a_pack_whose_lesson_id_belongs_to_another_channel_is_refused(box):
    src = write_source(box.tmp / "src-thief", channel="test.thief", lessons=("tiny-1",))
    build_pack(src, box.tmp / "thief", read_private(box.key.private), 1)
    assert_refused(box, box.tmp / "thief", "lesson id 'tiny-1' already belongs to channel test.tiny")


def test_pack_verify_accepts_a_good_pack_and_refuses_an_altered_one_in_one_line(box):
    pack = make_pack(box)
    ok = cli("pack", "verify", str(pack), "--trust", str(box.key.public))
    assert ok.returncode == 0 and json.loads(ok.stdout)["ok"] is True
    flip_byte(pack / "catalog.json", 5)
    bad = cli("pack", "verify", str(pack), "--trust", str(box.key.public))
    assert bad.returncode != 0 and bad.stderr.count("\n") == 1 and "sha256" in bad.stderr


def test_import_into_a_missing_data_dir_says_to_init_first(tmp_path):
    result = cli("pack", "import", str(tmp_path), "--data", str(tmp_path / "nowhere"))
    assert result.returncode != 0 and "edge-server init" in result.stderr and result.stderr.count("\n") == 1


def test_keys_generate_writes_a_private_key_only_its_owner_can_read(tmp_path):
    result = cli("keys", "generate", "--out", str(tmp_path / "k"))
    assert result.returncode == 0
    doc = json.loads(result.stdout)
    assert len(doc["key_id"]) == 16
    assert os.stat(tmp_path / "k" / "signing.key").st_mode & 0o077 == 0
    again = cli("keys", "generate", "--out", str(tmp_path / "k"))
    assert again.returncode != 0 and "already exists" in again.stderr


def test_files_not_listed_in_the_manifest_are_not_copied_into_the_box(box):
    pack = make_pack(box)
    (pack / "media" / "unlisted.ogg").write_bytes(b"smuggled")
    assert cli("pack", "import", str(pack), "--data", str(box.data)).returncode == 0
    active = box.data / "content" / TINY_CHANNEL / "v2"
    assert (active / "media" / "tiny-1.ogg").is_file()
    assert not (active / "media" / "unlisted.ogg").exists()


def test_pack_import_shows_a_progress_bar_on_a_terminal(box):
    import fcntl
    import pty
    import struct
    import termios

    pack = make_pack(box)
    leader, follower = pty.openpty()
    # a real terminal has a size; tqdm draws nothing on a 0-column one
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    proc = subprocess.Popen([EDGE_SERVER, "pack", "import", str(pack), "--data", str(box.data)],
                            stdout=subprocess.PIPE, stderr=follower)
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closes when the command exits
            break
        if not chunk:
            break
        seen += chunk
    out, _ = proc.communicate(timeout=60)
    os.close(leader)
    assert proc.returncode == 0
    assert b"importing test.tiny" in seen and b"%|" in seen
    assert json.loads(out)["version"] == 2


def test_activated_pack_files_are_read_only(box):
    active = box.data / "content" / TINY_CHANNEL / "v1"
    for path in (active / "catalog.json", active / "media" / "tiny-1.ogg"):
        assert path.stat().st_mode & 0o222 == 0


# --- reserved local channels and key scopes ------------------------------------------------------------------

def _record(box: SimpleNamespace) -> Path:
    """A teacher's recording in the box's own local.school channel, as the recordings page stores one."""
    from edge_server.recordings import MediaInfo, StoredUpload, add_recording, local_channel_dir
    from edge_server.store.db import open_box_db

    settings = load_settings(box.data)
    upload = box.tmp / "upload.ogg"
    upload.write_bytes(b"OggS" + os.urandom(4096))
    db = open_box_db(settings.db_path)
    try:
        lesson_id = add_recording(db, settings, StoredUpload(upload, hashlib.sha256(upload.read_bytes()).hexdigest(),
                                                             upload.stat().st_size),
                                  MediaInfo("audio", "ogg", 3.0), "Our volcano lesson", [], "Hill school")
    finally:
        db.conn.close()
    assert lesson_id
    return next((local_channel_dir(settings) / "media").iterdir())


def test_a_signed_pack_for_the_local_school_channel_is_refused_and_the_teachers_recordings_stay(box):
    media = _record(box)
    for channel in ("local.school", "local.other", "LOCAL.school"):
        src = write_source(box.tmp / f"src-{channel}", channel=channel, lessons=(f"{channel}-evil",))
        build_pack(src, box.tmp / f"pack-{channel}", read_private(box.key.private), 5)
        assert_refused(box, box.tmp / f"pack-{channel}", f"channel {channel} is reserved for the box's own content")
    db = connect(box.data / "box.db", readonly=True)
    assert [r["title"] for r in rows(db, "SELECT title FROM lessons WHERE channel_id = 'local.school'")] == [
        "Our volcano lesson"]
    assert media.is_file()


def _scoped_key(box: SimpleNamespace, name: str, scope: str | None) -> Path:
    """A second signing key, installed on the box with `edge-server init --trust` and, when given, a scope file."""
    from edge_server.identity import install_trust_anchor

    private, public, _ = generate_keys(box.tmp / name)
    pub = box.tmp / name / f"{name}.pub"
    pub.write_bytes(public.read_bytes())
    if scope is not None:
        (box.tmp / name / f"{name}.scope").write_text(scope)
    install_trust_anchor(box.data / "keys" / "trusted", pub)
    return private


def _pack_for(box: SimpleNamespace, channel: str, private: Path) -> Path:
    src = write_source(box.tmp / f"src-{channel}", channel=channel, lessons=(f"{channel}-1",))
    build_pack(src, box.tmp / f"pack-{channel}", read_private(private), 1)
    return box.tmp / f"pack-{channel}"


def test_a_key_scoped_to_cn_k12_cannot_publish_fr_channels_but_can_publish_cn_k12_science(box):
    private = _scoped_key(box, "cn-province", "# channels of the province\ncn.k12.\n")
    assert (box.data / "keys" / "trusted" / "cn-province.scope").read_text().endswith("cn.k12.\n")
    assert_refused(box, _pack_for(box, "fr.maths", private), "may not publish channel fr.maths")
    assert_refused(box, _pack_for(box, "cn.k12x", private), "may not publish channel cn.k12x")
    result = cli("pack", "import", str(_pack_for(box, "cn.k12.science", private)), "--data", str(box.data))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["channel"] == "cn.k12.science"


def test_an_empty_scope_file_lets_a_key_publish_nothing(box):
    private = _scoped_key(box, "muted", "\n# nothing yet\n")
    assert_refused(box, _pack_for(box, "cn.k12.science", private), "its scope file allows no channel")


def test_without_a_scope_file_a_trusted_key_still_publishes_any_channel_that_is_not_local(box):
    private = _scoped_key(box, "anywhere", None)
    for channel in ("fr.maths", "cn.k12.science"):
        result = cli("pack", "import", str(_pack_for(box, channel, private)), "--data", str(box.data))
        assert result.returncode == 0, result.stderr
