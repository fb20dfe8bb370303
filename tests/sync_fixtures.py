"""Helpers for sync tests and the sync benchmark: signed packs built with the pack engine, a real rsync daemon."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tests.lrs import free_port

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


def publish(tmp_path: Path, daemon: RsyncDaemon, key: Path, version: int, files: dict[str, bytes],
            created: datetime | None = None, expires: datetime | None = None) -> Path:
    """Build a signed pack and make it the origin's copy of the channel."""
    pack = build(write_source(tmp_path / f"src-v{version}", files), tmp_path / f"pack-v{version}", key, version,
                 created, expires)
    target = daemon.root / CHANNEL
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
    from edge_server.db import open_box_db
    from edge_server.settings import load_settings

    db = open_box_db(data_dir / "box.db")
    try:
        import_attempts(db, load_settings(data_dir), lines)
        return db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
    finally:
        db.conn.close()


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
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


MODELS_CHANNEL = "test.sync.models"


def publish_models(tmp_path: Path, daemon: RsyncDaemon, key: Path, version: int, model: bytes,
                   model_id: str = "tiny-llm", channel: str = MODELS_CHANNEL) -> Path:
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
    pack = build(src, tmp_path / f"models-pack-v{version}", key, version)
    target = daemon.root / channel
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(pack, target)
    return target
