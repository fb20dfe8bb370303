"""A lesson's language: from its channel or its own catalog entry, in the API, the tracks and the AI jobs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge_server import jobs
from edge_server.settings import load_settings
from edge_server.store.db import connect, one, rows, write
from edge_server.web.app import create_app
from models.pipeline import Output
from sync.packs import PackError, parse_catalog
from tests.ai_support import import_source
from tests.e2e.pages_data import populate
from tests.fixtures_packs import signing_key  # noqa: F401
from tests.integration.test_pages_flows import teacher_login


def write_source(folder: Path, channel_language: str, lesson_languages: dict[str, str | None]) -> Path:
    """A pack source with one audio lesson per entry (lesson id -> its own language or None)."""
    (folder / "media").mkdir(parents=True, exist_ok=True)
    lessons = []
    for n, (lid, language) in enumerate(lesson_languages.items()):
        (folder / "media" / f"{lid}.wav").write_bytes(b"RIFF" + bytes([n]) * 64)
        lesson = {"id": lid, "title": f"Lesson {lid}", "knowledge_points": ["lang.kp"],
                  "media": {"path": f"media/{lid}.wav", "kind": "audio"}, "exercises": []}
        if language is not None:
            lesson["language"] = language
        lessons.append(lesson)
    catalog = {"channel": {"id": "test.lang", "title": "Languages", "language": channel_language, "level": "primary"},
               "knowledge_points": [{"id": "lang.kp", "name": "Les volcans", "description": "Le magma remonte."}],
               "courses": [{"id": "lang.course", "title": "Course", "lessons": lessons}]}
    (folder / "catalog.json").write_text(json.dumps(catalog, ensure_ascii=False))
    return folder


def store_transcript(data: Path, lesson_id: str, language: str) -> None:
    """AI outputs for a lesson's medium as the pipeline stores them, made in the given language."""
    db = connect(data / "box.db")
    sha = one(db, "SELECT media_sha256 FROM lessons WHERE id = ?", (lesson_id,))["media_sha256"]
    transcript = {"language": language, "duration": 4.0, "segments": [{"start": 0, "end": 4, "text": "Le magma."}]}
    chapters = [{"start": 0, "end": 4, "title": "Les volcans", "knowledge_point": "lang.kp"}]
    outputs = {k: Output(k, json.dumps(v, ensure_ascii=False), "whisper", "aa" * 32) for k, v in (
        ("transcript", transcript), ("chapters", chapters), ("summary", {"summary": "Le magma."}))}
    outputs["captions_vtt"] = Output("captions_vtt", "WEBVTT\n\n00:00:00.000 --> 00:00:04.000\nLe magma.\n",
                                     "whisper", "aa" * 32)
    write(db, lambda tx: jobs.store_outputs(tx, sha, outputs))
    db.execute("DELETE FROM jobs")
    db.conn.close()


@pytest.fixture
def box(tmp_path, signing_key):  # noqa: F811
    data = tmp_path / "var"
    import_source(write_source(tmp_path / "src", "fr", {"volcans": None, "lune": "zh-Hans"}), data, signing_key)
    return data


def test_a_lesson_takes_its_channels_language_unless_it_names_its_own(box):
    db = connect(box / "box.db")
    assert jobs.lesson_language(db, "volcans") == "fr"
    assert jobs.lesson_language(db, "lune") == "zh"
    app = create_app(load_settings(box, scheduler_enabled=False, ai_jobs_enabled=False, announce=False))
    api = app.test_client()
    assert api.get("/api/v1/lessons/volcans").get_json()["language"] == "fr"
    assert api.get("/api/v1/lessons/lune").get_json()["language"] == "zh"


def test_the_player_gives_the_captions_track_the_lessons_language_and_labels_it_by_name(box):
    store_transcript(box, "volcans", "fr")
    populate(box)
    app = create_app(load_settings(box, scheduler_enabled=False, ai_jobs_enabled=False, announce=False))
    client = app.test_client()
    teacher_login(client)
    page = client.get("/lesson/volcans").get_data(as_text=True)
    assert ('<track kind="captions" src="/api/v1/lessons/volcans/captions.vtt" srclang="fr" '
            'label="Captions (Français)">') in page
    # the page's own language (English here) does not change the track's
    assert client.get("/lesson/lune").status_code == 200


