"""The LRS push over TLS against a real Ralph served with https:// (uvicorn with a certificate made here).

The box pins the province's CA bundle (lrs_ca_file): a push to an LRS whose certificate that CA signed goes
through; one signed by another CA stops in one line before anything is sent, and every statement stays queued,
even when the environment's CA bundle (REQUESTS_CA_BUNDLE) would have vouched for it. Plain http:// to a host
that is not this machine is refused before a connection is made, unless explicitly allowed. Every server listens
on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from edge_server.settings import load_settings
from edge_server.store.sync_state import LAST_ERROR, LINK, get_value
from edge_server.sync_runs import push_tick
from tests.lrs import Ralph, start_ralph
from tests.requirements import require_ralph
from tests.sync_fixtures import EDGE, add_attempts
from tests.tls import make_ca, server_cert


@pytest.fixture(scope="module", autouse=True)
def _needs_ralph() -> None:
    require_ralph()


@pytest.fixture
def province_ca(tmp_path: Path):
    return make_ca(tmp_path / "province-ca", "Province CA")


@pytest.fixture
def ralph_tls(tmp_path: Path, province_ca) -> Iterator[Ralph]:
    """Ralph over https:// on 127.0.0.1, with a certificate for 127.0.0.1 and localhost that the province CA signed."""
    cert = server_cert(province_ca, tmp_path / "lrs-cert")
    lrs = start_ralph(tmp_path / "ralph", tls=(cert.cert_file, cert.key_file, province_ca.cert_file))
    yield lrs
    lrs.stop()


def configure(data_dir: Path, url: str, user: str, password: str, ca_file: Path | None = None, **extra) -> None:
    """config.toml as the edge_box role writes it: the CA bundle copied to keys/lrs-ca.pem, named relative."""
    lines = [f"lrs_url = {json.dumps(url)}", f"lrs_user = {json.dumps(user)}", f"lrs_password = {json.dumps(password)}"]
    if ca_file is not None:
        shutil.copyfile(ca_file, data_dir / "keys" / "lrs-ca.pem")
        lines.append('lrs_ca_file = "keys/lrs-ca.pem"')
    lines += [f"{key} = {json.dumps(value)}" for key, value in extra.items()]
    (data_dir / "config.toml").write_text("\n".join(lines) + "\n")


def unsent(data_dir: Path) -> int:
    conn = sqlite3.connect(data_dir / "box.db")
    try:
        return conn.execute("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]
    finally:
        conn.close()


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*EDGE, *args], capture_output=True, text=True, timeout=120, env=env)


def status(data_dir: Path) -> dict:
    done = cli("sync", "status", "--data", str(data_dir), "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_push_over_https_with_the_provinces_pinned_ca_stores_every_statement_once(data_dir: Path,
                                                                                     ralph_tls: Ralph,
                                                                                     province_ca) -> None:
    total = add_attempts(data_dir, 120)
    configure(data_dir, ralph_tls.url, ralph_tls.user, ralph_tls.password, province_ca.cert_file)
    assert status(data_dir)["lrs"] == {"url": ralph_tls.url, "ca_file": str(data_dir / "keys/lrs-ca.pem"),
                                       "transport": "https, pinned CA", "problem": None}
    done = cli("sync", "push", "--data", str(data_dir))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["sent"] == total
    assert unsent(data_dir) == 0
    held = [s["id"] for s in ralph_tls.statements()]
    assert len(held) == len(set(held)) == total


def test_a_certificate_signed_by_another_ca_stops_the_push_in_one_line_and_every_statement_stays_queued(
        tmp_path: Path, data_dir: Path, ralph_tls: Ralph, province_ca) -> None:
    total = add_attempts(data_dir, 60)
    stranger = make_ca(tmp_path / "other-ca", "Some other CA")
    configure(data_dir, ralph_tls.url, ralph_tls.user, ralph_tls.password, stranger.cert_file)
    # The environment's bundle would vouch for the LRS: the pinned bundle is the only one consulted.
    env = {**os.environ, "REQUESTS_CA_BUNDLE": str(province_ca.cert_file), "SSL_CERT_FILE": str(province_ca.cert_file)}
    done = cli("sync", "push", "--data", str(data_dir), env=env)
    assert done.returncode != 0
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "certificate" in done.stderr and "lrs_ca_file" in done.stderr and "nothing was sent" in done.stderr
    report = json.loads(done.stdout)
    assert report["sent"] == 0 and report["pending"] == total and report["retries"] == 0
    assert unsent(data_dir) == total
    assert ralph_tls.statements() == [] and ralph_tls.stored_lines() == []
    assert "certificate" in status(data_dir)["last_error"]

    # The province's CA pinned again: everything that waited arrives, once.
    configure(data_dir, ralph_tls.url, ralph_tls.user, ralph_tls.password, province_ca.cert_file)
    again = cli("sync", "push", "--data", str(data_dir))
    assert again.returncode == 0, again.stderr
    assert unsent(data_dir) == 0 and len({s["id"] for s in ralph_tls.statements()}) == total


