"""A real `edge-server serve` on 127.0.0.1 over a data dir with the sample course, people and AI outputs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from tests.processes import stop_process

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--mute-audio",
                 "--autoplay-policy=no-user-gesture-required"]


def free_port() -> int:
    """A port nobody listens on right now (bind to port 0 and let the kernel choose)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def prepare(data_dir: Path, keys_dir: Path) -> dict:
    """Sample course, people and AI outputs in data_dir (created when missing)."""
    from edge_server.sample import build_and_import_sample
    from tests.e2e.pages_data import add_ai_outputs, populate

    if not (data_dir / "box.db").exists() or not list((data_dir / "content").glob("*/v*")):
        build_and_import_sample(data_dir, keys_dir)
    people = populate(data_dir)
    add_ai_outputs(data_dir)
    return people


@contextmanager
def serve(data_dir: Path, log: Path, *args: str) -> Iterator[str]:
    """Run `edge-server serve [args]` on a free 127.0.0.1 port until the block ends; yield its base URL."""
    port = free_port()
    env = {**os.environ, "EDGE_SERVER_SCHEDULER_ENABLED": "false", "EDGE_SERVER_AI_JOBS_ENABLED": "false",
           "EDGE_SERVER_ANNOUNCE": "false", "PYTHONWARNINGS": "ignore"}
    cli = str(Path(sys.executable).with_name("edge-server"))
    with log.open("wb") as out:
        proc = subprocess.Popen([cli, "serve", "--data", str(data_dir), "--host", "127.0.0.1", "--port", str(port),
                                 "--no-announce", *args], stdout=out, stderr=subprocess.STDOUT, env=env)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"edge-server serve exited with {proc.returncode}: {log.read_text()[-2000:]}")
                try:
                    if requests.get(f"{base}/api/v1/health", timeout=2).ok:
                        break
                except requests.ConnectionError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"edge-server serve did not answer within 60 s: {log.read_text()[-2000:]}")
                time.sleep(0.2)
            yield base
        finally:
            stop_process(proc, timeout=15)
