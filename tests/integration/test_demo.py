"""`edge-server demo`: what `make demo` runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

EDGE = [str(Path(sys.executable).parent / "edge-server")]


def test_demo_sets_up_course_models_and_logins_once(tmp_path: Path):
    data = tmp_path / "var"
    first = subprocess.run([*EDGE, "demo", "--data", str(data), "--no-serve"], capture_output=True, text=True,
                           timeout=300)
    assert first.returncode == 0, first.stderr
    login = json.loads(first.stdout)
    assert login["channel"] == "demo.science.primary"
    assert "PIN 1111" in first.stderr and login["password"] in first.stderr
    again = subprocess.run([*EDGE, "demo", "--data", str(data), "--no-serve"], capture_output=True, text=True,
                           timeout=300)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["password"] == login["password"]
    listed = subprocess.run([*EDGE, "pack", "list", "--data", str(data), "--json"], capture_output=True, text=True)
    assert [c["channel"] for c in json.loads(listed.stdout)["channels"]] == ["demo.science.primary"]
    models = json.loads((data / "models" / "models.json").read_text())
    assert models
