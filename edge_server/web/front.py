"""The box's front: nginx on the public port, serving lesson media itself and passing everything else to the app.

A Python server parses every request in Python: on a 2-core box even a 20-line WSGI app reaches only a fifth of
nginx's media throughput, and a class of tablets streaming video is hundreds of range requests a second. So, when
nginx is installed, `edge-server serve` runs its own nginx (no system service, no root needed) on the box's
address and port, and gunicorn listens on loopback behind it.

The app still decides who may read what. For audio, video and raster images nginx asks the app once per channel
and cookie (`auth_request` to /media-access/<channel>, answered by media.MediaAccessApp), caches a "yes" for at most
ACCESS_CACHE_S seconds (never for the school's own recordings, and never past a pack's expiry), and then serves
the file from the folder the app named. A "no", a missing file, or any other type (captions, HTML, SVG, PDF: the
app adds their sandbox and download headers) goes to the app itself, which answers exactly as without the front.
"""

from __future__ import annotations

import contextlib
import ctypes
import grp
import logging
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

log = logging.getLogger("edge_server.web.front")

NGINX_CANDIDATES = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")
MODES = ("auto", "nginx", "none")
ACCESS_CACHE_S = 10
# Served by nginx directly: files whose type runs no script and needs no app header (see media.INLINE_TYPES).
FRONT_TYPES: dict[str, str] = {
    "mp4": "video/mp4", "m4v": "video/mp4", "webm": "video/webm", "ogv": "video/ogg",
    "mp3": "audio/mpeg", "m4a": "audio/mp4", "aac": "audio/aac", "ogg": "audio/ogg", "oga": "audio/ogg",
    "opus": "audio/ogg", "wav": "audio/wav", "flac": "audio/flac", "weba": "audio/webm",
    "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp",
}
# The header nginx adds to its access checks: the app answers /media-access only with this per-start secret.
TOKEN_HEADER = "X-Edge-Front"
STOP_WAIT_S = 5.0
# nginx must drop an idle connection to gunicorn before gunicorn does (its keep-alive, cli/serve.py KEEPALIVE_S = 5):
# a request sent on a connection gunicorn is closing gets 502, and nginx never retries a POST (a lost answer).
UPSTREAM_IDLE_S = 2
RENEW_CHECK_S = 60.0  # how often the certificate is compared with the box's addresses (a new DHCP lease)
# The only views that take more than the small body (those marked with web.app.body_limit: a recording, a class
# list): nginx refuses a larger body to any other path itself. The app refusing it instead, before reading it, makes
# gunicorn drop the connection while nginx is still sending the body, and the client gets 502 for its 413.
LARGE_BODY_PATHS = r"^/teacher/(?:recordings/|class/[0-9]+/roster)$"
# /media/<channel>/<path>: no empty or hidden path segment (as media.clean_relative_path), one of FRONT_TYPES
MEDIA_LOCATION = (r"^/media/(?<media_channel>[A-Za-z0-9][A-Za-z0-9._-]*)/"
                  r"(?<media_file>(?:[^/.][^/]*/)*[^/.][^/]*\.(?i:{extensions}))$")


@dataclass(frozen=True)
class FrontPlan:
    """Everything nginx's configuration depends on."""

    prefix: Path  # nginx's own folder: config, pid, temp files, the access cache
    listen_host: str
    listen_port: int
    app_port: int  # gunicorn on 127.0.0.1
    workers: int
    token: str
    max_body_mb: int  # the largest body of all, a teacher's recording (settings.max_upload_mb)
    small_body_kb: int  # every other request's (settings.max_request_kb)
    user: str | None = None  # only when started as root: the owner of the data folder
    https_port: int = 0  # 0: http only
    cert_file: Path | None = None  # server certificate (+ chain) and key for https (edge_server/tls.py)
    key_file: Path | None = None


def find_nginx() -> str | None:
    """The nginx binary, or None when it is not installed."""
    found = shutil.which("nginx")
    if found:
        return found
    return next((path for path in NGINX_CANDIDATES if os.access(path, os.X_OK)), None)


def wanted(mode: str) -> str | None:
    """The nginx binary to run for a `front` setting; None for none (or auto without nginx); raises for nginx."""
    if mode not in MODES:
        raise ValueError(f"front must be one of {', '.join(MODES)}, not {mode!r}")
    if mode == "none":
        return None
    binary = find_nginx()
    if binary is None and mode == "nginx":
        raise FileNotFoundError("front = \"nginx\" but nginx is not installed: apt-get install nginx-light "
                                "(or set front = \"auto\")")
    return binary


def new_token() -> str:
    """A per-start secret shared by the app and its nginx."""
    return secrets.token_urlsafe(24)


def free_port(host: str = "127.0.0.1") -> int:
    """A free TCP port on host (nginx cannot report a port the kernel picked); tests and benches use it too."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def data_owner(data_dir: Path) -> str:
    """`user group` of the data folder, for nginx's workers when the box runs as root."""
    st = data_dir.stat()
    try:
        user = pwd.getpwuid(st.st_uid).pw_name
        group = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        return "root root"
    return f"{user} {group}"


