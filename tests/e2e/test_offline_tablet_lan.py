"""Real Chromium reaching the box by a LAN name (box-test.local, mapped to 127.0.0.1 by Chromium's resolver rules),
as a classroom tablet does: over https, with the box's CA trusted in the tablet's certificate store (an NSS database,
as a teacher installs it from /install), the service worker registers and the lesson reloads offline. Over plain
http on the same name there is no service worker, and without the CA the https pages are refused."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from edge_server.store import people as people_store
from edge_server.store.db import open_box_db
from tests.e2e.box_server import CHROMIUM, CHROMIUM_ARGS, free_port, log_in_pupil, prepare, serve
from tests.e2e.offline_steps import LESSON, open_kept_lesson, status_says

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]  # tests/e2e/conftest.py requires Chromium

NAME = "box-test.local"
RESOLVE = f"--host-resolver-rules=MAP {NAME} 127.0.0.1"  # every request stays on this machine


@pytest.fixture(scope="module")
def lan_data(tmp_path_factory):
    """A box named "Box Test" (its certificate is for box-test.local) with the sample course and its pupils."""
    if shutil.which("certutil") is None:
        pytest.fail("certutil is missing: apt-get install libnss3-tools (make setup installs it)")
    if shutil.which("nginx") is None:
        pytest.fail("nginx is missing: apt-get install nginx-light (the https front)")
    root = tmp_path_factory.mktemp("lan-box")
    data = root / "var"
    people = prepare(data, root / "keys")
    config = data / "config.toml"
    text = config.read_text() if config.exists() else ""
    text = re.sub(r'^box_name\s*=.*$', "", text, flags=re.MULTILINE)
    config.write_text('box_name = "Box Test"\nfront = "nginx"\n' + text)
    db = open_box_db(data / "box.db")
    people_store.set_assignments(db, people["class_id"], {LESSON})
    db.conn.close()
    return data, root


def tablet_home(folder: Path, ca_file: Path | None) -> Path:
    """A HOME whose NSS database (the one Chromium reads on Linux) trusts the box's CA, or nothing when None."""
    nssdb = folder / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    subprocess.run(["certutil", "-N", "-d", f"sql:{nssdb}", "--empty-password"], check=True, timeout=60)
    if ca_file is not None:
        subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-A", "-t", "C,,", "-n", "boxca", "-i", str(ca_file)],
                       check=True, timeout=60)
    return folder


def lan_tablet(browser, home: Path):
    """A tablet's own Chromium (profile and HOME), resolving box-test.local to this machine; certificate errors
    are NOT ignored."""
    context = browser.browser_type.launch_persistent_context(
        home / "profile", executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, RESOLVE], locale="en-GB",
        viewport={"width": 800, "height": 1280}, env={**os.environ, "HOME": str(home)},
        ignore_https_errors=False)
    return context, context.pages[0] if context.pages else context.new_page()


def test_over_https_on_its_lan_name_with_the_box_ca_trusted_the_lesson_reloads_offline(lan_data, browser, tmp_path):
    data, root = lan_data
    https_port = free_port()
    with serve(data, root / "https.log", https_port=https_port) as base:
        http = f"http://{NAME}:{base.rsplit(':', 1)[1]}"
        context, page = lan_tablet(browser, tablet_home(tmp_path / "home", data / "keys" / "tls" / "ca.pem"))
        try:
            secure = f"https://{NAME}:{https_port}"
            page.goto(http + "/")  # the address a tablet is given: the box sends it on to https
            assert page.url == secure + "/"
            assert page.evaluate("isSecureContext") is True
            log_in_pupil(page, secure, "Amina")
            open_kept_lesson(page, secure)
            assert page.evaluate("navigator.serviceWorker.controller.scriptURL") == secure + "/sw.js"
            session = next(c for c in context.cookies() if c["name"] == "session")
            assert session["secure"] and session["domain"] == NAME

            context.set_offline(True)
            page.reload()
            assert page.locator("h1").inner_text() == "The water cycle"
            assert page.url == f"{secure}/lesson/{LESSON}" and page.evaluate("navigator.onLine") is False
            status_says(page, "This lesson works without the box")
        finally:
            context.close()


def test_a_tablet_that_does_not_trust_the_box_ca_is_refused_the_https_pages(lan_data, browser, tmp_path):
    data, root = lan_data
    https_port = free_port()
    with serve(data, root / "untrusted.log", https_port=https_port):
        context, page = lan_tablet(browser, tablet_home(tmp_path / "home", None))
        try:
            with pytest.raises(Exception, match="ERR_CERT_AUTHORITY_INVALID"):
                page.goto(f"https://{NAME}:{https_port}/")
        finally:
            context.close()


def test_over_plain_http_on_its_lan_name_a_tablet_gets_no_service_worker_and_no_offline_lesson(lan_data, browser,
                                                                                                tmp_path):
    data, root = lan_data
    with serve(data, root / "http.log", https_port=0) as base:  # https off: the box as it was before
        http = f"http://{NAME}:{base.rsplit(':', 1)[1]}"
        context, page = lan_tablet(browser, tablet_home(tmp_path / "home", data / "keys" / "tls" / "ca.pem"))
        try:
            log_in_pupil(page, http, "Amina")
            page.goto(f"{http}/lesson/{LESSON}")
            assert page.url.startswith("http://")
            status_says(page, "This tablet cannot keep lessons for when the box is out of reach.")
            assert page.evaluate("[isSecureContext, 'serviceWorker' in navigator]") == [False, False]
            page.goto(http + "/install")
            assert page.locator("#no-https").is_visible()
            context.set_offline(True)
            with pytest.raises(Exception, match="ERR_INTERNET_DISCONNECTED"):
                page.reload()
        finally:
            context.close()
