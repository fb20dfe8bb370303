"""CLI commands: serve (gunicorn with threads, plus the one background scheduler process)."""

from __future__ import annotations

import errno
import json
import os
import socket
import sys
from pathlib import Path
from typing import Any

import click
from gunicorn.app.base import BaseApplication

from edge_server.settings import Settings, load_settings

GRACEFUL_TIMEOUT_S = 10
KEEPALIVE_S = 5
MALLOC_ARENAS = 2


def _bind_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def public_url(host: str, port: int) -> str:
    """The URL to print: a wildcard address becomes localhost."""
    if host in ("", "0.0.0.0", "::"):
        host = "localhost"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _port_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _check_port_free(host: str, port: int) -> None:
    """Fail in one line when the port is taken, instead of gunicorn's retries and tracebacks."""
    from edge_server.cli import fail

    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                fail(f"port {port} on {host} is already in use: stop the other server or pass --port")
            fail(f"cannot listen on {host}:{port}: {exc.strerror}")


class BoxServer(BaseApplication):
    """gunicorn, configured in code: gthread workers over the already-built Flask app."""

    def __init__(self, app: Any, settings: Settings, options: dict[str, Any], nginx: str | None = None) -> None:
        self.application = app
        self.settings = settings
        self.nginx = nginx  # the front's binary, or None when gunicorn faces the LAN itself
        self.options = options
        self.supervisor: Any = None
        super().__init__()

    def load_config(self) -> None:
        options = {**self.options, "when_ready": self.when_ready, "on_exit": self.on_exit,
                   "post_fork": self.post_fork}
        for key, value in options.items():
            # Skip options this gunicorn does not know (control_socket_disable is new in 24).
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load(self) -> Any:
        return self.application

    def when_ready(self, server: Any) -> None:
        """In the master, once listening: print the URL, then start the one scheduler process."""
        host, port = server.LISTENERS[0].sock.getsockname()[:2]
        front = None
        if self.nginx is not None:
            front = self._front(port)
            host, port = self.settings.host, self.settings.port
        settings = self.settings.with_overrides(port=port)
        from edge_server.supervisor import Supervisor

        # No waiting for the models: workers are forked after this hook. nginx is waited for (a few ms), so that
        # the URL printed below answers.
        self.supervisor = Supervisor(settings, server, front=front)
        self.supervisor.start()
        url = public_url(self.settings.host, port)
        https_port = self.settings.https_port if front is not None and self.settings.https_port > 0 else None
        click.echo(json.dumps({"url": url, "host": host, "port": port, "pid": server.pid, "https_port": https_port}))
        sys.stdout.flush()
        via = " behind nginx" if front is not None else ""
        if https_port:
            via += f" (https on port {https_port})"
        click.echo(f"classroom box serving {settings.data_dir} on {url}{via} "
                   f"({self.cfg.workers} worker(s) x {self.cfg.threads} threads)", err=True)

    def _front(self, app_port: int) -> Any:
        from edge_server import tls
        from edge_server.web.front import FrontPlan, NginxFront, data_owner

        s = self.settings
        https = tls.files(s) if s.https_port > 0 else None
        plan = FrontPlan(prefix=s.run_dir / "nginx", listen_host=s.host, listen_port=s.port, app_port=app_port,
                         workers=int(self.cfg.workers), token=s.front_token, max_body_mb=s.max_upload_mb,
                         small_body_kb=s.max_request_kb,
                         user=data_owner(s.data_dir) if os.geteuid() == 0 else None,
                         https_port=s.https_port if https else 0, cert_file=https and https.server_cert,
                         key_file=https and https.server_key)
        return NginxFront(self.nginx, plan, renew_certificate=(lambda: tls.ensure(s).reissued) if https else None)

    def post_fork(self, server: Any, worker: Any) -> None:
        """In each new worker: start its heap report when heap_report_s asks for one."""
        if self.settings.heap_report_s > 0:
            from edge_server.malloc import report_heap_every

            report_heap_every(self.settings.heap_report_s, worker.log.info)

    def on_exit(self, server: Any) -> None:
        """In the master, on the way out: stop the scheduler and model processes."""
        if self.supervisor is not None:
            self.supervisor.stop()
        click.echo("classroom box stopped", err=True)


