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
