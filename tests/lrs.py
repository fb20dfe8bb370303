"""A real Ralph LRS on loopback for tests and benchmarks (file-system backend, HTTP basic auth)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from edge_server.web.front import free_port
from tests.processes import stop_process

REPO = Path(__file__).resolve().parent.parent
RALPH_VENV = REPO / ".ralph-venv"
RALPH_PYTHON = RALPH_VENV / "bin" / "python"
LAUNCHER = Path(__file__).resolve().parent / "ralph_launcher.py"
USER, PASSWORD = "classroom-box", "ralph-test-password"
_AUTH_CACHE: dict[str, Path] = {}


def ralph_available() -> bool:
    """True when `make ralph` has created Ralph's own virtual environment."""
    return RALPH_PYTHON.exists() and (RALPH_VENV / "bin" / "ralph").exists()


def _base_env(workdir: Path, auth_file: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RALPH_")}
    env.update({
        "RALPH_RUNSERVER_BACKEND": "fs",
        "RALPH_AUTH_FILE": str(auth_file),
        "RALPH_HISTORY_FILE": str(workdir / "history.json"),
        "RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH": str(workdir / "lrs"),
        "RALPH_RUNSERVER_MAX_SEARCH_HITS_COUNT": "100000",
        "HOME": str(workdir),
    })
    return env


def auth_file(workdir: Path, user: str = USER, password: str = PASSWORD) -> Path:
    """An auth.json with one bcrypt-hashed user, written by Ralph's own CLI (cached per process)."""
    key = f"{user}:{password}"
    cached = _AUTH_CACHE.get(key)
    target = workdir / "auth.json"
    if cached is not None and cached.exists():
        shutil.copyfile(cached, target)
        return target
    workdir.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(RALPH_VENV / "bin" / "ralph"), "auth", "-u", user, "-p", password, "-s", "all",
                    "-M", "mailto:classroom-box@example.org", "-w"],
                   env=_base_env(workdir, target), check=True, capture_output=True, timeout=60)
    _AUTH_CACHE[key] = target
    return target


@dataclass
class Ralph:
    """A running Ralph; `url` is the xAPI base that the box is configured with."""

    proc: subprocess.Popen
    port: int
    workdir: Path
    user: str = USER
    password: str = PASSWORD
    ca_file: Path | None = None  # served over https:// with a certificate this CA signed

    @property
    def base(self) -> str:
        return f"{'https' if self.ca_file else 'http'}://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.base}/xAPI"

    @property
    def verify(self) -> str | bool:
        return str(self.ca_file) if self.ca_file else True

    @property
    def store_file(self) -> Path:
        return self.workdir / "lrs" / "fs_lrs.jsonl"

    def statements(self) -> list[dict]:
        """Every statement the LRS holds, through its xAPI GET /statements (following `more`)."""
        found: list[dict] = []
        url: str | None = f"{self.url}/statements?limit=100000"
        while url:
            response = requests.get(url, auth=(self.user, self.password), timeout=60, verify=self.verify,
                                    headers={"X-Experience-API-Version": "1.0.3"})
            response.raise_for_status()
            page = response.json()
            found += page["statements"]
            more = page.get("more")
            url = f"{self.base}{more}" if more else None
        return found

    def stored_lines(self) -> list[dict]:
        """The raw records in the backend's file (what was written, one per line)."""
        if not self.store_file.exists():
            return []
        return [json.loads(line) for line in self.store_file.read_text().splitlines() if line.strip()]

    def stop(self) -> None:
        """Stop Ralph and wait for it."""
        stop_process(self.proc)


def start_ralph(workdir: Path, port: int | None = None, timeout_s: float = 60.0,
                tls: tuple[Path, Path, Path] | None = None) -> Ralph:
    """Start Ralph on 127.0.0.1 with its FS backend in workdir; return when it answers.

    tls = (certificate, key, CA bundle): uvicorn serves https:// with that certificate; the heartbeat is checked
    against the CA bundle.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    auth = auth_file(workdir)
    port = port or free_port()
    log = (workdir / "ralph.log").open("wb")
    tls_args = [str(tls[0]), str(tls[1])] if tls else []
    proc = subprocess.Popen([str(RALPH_PYTHON), str(LAUNCHER), "127.0.0.1", str(port), *tls_args],
                            env=_base_env(workdir, auth), stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    ralph = Ralph(proc=proc, port=port, workdir=workdir, ca_file=tls[2] if tls else None)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"Ralph exited with {proc.returncode}: {(workdir / 'ralph.log').read_text()[-2000:]}")
        try:
            if requests.get(f"{ralph.base}/__heartbeat__", timeout=1, verify=ralph.verify).status_code == 200:
                return ralph
        except requests.RequestException:
            pass
        time.sleep(0.1)
    ralph.stop()
    raise RuntimeError(f"Ralph did not answer on port {port} within {timeout_s}s")
