"""Ansible: syntax check, ansible-lint, and a real converge of all three roles against localhost into a temp prefix.

The converge runs with services, packages and users off (edge_box_manage_services=false and friends), with the
checkout's .venv as the box's venv and .ralph-venv as Ralph's, so no network and no root-owned path is touched.
It runs twice; the second run must report changed=0. Then the origin's rsyncd.conf, as the role wrote it, runs
on 127.0.0.1 and the converged box pulls a signed pack from it; and Ralph, as the lrs role set it up (launcher,
settings, the box's own account, its TLS certificate signed by a province CA made in the test), runs on
127.0.0.1 over https and takes the box's statements under that account, the box pinning the CA bundle the
edge_box role copied. The box's trust key is bound to the channels the inventory gives it (edge_box_trust_scopes):
a pack signed by that key for another channel is refused.

A faster test converges the pack origin alone and has the box role's wheel step (tasks/wheels.yml) fetch the
portable llama-cpp-python wheel for this architecture from the origin's wheels module (stand-in files: nothing is
installed), after checking that without a wheel the role refuses to go on; it also renders config.toml with
edge_box_workers 0 and 3.
"""

from __future__ import annotations

import contextlib
import grp
import hashlib
import json
import os
import platform
import pwd
import re
import shutil
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_server.identity import load_identity
from edge_server.settings import load_settings
from sync.trust import generate_keys, trusted_keys
from tests.processes import stop_process
from tests.requirements import require_path, require_tool
from tests.tls import make_ca, server_cert

REPO = Path(__file__).resolve().parents[2]
ANSIBLE = REPO / "ansible"
BIN = Path(sys.executable).parent
RALPH_VENV = REPO / ".ralph-venv"


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}", "ANSIBLE_CONFIG": str(ANSIBLE / "ansible.cfg"),
            "ANSIBLE_HOME": str(tmp_path / "ansible-home"), "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
            "ANSIBLE_ROLES_PATH": str(ANSIBLE / "roles"),
            "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0", "NO_COLOR": "1"}


def _local_inventory(tmp_path: Path, group: str) -> Path:
    inventory = tmp_path / f"inventory-{group}.ini"
    inventory.write_text(f"[{group}]\nlocalhost ansible_connection=local ansible_python_interpreter={sys.executable} "
                         "ansible_become=false\n")
    return inventory


def _origin_variables(root: Path, user: str, group: str) -> dict:
    """The pack_origin role pointed into root: no users, packages or services touched, rsyncd on 127.0.0.1."""
    return {
        "pack_origin_manage_users": False, "pack_origin_publisher_user": user,
        "pack_origin_install_packages": False, "pack_origin_manage_services": False,
        "pack_origin_publisher_keys": ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITestKeyNotReal ci@workstation"],
        "pack_origin_root": str(root / "srv/packs"), "pack_origin_config_file": str(root / "etc/rsyncd.conf"),
        "pack_origin_secrets_file": str(root / "etc/rsyncd.secrets"),
        "pack_origin_pid_file": str(root / "etc/rsyncd.pid"), "pack_origin_log_file": str(root / "etc/rsyncd.log"),
        "pack_origin_publisher_home": str(root / "home/publisher"),
        "pack_origin_daemon_user": user, "pack_origin_daemon_group": group, "pack_origin_use_chroot": False,
        "pack_origin_hosts_allow": ["127.0.0.1"], "pack_origin_port": _free_port(),
    }


