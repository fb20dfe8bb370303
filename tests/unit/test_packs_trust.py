"""Key files and trust anchors: PEM or hex public keys, one file or a folder, wrong key types refused."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from sync.packs import PackError, key_id, public_raw
from sync.trust import generate_keys, read_private, read_public, trusted_keys


def test_generated_keys_round_trip_and_share_one_key_id(tmp_path):
    private, public, kid = generate_keys(tmp_path)
    assert key_id(read_private(private).public_key()) == kid == key_id(read_public(public))


def test_a_folder_of_anchors_gives_every_key_by_id_and_accepts_raw_hex_keys(tmp_path):
    _, pub_a, kid_a = generate_keys(tmp_path / "a")
    _, pub_b, kid_b = generate_keys(tmp_path / "b")
    anchors = tmp_path / "trusted"
    anchors.mkdir()
    (anchors / "a.pub").write_bytes(pub_a.read_bytes())
    (anchors / "b.pub").write_text(public_raw(read_public(pub_b)).hex() + "\n")
    (anchors / "notes.txt").write_text("not a key")
    assert set(trusted_keys(anchors)) == {kid_a, kid_b}
    assert set(trusted_keys(pub_a)) == {kid_a}


def test_a_non_ed25519_key_is_refused_as_a_trust_anchor(tmp_path):
    pem = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    (tmp_path / "ec.pub").write_bytes(pem)
    with pytest.raises(PackError, match="not an Ed25519 key"):
        trusted_keys(tmp_path)


def test_generating_over_an_existing_key_is_refused(tmp_path):
    generate_keys(tmp_path)
    with pytest.raises(PackError, match="already exists"):
        generate_keys(tmp_path)


def test_a_missing_signing_key_file_says_how_to_make_one(tmp_path):
    with pytest.raises(PackError, match="keys generate"):
        read_private(tmp_path / "nope.key")


def test_a_scope_file_beside_a_key_limits_it_to_channel_prefixes_and_no_file_means_no_limit(tmp_path):
    _, pub_a, kid_a = generate_keys(tmp_path / "a")
    _, pub_b, kid_b = generate_keys(tmp_path / "b")
    anchors = tmp_path / "trusted"
    anchors.mkdir()
    (anchors / "a.pub").write_bytes(pub_a.read_bytes())
    (anchors / "a.scope").write_text("cn.k12.   # the province\n\nfr.acad\n")
    (anchors / "b.pub").write_bytes(pub_b.read_bytes())
    trusted = trusted_keys(anchors)
    assert trusted.scope(kid_a) == ("cn.k12.", "fr.acad") and trusted.scope(kid_b) is None
    assert trusted_keys(anchors / "a.pub").scope(kid_a) == ("cn.k12.", "fr.acad")


@pytest.mark.parametrize(("channel", "allowed"), [
    ("cn.k12.science", True), ("fr.acad", True), ("fr.acad.maths", True),
    ("cn.k12", False), ("fr.academy", False), ("fr.maths", False)])
def test_a_scoped_key_publishes_only_inside_its_prefixes(channel, allowed):
    from sync.packs import check_publisher

    if allowed:
        check_publisher(channel, "k", ("cn.k12.", "fr.acad"))
    else:
        with pytest.raises(PackError, match=f"key k may not publish channel {channel}"):
            check_publisher(channel, "k", ("cn.k12.", "fr.acad"))


@pytest.mark.parametrize("channel", ["local.school", "local", "Local.School", "local.x.y"])
def test_local_channels_are_reserved_whatever_the_key_scope(channel):
    from sync.packs import check_publisher

    for scope in (None, ("local.",), ("",)):
        with pytest.raises(PackError, match="reserved for the box's own content"):
            check_publisher(channel, "k", scope)


def test_a_scope_line_that_is_not_a_channel_prefix_is_refused(tmp_path):
    _, pub, _ = generate_keys(tmp_path / "a")
    (tmp_path / "a" / "signing.scope").write_text("cn.k12.\nno spaces allowed\n")
    with pytest.raises(PackError, match="line 2"):
        trusted_keys(pub)
