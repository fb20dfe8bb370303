"""The box's https (edge_server/tls.py, the nginx front): a CA per box or the province's, a server certificate for
the box's names and addresses, https on its own port with the pupils' http pages sent there, the CA and the page
that explains it left on http, and `edge-server tls status|renew`."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import ssl
import stat
import subprocess
import time
from pathlib import Path

import pytest
import requests
from cryptography import x509

from edge_server import tls
from edge_server.identity import init_data_dir
from edge_server.settings import Settings, load_settings
from edge_server.web.front import FrontPlan, NginxFront, find_nginx, free_port, nginx_config
from tests.integration.test_media_serve import EDGE_SERVER, make_box, serve
from tests.requirements import require_tool
from tests.tls import make_ca

NAME = "hill-school.local"


def _sans(path: Path) -> tuple[list[str], list[str]]:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    alt = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    addresses = sorted(str(a) for a in alt.get_values_for_type(x509.IPAddress))
    return sorted(alt.get_values_for_type(x509.DNSName)), addresses


def test_a_box_gets_its_own_ca_and_a_certificate_for_its_name_and_addresses_with_private_keys(tmp_path):
    settings = Settings(data_dir=tmp_path / "var", box_name="Hill School")
    first = tls.ensure(settings, addresses=["127.0.0.1", "10.20.0.5", "8.8.8.8"])
    assert first.reissued and first.reason == "no server certificate yet"
    assert _sans(first.files.server_cert) == (["hill-school.local", "localhost"], ["10.20.0.5", "127.0.0.1"])
    for key in (first.files.ca_key, first.files.server_key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    ca = x509.load_pem_x509_certificate(first.files.ca_cert.read_bytes())
    x509.load_pem_x509_certificate(first.files.server_cert.read_bytes()).verify_directly_issued_by(ca)
    # the box's CA can vouch for .local names and private addresses only: never for a site on the internet
    constraints = ca.extensions.get_extension_for_class(x509.NameConstraints)
    assert constraints.critical and x509.DNSName("local") in constraints.value.permitted_subtrees
    assert x509.IPAddress(ipaddress.ip_network("8.0.0.0/8")) not in constraints.value.permitted_subtrees

    assert not tls.ensure(settings, addresses=["127.0.0.1", "10.20.0.5"]).reissued  # nothing changed
    moved = tls.ensure(settings, addresses=["127.0.0.1", "10.20.0.9"])  # a new DHCP lease
    assert moved.reissued and moved.reason == "the box's names or addresses changed"
    assert _sans(moved.files.server_cert)[1] == ["10.20.0.9", "127.0.0.1"]
    assert x509.load_pem_x509_certificate(first.files.ca_cert.read_bytes()) == ca  # tablets keep trusting it


def test_the_provinces_ca_signs_instead_when_the_box_is_given_one(tmp_path):
    province = make_ca(tmp_path / "province")
    key_file = tmp_path / "province" / "ca.key"
    from cryptography.hazmat.primitives import serialization

    key_file.write_bytes(province.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))
    settings = Settings(data_dir=tmp_path / "var", box_name="Hill School", tls_ca_cert=str(province.cert_file),
                        tls_ca_key=str(key_file))
    issued = tls.ensure(settings, addresses=["127.0.0.1"])
    chain = x509.load_pem_x509_certificates(issued.files.server_cert.read_bytes())
    chain[0].verify_directly_issued_by(province.cert)
    assert chain[1] == province.cert and tls.ca_pem(settings) == province.cert_file.read_bytes()
    assert not (tmp_path / "var" / "keys" / "tls" / "ca.key").exists()  # no CA of its own
    wrong = Settings(data_dir=tmp_path / "var", tls_ca_cert=str(province.cert_file),
                     tls_ca_key=str(tmp_path / "var" / "keys" / "tls" / "server.key"))
    with pytest.raises(tls.TlsError, match="does not belong"):
        tls.ensure(wrong)


def test_init_makes_the_certificate_and_the_tls_commands_report_and_renew_it(tmp_path):
    data = tmp_path / "var"
    run = subprocess.run([EDGE_SERVER, "init", "--data", str(data), "--name", "Hill School"], capture_output=True,
                         text=True, timeout=60, check=True)
    assert json.loads(run.stdout)["box_id"]
    status = json.loads(subprocess.run([EDGE_SERVER, "tls", "status", "--data", str(data), "--json"],
                                       capture_output=True, text=True, timeout=60, check=True).stdout)
    assert status["problem"] == "" and status["ca_source"] == "box"
    assert NAME in status["server"]["names"] and "127.0.0.1" in status["server"]["addresses"]
    before = status["server"]["sha256"]
    renewed = json.loads(subprocess.run([EDGE_SERVER, "tls", "renew", "--data", str(data), "--json"],
                                        capture_output=True, text=True, timeout=60, check=True).stdout)
    assert renewed["reissued"] and renewed["server"]["sha256"] != before and renewed["ca"] == status["ca"]
    kept = json.loads(subprocess.run([EDGE_SERVER, "tls", "renew", "--if-needed", "--data", str(data), "--json"],
                                     capture_output=True, text=True, timeout=60, check=True).stdout)
    assert not kept["reissued"] and kept["server"]["sha256"] == renewed["server"]["sha256"]
    missing = subprocess.run([EDGE_SERVER, "tls", "status", "--data", str(tmp_path / "none")], capture_output=True,
                             text=True, timeout=60)
    assert missing.returncode == 1 and "no box in" in missing.stderr


def test_the_https_configuration_sends_the_lan_to_https_and_keeps_the_ca_on_http(tmp_path):
    plan = FrontPlan(prefix=tmp_path, listen_host="0.0.0.0", listen_port=8080, app_port=41234, workers=2,
                     token="t0ken", max_body_mb=512, small_body_kb=64, https_port=443, cert_file=tmp_path / "s.pem",
                     key_file=tmp_path / "s.key")
    conf = nginx_config(plan)
    assert "listen 8080 backlog=1024;" in conf and "listen 443 ssl http2 backlog=1024;" in conf
    assert "return 308 https://$host$request_uri;" in conf and "proxy_cookie_flags ~ secure;" in conf
    assert conf.count('X-Edge-Front "t0ken"') == 2  # media served the same way on both
    assert "ssl" not in nginx_config(FrontPlan(tmp_path, "0.0.0.0", 8080, 1, 1, "t", 1, 64))


@pytest.fixture(scope="module")
def https_box(tmp_path_factory):
    """A box behind its nginx front with https on a free port: (data, http port, https port)."""
    require_tool("nginx", "apt-get install nginx-light")
    data = make_box(tmp_path_factory.mktemp("https"), b"x" * 4096)
    (data / "config.toml").write_text((data / "config.toml").read_text().replace('"serve-test"', '"Hill School"'))
    https_port = free_port()
    with serve(data, "--front", "nginx", "--workers", "1",
               env={"EDGE_SERVER_SCHEDULER_ENABLED": "0", "EDGE_SERVER_HTTPS_PORT": str(https_port)}) as (_p, started):
        assert started["https_port"] == https_port
        yield data, started["port"], https_port


def test_pupils_pages_on_the_lan_go_to_https_and_loopback_the_ca_and_its_page_stay_on_http(https_box):
    data, port, https_port = https_box
    lan = {"Host": f"{NAME}:{port}"}
    moved = requests.get(f"http://127.0.0.1:{port}/lessons?lang=fr", headers=lan, allow_redirects=False, timeout=10)
    assert moved.status_code == 308 and moved.headers["Location"] == f"https://{NAME}:{https_port}/lessons?lang=fr"
    assert requests.get(f"http://127.0.0.1:{port}/", allow_redirects=False, timeout=10).status_code == 200
    ca = requests.get(f"http://127.0.0.1:{port}/ca.crt", headers=lan, allow_redirects=False, timeout=10)
    assert ca.status_code == 200 and ca.headers["Content-Type"] == "application/x-x509-ca-cert"
    assert ca.content == (data / "keys" / "tls" / "ca.pem").read_bytes()
    assert 'filename="hill-school-ca.crt"' in ca.headers["Content-Disposition"]
    for path in ("/api/v1/health", "/static/box.css", "/install"):
        assert requests.get(f"http://127.0.0.1:{port}{path}", headers=lan, allow_redirects=False,
                            timeout=10).status_code == 200, path


@pytest.mark.parametrize(("lang", "heading", "step"), [
    ("en", "Let a tablet keep lessons", "Install a certificate"),
    ("fr", "Permettre à une tablette de garder les leçons", "Installer un certificat"),
    ("zh", "让平板电脑保存课程", "安装证书"),
])
def test_the_install_page_tells_a_teacher_in_her_language_how_to_trust_the_box(https_box, lang, heading, step):
    data, port, https_port = https_box
    page = requests.get(f"http://127.0.0.1:{port}/install?lang={lang}", headers={"Host": f"{NAME}:{port}"},
                        timeout=10).text
    assert f"<h1>{heading}</h1>" in page and step in page
    assert re.search(r'<figure id="ca-qr" class="qr"><svg[^>]*>', page)  # segno's QR code, inline
    assert f"http://{NAME}:{port}/ca.crt" in page and f"https://{NAME}:{https_port}/" in page
    assert tls.fingerprint(x509.load_pem_x509_certificate((data / "keys/tls/ca.pem").read_bytes())) in page
    assert 'id="no-https"' not in page


def test_https_answers_with_a_certificate_the_box_ca_vouches_for_and_secure_cookies(https_box):
    data, port, https_port = https_box
    ca = str(data / "keys" / "tls" / "ca.pem")
    secure = requests.get(f"https://127.0.0.1:{https_port}/?lang=zh", verify=ca, timeout=10)
    assert secure.status_code == 200 and secure.headers["Server"] == "nginx"
    assert "Secure" in secure.headers["Set-Cookie"] and "HttpOnly" in secure.headers["Set-Cookie"]
    plain = requests.get(f"http://127.0.0.1:{port}/?lang=zh", timeout=10)
    assert "Secure" not in plain.headers["Set-Cookie"]  # loopback http has no https cookie to lose
    video = requests.get(f"https://127.0.0.1:{https_port}/media/{_channel()}/media/big.mp4", verify=ca,
                         headers={"Range": "bytes=0-9"}, timeout=10)
    assert video.status_code == 206 and video.content == b"x" * 10 and video.headers["Server"] == "nginx"
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"https://127.0.0.1:{https_port}/", timeout=10)  # the system's CAs do not know the box


def _channel() -> str:
    from tests.integration.test_media_serve import CHANNEL

    return CHANNEL


def test_without_the_front_serve_says_tablets_get_no_offline_pages(tmp_path):
    data = make_box(tmp_path, b"x" * 1024)
    with serve(data, "--front", "none", env={"EDGE_SERVER_SCHEDULER_ENABLED": "0"}) as (_proc, started):
        assert started["https_port"] is None
        page = requests.get(f"http://127.0.0.1:{started['port']}/install", timeout=10).text
        assert 'id="no-https"' in page
    log = next(tmp_path.glob("serve-*.log")).read_text()
    assert "tablets on the LAN get no offline pages" in log


def test_settings_read_the_https_port_and_the_provinces_ca_from_config(tmp_path):
    data = tmp_path / "var"
    init_data_dir(data, trust=None, name="Hill School")
    with (data / "config.toml").open("a") as fh:
        fh.write('https_port = 9443\ntls_ca_cert = "keys/tls-ca.pem"\ntls_ca_key = "keys/tls-ca.key"\n')
    settings = load_settings(data)
    assert tls.https_port(settings) == 9443
    assert tls.files(settings).ca_cert == data / "keys" / "tls-ca.pem"
    default = tls.https_port(Settings(data_dir=data))
    assert default == (443 if os.geteuid() == 0 else 8443)


def test_a_new_certificate_is_loaded_by_the_running_front_without_a_restart(tmp_path):
    require_tool("nginx", "apt-get install nginx-light")
    settings = Settings(data_dir=tmp_path / "var", box_name="Hill School", host="127.0.0.1")
    issued = tls.ensure(settings)
    plan = FrontPlan(prefix=tmp_path / "nginx", listen_host="127.0.0.1", listen_port=free_port(), app_port=free_port(),
                     workers=1, token="t", max_body_mb=1, small_body_kb=64, https_port=free_port(),
                     cert_file=issued.files.server_cert, key_file=issued.files.server_key)
    front = NginxFront(find_nginx(), plan, renew_certificate=lambda: tls.ensure(settings).reissued)
    front.renew_check_s = 0
    front.start()
    try:
        before = _served_certificate(plan.https_port)
        assert not front.refresh_certificate()  # nothing changed: no reload
        tls.ensure(settings, force=True)  # as `edge-server tls renew` does, behind the running box's back
        assert front.refresh_certificate()
        deadline = time.monotonic() + 10
        while _served_certificate(plan.https_port) == before and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _served_certificate(plan.https_port) == issued.files.server_cert.read_bytes().decode() != before
        assert front.alive()
    finally:
        front.stop()


def _served_certificate(port: int) -> str:
    return ssl.get_server_certificate(("127.0.0.1", port))
