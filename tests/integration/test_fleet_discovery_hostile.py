"""Real mDNS on loopback: a box announcing a TXT path that would send the pull elsewhere is dropped by discover,
with a log line, while an honest box announced beside it is listed."""

from __future__ import annotations

import logging
import socket

from zeroconf import ServiceInfo, Zeroconf

from edge_server.discovery import BOX_TYPE, discover

LOOPBACK = "127.0.0.1"


def _register(zc: Zeroconf, box_id: str, path: str, port: int) -> ServiceInfo:
    info = ServiceInfo(BOX_TYPE, f"Box {box_id}.{BOX_TYPE}", addresses=[socket.inet_aton(LOOPBACK)], port=port,
                       properties={"box_id": box_id, "name": f"Box {box_id}", "path": path},
                       server=f"box-{box_id}.local.")
    zc.register_service(info)
    return info


def test_discover_drops_a_box_whose_announced_path_points_at_another_host_and_keeps_an_honest_one(caplog):
    zc = Zeroconf(interfaces=[LOOPBACK])
    registered: list[ServiceInfo] = []
    try:
        registered.append(_register(zc, "hostile1", "@evil.example/share", 8781))
        registered.append(_register(zc, "honest1", "/", 8782))
        found: dict[str, dict] = {}
        with caplog.at_level(logging.WARNING, logger="edge_server.discovery"):
            for _ in range(4):  # mDNS is best effort on a loaded machine: ask again before failing
                found = {b["box_id"]: b for b in discover(2.5, [LOOPBACK])}
                if "honest1" in found and "ignoring the box announced as 'Box hostile1" in caplog.text:
                    break
        assert found["honest1"]["url"] == f"http://{LOOPBACK}:8782/"
        assert "hostile1" not in found
        assert "ignoring the box announced as 'Box hostile1" in caplog.text and "@evil.example" in caplog.text
    finally:
        for info in registered:
            zc.unregister_service(info)
        zc.close()