def test_a_pinned_ca_bundle_that_is_missing_is_named_and_nothing_is_sent(data_dir: Path, ralph_tls: Ralph) -> None:
    total = add_attempts(data_dir, 10)
    configure(data_dir, ralph_tls.url, ralph_tls.user, ralph_tls.password, lrs_ca_file="keys/no-such-ca.pem")
    done = cli("sync", "push", "--data", str(data_dir))
    assert done.returncode != 0 and len(done.stderr.strip().splitlines()) == 1
    assert "lrs_ca_file" in done.stderr and "no-such-ca.pem" in done.stderr
    assert unsent(data_dir) == total and ralph_tls.stored_lines() == []
    assert "no-such-ca.pem" in status(data_dir)["lrs"]["problem"]


class _Capture(BaseHTTPRequestHandler):
    """A forward proxy that records what reaches it and acknowledges it (204), as an LRS would."""

    seen: list[tuple[str, str, str | None]]

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.server.seen.append((self.command, self.path, self.headers.get("Authorization")))  # type: ignore[attr-defined]
        self.send_response(204)
        self.end_headers()

    do_POST = do_PUT = do_GET = _answer

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def capture() -> Iterator[ThreadingHTTPServer]:
    """What the box would send on its way to another host: an http proxy on 127.0.0.1 that sees every request."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Capture)
    server.seen = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    thread.join(5)


def test_plain_http_to_another_host_is_refused_before_anything_is_sent_and_sync_status_says_why(
        data_dir: Path, capture: ThreadingHTTPServer) -> None:
    total = add_attempts(data_dir, 15)
    configure(data_dir, "http://10.20.0.11:8100/xAPI", "box-hill", "s3cret")
    proxy = f"http://127.0.0.1:{capture.server_address[1]}"
    env = {**{k: v for k, v in os.environ.items() if k.lower() not in ("no_proxy", "http_proxy", "all_proxy")},
           "http_proxy": proxy, "HTTP_PROXY": proxy}

    before = status(data_dir)
    assert before["lrs"]["transport"] == "plain http" and "plain http" in before["lrs"]["problem"]
    refused = cli("sync", "push", "--data", str(data_dir), env=env)
    assert refused.returncode != 0
    assert len(refused.stderr.strip().splitlines()) == 1 and "plain http" in refused.stderr
    assert "lrs_allow_insecure_http" in refused.stderr and "Traceback" not in refused.stderr
    assert capture.seen == []  # not one request left the box: no credentials, no records
    assert unsent(data_dir) == total
    after = status(data_dir)
    assert "plain http" in after["last_error"] and after["statements_pending"] == total

    # The scheduler refuses it too, and says so rather than "link down".
    settings = load_settings(data_dir, scheduler_enabled=False)
    assert push_tick(settings) == "failed"
    from edge_server.store.db import open_box_db

    db = open_box_db(data_dir / "box.db")
    try:
        assert "plain http" in get_value(db, LAST_ERROR) and get_value(db, LINK) is None
    finally:
        db.conn.close()
    assert capture.seen == [] and unsent(data_dir) == total

    # Allowed explicitly, the same push does leave the box (through the capturing proxy): the refusal above was
    # the box's own, not a network that happened to be down.
    allowed = cli("sync", "push", "--data", str(data_dir), "--allow-insecure-http", env=env)
    assert allowed.returncode == 0, allowed.stderr
    assert [(m, p) for m, p, _ in capture.seen] == [("POST", "http://10.20.0.11:8100/xAPI/statements")]
    assert capture.seen[0][2] and capture.seen[0][2].startswith("Basic ")


def test_a_https_push_through_thirty_cut_connections_loses_and_doubles_nothing_and_never_blames_the_certificate(
        data_dir: Path, ralph_tls: Ralph, province_ca) -> None:
    from sync import lrs_push
    from tests.cutproxy import CutProxy
    from tests.integration.test_sync_push import push_until_complete

    def never_the_certificate(result: lrs_push.PushResult) -> None:
        assert "certificate" not in (result.error or ""), result.error

    total = add_attempts(data_dir, 400)
    proxy = CutProxy(upstream_port=ralph_tls.port, cuts_wanted=30, max_request_bytes=60_000).start()
    lrs = lrs_push.LrsConfig(url=f"https://127.0.0.1:{proxy.port}/xAPI", user=ralph_tls.user,
                             password=ralph_tls.password, read_timeout_s=10, ca_file=str(province_ca.cert_file))
    try:  # each run is one scheduler run: a cut (in the handshake too) is the link, retried
        result = push_until_complete(data_dir, lrs, check=never_the_certificate)
        assert result.complete, result
    finally:
        proxy.stop()
    assert proxy.cuts_done >= 30
    held = [s["id"] for s in ralph_tls.statements()]
    assert len(held) == len(set(held)) == total
    assert sorted(s["id"] for s in ralph_tls.stored_lines()) == sorted(held)
