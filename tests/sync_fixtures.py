"""Helpers for sync tests and the sync benchmark: signed packs built with the pack engine, a real rsync daemon."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tests.lrs import free_port
from tests.processes import stop_process

CHANNEL = "test.sync.science"


def catalog(channel: str, media: list[str], title: str = "Sync test science") -> dict:
    """A catalog with one lesson per media file, a choice and a free-text exercise."""
    lessons = []
    for i, path in enumerate(media):
        lessons.append({
            "id": f"{channel}.lesson-{i}", "title": f"Lesson {i}", "knowledge_points": [f"{channel}.kp"],
            "media": {"path": path, "kind": "audio"},
            "exercises": [
                {"id": f"{channel}.ex-{i}-choice", "knowledge_point": f"{channel}.kp", "kind": "choice",
                 "prompt": "Which is water?", "choices": ["H2O", "CO2"], "answer": 0, "difficulty": 1},
                {"id": f"{channel}.ex-{i}-text", "knowledge_point": f"{channel}.kp", "kind": "text",
                 "prompt": "Say what evaporation is, in your own words.", "answer": ["vapour", "vapor"]},
            ]})
    return {"channel": {"id": channel, "title": title, "language": "en", "level": "primary"},
            "knowledge_points": [{"id": f"{channel}.kp", "name": "Evaporation"}],
            "courses": [{"id": f"{channel}.course", "title": "Science", "lessons": lessons}]}


def write_source(src: Path, files: dict[str, bytes], channel: str = CHANNEL, title: str = "Sync test science") -> Path:
    """A pack source folder: catalog.json plus the given media files."""
    if src.exists():
        shutil.rmtree(src)
    for name, data in files.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_bytes(data)
    (src / "catalog.json").write_text(json.dumps(catalog(channel, sorted(files), title)))
    return src


def keys(folder: Path) -> tuple[Path, Path]:
    """A province signing key pair (signing.key, signing.pub)."""
    from sync.trust import generate_keys

    private, public, _kid = generate_keys(folder)
    return private, public


def build(src: Path, out: Path, key: Path, version: int, created: datetime | None = None,
          expires: datetime | None = None) -> Path:
    """Build and sign a pack folder with the pack engine (what `edge-server pack build` runs)."""
    from edge_server.packs_import import build_pack
    from sync.trust import read_private

    if out.exists():
        shutil.rmtree(out)
    build_pack(src, out, read_private(key), version, expires=expires, created=created)
    return out


def media(n: int, size: int, seed: int = 0) -> dict[str, bytes]:
    """n incompressible media files of `size` bytes (random, reproducible)."""
    import random

    rng = random.Random(seed)
    return {f"media/clip-{i:02d}.ogg": rng.randbytes(size) for i in range(n)}


def publish(tmp_path: Path, daemon: RsyncDaemon | Path, key: Path, version: int, files: dict[str, bytes],
            created: datetime | None = None, expires: datetime | None = None) -> Path:
    """Build a signed pack and make it the origin's copy of the channel (a daemon's module, or a folder)."""
    pack = build(write_source(tmp_path / f"src-v{version}", files), tmp_path / f"pack-v{version}", key, version,
                 created, expires)
    target = (daemon if isinstance(daemon, Path) else daemon.root) / CHANNEL
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(pack, target)
    return target


def add_attempts(data_dir: Path, n: int, *, pupils: int = 10, ts: str | None = None, start: int = 0) -> int:
    """Record n answered attempts through the attempts importer (one outbox statement each, plus mastery)."""
    lines = [json.dumps({"pupil": f"ref-{i % pupils}", "pupil_name": f"Pupil {i % pupils}",
                         "knowledge_point": f"kp-{i % 7}", "item": f"item-{i}", "correct": i % 3 != 0,
                         "ts": ts or f"2026-03-0{1 + i % 9}T{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:{i % 60:02d}Z"})
             for i in range(start, start + n)]
    from edge_server.attempts import import_attempts
    from edge_server.settings import load_settings
    from edge_server.store.db import open_box_db

    db = open_box_db(data_dir / "box.db")
    try:
        import_attempts(db, load_settings(data_dir), lines)
        return db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
    finally:
        db.conn.close()


def add_recording(data_dir: Path) -> str:
    """A teacher's recording through the recordings code (the sample's narration as the upload); its lesson id."""
    from edge_server.recordings import StoredUpload, probe
    from edge_server.recordings import add_recording as add
    from edge_server.sample import SAMPLE_COURSE
    from edge_server.settings import load_settings
    from edge_server.store.db import open_box_db

    settings = load_settings(data_dir)
    settings.uploads_dir.mkdir(parents=True, exist_ok=True)
    upload = settings.uploads_dir / ".upload-test"
    shutil.copyfile(SAMPLE_COURSE / "media" / "water-cycle.ogg", upload)
    body = upload.read_bytes()
    stored = StoredUpload(upload, hashlib.sha256(body).hexdigest(), len(body))
    db = open_box_db(settings.db_path)
    try:
        return add(db, settings, stored, probe(upload), "Our own water cycle", ["sci.water.evaporation"], "test-box")
    finally:
        db.conn.close()


def query(data_dir: Path, sql: str) -> list[tuple]:
    """Rows of one query on the data dir's box.db."""
    conn = sqlite3.connect(data_dir / "box.db")
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@dataclass
class RsyncDaemon:
    """`rsync --daemon --no-detach` on 127.0.0.1 serving one read-only module."""

    root: Path
    workdir: Path
    module: str = "packs"
    proc: subprocess.Popen | None = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"rsync://127.0.0.1:{self.port}/{self.module}"

    def start(self) -> RsyncDaemon:
        """Write a config, start the daemon and wait until it accepts connections."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()  # a restart keeps its port, like an origin coming back
        conf = self.workdir / "rsyncd.conf"
        conf.write_text(
            f"pid file = {self.workdir / 'rsyncd.pid'}\nuse chroot = no\nuid = {os.getuid()}\ngid = {os.getgid()}\n"
            f"log file = {self.workdir / 'rsyncd.log'}\n[{self.module}]\n  path = {self.root}\n  read only = yes\n")
        self.proc = subprocess.Popen(["rsync", "--daemon", "--no-detach", f"--config={conf}", f"--port={self.port}",
                                      "--address=127.0.0.1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            probe = subprocess.run(["rsync", "--list-only", "--contimeout=2", f"{self.url}/"], capture_output=True)
            if probe.returncode == 0:
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"rsync daemon did not start on port {self.port}")

    def stop(self) -> None:
        """Stop the daemon."""
        stop_process(self.proc)


MODELS_CHANNEL = "test.sync.models"


def publish_models(tmp_path: Path, daemon: RsyncDaemon, key: Path, version: int, model: bytes,
                   model_id: str = "tiny-llm", channel: str = MODELS_CHANNEL, created: datetime | None = None,
                   expires: datetime | None = None) -> Path:
    """Build a signed models pack (catalog.json lists one "llm" model: a tiny fake GGUF) onto the origin."""
    src = tmp_path / f"models-src-v{version}"
    if src.exists():
        shutil.rmtree(src)
    (src / "models").mkdir(parents=True)
    (src / "models" / "tiny.gguf").write_bytes(model)
    (src / "catalog.json").write_text(json.dumps({
        "channel": {"id": channel, "title": "Province models", "language": "en", "level": "any"},
        "knowledge_points": [], "courses": [],
        "models": [{"role": "llm", "id": model_id, "format": "gguf", "files": [{"path": "models/tiny.gguf"}]}]}))
    pack = build(src, tmp_path / f"models-pack-v{version}", key, version, created, expires)
    target = daemon.root / channel
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(pack, target)
    return target


SSHD = "/usr/sbin/sshd"


def box_public_ssh_key(box_key: Path) -> str:
    """The box's Ed25519 identity (keys/box.key, PEM) as an authorized_keys line."""
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(box_key.read_bytes(), password=None)
    line = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return line.decode() + " classroom-box\n"


