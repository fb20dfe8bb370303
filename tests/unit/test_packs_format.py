"""Pure pack checks: paths, manifest parsing, signatures, rollback, expiry by trusted time, files, catalog."""

from __future__ import annotations

import json
import posixpath
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from sync import packs
from sync.packs import FileEntry, FileFacts, PackError
from sync.trust import advance_floor, floor_ahead_s, trusted_now

T0 = datetime(2026, 3, 1, tzinfo=UTC)
SHA = "a" * 64
CHANNEL = {"id": "c.one", "title": "One", "language": "en", "level": "primary"}


def manifest_bytes(**overrides) -> bytes:
    doc = {"format": 1, "channel": CHANNEL, "version": 2, "created": T0.isoformat(), "expires": None,
           "files": [{"path": "catalog.json", "sha256": SHA, "size": 10},
                     {"path": "media/a.ogg", "sha256": SHA, "size": 5}]}
    doc.update(overrides)
    return json.dumps(doc).encode()


def test_a_plain_relative_path_is_accepted():
    assert packs.check_path("media/lesson-1.ogg") == "media/lesson-1.ogg"


@pytest.mark.parametrize("path", ["../etc/passwd", "media/../../x", "/etc/passwd", "media//a", "./a", "a/.",
                                  "C:/win", "media\\..\\x", "a\x00b", "", "manifest.json"])
def test_escaping_absolute_or_odd_paths_are_refused(path):
    with pytest.raises(PackError):
        packs.check_path(path)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab./\\:\x00C-_ ")), max_size=30))
def test_any_accepted_path_stays_inside_the_pack_folder(path):
    try:
        accepted = packs.check_path(path)
    except PackError:
        return
    joined = posixpath.normpath(posixpath.join("/pack", accepted))
    assert joined.startswith("/pack/")
    assert ".." not in accepted.split("/") and not accepted.startswith("/") and "\\" not in accepted


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=200),
                 st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                              lambda inner: st.lists(inner, max_size=4)
                              | st.dictionaries(st.sampled_from(["format", "channel", "version", "created",
                                                                 "expires", "files", "path", "sha256", "size",
                                                                 "id", "title"]), inner, max_size=6),
                              max_leaves=20).map(lambda d: json.dumps(d).encode())))
def test_manifest_parsing_of_arbitrary_input_either_succeeds_or_raises_pack_error(data):
    try:
        manifest = packs.parse_manifest(data)
    except PackError as exc:
        assert "\n" not in str(exc)
        return
    assert manifest.entry("catalog.json") is not None


entries = st.lists(st.tuples(st.from_regex(r"\A[a-z]{1,6}(/[a-z]{1,6}){0,2}\.[a-z]{2,3}\Z"),
                             st.from_regex(r"\A[0-9a-f]{64}\Z"), st.integers(0, 2**40)),
                   max_size=8, unique_by=lambda e: e[0])


@settings(max_examples=100, deadline=None)
@given(entries, st.integers(1, 10**6))
def test_a_built_manifest_parses_back_to_the_same_files_and_version(files, version):
    listed = [FileEntry("catalog.json", SHA, 10)] + [FileEntry(*f) for f in files if f[0] != "catalog.json"]
    prefixes = {"/".join(f.path.split("/")[:i]) for f in listed for i in range(1, f.path.count("/") + 1)}
    if any(f.path in prefixes for f in listed):
        return
    data = packs.build_manifest(CHANNEL, version, T0, None, listed)
    parsed = packs.parse_manifest(data)
    assert parsed.version == version
    assert sorted(parsed.files, key=lambda f: f.path) == sorted(listed, key=lambda f: f.path)
    assert packs.build_manifest(CHANNEL, version, T0, None, list(parsed.files)) == data


def test_malformed_json_manifest_is_refused():
    with pytest.raises(PackError, match="not valid JSON"):
        packs.parse_manifest(b'{"format": 1, "channel": ')


def test_a_manifest_over_one_mebibyte_is_refused_before_parsing():
    big = manifest_bytes(padding="x" * packs.MAX_MANIFEST_BYTES)
    with pytest.raises(PackError, match="cap"):
        packs.parse_manifest(big)


