"""Zeroconf on loopback only: a box announces itself, `edge-server discover` finds it, goodbyes withdraw it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests
from zeroconf import AddressResolverIPv4, IPVersion, ServiceBrowser, ServiceListener, Zeroconf

from edge_server.discovery import BOX_TYPE, announce, discover
from edge_server.identity import load_identity
from edge_server.sample import SAMPLE_CHANNEL
from edge_server.settings import load_settings

EDGE_SERVER = str(Path(sys.executable).with_name("edge-server"))
LOOPBACK = "127.0.0.1"


def _cli_discover(timeout: float = 2.5) -> list[dict]:
    done = subprocess.run([EDGE_SERVER, "discover", "--timeout", str(timeout), "--mdns-interface", LOOPBACK,
                           "--json"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["boxes"]


def _find(box_id: str, boxes: list[dict]) -> dict | None:
    return next((b for b in boxes if b["box_id"] == box_id), None)


def _eventually(search, box_id: str, want=lambda box: True, attempts: int = 4) -> dict | None:
    """mDNS is best effort (one answer per record per second): on a loaded machine, ask again before failing."""
    box = None
    for _ in range(attempts):
        box = _find(box_id, search())
        if box is not None and want(box):
            return box
    return box


class Watcher(ServiceListener):
    """A long-lived browser on loopback: it only forgets a service early when that service says goodbye."""

    def __init__(self) -> None:
        self.zc = Zeroconf(interfaces=[LOOPBACK])
        self.added: set[str] = set()
        self.removed: set[str] = set()
        self.browser = ServiceBrowser(self.zc, BOX_TYPE, listener=self)

    def add_service(self, zc, type_, name):
        self.added.add(name)

    def update_service(self, zc, type_, name):
        pass

    def remove_service(self, zc, type_, name):
        self.removed.add(name)

    def wait_for(self, names: set[str], what: str, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            hit = next((n for n in getattr(self, what) if n.startswith(tuple(names))), None)
            if hit:
                return hit
            time.sleep(0.1)
        raise AssertionError(f"no {what} event for {names} within {timeout} s")

    def close(self) -> None:
        self.browser.cancel()
        self.zc.close()


def test_an_announced_box_is_discovered_with_its_txt_records_and_withdrawn_on_close(sample_data_dir):
    settings = load_settings(sample_data_dir, box_name="Hill School", port=8765, mdns_interfaces=(LOOPBACK,))
    box_id = load_identity(settings.keys_dir).box_id
    watcher = Watcher()
    announcement = announce(settings)
    try:
        found = _eventually(_cli_discover, box_id)
        # The friendly host name answers plain mDNS address queries too (what a tablet's browser sends).
        resolver = AddressResolverIPv4("hill-school.local.")
        assert resolver.request(watcher.zc, 3000)
        assert [str(ip) for ip in resolver.ip_addresses_by_version(IPVersion.V4Only)] == [LOOPBACK]
        name = watcher.wait_for({"Hill School"}, "added")
        announcement.close()
        # Records live 75 s and more in caches: a removal this quick can only come from a goodbye packet.
        assert watcher.wait_for({name}, "removed", timeout=5)
    finally:
        announcement.close()
        watcher.close()
    assert found is not None
    assert found["name"] == "Hill School"
    assert found["host"] == "hill-school.local"
    assert found["port"] == 8765
    assert found["addresses"] == [LOOPBACK]
    assert found["channels"] == [SAMPLE_CHANNEL]
    assert found["version"]
    assert _find(box_id, discover(1.5, [LOOPBACK])) is None


def test_the_announcement_follows_a_change_of_channels(data_dir):
    settings = load_settings(data_dir, port=8766, mdns_interfaces=(LOOPBACK,))
    box_id = load_identity(settings.keys_dir).box_id
    announcement = announce(settings, refresh_s=0)
    try:
        assert _eventually(lambda: discover(2.5, [LOOPBACK]), box_id)["channels"] == []
        from edge_server.store.db import open_box_db

        db = open_box_db(settings.db_path)
        db.execute("INSERT INTO channels (id, title, version, path, activated_at) VALUES "
                   "('cn.k12.math.g3', 'Maths 3', 2, 'x', 'now')")
        db.conn.close()
        assert announcement.update(settings)
        assert not announcement.update(settings)
        updated = _eventually(lambda: discover(2.5, [LOOPBACK]), box_id, lambda b: b["channels"] != [])
        assert updated["channels"] == ["cn.k12.math.g3"]
    finally:
        announcement.close()


def test_serve_announce_is_discoverable_and_unregisters_on_sigterm(sample_data_dir):
    box_id = load_identity(sample_data_dir / "keys").box_id
    box_name = load_settings(sample_data_dir).box_name
    watcher = Watcher()
    env = {**os.environ, "EDGE_SERVER_SCHEDULER_ENABLED": "false", "EDGE_SERVER_AI_JOBS_ENABLED": "false"}
    server = subprocess.Popen(
        [EDGE_SERVER, "serve", "--data", str(sample_data_dir), "--host", LOOPBACK, "--port", "0", "--announce",
         "--mdns-interface", LOOPBACK], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        start_new_session=True)
    try:
        port = json.loads(server.stdout.readline())["port"]
        assert requests.get(f"http://{LOOPBACK}:{port}/share/v1/channels", timeout=10).status_code == 200
        found, deadline = None, time.monotonic() + 30
        while found is None and time.monotonic() < deadline:
            found = _find(box_id, _cli_discover())
        assert found is not None, "serve --announce never showed up on mDNS"
        assert found["port"] == port and found["channels"] == [SAMPLE_CHANNEL]
        assert requests.get(found["url"] + "share/v1/channels", timeout=10).json()["box_id"] == box_id
        name = watcher.wait_for({box_name}, "added")
        server.send_signal(signal.SIGTERM)
        assert watcher.wait_for({name}, "removed", timeout=10)
    finally:
        watcher.close()
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        finally:
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGKILL)
    assert server.returncode == 0, server.stderr.read()[-2000:]
    assert _find(box_id, discover(1.5, [LOOPBACK])) is None
