"""Pack fixtures for everyone's tests: a signing key pair and a data dir with the sample course imported."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest

from sync.trust import generate_keys


class SigningKey(NamedTuple):
    """A generated Ed25519 pack-signing key pair on disk."""

    dir: Path
    private: Path
    public: Path
    key_id: str


@pytest.fixture
def signing_key(tmp_path: Path) -> SigningKey:
    """A fresh signing key pair in tmp_path/signing-keys (signing.key, signing.pub)."""
    private, public, kid = generate_keys(tmp_path / "signing-keys")
    return SigningKey(tmp_path / "signing-keys", private, public, kid)


@pytest.fixture
def sample_data_dir(tmp_path: Path, signing_key: SigningKey) -> Path:
    """An initialised data dir (tmp_path/sample-var) trusting signing_key, with the sample course imported."""
    from edge_server.sample import build_and_import_sample

    data = tmp_path / "sample-var"
    build_and_import_sample(data, signing_key.dir)
    return data


__all__ = ["SigningKey", "signing_key", "sample_data_dir"]

TINY_CHANNEL = "test.tiny"


def write_source(folder: Path, *, channel: str = TINY_CHANNEL, lessons: tuple[str, ...] = ("tiny-1",),
                 title: str = "Tiny lesson", media_size: int = 64 * 1024, seed: int = 1) -> Path:
    """A small pack source folder: catalog.json with one course, the given lessons and random media bytes."""
    import json
    import random

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "media").mkdir(exist_ok=True)
    rng = random.Random(seed)
    lesson_docs = []
    for lid in lessons:
        (folder / "media" / f"{lid}.ogg").write_bytes(rng.randbytes(media_size))
        lesson_docs.append({
            "id": lid, "title": f"{title} {lid}", "knowledge_points": [f"{channel}.kp1"],
            "media": {"path": f"media/{lid}.ogg", "kind": "audio"}, "text": f"Notes about {title}.",
            "exercises": [{"id": f"{lid}-ex1", "knowledge_point": f"{channel}.kp1", "kind": "number",
                           "prompt": "2 + 2 = ?", "answer": 4, "difficulty": 1, "hint": "count"}]})
    catalog = {"channel": {"id": channel, "title": f"Channel {channel}", "language": "en", "level": "primary"},
               "knowledge_points": [{"id": f"{channel}.kp1", "name": "Adding", "description": "Add numbers."}],
               "courses": [{"id": f"{channel}.course", "title": "Course", "subject": "maths", "grade": "1",
                            "lessons": lesson_docs}]}
    (folder / "catalog.json").write_text(json.dumps(catalog, indent=1))
    return folder


def resign(pack: Path, key_path: Path, edit) -> None:
    """Rewrite pack/manifest.json through edit(doc) and sign the new bytes (a validly signed, hostile manifest)."""
    import json

    from sync.packs import sign
    from sync.trust import read_private

    doc = json.loads((pack / "manifest.json").read_bytes())
    edit(doc)
    data = json.dumps(doc, indent=1).encode()
    (pack / "manifest.json").write_bytes(data)
    (pack / "manifest.sig").write_bytes(sign(data, read_private(key_path)))
