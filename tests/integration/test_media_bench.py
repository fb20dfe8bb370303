"""bench/serving.py keeps working: a one-second run against real nginx and a real `edge-server serve`."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO
from tests.requirements import SYSTEM_DEPS, require_path, require_tool


@pytest.fixture(scope="module", autouse=True)
def _needs_wrk_and_nginx() -> None:
    require_tool("wrk", f"{SYSTEM_DEPS} or apt-get install wrk")
    require_path("/usr/sbin/nginx", "nginx", f"{SYSTEM_DEPS} or apt-get install nginx-light")


def test_the_serving_benchmark_measures_both_servers_without_errors():
    out = subprocess.run([sys.executable, "-m", "bench.serving", "--seconds", "1", "--size-mb", "4",
                          "--connections", "4", "--json"], cwd=REPO, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["config"]["front"] == "nginx"  # the box runs its own nginx front when nginx is installed
    for key in ("nginx_media", "box_media", "box_api", "app_alone_media"):
        assert result[key]["requests"] > 0
        assert result[key]["errors"] == 0
    assert result["box_media"]["mb_per_s"] > 0 and result["ratio"] > 0
    assert "box/nginx ratio" in out.stderr  # the aligned table goes to stderr with --json
