"""Security headers: a Content-Security-Policy on every page; pack files that could run script (HTML, SVG, XML…)
are sandboxed downloads, from /media and from /share alike, while media, images and captions still play inline."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from edge_server.web.app import PAGE_CSP
from tests.integration.test_media_app import add_channel

CHANNEL = "test.security"
TEMPLATES = Path(__file__).resolve().parents[2] / "edge_server" / "web" / "templates"
SANDBOX = "sandbox; default-src 'none'"
SCRIPT = b"<script>parent.document.title = document.cookie</script>"
RISKY = {"media/page.html": b"<html>" + SCRIPT, "media/page.htm": b"<html>" + SCRIPT,
         "media/drawing.svg": b'<svg xmlns="http://www.w3.org/2000/svg">' + SCRIPT + b"</svg>",
         "media/data.xml": b"<?xml version='1.0'?><x/>", "media/page.xhtml": b"<html>" + SCRIPT,
         "media/style.css": b"body{}", "media/notes.md": b"# notes", "media/blob.bin": b"\x00\x01"}
INLINE = {"media/lesson.mp4": b"\x00\x00\x00\x18ftypmp42", "media/song.ogg": b"OggS", "media/pic.png": b"\x89PNG",
          "media/pic.jpg": b"\xff\xd8\xff", "media/captions.vtt": b"WEBVTT\n", "media/sheet.pdf": b"%PDF-1.4",
          "catalog.json": b"{}", "media/readme.txt": b"plain words"}


def _directives(policy: str) -> dict[str, list[str]]:
    return {name: values for name, *values in (part.split() for part in policy.split(";") if part.strip())}


@pytest.mark.parametrize("path", ["/", "/teacher/login", "/api/v1/health", "/static/box.js", "/no/such/page"])
def test_every_answer_of_the_app_carries_the_page_policy_nosniff_and_a_same_origin_referrer(client, path):
    response = client.get(path)
    assert response.headers["Content-Security-Policy"] == PAGE_CSP
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_the_page_policy_runs_only_the_boxs_own_scripts_and_cannot_be_framed():
    policy = _directives(PAGE_CSP)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["img-src"] == ["'self'", "data:", "blob:"]
    assert policy["media-src"] == ["'self'", "blob:"]
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]


def test_no_template_has_an_inline_script_an_event_handler_attribute_or_a_javascript_url():
    # script-src 'self' blocks all three: the page would silently lose its behaviour
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), template
        assert not re.search(r"\son[a-z]+\s*=", text, re.I), template
        assert "javascript:" not in text.lower(), template


@pytest.fixture
def pack(data_dir: Path) -> Path:
    return add_channel(data_dir, CHANNEL, 2, {**RISKY, **INLINE})


@pytest.mark.parametrize("path", sorted(RISKY))
def test_a_pack_file_that_could_run_script_is_a_sandboxed_download(client, pack, path):
    for response in (client.get(f"/media/{CHANNEL}/{path}"),
                     client.get(f"/media/{CHANNEL}/{path}", headers={"Range": "bytes=0-"})):
        assert response.status_code in (200, 206)
        assert response.headers["Content-Disposition"] == "attachment"
        assert response.headers["Content-Security-Policy"] == SANDBOX
        assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", sorted(INLINE))
def test_media_raster_images_captions_pdf_json_and_text_are_still_shown_inline(client, pack, path):
    response = client.get(f"/media/{CHANNEL}/{path}")
    assert response.status_code == 200 and response.data == INLINE[path]
    assert "Content-Disposition" not in response.headers
    assert "Content-Security-Policy" not in response.headers
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_files_shared_with_other_boxes_are_sandboxed_downloads_whatever_their_type(client, data_dir):
    files = {"catalog.json": b"{}", "media/page.html": b"<html>" + SCRIPT, "media/song.ogg": b"OggS"}
    folder = add_channel(data_dir, CHANNEL, 2, files)
    listed = [{"path": p, "sha256": hashlib.sha256(c).hexdigest(), "size": len(c)} for p, c in files.items()]
    (folder / "manifest.json").write_text(json.dumps({
        "format": 1, "channel": {"id": CHANNEL, "title": "T"}, "version": 2, "created": "2026-01-01T00:00:00+00:00",
        "expires": None, "files": listed}))
    for path in files:
        response = client.get(f"/share/v1/channels/{CHANNEL}/{path}")
        assert response.status_code == 200 and response.data == files[path]
        assert response.headers["Content-Disposition"].startswith("attachment")
        assert response.headers["Content-Security-Policy"] == SANDBOX
        assert response.headers["X-Content-Type-Options"] == "nosniff"
