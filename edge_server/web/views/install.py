"""Views: the box's CA for tablets to install (/ca.crt) and the page that tells a teacher how (/install).

Both are answered on plain http too (the front does not send them to https): a tablet fetches the CA before it
can trust the box's https. The certificates themselves are edge_server/tls.py's.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from cryptography import x509
from flask import Blueprint, Flask, Response, render_template, request

from edge_server import tls
from edge_server.web.app import get_settings

bp = Blueprint("install", __name__)


def _https_port() -> int:
    """The port the front serves https on for this start, 0 when there is none (no front, or https off)."""
    settings = get_settings()
    return settings.https_port if settings.front_token and settings.https_port > 0 else 0


def _box_host() -> str:
    """The name tablets reach the box by: the one this page was asked by, unless that is the box itself."""
    host = request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
    try:
        loopback = ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        loopback = host == "localhost"
    return tls.mdns_name(get_settings()) if loopback else host


@bp.get("/ca.crt")
def ca_certificate() -> Any:
    """The CA that signs the box's https certificate, as Android's certificate installer takes it."""
    settings = get_settings()
    try:
        pem = tls.ca_pem(settings)
    except tls.TlsError:
        return Response("This box has no certificate yet.\n", 404, mimetype="text/plain")
    from edge_server.discovery import dns_label

    return Response(pem, mimetype="application/x-x509-ca-cert", headers={
        "Content-Disposition": f'attachment; filename="{dns_label(settings.box_name)}-ca.crt"',
        "Cache-Control": "no-cache"})


@bp.get("/install")
def install() -> Any:
    """How a teacher installs the box's CA on a tablet, with a QR code of its download address."""
    import segno

    settings = get_settings()
    port, host = _https_port(), _box_host()
    ca = None
    try:
        cert = x509.load_pem_x509_certificate(tls.ca_pem(settings))
        ca = {"sha256": tls.fingerprint(cert), "subject": cert.subject.rfc4514_string()}
    except tls.TlsError:
        pass
    download = f"http://{host}:{settings.port}/ca.crt" if settings.port != 80 else f"http://{host}/ca.crt"
    https = f"https://{host}{'' if port == 443 else f':{port}'}/" if port else ""
    qr = segno.make(download, error="m").svg_inline(scale=5, border=2) if ca else ""
    return render_template("install/ca.html", ca=ca, download=download, https_url=https, qr=qr,
                           own_ca=not settings.tls_ca_cert)


def init_app(app: Flask) -> None:
    """Register this blueprint."""
    app.register_blueprint(bp)
