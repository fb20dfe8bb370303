"""Channels per box: `channel remove`, `channel list`, sync pull of followed channels only, the admin page, and the
edge_box role's config.toml. Real data dirs, real packs, a real rsync daemon, the real app and ansible-playbook."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from edge_server.packs_import import build_pack, import_pack
from edge_server.sample import SAMPLE_CHANNEL
from edge_server.settings import load_settings
from edge_server.store import people
from edge_server.store.db import open_box_db
from edge_server.web import auth
from edge_server.web.app import create_app
from sync.trust import read_private
from tests.fixtures_packs import TINY_CHANNEL, write_source
from tests.requirements import require_rsync
from tests.sync_fixtures import add_attempts, add_recording, build, edge, query, trusting_box
from tests.sync_fixtures import write_source as sync_source


def with_tiny_channel(data: Path, signing_key, tmp_path: Path) -> Path:
    pack = tmp_path / "tiny-pack"
    build_pack(write_source(tmp_path / "tiny-src", lessons=("tiny-1", "tiny-2")), pack,
               read_private(signing_key.private), 1)
    import_pack(load_settings(data), pack)
    return pack


def app_client(data: Path, **overrides):
    app = create_app(load_settings(data, scheduler_enabled=False, ai_jobs_enabled=False, **overrides))
    app.config.update(TESTING=True, WTF_CSRF_ENABLED=False)
    return app.test_client()


def teacher(client, data: Path):
    db = open_box_db(data / "box.db")
    people.add_teacher(db, "ms.li", auth.hash_password("correct horse"))
    db.conn.close()
    assert client.post("/teacher/login", data={"username": "ms.li", "password": "correct horse"}).status_code == 302
    return client


def test_a_channel_removed_while_another_keeps_serving(tmp_path, sample_data_dir, signing_key):
    data = sample_data_dir
    with_tiny_channel(data, signing_key, tmp_path)
    add_attempts(data, 60, pupils=6)
    client = app_client(data)  # the running app, before and after the removal
    sample_media = f"/media/{SAMPLE_CHANNEL}/media/water-cycle.ogg"
    tiny_media = f"/media/{TINY_CHANNEL}/media/tiny-1.ogg"
    assert client.get(tiny_media).status_code == 200
    assert client.get(sample_media, headers={"Range": "bytes=0-99"}).status_code == 206
    (data / "content" / ".staging" / TINY_CHANNEL).mkdir(parents=True)  # a pulled copy, the rsync basis
    before = {t: query(data, f"SELECT * FROM {t} ORDER BY 1") for t in ("attempts", "mastery", "outbox", "pupils")}

    done = edge("channel", "remove", TINY_CHANNEL, "--data", str(data))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["channel"] == TINY_CHANNEL and result["lessons"] == 2 and result["bytes_freed"] > 128 * 1024
    assert client.get(tiny_media).status_code == 404
    ranged = client.get(sample_media, headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 206 and len(ranged.data) == 100
    assert query(data, "SELECT id FROM channels") == [(SAMPLE_CHANNEL,)]
    assert query(data, f"SELECT COUNT(*) FROM lessons WHERE channel_id = '{TINY_CHANNEL}'") == [(0,)]
    assert query(data, f"SELECT COUNT(*) FROM exercises WHERE channel_id = '{TINY_CHANNEL}'") == [(0,)]
    assert query(data, "SELECT COUNT(*) FROM lessons") == [(3,)]
    assert not (data / "content" / TINY_CHANNEL).exists()
    assert not (data / "content" / ".staging" / TINY_CHANNEL).exists()
    assert not list((data / "content").glob(".removed-*"))
    assert {t: query(data, f"SELECT * FROM {t} ORDER BY 1") for t in before} == before  # pupils' history kept
    assert client.get("/api/v1/health").status_code == 200
    listed = json.loads(edge("pack", "list", "--data", str(data), "--json").stdout)["channels"]
    assert [c["channel"] for c in listed] == [SAMPLE_CHANNEL]


def test_a_removed_channel_comes_back_by_importing_its_pack_again(tmp_path, sample_data_dir, signing_key):
    pack = with_tiny_channel(sample_data_dir, signing_key, tmp_path)
    assert edge("channel", "remove", TINY_CHANNEL, "--data", str(sample_data_dir)).returncode == 0
    again = edge("pack", "import", str(pack), "--data", str(sample_data_dir))
    assert again.returncode == 0, again.stderr
    assert query(sample_data_dir, f"SELECT version FROM channels WHERE id = '{TINY_CHANNEL}'") == [(1,)]


def test_the_teachers_recordings_are_removed_only_with_force_and_unknown_channels_are_named(tmp_path,
                                                                                       sample_data_dir):
    lesson = add_recording(sample_data_dir)
    refused = edge("channel", "remove", "local.school", "--data", str(sample_data_dir))
    assert refused.returncode == 1
    assert refused.stderr.strip() == ("error: channel not removed: local.school holds the teachers' own recordings "
                                      "(1), which exist nowhere else: back them up first, then pass --force to "
                                      "remove them")
    assert query(sample_data_dir, f"SELECT COUNT(*) FROM lessons WHERE id = '{lesson}'") == [(1,)]
    unknown = edge("channel", "remove", "cn.nowhere", "--data", str(sample_data_dir))
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == (f"error: channel not removed: no channel 'cn.nowhere' on this box (channels: "
                                      f"{SAMPLE_CHANNEL}, local.school)")
    forced = edge("channel", "remove", "local.school", "--data", str(sample_data_dir), "--force")
    assert forced.returncode == 0, forced.stderr
    assert json.loads(forced.stdout)["recordings"] == 1
    assert query(sample_data_dir, "SELECT id FROM channels") == [(SAMPLE_CHANNEL,)]
    assert not (sample_data_dir / "content" / "local.school").exists()


def test_channel_list_gives_sizes_expiry_and_which_channels_the_box_follows(tmp_path, sample_data_dir, signing_key):
    with_tiny_channel(sample_data_dir, signing_key, tmp_path)
    with (sample_data_dir / "config.toml").open("a") as fh:
        fh.write('channels = ["demo."]\n')
    done = edge("channel", "list", "--data", str(sample_data_dir), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["follows"] == ["demo."]
    by_id = {c["channel"]: c for c in report["channels"]}
    manifest = json.loads((sample_data_dir / "content" / SAMPLE_CHANNEL / "v1" / "manifest.json").read_bytes())
    assert by_id[SAMPLE_CHANNEL]["bytes"] == sum(f["size"] for f in manifest["files"])
    assert (by_id[SAMPLE_CHANNEL]["lessons"], by_id[SAMPLE_CHANNEL]["followed"]) == (3, True)
    assert (by_id[TINY_CHANNEL]["lessons"], by_id[TINY_CHANNEL]["followed"]) == (2, False)
    assert by_id[TINY_CHANNEL]["expires"] is None and by_id[TINY_CHANNEL]["expired"] is False


def test_the_admin_page_lists_channels_with_versions_sizes_expiry_and_the_last_backup(tmp_path, sample_data_dir,
                                                                                     signing_key):
    with_tiny_channel(sample_data_dir, signing_key, tmp_path)
    client = teacher(app_client(sample_data_dir, channels=(SAMPLE_CHANNEL,)), sample_data_dir)
    status = client.get("/teacher/admin/status.json").get_json()
    by_id = {c["id"]: c for c in status["channels"]}
    assert by_id[SAMPLE_CHANNEL]["lessons"] == 3 and by_id[SAMPLE_CHANNEL]["bytes"] > 1_000_000
    assert by_id[TINY_CHANNEL]["followed"] is False and status["backup"] is None
    html = client.get("/teacher/admin").get_data(as_text=True)
    assert "not followed: it stays until edge-server channel remove" in html
    assert f"{by_id[SAMPLE_CHANNEL]['bytes'] / 1e6:.1f} MB" in html
    assert "none: set backup_dir in config.toml" in html
    usb = tmp_path / "usb"
    usb.mkdir()
    from edge_server.backup import scheduled_backup

    assert scheduled_backup(load_settings(sample_data_dir, backup_dir=str(usb))) == "done"
    html = client.get("/teacher/admin").get_data(as_text=True)
    archive = next(usb.iterdir())
    assert f"{archive.stat().st_size / 1e6:.1f} MB" in html.split('id="last-backup"')[1].split("</dd>")[0]
    french = client.get("/teacher/admin", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "Dernière sauvegarde" in french and "Taille" in french


def test_sync_pull_fetches_only_the_channels_the_box_follows(tmp_path, province):
    require_rsync()
    private, public, daemon = province
    for channel in ("cn.k12.science.g5", "cn.k12.maths.g5", "other.music"):
        src = sync_source(tmp_path / f"src-{channel}", {"media/a.ogg": channel.encode() * 1000}, channel=channel)
        shutil.copytree(build(src, tmp_path / f"pack-{channel}", private, 1), daemon.root / channel)
    data = trusting_box(tmp_path / "box", public)
    with (data / "config.toml").open("a") as fh:
        fh.write('channels = ["cn.k12.science.g5", "other."]\n')
    done = edge("sync", "pull", "--data", str(data), "--origin", daemon.url)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert sorted(c["channel"] for c in result["channels"]) == ["cn.k12.science.g5", "other.music"]
    assert result["not_followed"] == ["cn.k12.maths.g5"]
    assert sorted(p.name for p in (data / "content" / ".staging").iterdir()) == ["cn.k12.science.g5", "other.music"]
    assert [r[0] for r in query(data, "SELECT id FROM channels ORDER BY id")] == ["cn.k12.science.g5", "other.music"]


def test_the_edge_box_role_writes_the_followed_channels_and_the_backup_folder_into_config_toml(tmp_path):
    from tests.integration.test_ansible import ANSIBLE, BIN, _env, _local_inventory
    from tests.requirements import require_path

    require_path(BIN / "ansible-playbook", "ansible-playbook in the venv", "run `make test` (installs the lock)")
    play = tmp_path / "render.yml"
    play.write_text(f"""