def _listen(host: str, port: int) -> str:
    if host in ("", "0.0.0.0"):
        return str(port)
    if host == "::":
        return f"[::]:{port} ipv6only=off"
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def nginx_config(plan: FrontPlan) -> str:
    """nginx.conf for a plan (pure)."""
    p = plan.prefix
    types = "\n".join(f"    {mime} {ext};" for ext, mime in FRONT_TYPES.items())
    extensions = "|".join(FRONT_TYPES)
    proxy = """
      proxy_pass http://box;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Edge-Front "";
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_read_timeout 300s;
      proxy_send_timeout 300s;"""
    user = f"user {plan.user};\n" if plan.user else ""
    locations = _locations(plan, extensions, proxy)
    if plan.https_port:
        # On http, loopback (a secure context already), the machines' JSON, the CA and its page stay; the rest goes
        # to https, where the browser gives the pupils' pages their service worker.
        servers = f"""  map $host $edge_loopback {{
    default 0;
    localhost 1;
    127.0.0.1 1;
    "[::1]" 1;
  }}
  map $uri $edge_plain_path {{
    default 0;
    /ca.crt 1;
    /install 1;
    ~^/(static|api|share)/ 1;
  }}
  server {{
    listen {_listen(plan.listen_host, plan.listen_port)} backlog=1024;
    set $edge_stay "$edge_loopback$edge_plain_path";
    if ($edge_stay = "00") {{
      return 308 https://$host{_port_suffix(plan.https_port)}$request_uri;
    }}
{locations}
  }}
  server {{
    listen {_listen(plan.listen_host, plan.https_port)} ssl http2 backlog=1024;
    ssl_certificate {plan.cert_file};
    ssl_certificate_key {plan.key_file};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:edge_tls:1m;
    ssl_session_timeout 1h;
    # the app's cookies travel over https only, once a tablet is there
    proxy_cookie_flags ~ secure;
{locations}
  }}"""
    else:
        servers = f"""  server {{
    listen {_listen(plan.listen_host, plan.listen_port)} backlog=1024;
{locations}
  }}"""
    return f"""# written by edge-server serve at each start; edits are lost
{user}daemon off;
master_process on;
worker_processes {max(1, plan.workers)};
pid {p}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  server_tokens off;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 30s;
  keepalive_requests 10000;
  client_body_temp_path {p}/tmp/body;
  proxy_temp_path {p}/tmp/proxy;
  fastcgi_temp_path {p}/tmp/fastcgi;
  uwsgi_temp_path {p}/tmp/uwsgi;
  scgi_temp_path {p}/tmp/scgi;
  client_max_body_size {plan.small_body_kb}k;
  # the app's own 413 answer: JSON to the API and to a JSON body (web.app._too_large), a page to a form
  map "$uri $content_type" $edge_too_large {{
    default /_front/too-large.html;
    "~^/api/" /_front/too-large.json;
    "~ application/json" /_front/too-large.json;
  }}
  default_type application/octet-stream;
  types {{
{types}
  }}
  proxy_cache_path {p}/access levels=1 keys_zone=media_access:1m max_size=16m inactive=60s use_temp_path=off;
  upstream box {{
    server 127.0.0.1:{plan.app_port};
    keepalive 32;
    keepalive_timeout {UPSTREAM_IDLE_S}s;
  }}
{servers}
}}
"""


def _port_suffix(port: int) -> str:
    return "" if port == 443 else f":{port}"


def _too_large_page(reason: str) -> str:
    """The page nginx answers a form whose body is too large with (as werkzeug's own 413 page)."""
    return (f"<!doctype html><html lang=en><title>413 Request Entity Too Large</title>"
            f"<h1>Request Entity Too Large</h1><p>{reason}.</p></html>")


def _locations(plan: FrontPlan, extensions: str, proxy: str) -> str:
    """The locations both servers share: media from disk after the app's check, everything else to the app."""
    small = f"the request body is larger than {plan.small_body_kb} KiB"
    return f"""    # a body over its path's limit is refused here, and read to its end so that the client hears why
    error_page 413 $edge_too_large;
    location = /_front/too-large.json {{
      internal;
      default_type application/json;
      return 413 '{{"error": "{small}"}}';
    }}
    location = /_front/too-large.html {{
      internal;
      default_type text/html;
      return 413 '{_too_large_page(small)}';
    }}
    location = /_front/too-large-upload.html {{
      internal;
      default_type text/html;
      return 413 '{_too_large_page(f"the file is larger than {plan.max_body_mb} MB")}';
    }}
    location ~ "{LARGE_BODY_PATHS}" {{{proxy}
      client_max_body_size {plan.max_body_mb + 1}m;
      error_page 413 /_front/too-large-upload.html;
    }}
    # the app's own checks, never reachable from outside
    location ^~ /media-access/ {{ return 404; }}
    location = /_front/access {{
      internal;
      proxy_pass http://box/media-access/$media_channel;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header Range "";
      proxy_set_header If-Range "";
      proxy_set_header If-None-Match "";
      proxy_set_header If-Modified-Since "";
      proxy_set_header Cookie $http_cookie;
      proxy_set_header {TOKEN_HEADER} "{plan.token}";
      proxy_cache media_access;
      proxy_cache_key "$media_channel|$http_cookie";
      proxy_cache_valid 200 {ACCESS_CACHE_S}s;
      proxy_cache_methods GET HEAD;
    }}
    location ~ "{MEDIA_LOCATION.format(extensions=extensions)}" {{
      auth_request /_front/access;
      auth_request_set $media_folder $upstream_http_x_media_folder;
      auth_request_set $media_cache $upstream_http_x_media_cache_control;
      alias $media_folder/$media_file;
      disable_symlinks on;
      etag on;
      add_header Cache-Control $media_cache always;
      add_header X-Content-Type-Options nosniff always;
      error_page 401 403 404 405 500 = @app;
    }}
    location @app {{{proxy}
    }}
    location / {{{proxy}
    }}"""


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """nginx gets SIGTERM if `edge-server serve` is killed outright, so no orphan holds the port."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _nginx_processes(group: int) -> list[int]:
    """The pids of the live nginx processes in process group `group` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name, rest = stat[stat.find("(") + 1:stat.rfind(")")], stat[stat.rfind(")") + 1:].split()
        if name == "nginx" and rest[0] not in ("Z", "X") and int(rest[2]) == group:
            found.append(int(entry.name))
    return found


