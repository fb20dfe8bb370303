"""Zeroconf on the classroom LAN: announce this box, discover the others."""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import re
import socket
import threading
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import ifaddr
from zeroconf import IPVersion, ServiceBrowser, ServiceInfo, ServiceListener, Zeroconf

from edge_server import __version__
from edge_server.settings import Settings

log = logging.getLogger(__name__)

HTTP_TYPE = "_http._tcp.local."
BOX_TYPE = "_edge-server._tcp.local."
# One TXT string is at most 255 bytes, "key=value" included.
TXT_VALUE_MAX = 255 - len("channels=")


def dns_label(name: str, fallback: str = "classroom-box") -> str:
    """A box name turned into a valid host label (RFC 1123): lower case ASCII letters, digits and dashes."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    label = re.sub(r"[^a-z0-9-]+", "-", ascii_name.lower()).strip("-")[:63].strip("-")
    # A name with no Latin letters at all (山村小学) falls back to something unique per box.
    return label or fallback


def channels_txt(channel_ids: list[str], limit: int = TXT_VALUE_MAX) -> str:
    """Channel ids as a comma list, cut at a whole id so it fits in one TXT string."""
    out = ""
    for cid in channel_ids:
        candidate = f"{out},{cid}" if out else cid
        if len(candidate.encode()) > limit:
            break
        out = candidate
    return out


def _channel_ids(settings: Settings) -> list[str]:
    from edge_server.fleet import shareable_channels
    from edge_server.store.db import connect

    if not settings.db_path.exists():
        return []
    db = connect(settings.db_path, readonly=True)
    try:
        return [c.id for c in shareable_channels(db)]  # never the teachers' recordings (local.*)
    finally:
        db.conn.close()


def _box_id(settings: Settings) -> str:
    from edge_server.identity import ProvisionError, load_identity

    try:
        return load_identity(settings.keys_dir).box_id
    except ProvisionError:
        return ""


def _is_ipv4(text: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(text), ipaddress.IPv4Address)
    except ValueError:
        return False


def announced_addresses(settings: Settings) -> list[str]:
    """The IPv4 addresses to publish: the mDNS interfaces, else the bound host, else every non-loopback one."""
    if settings.mdns_interfaces:
        return list(settings.mdns_interfaces)
    if _is_ipv4(settings.host) and settings.host != "0.0.0.0":
        return [settings.host]
    found = [ip.ip for adapter in ifaddr.get_adapters() for ip in adapter.ips
             if isinstance(ip.ip, str) and not ip.ip.startswith("127.")]
    return found or ["127.0.0.1"]


def _zeroconf(interfaces: list[str] | tuple[str, ...] | None) -> Zeroconf:
    if interfaces:
        return Zeroconf(interfaces=list(interfaces), ip_version=IPVersion.V4Only)
    return Zeroconf(ip_version=IPVersion.V4Only)


class Announcement:
    """This box's registrations on the LAN; re-published when its channels change; close() withdraws them."""

    def __init__(self, zc: Zeroconf, infos: list[ServiceInfo], host: str, settings: Settings | None = None,
                 refresh_s: float = 0.0) -> None:
        self.zc, self.infos, self.host = zc, infos, host
        self.closed = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if settings is not None and refresh_s > 0:
            # A pack imported by another process changes the channel list; poll box.db rather than couple to it.
            self._thread = threading.Thread(target=self._watch, args=(settings, refresh_s), daemon=True,
                                            name="mdns-refresh")
            self._thread.start()

    def _watch(self, settings: Settings, every_s: float) -> None:
        while not self._stop.wait(every_s):
            with contextlib.suppress(Exception):  # a busy database or a dropped link: try again next round
                self.update(settings)

    def close(self) -> None:
        """Send goodbye packets for every service, then stop zeroconf."""
        self._stop.set()
        with self._lock:
            if self.closed:
                return
            self.closed = True
            for info in self.infos:
                # A network already gone must not block shutdown.
                with contextlib.suppress(Exception):
                    self.zc.unregister_service(info)
            self.zc.close()

    def update(self, settings: Settings) -> bool:
        """Re-publish the TXT records when they changed (after a channel was imported); True when they did."""
        props = txt_properties(settings)
        with self._lock:
            if self.closed or _decode(self.infos[0].properties) == props:
                return False
            for i, info in enumerate(self.infos):
                new = _service_info(info.type, info.name, info.server, info.port, info.addresses, props)
                self.zc.update_service(new)
                self.infos[i] = new
            return True


def txt_properties(settings: Settings) -> dict[str, str]:
    """The TXT records every announcement carries."""
    channel_ids = _channel_ids(settings)
    return {
        "box_id": _box_id(settings), "name": settings.box_name, "version": __version__,
        "channels": channels_txt(channel_ids), "nchannels": str(len(channel_ids)), "path": "/",
    }


def _service_info(type_: str, name: str, server: str | None, port: int, addresses: list[bytes],
                  props: dict[str, str]) -> ServiceInfo:
    return ServiceInfo(type_, name, addresses=addresses, port=port, properties=props, server=server)


