"""The box's https: a CA per box (or the province's), and a server certificate for its names and LAN addresses.

Browsers give service workers (offline pages, take-home lessons) only to https origins and localhost, and a school
has no public name, so the box signs its own certificate: keys/tls/ca.pem (+ ca.key, 0600) is the box's CA, which
a teacher installs once on each tablet (/install), and keys/tls/server.pem (+ server.key, 0600) is nginx's
certificate for <box-name>.local, localhost and the box's LAN addresses, issued again whenever they change. When
the province runs its own CA (the edge_box role copies it, config tls_ca_cert and tls_ca_key), it signs instead,
and tablets that already trust the province need nothing installed.

The box's own CA carries name constraints (*.local, localhost, private and loopback addresses): a tablet that
trusts it trusts nothing on the internet, even if the box's CA key were stolen.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from edge_server import clock
from edge_server.identity import write_private
from edge_server.settings import Settings

CA_DAYS = 20 * 365  # the CA outlives the box: re-installing it on every tablet is the costly part
SERVER_DAYS = 397  # browsers refuse longer server certificates from some roots; the box renews it anyway
RENEW_BEFORE = timedelta(days=30)
DEFAULT_HTTPS_PORT = 8443
ROOT_HTTPS_PORT = 443
# What the box's own CA may sign for: mDNS names, localhost, and addresses that are never on the internet.
PERMITTED_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16", "100.64.0.0/10",
    "::1/128", "fc00::/7", "fe80::/10"))
PERMITTED_DNS = ("local", "localhost")


class TlsError(Exception):
    """The box's certificates cannot be made or read; the message says what to do."""


@dataclass(frozen=True)
class TlsFiles:
    """Where the box keeps its CA and server certificate."""

    folder: Path
    ca_cert: Path  # the CA that signs server.pem: the box's own, or a copy of the province's
    ca_key: Path
    server_cert: Path
    server_key: Path


@dataclass(frozen=True)
class Issued:
    """The outcome of ensure(): whether a new server certificate was written, and why."""

    files: TlsFiles
    reissued: bool
    reason: str


def https_port(settings: Settings) -> int:
    """The port nginx serves https on: the setting, or 443 when serve runs as root and 8443 otherwise; 0 = none."""
    if settings.https_port >= 0:
        return settings.https_port
    return ROOT_HTTPS_PORT if os.geteuid() == 0 else DEFAULT_HTTPS_PORT


