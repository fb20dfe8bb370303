"""The shared pack fixtures give a data dir that serves the sample course."""

from __future__ import annotations

from pathlib import Path

from edge_server.store.db import connect, rows


def test_sample_data_dir_has_the_sample_course_active_with_its_media_on_disk(sample_data_dir, signing_key):
    db = connect(sample_data_dir / "box.db")
    channels = rows(db, "SELECT id, version, path, key_id FROM channels")
    assert [(c["id"], c["version"], c["key_id"]) for c in channels] == [("demo.science.primary", 1,
                                                                         signing_key.key_id)]
    lessons = rows(db, "SELECT id, media_path, media_sha256 FROM lessons ORDER BY id")
    assert {lesson["id"] for lesson in lessons} == {"water-cycle", "shapes-and-angles", "living-things"}
    for lesson in lessons:
        assert (Path(channels[0]["path"]) / lesson["media_path"]).is_file()
        assert len(lesson["media_sha256"]) == 64
    assert (sample_data_dir / "keys" / "trusted" / "signing.pub").read_bytes() == signing_key.public.read_bytes()