def _with_https(settings: Settings, any_port: bool) -> Settings:
    """The https port settled (a free one when serve was asked for any port) and the certificate made or renewed."""
    from edge_server import tls
    from edge_server.cli import fail
    from edge_server.web import front

    if settings.https_port == 0:
        return settings
    port = front.free_port(settings.host) if any_port and settings.https_port < 0 else tls.https_port(settings)
    if settings.https_port < 0 and not _port_free(settings.host, port):
        # the default port (another box, another server): serve http as before, and say what is lost
        click.echo(f"warning: port {port} is in use, so no https this time: tablets on the LAN get no offline "
                   "pages (set https_port in config.toml)", err=True)
        return settings.with_overrides(https_port=0)
    _check_port_free(settings.host, port)
    settings = settings.with_overrides(https_port=port)
    try:
        issued = tls.ensure(settings)
    except tls.TlsError as exc:
        fail(f"https: {exc}")
    if issued.reissued:
        click.echo(f"https certificate made: {issued.reason}", err=True)
    return settings


def run_server(settings: Settings, *, workers: int | None = None, threads: int | None = None,
               access_log: bool = False) -> None:
    """Open and migrate box.db, build the app, and serve it until SIGTERM/SIGINT (blocks).

    On SIGTERM, and on SIGINT too with gthread workers, requests in flight finish (up to GRACEFUL_TIMEOUT_S)
    and the scheduler process is stopped; a second Ctrl-C cuts that wait to two seconds.
    """
    from edge_server.malloc import limit_arenas
    from edge_server.store.db import open_box_db
    from edge_server.web.app import create_app

    # Before any thread or worker exists, so that every worker inherits the cap.
    limit_arenas(MALLOC_ARENAS)
    # Migrate once here, in the master, before any worker is forked.
    open_box_db(settings.db_path).conn.close()
    from models.selftest import selftest_if_needed

    # Prove the models run on this CPU before serving (once per machine, wheel and models; each in a child process).
    report = selftest_if_needed(settings.model_options(), settings.selftest_path)
    for model in report["models"]:
        if not model["ok"]:
            without = ("Chinese and French lessons get no transcript" if model["role"] == "asr_multilingual"
                       else "extractive chapters, summaries and answers")
            click.echo(f"warning: the {model['role']} model failed its self-test ({model['error']}); the box serves "
                       f"without it ({without})", err=True)
    from edge_server.web import front

    try:
        nginx = front.wanted(settings.front)
    except (ValueError, FileNotFoundError) as exc:
        from edge_server.cli import fail

        fail(str(exc))
    bind = _bind_address(settings.host, settings.port)
    asked_any_port = settings.port == 0
    if nginx is not None:
        # nginx takes the box's address and port; the app listens on loopback only, behind it.
        port = settings.port or front.free_port(settings.host)
        settings = settings.with_overrides(port=port, front_token=front.new_token())
        settings = _with_https(settings, any_port=asked_any_port)
        bind = "127.0.0.1:0"
    else:
        click.echo("warning: no nginx front (front = none, or nginx is not installed): the box serves plain http, "
                   "so tablets on the LAN get no offline pages and no take-home lessons (browsers need https for "
                   "them); install nginx-light and set front = \"auto\"", err=True)
    app = create_app(settings)
    options = {
        "bind": [bind],
        "workers": workers or settings.workers,
        "threads": threads or settings.threads,
        "worker_class": "gthread",
        "preload_app": True,
        # No "sendfile" key: gunicorn treats ANY value of that setting as --no-sendfile; unset means enabled.
        "keepalive": KEEPALIVE_S,
        "graceful_timeout": GRACEFUL_TIMEOUT_S,
        "accesslog": "/dev/stderr" if access_log else None,  # "-" would be stdout, which is for JSON
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": f"edge-server {settings.box_name}",
        # gunicorn >= 24 opens a control socket in $HOME by default; several boxes on one machine would collide.
        "control_socket_disable": True,
    }
    BoxServer(app, settings, options, nginx).run()


