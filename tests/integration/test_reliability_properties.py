"""Property tests of hostile input on real things: tampered packs, media paths, attempt files imported twice."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from werkzeug.test import EnvironBuilder, run_wsgi_app

from edge_server import attempts
from edge_server.identity import init_data_dir, load_identity
from edge_server.packs_import import build_pack, import_pack
from edge_server.settings import load_settings
from edge_server.store.db import open_box_db, rows
from edge_server.web.app import create_app
from sync.packs import PackError
from sync.statements import statement_id
from sync.trust import read_private
from tests.fixtures_packs import TINY_CHANNEL, write_source

SLOW = settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
SECRET = b"TOP-SECRET-OUTSIDE-THE-PACK"


@pytest.fixture(scope="module")
def signed_pack(tmp_path_factory):
    """A built, signed version-1 pack of the tiny channel and the trust anchor that accepts it."""
    from sync.trust import generate_keys

    tmp = tmp_path_factory.mktemp("pack")
    private, public, _ = generate_keys(tmp / "keys")
    build_pack(write_source(tmp / "src", lessons=("tiny-1", "tiny-2"), media_size=4096), tmp / "v1",
               read_private(private), 1)
    return tmp / "v1", public


@SLOW
@given(data=st.data())
def test_any_single_byte_changed_anywhere_in_a_signed_pack_is_refused_and_changes_nothing(signed_pack, data):
    pack, public = signed_pack
    files = sorted(p for p in pack.rglob("*") if p.is_file())
    with tempfile.TemporaryDirectory() as tmp:
        box = Path(tmp) / "var"
        init_data_dir(box, trust=public, name="prop-box")
        copy = Path(tmp) / "pack"
        shutil.copytree(pack, copy)
        victim = copy / data.draw(st.sampled_from(files)).relative_to(pack)
        raw = bytearray(victim.read_bytes())
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at] ^= data.draw(st.integers(1, 255))
        victim.write_bytes(bytes(raw))
        with pytest.raises(PackError):
            import_pack(load_settings(box, scheduler_enabled=False, ai_jobs_enabled=False), copy)
        db = open_box_db(box / "box.db")
        try:
            assert rows(db, "SELECT id FROM channels") == [] and rows(db, "SELECT id FROM lessons") == []
        finally:
            db.conn.close()
        assert not list((box / "content").glob(f"{TINY_CHANNEL}/v*"))


@pytest.fixture(scope="module")
def media_box(tmp_path_factory, signed_pack):
    """A box serving the tiny pack, with a secret file beside its content and a link that points at it."""
    pack, public = signed_pack
    box = tmp_path_factory.mktemp("media") / "var"
    init_data_dir(box, trust=public, name="media-box")
    box_settings = load_settings(box, scheduler_enabled=False, ai_jobs_enabled=False, announce=False)
    import_pack(box_settings, pack)
    (box / "secret.txt").write_bytes(SECRET)
    version = next((box / "content" / TINY_CHANNEL).glob("v*"))
    (version / "media" / "link.ogg").symlink_to(box / "secret.txt")
    return create_app(box_settings), version


PIECES = st.sampled_from(["..", ".", "/", "//", "\\", "%2e", "%2f", "media", "tiny-1.ogg", "link.ogg", "secret.txt",
                          "catalog.json", "manifest.json", "v1", TINY_CHANNEL, "\x00", "é", "~", "../..", ""])


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(st.lists(PIECES, max_size=8).map("".join))
@example(f"{TINY_CHANNEL}/media/tiny-1.ogg").via("a pack file is served")
@example(f"{TINY_CHANNEL}/media/link.ogg").via("a link out of the pack is not")
@example(f"{TINY_CHANNEL}/../secret.txt").via("nor a parent folder")
def test_any_media_path_serves_only_files_of_the_pack_and_never_a_server_error(media_box, tail):
    app, version = media_box
    environ = EnvironBuilder(path="/media/x", method="GET").get_environ()
    # PEP 3333: PATH_INFO is the decoded path as latin-1; set it raw so nothing normalises it first.
    environ["PATH_INFO"] = ("/media/" + tail).encode("utf-8").decode("latin-1")
    body_iter, status, _headers = run_wsgi_app(app.wsgi_app, environ, buffered=True)
    body = b"".join(body_iter)
    code = int(status.split()[0])
    assert code < 500
    assert SECRET not in body
    if tail == f"{TINY_CHANNEL}/media/tiny-1.ogg":
        assert code == 200 and body == (version / "media" / "tiny-1.ogg").read_bytes()
    if code in (200, 206):
        pack_files = [p.read_bytes() for p in version.rglob("*") if p.is_file() and not p.is_symlink()]
        assert any(body and body in content for content in pack_files)


line_data = st.fixed_dictionaries({
    "pupil": st.sampled_from(["p-1", "p-2", "p-3"]), "pupil_name": st.just("Ana"),
    "knowledge_point": st.sampled_from(["kp.a", "kp.b"]), "item": st.sampled_from(["i1", "i2", "i3"]),
    "correct": st.booleans(),
    "ts": st.integers(0, 10**6).map(lambda s: f"2026-02-{1 + s // 86400 % 28:02d}T{s // 3600 % 24:02d}:"
                                              f"{s // 60 % 60:02d}:{s % 60:02d}+00:00")})


@SLOW
@given(st.lists(line_data, min_size=1, max_size=25))
def test_an_attempt_file_imported_twice_adds_nothing_and_each_attempt_has_exactly_its_statements(lines):
    text = [json.dumps(line) for line in lines]
    with tempfile.TemporaryDirectory() as tmp:
        box = Path(tmp) / "var"
        init_data_dir(box, trust=None, name="import-box")
        box_settings = load_settings(box, scheduler_enabled=False, ai_jobs_enabled=False)
        db = open_box_db(box / "box.db")
        try:
            first = attempts.import_attempts(db, box_settings, text)
            outbox_after_first = [r["statement_id"] for r in rows(db, "SELECT statement_id FROM outbox ORDER BY id")]
            second = attempts.import_attempts(db, box_settings, text)
            ids = [r["id"] for r in rows(db, "SELECT id FROM attempts")]
            outbox = [r["statement_id"] for r in rows(db, "SELECT statement_id FROM outbox ORDER BY id")]
        finally:
            db.conn.close()
        box_id = load_identity(box / "keys").box_id
    distinct = {(ln["pupil"], ln["knowledge_point"], ln["item"], ln["correct"], ln["ts"]) for ln in lines}
    assert first["imported"] == len(ids) == len(distinct)
    assert second["imported"] == 0 and second["duplicates"] == len(lines)
    assert outbox == outbox_after_first and len(outbox) == len(set(outbox))
    answered = {statement_id(box_id, f"attempt:{i}") for i in ids}
    mastered = {statement_id(box_id, f"mastered:{i}") for i in ids}
    assert answered <= set(outbox) <= answered | mastered
