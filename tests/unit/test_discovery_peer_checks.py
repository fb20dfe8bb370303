"""A peer's mDNS announcement becomes a URL this box fetches from (the admin page's pull): only an IPv4 address
literal, a port in 1..65535, a plain host name and a plain absolute TXT path are accepted; anything else drops
that peer with a log line."""

from __future__ import annotations

import logging
import socket

import pytest
from zeroconf import ServiceInfo

from edge_server.discovery import BOX_TYPE, box_from_info


def _info(path: str | None = "/", port: int = 8080, address: str = "127.0.0.1",
          server: str = "hill-school.local.") -> ServiceInfo:
    props = {"box_id": "abc123", "name": "Hill School", "version": "1", "channels": "cn.k12.science.g5"}
    if path is not None:
        props["path"] = path
    return ServiceInfo(BOX_TYPE, f"Hill School (abc123).{BOX_TYPE}", addresses=[socket.inet_aton(address)],
                       port=port, properties=props, server=server)


@pytest.mark.parametrize("path", ["/", "/box/", "/classroom-box/v1", None])
def test_a_peer_with_a_plain_path_gets_a_url_on_its_announced_address(path):
    box = box_from_info(_info(path))
    assert box is not None
    assert box["url"] == f"http://127.0.0.1:8080{path or '/'}"


@pytest.mark.parametrize("path", [
    "//evil.example/", "@evil.example/", "/@evil.example", ".evil.example", "evil", "", "/../admin", "/a/../b",
    "/?next=http://evil.example", "/#x", "/\\evil.example", "/a//b", "/%2F%2Fevil.example", "http://evil.example/",
    "/ok\n", "/with space", "/" + "a" * 240,
])
def test_a_peer_whose_path_would_leave_its_address_is_dropped_with_a_log_line(path, caplog):
    with caplog.at_level(logging.WARNING, logger="edge_server.discovery"):
        assert box_from_info(_info(path)) is None
    assert "ignoring the box announced as" in caplog.text and "path" in caplog.text


def test_a_peer_announcing_port_zero_is_dropped_with_a_log_line(caplog):
    with caplog.at_level(logging.WARNING, logger="edge_server.discovery"):
        assert box_from_info(_info(port=0)) is None
    assert "port 0" in caplog.text


@pytest.mark.parametrize("address", ["0.0.0.0", "224.0.0.251", "255.255.255.255"])
def test_a_peer_announcing_an_address_nobody_can_be_reached_at_is_dropped(address, caplog):
    with caplog.at_level(logging.WARNING, logger="edge_server.discovery"):
        assert box_from_info(_info(address=address)) is None
    assert "address" in caplog.text


@pytest.mark.parametrize("server", ["user@evil.example.", "evil.example:80.", "http://evil.example."])
def test_a_peer_whose_host_name_holds_user_info_a_port_or_a_scheme_is_dropped(server, caplog):
    with caplog.at_level(logging.WARNING, logger="edge_server.discovery"):
        assert box_from_info(_info(server=server)) is None
    assert "host name" in caplog.text