def register(main: click.Group) -> None:
    """Attach this module's commands to the edge-server group."""
    # Imported here, not at the top: edge_server.cli imports this module while it is being built.
    from edge_server.cli import data_option, fail, info

    @main.command()
    @data_option
    @click.option("--host", help="Address to listen on (default from config, 0.0.0.0).")
    @click.option("--port", type=int, help="Port to listen on (default from config, 8080; 0 picks a free one).")
    @click.option("--workers", type=click.IntRange(1, 64),
                  help="Web worker processes (default from config, else one per CPU core).")
    @click.option("--threads", type=click.IntRange(1, 1024), help="Threads per worker (default from config, 32).")
    @click.option("--announce/--no-announce", default=None, help="Announce the box on the LAN with mDNS.")
    @click.option("--mdns-interface", "mdns_interfaces", multiple=True, help="Limit mDNS to this address.")
    @click.option("--access-log", is_flag=True, help="Log every request on stderr.")
    @click.option("--front", type=click.Choice(["auto", "nginx", "none"]),
                  help="Run nginx in front to serve media (default from config, auto: when nginx is installed).")
    def serve(data_dir: Path, host: str | None, port: int | None, workers: int | None, threads: int | None,
              announce: bool | None, mdns_interfaces: tuple[str, ...], access_log: bool, front: str | None) -> None:
        """Serve the box on the LAN: gunicorn (threads) for the app, behind the box's own nginx when installed."""
        if not (data_dir / "box.db").exists():
            fail(f"no box in {data_dir}: run `edge-server init --data {data_dir} --trust PUB` first")
        settings = load_settings(data_dir, host=host, port=port, workers=workers, threads=threads,
                                 announce=announce, mdns_interfaces=tuple(mdns_interfaces) or None, front=front)
        _check_port_free(settings.host, settings.port)
        from edge_server.identity import ProvisionError, ensure_unique_identity

        try:
            check = ensure_unique_identity(data_dir)
        except ProvisionError as exc:
            fail(str(exc))
        if check.rekeyed:
            info(f"this disk was cloned from another box: new identity {check.identity.box_id}")
        run_server(settings, access_log=access_log)

    @main.command()
    @data_option
    @click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")
    def status(data_dir: Path, as_json: bool) -> None:
        """The box's processes (web, models, scheduler), its last model self-test and its job queue."""
        if not (data_dir / "box.db").exists():
            fail(f"no box in {data_dir}: run `edge-server init --data {data_dir} --trust PUB` first")
        facts = box_status(load_settings(data_dir))
        if as_json:
            click.echo(json.dumps(facts, indent=2))
            return
        if not facts["processes"]:
            click.echo("not serving")
        for p in facts["processes"]:
            click.echo(f"{p['role']:9s} pid {p['pid']}")
        for m in (facts["models"] or {}).get("models", []):
            click.echo(f"model {m['role']:4s} {m['id'] or '-'}: {'ok' if m['ok'] else 'FAILED: ' + str(m['error'])}")
        click.echo(f"jobs: {facts['jobs']['counts']}")


def box_status(settings: Settings) -> dict[str, Any]:
    """What `edge-server status` reports: live processes, the last self-test, the model process, the queue."""
    from edge_server.jobs import watch
    from edge_server.supervisor import running_processes
    from models.selftest import read_state
    from models.worker import ModelClient

    processes = running_processes(settings.run_dir)
    pinged = ModelClient(settings.models_address).ping(1.0) if processes else None
    return {"processes": processes, "models": read_state(settings.selftest_path) or None,
            "models_process": pinged, "jobs": watch(settings)}
