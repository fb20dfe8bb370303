"""Benchmark: the box's media serving against nginx on the same file, and the catalog API under load.

Starts `edge-server serve` with its defaults (behind its own nginx front when nginx is installed) and a plain
nginx (non-daemon, temporary prefix) on loopback ports, then drives each with `wrk` (a separate C process, so the
load generator is not the bottleneck on a small machine): N connections asking for random 256 KiB ranges of one
~50 MB file for --seconds each, then the same N connections on /api/v1/catalog (or /api/v1/health if the catalog
is not there), then the media again with the app facing the clients alone (--front none), to show what the front
adds. Prints one aligned table, or JSON with --json.

    python -m bench.serving [--seconds 10] [--connections 60] [--workers N] [--threads N] [--json]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from bench.report import emit
from edge_server.web.front import free_port

REPO = Path(__file__).resolve().parent.parent
CHANNEL = "bench.serving"
MEDIA = "media/lesson.mp4"
NGINX = "/usr/sbin/nginx"
GOAL_RATIO = 0.3
GOAL_P99_MS = 250.0

WRK_SCRIPT = """
local size = {size}
local span = {span}
local path = "{path}"
math.randomseed(os.time() + tonumber(tostring({{}}):sub(8), 16))
request = function()
  local headers = {{}}
  if span > 0 then
    local start = math.random(0, size - span)
    headers["Range"] = "bytes=" .. start .. "-" .. (start + span - 1)
  end
  return wrk.format("GET", path, headers)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {{"requests": %d, "bytes": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, '
    .. '"errors": {{"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}}}\\n',
    summary.requests, summary.bytes, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
"""

NGINX_CONF = """
{user}
daemon off;
master_process on;
worker_processes auto;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  client_body_temp_path {prefix}/body;
  proxy_temp_path {prefix}/proxy;
  fastcgi_temp_path {prefix}/fastcgi;
  uwsgi_temp_path {prefix}/uwsgi;
  scgi_temp_path {prefix}/scgi;
  types {{ video/mp4 mp4; }}
  server {{
    listen 127.0.0.1:{port};
    location /media/{channel}/ {{ alias {folder}/; }}
  }}
}}
"""


def make_data_dir(root: Path, size_mb: int) -> tuple[Path, int]:
    """An initialised data dir with one channel holding a random media file of size_mb; returns (dir, size)."""
    from edge_server.identity import init_data_dir

    data = root / "var"
    init_data_dir(data, trust=None, name="bench-box")
    folder = data / "content" / CHANNEL / "v1"
    (folder / "media").mkdir(parents=True)
    size = size_mb * 1024 * 1024
    block = random.randbytes(1024 * 1024)
    with open(folder / MEDIA, "wb") as fh:
        for _ in range(size_mb):
            fh.write(block)
    db = sqlite3.connect(data / "box.db")
    with db:
        db.execute("INSERT INTO channels (id, title, language, level, version, path, activated_at) "
                   "VALUES (?, 'Bench', 'en', 'primary', 1, ?, datetime('now'))", (CHANNEL, f"content/{CHANNEL}/v1"))
        db.execute("INSERT INTO courses (id, channel_id, title, subject, grade) VALUES ('bench', ?, 'Bench', 's', '5')",
                   (CHANNEL,))
        for i in range(12):
            db.execute("INSERT INTO lessons (id, channel_id, course_id, title, text, media_path, media_kind, "
                       "position) VALUES (?, ?, 'bench', ?, 'notes', ?, 'video', ?)",
                       (f"bench-{i}", CHANNEL, f"Lesson {i}", MEDIA, i))
    db.close()
    # nginx workers may run as another user: let them read the tree.
    for path in (root, data, data / "content", data / "content" / CHANNEL, folder, folder / "media"):
        path.chmod(0o755)
    (folder / MEDIA).chmod(0o644)
    return data, size


@contextmanager
def box_server(data: Path, workers: int | None, threads: int | None, front: str | None = None):
    """Run `edge-server serve` on a free loopback port (its own defaults unless told); yields its base URL."""
    exe = Path(sys.executable).parent / "edge-server"
    cmd = [str(exe), "serve", "--data", str(data), "--host", "127.0.0.1", "--port", "0",
           *(["--workers", str(workers)] if workers else []), *(["--threads", str(threads)] if threads else []),
           *(["--front", front] if front else [])]
    log = open(data / f"serve-{front or 'default'}.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log,
                            env={**os.environ, "EDGE_SERVER_SCHEDULER_ENABLED": "0"})
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"edge-server serve did not start: see {data / 'serve.log'}")
        yield json.loads(line)["url"]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@contextmanager
def nginx_server(root: Path, folder: Path):
    """Run nginx (non-daemon) with a temporary prefix serving folder at /media/<channel>/; yields its URL."""
    prefix = root / "nginx"
    prefix.mkdir()
    port = free_port()
    user = "user root;" if os.geteuid() == 0 else ""
    conf = prefix / "nginx.conf"
    conf.write_text(NGINX_CONF.format(user=user, prefix=prefix, port=port, channel=CHANNEL, folder=folder))
    proc = subprocess.Popen([NGINX, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_http(f"http://127.0.0.1:{port}/media/{CHANNEL}/{MEDIA}", proc, prefix / "error.log")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.send_signal(signal.SIGQUIT)  # graceful stop
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = 10.0, name: str = "nginx") -> None:
    host_port = url.split("/")[2]
    path = "/" + url.split("/", 3)[3]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited: {log.read_text() if log.exists() else ''}".strip())
        try:
            conn = http.client.HTTPConnection(host_port, timeout=2)
            conn.request("HEAD", path)
            if conn.getresponse().status < 300:
                conn.close()
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{name} did not answer on {url}")


def check_ranges(base: str, size: int, expected: bytes, offset: int) -> None:
    """One ranged request must return exactly the expected bytes (the benchmark measures correct answers)."""
    host_port = base.split("/")[2]
    conn = http.client.HTTPConnection(host_port, timeout=10)
    conn.request("GET", f"/media/{CHANNEL}/{MEDIA}", headers={"Range": f"bytes={offset}-{offset + len(expected) - 1}"})
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    if resp.status != 206 or body != expected or resp.getheader("Content-Range") != \
            f"bytes {offset}-{offset + len(expected) - 1}/{size}":
        raise RuntimeError(f"{base} answered a range wrongly (status {resp.status}, {len(body)} bytes)")


def run_wrk(url: str, path: str, seconds: float, connections: int, size: int, span: int, tmp: Path) -> dict:
    """Drive url+path with wrk for `seconds`; returns the figures as a dict."""
    script = tmp / f"wrk-{span}-{random.randrange(1 << 30)}.lua"
    script.write_text(WRK_SCRIPT.format(size=size, span=span, path=path))
    threads = max(1, min(connections, os.cpu_count() or 1))
    out = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(seconds))}s",
                          "--timeout", "10s", "-s", str(script), url],
                         capture_output=True, text=True, timeout=seconds + 60, check=False)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed: {out.stderr.strip() or out.stdout.strip()}")
    raw = json.loads(line[len("WRKJSON "):])
    duration = raw["duration_us"] / 1e6
    return {
        "requests": raw["requests"], "req_per_s": round(raw["requests"] / duration, 1),
        "mb_per_s": round(raw["bytes"] / duration / 1e6, 1),
        "p50_ms": round(raw["p50_us"] / 1000, 2), "p99_ms": round(raw["p99_us"] / 1000, 2),
        "max_ms": round(raw["max_us"] / 1000, 2), "errors": sum(raw["errors"].values()),
        "error_kinds": raw["errors"],
    }


def _api_path(base: str) -> str:
    host_port = base.split("/")[2]
    conn = http.client.HTTPConnection(host_port, timeout=10)
    conn.request("GET", "/api/v1/catalog")
    status = conn.getresponse().status
    conn.close()
    return "/api/v1/catalog" if status == 200 else "/api/v1/health"


def _defaults() -> tuple[int, int]:
    from edge_server.settings import Settings

    return Settings().workers, Settings().threads


def bench(seconds: float, connections: int, workers: int | None, threads: int | None, size_mb: int,
          span: int) -> dict[str, Any]:
    """Run the whole benchmark and return its figures."""
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed: apt-get install wrk (make system-deps does)")
    if not Path(NGINX).exists():
        raise RuntimeError(f"{NGINX} is missing: apt-get install nginx-light")
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as tmpdir, ExitStack() as stack:
        root = Path(tmpdir)
        data, size = make_data_dir(root, size_mb)
        folder = data / "content" / CHANNEL / "v1"
        offset = random.randrange(size - span)
        with open(folder / MEDIA, "rb") as fh:
            fh.seek(offset)
            expected = fh.read(span)
        box = stack.enter_context(box_server(data, workers, threads))
        nginx = stack.enter_context(nginx_server(root, folder))
        media_path = f"/media/{CHANNEL}/{MEDIA}"
        check_ranges(nginx, size, expected, offset)
        check_ranges(box, size, expected, offset)
        # Warm the page cache and both servers before measuring.
        run_wrk(nginx, media_path, 1, connections, size, span, root)
        run_wrk(box, media_path, 1, connections, size, span, root)
        nginx_media = run_wrk(nginx, media_path, seconds, connections, size, span, root)
        box_media = run_wrk(box, media_path, seconds, connections, size, span, root)
        api_path = _api_path(box)
        box_api = run_wrk(box, api_path, seconds, connections, size, 0, root)
        front = "nginx" if "behind nginx" in (data / "serve-default.log").read_text() else "none"
        # The same box with its app facing the clients itself: what the front adds.
        alone = stack.enter_context(box_server(data, workers, threads, front="none"))
        check_ranges(alone, size, expected, offset)
        run_wrk(alone, media_path, 1, connections, size, span, root)
        alone_media = run_wrk(alone, media_path, seconds, connections, size, span, root)
    ratio = box_media["mb_per_s"] / nginx_media["mb_per_s"] if nginx_media["mb_per_s"] else 0.0
    errors = nginx_media["errors"] + box_media["errors"] + box_api["errors"]
    return {
        "config": {"seconds": seconds, "connections": connections, "workers": workers or f"default ({_defaults()[0]})",
                   "threads": threads or f"default ({_defaults()[1]})", "front": front,
                   "file_mb": size_mb, "range_kib": span // 1024, "cpus": os.cpu_count(), "client": "wrk",
                   # Other work on the machine skews every figure; the load average says how much there was.
                   "loadavg_before": round(load_before, 2), "loadavg_after": round(os.getloadavg()[0], 2)},
        "nginx_media": nginx_media, "box_media": box_media, "box_api": {"path": api_path, **box_api},
        "app_alone_media": alone_media, "ratio": round(ratio, 3),
        "app_alone_ratio": round(alone_media["mb_per_s"] / nginx_media["mb_per_s"], 3) if nginx_media["mb_per_s"]
        else 0,
        "goals": {"ratio_ge_0_3": ratio >= GOAL_RATIO, "media_p99_lt_250ms": box_media["p99_ms"] < GOAL_P99_MS,
                  "api_p99_lt_250ms": box_api["p99_ms"] < GOAL_P99_MS, "zero_errors": errors == 0},
    }


def table(result: dict[str, Any]) -> str:
    """One aligned table of the figures."""
    cfg = result["config"]
    head = (f"serving benchmark: {cfg['connections']} connections, random {cfg['range_kib']} KiB ranges of a "
            f"{cfg['file_mb']} MB file, {cfg['seconds']} s each, box = {cfg['workers']} worker(s) x "
            f"{cfg['threads']} threads, front {cfg['front']}, {cfg['cpus']} CPUs "
            f"(load {cfg['loadavg_before']} -> {cfg['loadavg_after']}), "
            f"client wrk")
    rows = [("what", "req/s", "MB/s", "p50 ms", "p99 ms", "max ms", "errors")]
    for label, key in (("nginx media", "nginx_media"), ("box media", "box_media"),
                       ("box media, app alone (--front none)", "app_alone_media"),
                       (f"box {result['box_api']['path']}", "box_api")):
        r = result[key]
        rows.append((label, f"{r['req_per_s']:.0f}", f"{r['mb_per_s']:.1f}", f"{r['p50_ms']:.1f}",
                     f"{r['p99_ms']:.1f}", f"{r['max_ms']:.1f}", str(r["errors"])))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [head, ""]
    for row in rows:
        cells = (cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row))
        lines.append("  ".join(cells))
    ok = {k: "ok" if v else "MISSED" for k, v in result["goals"].items()}
    lines.append("")
    lines.append(f"app alone/nginx ratio {result['app_alone_ratio']:.3f}: gunicorn answering every range itself")
    lines.append(f"box/nginx ratio {result['ratio']:.3f} (goal >= {GOAL_RATIO}: {ok['ratio_ge_0_3']}); "
                 f"media p99 < {GOAL_P99_MS:.0f} ms: {ok['media_p99_lt_250ms']}; "
                 f"api p99 < {GOAL_P99_MS:.0f} ms: {ok['api_p99_lt_250ms']}; zero errors: {ok['zero_errors']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each measured run")
    parser.add_argument("--connections", type=int, default=60)
    parser.add_argument("--workers", type=int, default=None, help="edge-server serve --workers (default: the box's)")
    parser.add_argument("--threads", type=int, default=None, help="edge-server serve --threads (default: the box's)")
    parser.add_argument("--size-mb", type=int, default=50)
    parser.add_argument("--range-kib", type=int, default=256)
    parser.add_argument("--json", action="store_true", help="print JSON on stdout (the table goes to stderr)")
    args = parser.parse_args(argv)
    try:
        result = bench(args.seconds, args.connections, args.workers, args.threads, args.size_mb,
                       args.range_kib * 1024)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    emit(result, table, args.json)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