def _kill_orphans() -> None:
    """SIGKILL to the nginx processes of this server's process group, called when its master is gone.

    The workers of a master killed outright live on, holding the box's port and answering 502; nginx stays in the
    server's group so that killing the group (the box dying) takes nginx down at the same instant.
    """
    for pid in _nginx_processes(os.getpgrp()):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


class NginxFront:
    """One nginx master with its workers, started, watched and stopped by the supervisor."""

    def __init__(self, binary: str, plan: FrontPlan, stderr: IO[Any] | int | None = None,
                 renew_certificate: Callable[[], bool] | None = None) -> None:
        self.binary = binary
        self.plan = plan
        self.stderr = stderr
        # called now and then: True when it wrote a new certificate (the box's addresses changed), so nginx reloads
        self.renew_certificate = renew_certificate
        self.renew_check_s = RENEW_CHECK_S
        self._process: subprocess.Popen[bytes] | None = None
        self._renew_checked = time.monotonic()
        self._cert_seen = self._cert_stamp()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def write_config(self) -> Path:
        prefix = self.plan.prefix
        for sub in ("tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi", "access"):
            (prefix / sub).mkdir(parents=True, exist_ok=True)
        conf = prefix / "nginx.conf"
        tmp = prefix / "nginx.conf.tmp"
        tmp.write_text(nginx_config(self.plan))
        tmp.chmod(0o600)  # it holds the per-start token
        os.replace(tmp, conf)
        return conf

    def start(self, timeout_s: float = 10.0) -> None:
        """Start nginx and wait until it accepts connections on its port."""
        conf = self.write_config()
        self._cert_seen = self._cert_stamp()  # what this nginx loads
        self._process = subprocess.Popen(  # noqa: S603 - our own binary and arguments
            [self.binary, "-p", str(self.plan.prefix), "-c", str(conf), "-e", "stderr"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.stderr,
            preexec_fn=_die_with_parent)  # noqa: PLW1509 - prctl only, no locks taken
        host = "127.0.0.1" if self.plan.listen_host in ("", "0.0.0.0") else self.plan.listen_host
        host = "::1" if host == "::" else host
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"nginx exited at start with status {self._process.returncode}")
            try:
                with socket.create_connection((host, self.plan.listen_port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"nginx did not listen on port {self.plan.listen_port} within {timeout_s:.0f} s")

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def restart_if_dead(self) -> bool:
        """Start nginx again when it has died; True when it did."""
        if self._process is None or self.alive():
            return False
        log.warning("nginx front stopped (status %s); starting it again", self._process.returncode)
        _kill_orphans()
        self.start()
        return True

    def _cert_stamp(self) -> tuple[int, int] | None:
        try:
            st = self.plan.cert_file.stat() if self.plan.cert_file else None
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_ino) if st else None

    def refresh_certificate(self) -> bool:
        """At most every renew_check_s: a new certificate when the box's names or addresses changed (or one written
        by `edge-server tls renew`), then a reload."""
        if self.renew_certificate is None or time.monotonic() - self._renew_checked < self.renew_check_s:
            return False
        self._renew_checked = time.monotonic()
        self.renew_certificate()
        stamp = self._cert_stamp()
        if stamp == self._cert_seen:
            return False
        self._cert_seen = stamp
        if self.alive():
            assert self._process is not None
            log.info("new https certificate for the box's names and addresses; nginx reloads it")
            self._process.send_signal(signal.SIGHUP)  # new workers with the new certificate, no request dropped
        return True

    def stop(self) -> None:
        """Graceful stop (SIGQUIT: finish the responses in flight), then SIGKILL, to the workers too."""
        if self._process is None:
            return
        if self.alive():
            self._process.send_signal(signal.SIGQUIT)
            try:
                self._process.wait(STOP_WAIT_S)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        _kill_orphans()