def test_outputs_made_in_another_language_are_made_again_when_a_new_version_changes_the_lessons_language(
        tmp_path, signing_key):  # noqa: F811
    data = tmp_path / "var"
    src = write_source(tmp_path / "src", "en", {"volcans": None, "lune": None})
    import_source(src, data, signing_key)
    store_transcript(data, "volcans", "en")
    store_transcript(data, "lune", "en")
    write_source(src, "en", {"volcans": "fr", "lune": None})
    result = import_source(src, data, signing_key, version=2)
    queued = rows(connect(data / "box.db"), "SELECT key, payload FROM jobs WHERE status = 'queued'")
    assert result["jobs_queued"] == 1
    assert [json.loads(j["payload"])["lesson_id"] for j in queued] == ["volcans"]


@pytest.mark.parametrize("language", ["French!", "", 12, "x"])
def test_a_catalog_whose_lesson_language_is_not_a_language_tag_is_refused(language):
    catalog = {"channel": {"id": "c.x", "title": "X"}, "knowledge_points": [],
               "courses": [{"id": "c.course", "title": "C", "lessons": [
                   {"id": "l1", "title": "L", "language": language}]}]}
    with pytest.raises(PackError, match="language must be a language tag"):
        parse_catalog(json.dumps(catalog).encode())


def test_the_transcript_index_finds_chinese_words_inside_a_sentence_without_spaces(box):
    db = connect(box / "box.db")
    sha = one(db, "SELECT media_sha256 FROM lessons WHERE id = 'lune'")["media_sha256"]
    text = "月亮自己不会发光。它反射太阳的光，所以我们能看见它。"
    transcript = {"language": "zh", "duration": 6.0, "segments": [{"start": 0, "end": 6, "text": text}]}
    chapters = [{"start": 0, "end": 6, "title": "月亮", "knowledge_point": "lang.kp"}]
    outputs = {k: Output(k, json.dumps(v, ensure_ascii=False), "whisper", "aa" * 32) for k, v in (
        ("transcript", transcript), ("chapters", chapters), ("summary", {"summary": text}))}
    write(db, lambda tx: jobs.store_outputs(tx, sha, outputs))
    hits = rows(db, "SELECT c.text FROM chunks_fts JOIN transcript_chunks c ON c.id = chunks_fts.rowid "
                    "WHERE chunks_fts MATCH ?", ('"反射"',))
    assert [h["text"] for h in hits] == [text]  # shown as spoken, found by a word in the middle
    # storing again replaces the rows and their index entries (the index holds what was indexed, no more)
    write(db, lambda tx: jobs.store_outputs(tx, sha, outputs))
    assert len(rows(db, "SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH '\"反射\"'")) == 1
    db.execute("INSERT INTO chunks_fts (chunks_fts) VALUES ('integrity-check')")


def test_the_migration_indexes_the_chinese_transcripts_a_box_already_holds_by_word(tmp_path):
    import sqlite_utils

    from edge_server.store.migrations import migrate, migrations

    db = sqlite_utils.Database(tmp_path / "old.db")
    migrations.apply(db, stop_before="0008_lesson_languages")
    for n, text in enumerate(("植物用叶子进行光合作用。", "The sun heats the water.")):
        cur = db.execute("INSERT INTO transcript_chunks (media_sha256, lesson_id, start, end, text) "
                         "VALUES ('m', 'l', ?, ?, ?)", (n, n + 1, text))
        db.execute("INSERT INTO chunks_fts (rowid, text) VALUES (?, ?)", (cur.lastrowid, text))
    assert "0008_lesson_languages" in migrate(db)
    assert list(db.query("SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH '\"叶子\"'")) == [{"rowid": 1}]
    assert list(db.query("SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH 'heats'")) == [{"rowid": 2}]
    assert "language" in db["lessons"].columns_dict