def test_a_manifest_listing_an_oversized_catalog_is_refused():
    data = manifest_bytes(files=[{"path": "catalog.json", "sha256": SHA, "size": packs.MAX_CATALOG_BYTES + 1}])
    with pytest.raises(PackError, match="catalog.json is .* over"):
        packs.parse_manifest(data)


def test_a_manifest_without_catalog_json_is_refused():
    with pytest.raises(PackError, match="catalog.json"):
        packs.parse_manifest(manifest_bytes(files=[{"path": "media/a.ogg", "sha256": SHA, "size": 5}]))


def test_a_manifest_listing_a_path_with_dot_dot_is_refused():
    with pytest.raises(PackError, match="escapes"):
        packs.parse_manifest(manifest_bytes(files=[{"path": "catalog.json", "sha256": SHA, "size": 1},
                                                   {"path": "media/../../x", "sha256": SHA, "size": 1}]))


def test_a_manifest_without_timezone_on_created_is_refused():
    with pytest.raises(PackError, match="timezone"):
        packs.parse_manifest(manifest_bytes(created="2026-01-01T00:00:00"))


def test_a_signature_by_the_trusted_key_verifies_and_names_the_key():
    key = Ed25519PrivateKey.generate()
    data = manifest_bytes()
    sig = packs.parse_signature(packs.sign(data, key))
    trusted = {packs.key_id(key.public_key()): key.public_key()}
    assert packs.check_signature(data, sig, trusted) == packs.key_id(key.public_key())