def _in_data(settings: Settings, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else settings.data_dir / path


def files(settings: Settings) -> TlsFiles:
    """The certificate files of this box (the province's CA when tls_ca_cert is set)."""
    folder = settings.keys_dir / "tls"
    if settings.tls_ca_cert:
        ca_cert = _in_data(settings, settings.tls_ca_cert)
        ca_key = _in_data(settings, settings.tls_ca_key) if settings.tls_ca_key else ca_cert.with_suffix(".key")
    else:
        ca_cert, ca_key = folder / "ca.pem", folder / "ca.key"
    return TlsFiles(folder, ca_cert, ca_key, folder / "server.pem", folder / "server.key")


def mdns_name(settings: Settings) -> str:
    """The box's name on the LAN, as discovery announces it."""
    from edge_server.discovery import dns_label

    return f"{dns_label(settings.box_name)}.local"


def lan_addresses(settings: Settings) -> list[str]:
    """The addresses tablets may use: the bound one, else every interface's (IPv6 link-local ones have no use)."""
    if settings.host not in ("", "0.0.0.0", "::"):
        found = [settings.host]
    else:
        import ifaddr

        found = []
        for adapter in ifaddr.get_adapters():
            for ip in adapter.ips:
                found.append(ip.ip if isinstance(ip.ip, str) else ip.ip[0])
    addresses = {"127.0.0.1", "::1"}
    for text in found:
        try:
            address = ipaddress.ip_address(text.split("%")[0])
        except ValueError:
            continue
        if address.is_link_local and address.version == 6:
            continue
        addresses.add(str(address))
    return sorted(addresses, key=lambda a: (ipaddress.ip_address(a).version, ipaddress.ip_address(a)))


def wanted_names(settings: Settings, addresses: list[str] | None = None) -> tuple[list[str], list[str]]:
    """The DNS names and IP addresses the server certificate must cover."""
    names = [mdns_name(settings), "localhost"]
    ips = lan_addresses(settings) if addresses is None else addresses
    if not settings.tls_ca_cert:  # the box's own CA may sign private and loopback addresses only
        ips = [a for a in ips if any(ipaddress.ip_address(a) in net for net in PERMITTED_NETWORKS
                                     if net.version == ipaddress.ip_address(a).version)]
    return names, sorted(set(ips), key=lambda a: (ipaddress.ip_address(a).version, ipaddress.ip_address(a)))


def _write_public(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    tmp.chmod(0o644)
    os.replace(tmp, path)


def _pem_key(key: Any) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _key_usage(ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=not ca, content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                         encipher_only=False, decipher_only=False)


def _make_ca(settings: Settings, paths: TlsFiles, now: datetime) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    # Each box's CA has its own name, so that a tablet that trusts several boxes can tell them apart.
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Classroom box"),
                      x509.NameAttribute(NameOID.COMMON_NAME, f"{settings.box_name[:40]} CA {now:%Y-%m-%d}")])
    permitted: list[x509.GeneralName] = [x509.DNSName(d) for d in PERMITTED_DNS]
    permitted += [x509.IPAddress(net) for net in PERMITTED_NETWORKS]
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(ca=True), critical=True)
            .add_extension(x509.NameConstraints(permitted_subtrees=permitted, excluded_subtrees=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    paths.folder.mkdir(parents=True, exist_ok=True)
    paths.folder.chmod(0o700)
    write_private(paths.ca_key, _pem_key(key))
    _write_public(paths.ca_cert, cert.public_bytes(serialization.Encoding.PEM))


def load_ca(settings: Settings) -> tuple[x509.Certificate, Any]:
    """The signing CA's certificate and key; the box's own CA is made on first use, the province's must exist."""
    paths = files(settings)
    if not paths.ca_cert.exists():
        if settings.tls_ca_cert:
            raise TlsError(f"tls_ca_cert: {paths.ca_cert} not found (the province's CA certificate, PEM)")
        _make_ca(settings, paths, clock.now())
    if not paths.ca_key.exists():
        raise TlsError(f"the CA key {paths.ca_key} is missing: set tls_ca_key to the province CA's key (PEM)"
                       if settings.tls_ca_cert else f"the CA key {paths.ca_key} is missing: move {paths.ca_cert} "
                       "away to make a new CA (tablets must then install it again)")
    try:
        cert = x509.load_pem_x509_certificate(paths.ca_cert.read_bytes())
        key = serialization.load_pem_private_key(paths.ca_key.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise TlsError(f"cannot read the CA {paths.ca_cert} / {paths.ca_key}: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise TlsError(f"the CA key {paths.ca_key} must be an EC or RSA key")
    if key.public_key().public_numbers() != cert.public_key().public_numbers():  # type: ignore[union-attr]
        raise TlsError(f"the CA key {paths.ca_key} does not belong to the certificate {paths.ca_cert}")
    return cert, key


def _sans(cert: x509.Certificate) -> tuple[list[str], list[str]]:
    try:
        alt = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return [], []
    return (sorted(alt.get_values_for_type(x509.DNSName)),
            sorted(str(a) for a in alt.get_values_for_type(x509.IPAddress)))


def _why_reissue(settings: Settings, paths: TlsFiles, ca: x509.Certificate, names: list[str], ips: list[str],
                 now: datetime) -> str:
    if not paths.server_cert.exists() or not paths.server_key.exists():
        return "no server certificate yet"
    try:
        cert = x509.load_pem_x509_certificate(paths.server_cert.read_bytes())
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return "the server certificate is not signed by the CA"
    except Exception as exc:  # noqa: BLE001 - any other failure to verify it: a new one is cheap
        return f"the server certificate cannot be checked ({exc.__class__.__name__})"
    if cert.not_valid_after_utc - now < RENEW_BEFORE:
        return "the server certificate expires soon"
    have_names, have_ips = _sans(cert)
    if have_names != sorted(names) or have_ips != sorted(ips):
        return "the box's names or addresses changed"
    return ""


def ensure(settings: Settings, addresses: list[str] | None = None, force: bool = False) -> Issued:
    """Make the CA and the server certificate when missing, and a new server certificate when it no longer fits."""
    now = clock.now()
    paths = files(settings)
    ca_cert, ca_key = load_ca(settings)
    names, ips = wanted_names(settings, addresses)
    reason = "renewal asked for" if force else _why_reissue(settings, paths, ca_cert, names, ips, now)
    if not reason:
        return Issued(paths, False, "")
    key = ec.generate_private_key(ec.SECP256R1())
    alt = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address(a)) for a in ips]
    not_after = min(now + timedelta(days=SERVER_DAYS), ca_cert.not_valid_after_utc)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1)).not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(ca=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths.folder.mkdir(parents=True, exist_ok=True)
    paths.folder.chmod(0o700)
    # The key first: nginx, reloaded after both are written, never pairs a new certificate with an old key.
    write_private(paths.server_key, _pem_key(key))
    # nginx reads one file: the server certificate followed by the CA's (a province CA may be an intermediate).
    _write_public(paths.server_cert, cert.public_bytes(serialization.Encoding.PEM)
                  + (ca_cert.public_bytes(serialization.Encoding.PEM) if settings.tls_ca_cert else b""))
    return Issued(paths, True, reason)


def ca_pem(settings: Settings) -> bytes:
    """The CA certificate tablets install (PEM); TlsError when the box has none yet."""
    path = files(settings).ca_cert
    if not path.exists():
        raise TlsError("the box has no CA yet: run `edge-server tls renew`")
    return path.read_bytes()


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the certificate, as Android and browsers show it (AB:CD:...)."""
    digest = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def status(settings: Settings) -> dict[str, Any]:
    """What `edge-server tls status` reports: the CA, the server certificate, and whether it fits the box now."""
    paths = files(settings)
    facts: dict[str, Any] = {"https_port": https_port(settings), "ca_source": "province" if settings.tls_ca_cert
                             else "box", "ca": None, "server": None, "problem": ""}
    if not paths.ca_cert.exists():
        facts["problem"] = "no CA yet: `edge-server tls renew` (or `edge-server serve`) makes one"
        return facts
    try:
        ca, _key = load_ca(settings)
    except TlsError as exc:
        facts["problem"] = str(exc)
        return facts
    facts["ca"] = {"file": str(paths.ca_cert), "subject": ca.subject.rfc4514_string(),
                   "sha256": fingerprint(ca), "not_after": ca.not_valid_after_utc.isoformat()}
    names, ips = wanted_names(settings)
    if paths.server_cert.exists():
        cert = x509.load_pem_x509_certificate(paths.server_cert.read_bytes())
        have_names, have_ips = _sans(cert)
        facts["server"] = {"file": str(paths.server_cert), "names": have_names, "addresses": have_ips,
                           "not_after": cert.not_valid_after_utc.isoformat(), "sha256": fingerprint(cert)}
    facts["wanted"] = {"names": names, "addresses": ips}
    facts["problem"] = _why_reissue(settings, paths, ca, names, ips, clock.now())
    return facts