- name: Render the edge_box role's config.toml
  hosts: localhost
  gather_facts: false
  vars_files: ["{ANSIBLE}/roles/edge_box/defaults/main.yml"]
  tasks:
    - name: Render config.toml
      ansible.builtin.template:
        src: "{ANSIBLE}/roles/edge_box/templates/config.toml.j2"
        dest: "{{{{ out }}}}/config.toml"
        mode: "0640"
""")
    results = {}
    for name, extra in (("default", {}), ("chosen", {"edge_box_channels": ["cn.k12.science.g5", "cn.k12.maths."],
                                                     "edge_box_backup_dir": "/media/usb", "edge_box_backup_keep": 3})):
        out = tmp_path / name
        out.mkdir()
        variables = tmp_path / f"{name}.json"
        variables.write_text(json.dumps({"out": str(out), **extra}))
        done = subprocess.run([BIN / "ansible-playbook", "-i", str(_local_inventory(tmp_path, "edge_boxes")),
                               str(play), "-e", f"@{variables}"], cwd=ANSIBLE, env=_env(tmp_path),
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
        results[name] = load_settings(out)
    assert results["default"].channels == () and results["default"].backup_dir == ""
    chosen = results["chosen"]
    assert chosen.channels == ("cn.k12.science.g5", "cn.k12.maths.")
    assert (chosen.backup_dir, chosen.backup_keep, chosen.backup_with_media) == ("/media/usb", 3, False)