def announce(settings: Settings, refresh_s: float = 30.0) -> Announcement:
    """Register `_http._tcp` and `_edge-server._tcp` for this box, with host name <box-name>.local.

    Every refresh_s seconds the TXT records are re-read from box.db and re-published when they changed.
    """
    props = txt_properties(settings)
    label = dns_label(settings.box_name, fallback=f"classroom-box-{props['box_id'][:6] or 'new'}")
    host = f"{label}.local."
    addresses = [socket.inet_aton(a) for a in announced_addresses(settings)]
    # The instance name is what people read in a browser's list; the box id tail keeps two same-named boxes apart.
    instance = f"{settings.box_name[:40]} ({props['box_id'][:6] or 'new'})"
    zc = _zeroconf(settings.mdns_interfaces)
    infos = [_service_info(t, f"{instance}.{t}", host, settings.port, addresses, props) for t in (BOX_TYPE, HTTP_TYPE)]
    try:
        # Both probes run at once (each takes ~1.7 s of mandated mDNS waiting); allow_name_change: a namesake on
        # the LAN makes ours "name (2)" instead of failing.
        with ThreadPoolExecutor(max_workers=len(infos)) as pool:
            for future in [pool.submit(zc.register_service, info, allow_name_change=True) for info in infos]:
                future.result()
    except BaseException:
        Announcement(zc, infos, host).close()
        raise
    return Announcement(zc, infos, host, settings, refresh_s)


class _Collector(ServiceListener):
    def __init__(self) -> None:
        self.names: set[str] = set()
        self.lock = threading.Lock()

    def add_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        with self.lock:
            self.names.add(name)

    def update_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        self.add_service(zc, type_, name)

    def remove_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        with self.lock:
            self.names.discard(name)


def _decode(props: dict[bytes, bytes | None]) -> dict[str, str]:
    return {k.decode(errors="replace"): (v or b"").decode(errors="replace") for k, v in props.items()}


# What a peer's announcement may put into the URL this box (and the admin page's pull) will fetch from: the path
# is a plain absolute path of safe characters; no "//" (another host), "..", "@" (user-info), "?", "#" or "\\".
_SAFE_PATH = re.compile(r"/[A-Za-z0-9._~/-]{0,199}")
_HOST_NAME = re.compile(r"(?=.{1,253}\Z)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}"
                        r"[A-Za-z0-9])?)*")


def safe_path(path: str) -> bool:
    """Whether an announced TXT `path` is a plain absolute path that keeps the URL on the announced address."""
    return bool(_SAFE_PATH.fullmatch(path)) and "//" not in path and ".." not in path


def usable_address(address: str) -> bool:
    """An IPv4 address literal a box can be reached at (not unspecified, multicast, broadcast or reserved)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return (isinstance(ip, ipaddress.IPv4Address) and str(ip) == address and not ip.is_unspecified
            and not ip.is_multicast and not ip.is_reserved)


def peer_problem(server: str, port: Any, addresses: list[str], path: str) -> str | None:
    """Why a peer's announcement cannot be turned into a URL to fetch from, or None when it can."""
    if not addresses or not all(usable_address(a) for a in addresses):
        return f"addresses {addresses!r} are not all usable IPv4 address literals"
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        return f"port {port!r} is not in 1..65535"
    if server and not _HOST_NAME.fullmatch(server):
        return f"host name {server[:80]!r} is not a plain DNS name"
    if not safe_path(path):
        return f"path {path[:80]!r} is not a plain absolute path"
    return None


def box_from_info(info: ServiceInfo) -> dict[str, Any] | None:
    """One discovered box as DESIGN.md's `discover --json` lists it, or None (logged) for an announcement whose
    address, port, host name or TXT path could send this box elsewhere than the announced address."""
    txt = _decode(info.properties)
    addresses = info.parsed_addresses(IPVersion.V4Only)
    host = (info.server or "").rstrip(".")
    path = txt.get("path", "/")
    problem = peer_problem(host, info.port, addresses, path)
    if problem is not None:
        log.warning("discovery: ignoring the box announced as %r: %s", info.name[:120], problem)
        return None
    return {
        "name": txt.get("name") or info.name.removesuffix("." + BOX_TYPE),
        "host": host,
        "port": info.port,
        "box_id": txt.get("box_id", ""),
        "version": txt.get("version", ""),
        "channels": [c for c in txt.get("channels", "").split(",") if c],
        "addresses": addresses,
        "url": f"http://{addresses[0]}:{info.port}{path}",
    }


def discover(timeout: float = 3.0, interfaces: list[str] | tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    """Browse `_edge-server._tcp` for `timeout` seconds and return every box that answered."""
    zc = _zeroconf(interfaces)
    try:
        collector = _Collector()
        browser = ServiceBrowser(zc, BOX_TYPE, listener=collector)
        deadline = time.monotonic() + timeout
        boxes: dict[str, dict[str, Any]] = {}
        refused: set[str] = set()  # announcements dropped once (and logged once), not resolved again
        # Resolve while browsing so a short timeout still returns what was found early.
        while True:
            with collector.lock:
                pending = [n for n in collector.names if n not in boxes and n not in refused]
            for name in pending:
                left_ms = int(max(0.2, deadline - time.monotonic()) * 1000)
                info = zc.get_service_info(BOX_TYPE, name, timeout=min(left_ms, 1500))
                box = box_from_info(info) if info is not None else None
                if box is not None:
                    boxes[name] = box
                elif info is not None:
                    refused.add(name)
            if time.monotonic() >= deadline:
                break
            time.sleep(0.1)
        browser.cancel()
        return sorted(boxes.values(), key=lambda b: (b["name"], b["box_id"]))
    finally:
        zc.close()