def test_one_flipped_byte_in_the_manifest_breaks_the_signature():
    key = Ed25519PrivateKey.generate()
    data = manifest_bytes()
    sig = packs.parse_signature(packs.sign(data, key))
    flipped = bytearray(data)
    flipped[len(flipped) // 2] ^= 0x01
    with pytest.raises(PackError, match="bad signature"):
        packs.check_signature(bytes(flipped), sig, {packs.key_id(key.public_key()): key.public_key()})


def test_a_signature_by_an_untrusted_key_is_refused():
    signer, anchor = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    data = manifest_bytes()
    sig = packs.parse_signature(packs.sign(data, signer))
    with pytest.raises(PackError, match="untrusted key"):
        packs.check_signature(data, sig, {packs.key_id(anchor.public_key()): anchor.public_key()})


def test_a_forged_key_id_does_not_help_an_untrusted_signer():
    signer, anchor = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    data = manifest_bytes()
    sig = packs.parse_signature(packs.sign(data, signer))
    forged = packs.Signature(packs.key_id(anchor.public_key()), sig.signature)
    with pytest.raises(PackError, match="bad signature"):
        packs.check_signature(data, forged, {forged.key_id: anchor.public_key()})


def test_a_malformed_signature_file_is_refused():
    with pytest.raises(PackError):
        packs.parse_signature(b'{"algorithm": "ed25519", "key_id": "zz", "signature": "!!"}')


@pytest.mark.parametrize("active", [2, 3])
def test_a_version_not_newer_than_the_active_one_is_a_refused_rollback(active):
    with pytest.raises(PackError, match="rollback"):
        packs.check_version(packs.parse_manifest(manifest_bytes(version=2)), active)


def test_a_newer_version_or_a_new_channel_is_accepted():
    manifest = packs.parse_manifest(manifest_bytes(version=2))
    packs.check_version(manifest, 1)
    packs.check_version(manifest, None)


def test_expiry_uses_the_trusted_floor_when_the_box_clock_is_behind():
    manifest = packs.parse_manifest(manifest_bytes(expires=(T0 + timedelta(days=30)).isoformat()))
    clock_behind = datetime(2020, 1, 1, tzinfo=UTC)
    packs.check_expiry(manifest, trusted_now(clock_behind, None))
    floor = advance_floor(None, T0 + timedelta(days=31))
    with pytest.raises(PackError, match="expired"):
        packs.check_expiry(manifest, trusted_now(clock_behind, floor))


def test_the_trusted_floor_never_moves_back():
    floor = advance_floor(None, T0)
    assert advance_floor(floor, T0 - timedelta(days=1)) == T0
    assert advance_floor(floor, T0 + timedelta(days=1)) == T0 + timedelta(days=1)
    assert trusted_now(T0 + timedelta(days=5), floor) == T0 + timedelta(days=5)


def test_the_floor_counts_as_ahead_only_when_it_is_past_the_system_clock():
    assert floor_ahead_s(T0, None) == 0
    assert floor_ahead_s(T0, T0 - timedelta(days=3)) == 0
    assert floor_ahead_s(T0, T0 + timedelta(days=2, seconds=5)) == 2 * 86400 + 5


@pytest.mark.parametrize(("facts", "reason"), [
    (FileFacts(exists=False), "missing"),
    (FileFacts(exists=True, is_link=True), "symbolic link"),
    (FileFacts(exists=True, is_regular=False, size=5), "not a regular file"),
    (FileFacts(exists=True, size=4), "truncated"),
    (FileFacts(exists=True, size=6), "too big"),
    (FileFacts(exists=True, size=5, sha256="b" * 64), "sha256"),
])
def test_a_listed_file_that_differs_from_its_entry_is_refused_with_the_reason(facts, reason):
    with pytest.raises(PackError, match=reason):
        packs.check_file(FileEntry("media/a.ogg", SHA, 5), facts)


def test_a_listed_file_matching_size_and_hash_passes():
    packs.check_file(FileEntry("media/a.ogg", SHA, 5), FileFacts(exists=True, size=5, sha256=SHA))


def catalog_with(exercise: dict) -> bytes:
    lesson = {"id": "l", "title": "L", "knowledge_points": ["kp.a"], "media": {"path": "media/a.ogg", "kind": "audio"},
              "exercises": [{"id": "e", "knowledge_point": "kp.a", "prompt": "?", **exercise}]}
    return json.dumps({"channel": CHANNEL, "knowledge_points": [{"id": "kp.a", "name": "A"}],
                       "courses": [{"id": "c", "title": "C", "lessons": [lesson]}]}).encode()


@pytest.mark.parametrize("exercise", [
    {"kind": "choice", "choices": ["a", "b"], "answer": 1},
    {"kind": "number", "answer": 2.5, "tolerance": 0.1},
    {"kind": "text", "answer": "water"},
    {"kind": "text", "answer": ["habitat", "a habitat"]},
])
def test_valid_exercises_of_each_kind_are_accepted(exercise):
    parsed = packs.parse_catalog(catalog_with(exercise), {"catalog.json", "media/a.ogg"})
    assert parsed["courses"][0]["lessons"][0]["exercises"][0]["answer"] == exercise["answer"]


@pytest.mark.parametrize("exercise", [
    {"kind": "choice", "choices": ["a", "b"], "answer": 2},
    {"kind": "number", "answer": "two"},
    {"kind": "text", "answer": []},
    {"kind": "essay", "answer": "x"},
    {"kind": "number", "answer": 1, "difficulty": 5},
])
def test_invalid_exercises_are_refused(exercise):
    with pytest.raises(PackError):
        packs.parse_catalog(catalog_with(exercise), {"catalog.json", "media/a.ogg"})


def test_a_catalog_naming_media_absent_from_the_manifest_is_refused():
    with pytest.raises(PackError, match="not listed"):
        packs.parse_catalog(catalog_with({"kind": "text", "answer": "x"}), {"catalog.json"})


def test_an_oversized_catalog_is_refused():
    with pytest.raises(PackError, match="cap"):
        packs.parse_catalog(b" " * (packs.MAX_CATALOG_BYTES + 1))


def test_ids_owned_by_another_channel_are_refused_but_own_ids_are_fine():
    packs.check_owners("lesson", ["l1"], {"l1": "c.one"}, "c.one")
    with pytest.raises(PackError, match="already belongs to channel c.two"):
        packs.check_owners("lesson", ["l1"], {"l1": "c.two"}, "c.one")
