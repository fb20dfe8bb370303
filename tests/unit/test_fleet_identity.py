"""Box identity: a cloned data dir or disk image re-keys itself, a box on its own host keeps its identity."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from edge_server import identity as box
from edge_server.store.db import open_box_db


@pytest.fixture
def machine_id(tmp_path: Path) -> tuple[Path, ...]:
    """A machine-id file of our own, so a test can play a second host."""
    path = tmp_path / "machine-id"
    path.write_text("0f1e2d3c4b5a69788796a5b4c3d2e1f0\n")
    return (path,)


def _add_pupil(data: Path) -> None:
    db = open_box_db(data / "box.db")
    db.execute("INSERT INTO classes (id, name, created) VALUES (1, '5A', 'now')")
    db.execute("INSERT INTO pupils (ref, class_id, name, created) VALUES ('p1', 1, 'Ana', 'now')")
    db.conn.close()


def _meta(data: Path) -> dict[str, str]:
    db = open_box_db(data / "box.db")
    try:
        return {r[0]: r[1] for r in db.execute("SELECT key, value FROM meta").fetchall()}
    finally:
        db.conn.close()


def test_a_box_on_its_own_host_keeps_its_identity_across_inits(tmp_path, machine_id):
    data = tmp_path / "var"
    first = box.init_data_dir(data, None, "Hill", machine_id_paths=machine_id)
    again = box.init_data_dir(data, None, "Hill", machine_id_paths=machine_id)
    assert first == again
    assert box.clone_reason(data, machine_id) == ""


def test_a_data_dir_copied_elsewhere_is_rekeyed_and_keeps_its_pupils(tmp_path, machine_id):
    original = tmp_path / "var"
    first = box.init_data_dir(original, None, machine_id_paths=machine_id)
    _add_pupil(original)
    clone = tmp_path / "clone"
    shutil.copytree(original, clone)

    check = box.ensure_unique_identity(clone, machine_id)

    assert check.rekeyed and check.previous_box_id == first.box_id
    assert check.identity.box_id != first.box_id
    assert check.identity.secret != first.secret
    assert "copied" in check.reason
    assert _meta(clone)["box_id"] == check.identity.box_id
    assert _meta(clone)["rekeyed_from"] == first.box_id
    db = open_box_db(clone / "box.db")
    assert [r[0] for r in db.execute("SELECT name FROM pupils").fetchall()] == ["Ana"]
    db.conn.close()
    # the original is untouched and the clone stays re-keyed only once
    assert box.ensure_unique_identity(original, machine_id).identity == first
    assert not box.ensure_unique_identity(clone, machine_id).rekeyed


def test_a_disk_image_booted_with_a_new_machine_id_is_rekeyed_by_init(tmp_path, machine_id):
    data = tmp_path / "var"
    first = box.init_data_dir(data, None, machine_id_paths=machine_id)
    machine_id[0].write_text("aaaabbbbccccddddeeeeffff00001111\n")

    second = box.init_data_dir(data, None, machine_id_paths=machine_id)

    assert second.box_id != first.box_id
    assert box.load_identity(data / "keys") == second
    assert "machine-id" in _meta(data)["rekey_reason"]


def test_a_default_box_name_follows_the_new_id_so_two_boxes_never_announce_the_same_name(tmp_path, machine_id):
    data = tmp_path / "var"
    first = box.init_data_dir(data, None, machine_id_paths=machine_id)
    assert f'box_name = "classroom-box-{first.box_id[:6]}"' in (data / "config.toml").read_text()
    clone = tmp_path / "clone"
    shutil.copytree(data, clone)
    new = box.ensure_unique_identity(clone, machine_id).identity
    assert f'box_name = "classroom-box-{new.box_id[:6]}"' in (clone / "config.toml").read_text()


def test_a_chosen_box_name_survives_a_rekey(tmp_path, machine_id):
    data = tmp_path / "var"
    box.init_data_dir(data, None, "Hill school", machine_id_paths=machine_id)
    (data / "config.toml").write_text((data / "config.toml").read_text().replace(
        'box_name = "classroom-box-', 'box_name = "Hill school" # was classroom-box-'))
    box.rekey(data, machine_id_paths=machine_id)
    assert 'box_name = "Hill school"' in (data / "config.toml").read_text()
    assert _meta(data)["box_name"] == "Hill school"


def test_rekey_drops_the_session_secret_so_the_originals_cookies_stop_working(tmp_path, machine_id):
    data = tmp_path / "var"
    box.init_data_dir(data, None, machine_id_paths=machine_id)
    (data / "keys" / "session.secret").write_text("abc")
    box.rekey(data, machine_id_paths=machine_id)
    assert not (data / "keys" / "session.secret").exists()


def test_adopting_the_host_after_a_restore_keeps_the_identity(tmp_path, machine_id):
    data = tmp_path / "var"
    first = box.init_data_dir(data, None, machine_id_paths=machine_id)
    restored = tmp_path / "restored"
    shutil.copytree(data, restored)
    machine_id[0].write_text("11112222333344445555666677778888\n")

    assert box.adopt_host(restored, machine_id).identity == first
    assert not box.ensure_unique_identity(restored, machine_id).rekeyed
    assert box.load_identity(restored / "keys") == first


def test_a_data_dir_made_before_clone_detection_is_adopted_not_rekeyed(tmp_path, machine_id):
    data = tmp_path / "var"
    first = box.init_data_dir(data, None, machine_id_paths=machine_id)
    (data / "keys" / box.HOST_FILE).unlink()
    assert box.ensure_unique_identity(data, machine_id) == box.IdentityCheck(first, rekeyed=False)
    assert (data / "keys" / box.HOST_FILE).exists()


def test_the_host_record_holds_no_raw_machine_id(tmp_path, machine_id):
    data = tmp_path / "var"
    box.init_data_dir(data, None, machine_id_paths=machine_id)
    recorded = (data / "keys" / box.HOST_FILE).read_text()
    assert machine_id[0].read_text().strip() not in recorded
    assert json.loads(recorded)["data_dir_inode"] == data.stat().st_ino
    assert (data / "keys" / box.HOST_FILE).stat().st_mode & 0o777 == 0o600


def test_a_host_without_machine_id_still_detects_a_copied_data_dir(tmp_path):
    nothing = (tmp_path / "no-machine-id",)
    data = tmp_path / "var"
    first = box.init_data_dir(data, None, machine_id_paths=nothing)
    shutil.copytree(data, tmp_path / "clone")
    assert box.ensure_unique_identity(tmp_path / "clone", nothing).identity.box_id != first.box_id