@contextlib.contextmanager
def _rsync_daemon(root: Path, module: str) -> Iterator[str]:
    """rsync --daemon on 127.0.0.1 with the rsyncd.conf the pack_origin role wrote; yields rsync://.../module."""
    config = root / "etc/rsyncd.conf"
    port = int(re.search(r"^port = (\d+)$", config.read_text(), re.M).group(1))
    daemon = subprocess.Popen([require_tool("rsync"), "--daemon", "--no-detach", f"--config={config}",
                               "--address=127.0.0.1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"rsync://127.0.0.1:{port}/{module}"
    try:
        deadline = time.monotonic() + 20
        while subprocess.run(["rsync", "--list-only", "--contimeout=2", f"{url}/"], capture_output=True).returncode:
            assert time.monotonic() < deadline, (root / "etc/rsyncd.log").read_text()
            time.sleep(0.2)
        yield url
    finally:
        daemon.terminate()
        daemon.wait(10)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _recap(output: str) -> dict[str, int]:
    line = next(ln for ln in output.splitlines() if re.match(r"^localhost\s+:\s+ok=", ln))
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}


def test_the_playbook_passes_the_syntax_check(tmp_path):
    done = subprocess.run([BIN / "ansible-playbook", "--syntax-check", "-i", "inventory.example.ini", "site.yml"],
                          cwd=ANSIBLE, env=_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_role_is_ansible_lint_clean_at_the_production_profile(tmp_path):
    done = subprocess.run([BIN / "ansible-lint", "--profile", "production", "--offline", "--nocolor"], cwd=ANSIBLE,
                          env=_env(tmp_path), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "ignore_errors" not in "".join(p.read_text() for p in ANSIBLE.rglob("*.yml"))


@pytest.fixture
def converge(tmp_path):
    """Run site.yml against localhost into tmp_path/root; returns a function that runs it once more."""
    require_path(RALPH_VENV / "bin" / "ralph", "Ralph LRS's venv (the lrs role converges with it)", "run `make ralph`")
    _priv, public, _kid = generate_keys(tmp_path / "province-keys")
    # The province's TLS where group_vars/all.yml looks for it (inventory_dir/keys): the CA bundle every box pins,
    # the LRS's certificate (for localhost, the lrs host's name in this inventory) and its key.
    ca = make_ca(tmp_path / "province-ca")
    cert = server_cert(ca, tmp_path / "lrs-cert")
    (tmp_path / "keys").mkdir()
    shutil.copyfile(ca.cert_file, tmp_path / "keys/lrs-ca.pem")
    shutil.copyfile(cert.cert_file, tmp_path / "keys/lrs.crt")
    shutil.copyfile(cert.key_file, tmp_path / "keys/lrs.key")
    root = tmp_path / "root"
    user, group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
    inventory = tmp_path / "inventory.ini"
    local = f"ansible_connection=local ansible_python_interpreter={sys.executable} ansible_become=false"
    inventory.write_text(
        f"[edge_boxes]\nlocalhost {local} edge_box_lrs_user=box-ci edge_box_lrs_password=s3cret-ci\n"
        f"[lrs]\nlocalhost\n[pack_origin]\nlocalhost\n")
    variables = {
        "edge_box_prefix": str(root), "edge_box_manage_users": False, "edge_box_user": user, "edge_box_group": group,
        "edge_box_install_packages": False, "edge_box_manage_services": False,
        "edge_box_install_venv": False, "edge_box_venv": str(Path(sys.prefix)),
        "edge_box_model_roles": ["asr"], "edge_box_trust_keys": [str(public)], "edge_box_name": "CI box",
        # the key may publish the sample course's channels only
        "edge_box_trust_scopes": {public.stem: ["demo.science."]},
        "edge_box_nginx_enabled": True, "edge_box_wifi_ap_enabled": True,
        "edge_box_wifi_passphrase": "classroom-secret",
        "lrs_manage_users": False, "lrs_user": user, "lrs_group": group,
        "lrs_install_packages": False, "lrs_manage_services": False, "lrs_install_venv": False,
        "lrs_venv": str(RALPH_VENV), "lrs_install_dir": str(root / "opt/ralph"),
        "lrs_data_dir": str(root / "var/lib/ralph"), "lrs_systemd_dir": str(root / "etc/systemd/system"),
        "lrs_host": "127.0.0.1", "lrs_port": _free_port(),
        **_origin_variables(root, user, group),
    }
    extra = tmp_path / "vars.json"
    extra.write_text(json.dumps(variables))

    def run() -> tuple[dict[str, int], str]:
        done = subprocess.run([BIN / "ansible-playbook", "-i", str(inventory), "site.yml", "-e", f"@{extra}"],
                              cwd=ANSIBLE, env=_env(tmp_path), capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
        return _recap(done.stdout), done.stdout

    return root, _priv, run


def test_a_real_converge_builds_an_origin_an_lrs_and_a_box_that_pulls_from_it_and_a_rerun_changes_nothing(
        converge):
    root, private, run = converge
    public = private.with_name("signing.pub")
    first, first_output = run()
    assert first["failed"] == 0 and first["changed"] > 0

    second, output = run()
    assert second["failed"] == 0
    assert second["changed"] == 0, [ln for ln in output.splitlines() if ln.startswith("changed:")]

    data = root / "var/lib/edge-server"
    identity = load_identity(data / "keys")
    settings = load_settings(data)
    assert settings.box_name == "CI box" and settings.announce is True
    assert (data / "keys/trusted" / public.name).read_bytes() == public.read_bytes()
    # the key's scope, from edge_box_trust_scopes, beside it; and nothing else in the trust folder
    assert [ln for ln in (data / "keys/trusted" / f"{public.stem}.scope").read_text().splitlines()
            if not ln.startswith("#")] == ["demo.science."]
    assert list(trusted_keys(data / "keys/trusted").scopes.values()) == [("demo.science.",)]
    assert sorted(p.name for p in (data / "keys/trusted").iterdir()) == [public.name, f"{public.stem}.scope"]
    assert [m["role"] for m in json.loads((data / "models/models.json").read_text())["models"]] == ["asr"]
    db_meta = subprocess.run([sys.executable, "-c", "import sqlite3,sys; print(sqlite3.connect(sys.argv[1])"
                              ".execute(\"SELECT value FROM meta WHERE key='box_id'\").fetchone()[0])",
                              str(data / "box.db")], capture_output=True, text=True, check=True)
    assert db_meta.stdout.strip() == identity.box_id
    # the one-time setup token: kept root-only, and it is the one the box would accept (only its hash is stored)
    token_file = root / "etc/edge-server-setup-token"
    assert token_file.stat().st_mode & 0o777 == 0o600
    assert token_file.read_text().strip() not in first_output + output
    from edge_server.store import people
    from edge_server.store.db import connect

    assert people.setup_token_matches(connect(data / "box.db"), token_file.read_text().strip())

    unit = (root / "etc/systemd/system/edge-server.service").read_text()
    for line in ("NoNewPrivileges=true", "ProtectSystem=strict", "ReadWritePaths=/var/lib/edge-server",
                 "PrivateTmp=true", "ExecStartPre=", "rekey --data /var/lib/edge-server --if-cloned"):
        assert line in unit, line
    assert re.search(r"^ExecStart=\S+/edge-server serve --data /var/lib/edge-server --announce$", unit, re.M)
    assert (root / "etc/logrotate.d/edge-server").exists()
    assert (root / "etc/nginx/sites-enabled/edge-server").resolve() == root / "etc/nginx/sites-available/edge-server"
    assert "wpa_passphrase=classroom-secret" in (root / "etc/hostapd/hostapd.conf").read_text()

    auth = json.loads((root / "var/lib/ralph/auth.json").read_text())
    assert [(a["username"], a["hash"][:4]) for a in auth] == [("box-ci", "$2b$")]
    assert "s3cret-ci" not in json.dumps(auth)
    assert "RALPH_RUNSERVER_BACKEND=fs" in (root / "opt/ralph/ralph.env").read_text()
    rsyncd = (root / "etc/rsyncd.conf").read_text()
    assert "[packs]" in rsyncd and "read only = yes" in rsyncd and "[wheels]" in rsyncd
    assert (root / "srv/packs/wheels").is_dir()
    # the default edge_box_workers 0 writes no `workers`: the box runs one web worker per core
    assert not re.search(r"^workers\s*=", (data / "config.toml").read_text(), re.M)
    assert settings.workers == (os.cpu_count() or 1)
    # the box runs its own nginx front on its port (nginx-light is in the role's packages unless front is none)
    assert settings.front == "nginx"
    # https on the front's own port, signed by the box's own CA (no province TLS CA given)
    assert settings.https_port == 8443 and settings.tls_ca_cert == "" and not (data / "keys/tls-ca.key").exists()
    # the LRS over https: the URL group_vars derives (the lrs host's name and lrs_port), the CA bundle pinned
    config = tomllib.loads((data / "config.toml").read_text())
    assert re.fullmatch(r"https://localhost:\d+/xAPI", config["lrs_url"])
    assert config["lrs_ca_file"] == "keys/lrs-ca.pem" and "lrs_allow_insecure_http" not in config
    assert (data / "keys/lrs-ca.pem").read_bytes() == (private.parents[1] / "keys/lrs-ca.pem").read_bytes()
    assert settings.lrs_ca_path == data / "keys/lrs-ca.pem"
    assert (root / "opt/ralph/tls/lrs.key").stat().st_mode & 0o777 == 0o640
    # the wheels folder sits in the pack tree but the packs module hides it: the pull sees one channel only
    _pull_from_the_converged_origin(root, private, data)
    _refuse_a_pack_outside_the_keys_scope(root, private, data)
    _push_to_the_converged_lrs(root, data, private.parents[1] / "keys/lrs-ca.pem")
    assert tomllib.loads((data / "config.toml").read_text())["box_name"] == "CI box"

    if shutil.which("systemd-analyze"):
        verify = subprocess.run(["systemd-analyze", "verify", str(root / "etc/systemd/system/edge-server.service")],
                                capture_output=True, text=True, timeout=60)
        assert verify.returncode == 0, verify.stderr
        security = subprocess.run(["systemd-analyze", "security", "--offline=true", "--threshold=30",
                                   str(root / "etc/systemd/system/edge-server.service")],
                                  capture_output=True, text=True, timeout=60)
        assert security.returncode == 0, security.stdout[-2000:]


def _pull_from_the_converged_origin(root: Path, private: Path, data: Path) -> None:
    """Publish a signed pack into the origin's tree, run rsyncd with the role's config, and sync the box from it."""
    from edge_server.packs_import import build_pack
    from edge_server.sample import SAMPLE_CHANNEL, SAMPLE_COURSE
    from sync.trust import read_private

    build_pack(SAMPLE_COURSE, root / "srv/packs" / SAMPLE_CHANNEL, read_private(private), 1)
    (root / "srv/packs/wheels/llama_cpp_python-0.3.36-py3-none-linux_x86_64.whl").write_bytes(b"not a pack")
    with _rsync_daemon(root, "packs") as origin:
        pulled = subprocess.run([BIN / "edge-server", "sync", "pull", "--data", str(data), "--origin", origin],
                                capture_output=True, text=True, timeout=300)
        assert pulled.returncode == 0, pulled.stderr
        listed = subprocess.run([BIN / "edge-server", "pack", "list", "--data", str(data), "--json"],
                                capture_output=True, text=True, timeout=60, check=True)
        assert [(c["channel"], c["version"]) for c in json.loads(listed.stdout)["channels"]] == [(SAMPLE_CHANNEL, 1)]


def _refuse_a_pack_outside_the_keys_scope(root: Path, private: Path, data: Path) -> None:
    """The province key signs a pack for a channel outside the scope the role deployed: the box refuses it."""
    from edge_server.packs_import import build_pack
    from sync.trust import read_private
    from tests.fixtures_packs import write_source

    pack = root / "out-of-scope-pack"
    build_pack(write_source(root / "out-of-scope-src", channel="cn.k12.maths"), pack, read_private(private), 1)
    refused = subprocess.run([BIN / "edge-server", "pack", "import", str(pack), "--data", str(data)],
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0 and "cn.k12.maths" in refused.stderr, refused.stderr


def _push_to_the_converged_lrs(root: Path, data: Path, ca_file: Path) -> None:
    """Start Ralph exactly as the role's unit does (launcher, settings, TLS certificate); the box pushes with what
    the roles gave it in config.toml: the https URL, its credentials and the pinned CA bundle."""
    import requests

    ralph_env = dict(line.split("=", 1) for line in (root / "opt/ralph/ralph.env").read_text().splitlines()
                     if line and not line.startswith("#"))
    unit = (root / "etc/systemd/system/ralph.service").read_text()
    exec_start = re.search(r"^ExecStart=(.+)$", unit, re.M).group(1).split()
    assert exec_start[1:] == [str(root / "opt/ralph/ralph_launcher.py"), "127.0.0.1", exec_start[3], "2",
                              str(root / "opt/ralph/tls/lrs.crt"), str(root / "opt/ralph/tls/lrs.key")]
    port = int(exec_start[3])
    attempts = data.parent / "attempts.jsonl"
    attempts.write_text("".join(json.dumps({"pupil": f"p-{i}", "pupil_name": f"Pupil {i}",
                                            "knowledge_point": "sci.water", "item": f"q-{i}", "correct": i % 2 == 0,
                                            "ts": f"2026-03-0{i + 1}T09:00:00Z"}) + "\n" for i in range(3)))
    subprocess.run([BIN / "edge-server", "attempts", "import", str(attempts), "--data", str(data)],
                   capture_output=True, text=True, timeout=120, check=True)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("RALPH_")}, **ralph_env,
           "HOME": str(root)}
    log = (root / "ralph.log").open("wb")
    ralph = subprocess.Popen(exec_start, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    url = f"https://localhost:{port}/xAPI"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert ralph.poll() is None and time.monotonic() < deadline, (root / "ralph.log").read_text()[-2000:]
            try:
                if requests.get(f"https://localhost:{port}/__heartbeat__", timeout=1,
                                verify=str(ca_file)).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        for _round in range(2):  # the second push sends nothing new and must still succeed
            pushed = subprocess.run([BIN / "edge-server", "sync", "push", "--data", str(data)],
                                    capture_output=True, text=True, timeout=120)
            assert pushed.returncode == 0, pushed.stderr
        stored = requests.get(f"{url}/statements?limit=1000", auth=("box-ci", "s3cret-ci"), timeout=30,
                              headers={"X-Experience-API-Version": "1.0.3"}, verify=str(ca_file))
        assert stored.status_code == 200, stored.text
        statements = stored.json()["statements"]
        assert len(statements) >= 3
        assert {s["authority"]["account"]["name"] for s in statements} == {"box-ci"}
        wrong = requests.get(f"{url}/statements", auth=("box-ci", "not-the-password"), timeout=30,
                             headers={"X-Experience-API-Version": "1.0.3"}, verify=str(ca_file))
        assert wrong.status_code == 401
    finally:
        stop_process(ralph, timeout=15)
        log.close()


BOX_WHEEL_PLAY = """
- name: The edge_box role's wheel step, and its config.toml with edge_box_workers 0 and 3
  hosts: localhost
  gather_subset: [min]
  vars_files: ["{{ roles_dir }}/edge_box/defaults/main.yml"]
  tasks:
    - name: Fetch and choose the llama-cpp-python wheel
      ansible.builtin.include_role:
        name: edge_box
        tasks_from: wheels.yml
    - name: Say which wheel was chosen
      ansible.builtin.debug:
        msg: "chosen={{ edge_box_llama_wheel }}"
    - name: Render config.toml
      ansible.builtin.template:
        src: "{{ roles_dir }}/edge_box/templates/config.toml.j2"
        dest: "{{ out_dir }}/workers-{{ item }}/config.toml"
        mode: "0640"
      loop: [0, 3]
      vars:
        edge_box_workers: "{{ item }}"
"""


def test_the_origin_serves_wheels_and_a_box_fetches_only_its_architectures_llama_wheel(tmp_path):
    """pack_origin publishes a [wheels] module hidden from [packs]; edge_box fetches and picks the wheel or refuses."""
    root = tmp_path / "root"
    user, group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
    origin_vars = tmp_path / "origin.json"
    origin_vars.write_text(json.dumps(_origin_variables(root, user, group)))
    done = subprocess.run([BIN / "ansible-playbook", "-i", str(_local_inventory(tmp_path, "pack_origin")), "site.yml",
                           "-e", f"@{origin_vars}"], cwd=ANSIBLE, env=_env(tmp_path), capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    rsyncd = (root / "etc/rsyncd.conf").read_text()
    wheels_module = rsyncd[rsyncd.index("[wheels]"):]
    assert f"path = {root}/srv/packs/wheels\n" in wheels_module and "read only = yes" in wheels_module
    assert "hosts allow = 127.0.0.1" in wheels_module
    assert "exclude = /wheels/" in rsyncd[rsyncd.index("[packs]"):rsyncd.index("[wheels]")]

    # Provincial IT drops one wheel per architecture, and maybe pure Python wheels for offline boxes.
    arch = platform.machine()
    other = "aarch64" if arch == "x86_64" else "x86_64"
    wheels = root / "srv/packs/wheels"
    ours = wheels / f"llama_cpp_python-0.3.36-py3-none-linux_{arch}.whl"
    ours.write_bytes(b"stand-in for the portable wheel")
    (wheels / f"llama_cpp_python-0.3.36-py3-none-linux_{other}.whl").write_bytes(b"the other architecture")
    (wheels / "six-1.17.0-py2.py3-none-any.whl").write_bytes(b"pure python")

    box = tmp_path / "box"
    for workers in (0, 3):
        (box / f"workers-{workers}").mkdir(parents=True)
    play = tmp_path / "box-wheels.yml"
    play.write_text(BOX_WHEEL_PLAY)
    inventory = _local_inventory(tmp_path, "edge_boxes")
    box_vars = {"roles_dir": str(ANSIBLE / "roles"), "out_dir": str(box), "edge_box_prefix": str(box),
                "edge_box_llama_version": "0.3.36", "edge_box_wheels_origin": "",
                "edge_box_llama_wheel_sha256": {arch: hashlib.sha256(ours.read_bytes()).hexdigest()}}

    def box_run(**overrides: object) -> subprocess.CompletedProcess:
        extra = tmp_path / "box.json"
        extra.write_text(json.dumps({**box_vars, **overrides}))
        return subprocess.run([BIN / "ansible-playbook", "-i", str(inventory), str(play), "-e", f"@{extra}"],
                              cwd=ANSIBLE, env=_env(tmp_path), capture_output=True, text=True, timeout=600)

    # No wheels origin and no wheel on the box: the role stops and says how to get one; pip never runs.
    refused = box_run()
    assert refused.returncode != 0
    assert "make llama-wheel" in refused.stdout and "edge_box_wheels_origin" in refused.stdout, refused.stdout[-3000:]

    fetched_dir = box / "opt/edge-server/wheels"
    with _rsync_daemon(root, "wheels") as url:
        packs = subprocess.run(["rsync", "--list-only", f"{url.rsplit('/', 1)[0]}/packs/"], capture_output=True,
                               text=True, timeout=60, check=True)
        assert "wheels" not in packs.stdout  # boxes listing channels never see the wheels folder
        first = box_run(edge_box_wheels_origin=url)
        assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-3000:]
        assert f"chosen={fetched_dir / ours.name}" in first.stdout
        assert sorted(p.name for p in fetched_dir.iterdir() if p.is_file()) == sorted(
            [ours.name, "six-1.17.0-py2.py3-none-any.whl"])
        second = box_run(edge_box_wheels_origin=url)
        assert second.returncode == 0, second.stdout[-6000:]
        assert _recap(second.stdout)["changed"] == 0, [ln for ln in second.stdout.splitlines()
                                                         if ln.startswith("changed:")]
        # A wheel that is not the one the inventory vouches for is refused.
        tampered = box_run(edge_box_wheels_origin=url, edge_box_llama_wheel_sha256={arch: "0" * 64})
        assert tampered.returncode != 0 and "edge_box_llama_wheel_sha256" in tampered.stdout

    configs = {n: (box / f"workers-{n}/config.toml").read_text() for n in (0, 3)}
    assert not re.search(r"^workers\s*=", configs[0], re.M)
    assert tomllib.loads(configs[3])["workers"] == 3
    assert load_settings(box / "workers-0").workers == (os.cpu_count() or 1)
    assert load_settings(box / "workers-3").workers == 3