@dataclass
class SshServer:
    """A throwaway `sshd -D` on 127.0.0.1: its own host key, config and authorized_keys file, public keys only."""

    workdir: Path
    proc: subprocess.Popen | None = None
    port: int = 0

    @property
    def authorized_keys(self) -> Path:
        return self.workdir / "authorized_keys"

    def origin(self, path: Path, user: str | None = None) -> str:
        """An ssh:// origin for a folder on this server."""
        import getpass

        return f"ssh://{user or getpass.getuser()}@127.0.0.1:{self.port}{path}"

    def unusable(self) -> str | None:
        """Why sshd cannot run here, or None."""
        if not Path(SSHD).is_file() or shutil.which("ssh") is None or shutil.which("ssh-keygen") is None:
            return (f"{SSHD} or the ssh client is not installed: run `make system-deps` (as root) "
                    "or apt-get install openssh-server")
        return None

    def start(self) -> SshServer:
        """Write a host key and config, start sshd in the foreground and wait until it answers SSH."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        host_key = self.workdir / "ssh_host_ed25519_key"
        if not host_key.exists():
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)], check=True)
        self.authorized_keys.touch()
        self.port = self.port or free_port()
        conf = self.workdir / "sshd_config"
        conf.write_text(
            f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {host_key}\nPidFile {self.workdir / 'sshd.pid'}\n"
            f"AuthorizedKeysFile {self.authorized_keys}\nPubkeyAuthentication yes\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nUsePAM no\n"
            # the temp folders are not root-owned 0755 all the way up, as StrictModes wants
            "StrictModes no\nLogLevel VERBOSE\n")
        if os.geteuid() == 0:
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation dir, as the service makes it
        checked = subprocess.run([SSHD, "-t", "-f", str(conf)], capture_output=True, text=True)
        if checked.returncode != 0:
            raise RuntimeError(f"sshd refuses its config: {checked.stderr.strip()}")
        with open(self.workdir / "sshd.log", "wb") as log:
            self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(conf)], stdout=log, stderr=log,
                                         stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sshd exited: {(self.workdir / 'sshd.log').read_text().strip()[-300:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    if sock.recv(8).startswith(b"SSH-"):
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"sshd did not start on port {self.port}")

    def stop(self) -> None:
        """Stop sshd."""
        stop_process(self.proc)


EDGE = [sys.executable, "-c", "from edge_server.cli import main; main()"]


def edge(*args: str) -> subprocess.CompletedProcess:
    """`edge-server ARGS` as a subprocess (text output, 5 minutes at most)."""
    return subprocess.run([*EDGE, *args], capture_output=True, text=True, timeout=300)


def push(data: Path, lrs) -> dict:
    """`edge-server sync push` of the data dir to a test LRS (tests.lrs.Ralph); its JSON result (must succeed)."""
    done = edge("sync", "push", "--data", str(data), "--lrs", lrs.url, "--lrs-user", lrs.user,
                "--lrs-password", lrs.password)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def trusting_box(data: Path, public: Path, name: str = "pull-test") -> Path:
    """An initialised data dir that trusts the province's key."""
    from edge_server.identity import init_data_dir, install_trust_anchor

    init_data_dir(data, trust=None, name=name)
    install_trust_anchor(data / "keys" / "trusted", public)
    return data


def pull(data: Path, origin: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`edge-server sync pull` as a subprocess."""
    return subprocess.run([*EDGE, "sync", "pull", "--data", str(data), "--origin", origin], capture_output=True,
                          text=True, timeout=180, env={**os.environ, **(env or {})})
