"""The JSON API over the sample course: health, catalog, lessons, VTT tracks, search and the OpenAPI document."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from edge_server.settings import load_settings
from edge_server.store.db import connect, one
from edge_server.web import openapi
from edge_server.web.app import create_app

CHAPTERS = [{"start": 0.0, "end": 20.5, "title": "Evaporation", "knowledge_point": "sci.water.evaporation"},
            {"start": 20.5, "end": 40.0, "title": "Condensation", "knowledge_point": "sci.water.condensation"}]
CAPTIONS = "WEBVTT\n\n00:00:00.000 --> 00:00:03.000\nWelcome to our lesson on the water cycle.\n"
CHAPTERS_VTT = "WEBVTT\n\n00:00:00.000 --> 00:00:20.500\nEvaporation\n"


@pytest.fixture
def api(sample_data_dir):
    app = create_app(load_settings(sample_data_dir, scheduler_enabled=False, ai_jobs_enabled=False, announce=False))
    app.config.update(TESTING=True)
    return app.test_client()


def conforms(doc: dict, schema_name: str) -> None:
    """Validate a response against its component schema in the served OpenAPI document."""
    spec = openapi.build([openapi.CORE])
    Draft202012Validator({"$ref": f"#/components/schemas/{schema_name}", "components": spec["components"]}
                         ).validate(doc)


def store_ai_outputs(data_dir, lesson_id: str) -> None:
    db = connect(data_dir / "box.db")
    sha = one(db, "SELECT media_sha256 FROM lessons WHERE id = ?", (lesson_id,))["media_sha256"]
    for kind, content in (("chapters", json.dumps(CHAPTERS)), ("captions_vtt", CAPTIONS),
                          ("chapters_vtt", CHAPTERS_VTT),
                          ("summary", json.dumps({"summary": "Water goes round.", "model": "gemma-3-270m"}))):
        db.execute("INSERT OR REPLACE INTO ai_outputs (media_sha256, kind, content, model_id, created) "
                   "VALUES (?, ?, ?, 'test', '2026-01-01')", (sha, kind, content))
    cur = db.execute("INSERT INTO transcript_chunks (media_sha256, lesson_id, knowledge_point, start, end, text) "
                     "VALUES (?, ?, 'sci.water.condensation', 20.5, 40.0, 'tiny drops of liquid form a cloud')",
                     (sha, lesson_id))
    db.execute("INSERT INTO chunks_fts (rowid, text) VALUES (?, 'tiny drops of liquid form a cloud')",
               (cur.lastrowid,))
    db.conn.close()


def test_health_reports_ok_with_the_catalog_size(api):
    doc = api.get("/api/v1/health").get_json()
    assert doc["status"] == "ok" and doc["channels"] == 1 and doc["lessons"] == 3
    conforms(doc, "Health")


def test_the_catalog_lists_the_sample_course_with_box_media_paths(api):
    doc = api.get("/api/v1/catalog").get_json()
    conforms(doc, "Catalog")
    (channel,) = doc["channels"]
    assert channel["id"] == "demo.science.primary" and channel["version"] == 1
    lessons = {lesson["id"]: lesson for course in channel["courses"] for lesson in course["lessons"]}
    assert set(lessons) == {"water-cycle", "shapes-and-angles", "living-things"}
    assert lessons["water-cycle"]["media"] == {"kind": "audio",
                                               "url": "/media/demo.science.primary/media/water-cycle.ogg"}


def test_a_lesson_has_its_medium_knowledge_points_in_order_and_exercises_without_answers(api):
    response = api.get("/api/v1/lessons/water-cycle")
    doc = response.get_json()
    conforms(doc, "Lesson")
    assert [kp["id"] for kp in doc["knowledge_points"]] == [
        "sci.water.evaporation", "sci.water.condensation", "sci.water.precipitation", "sci.water.collection"]
    assert len(doc["exercises"]) == 5
    assert "answer" not in response.get_data(as_text=True)
    assert {ex["kind"] for ex in doc["exercises"]} == {"choice", "number", "text"}
    assert doc["chapters"] == [] and doc["summary"] is None and doc["captions_url"] is None
    media = api.get(doc["media"]["url"])
    assert media.status_code == 200 and media.mimetype == "audio/ogg"
    assert media.data[:4] == b"OggS" and len(media.data) == doc["media"]["size"]


def test_ai_outputs_of_the_lesson_medium_appear_as_chapters_summary_and_vtt_tracks(api, sample_data_dir):
    store_ai_outputs(sample_data_dir, "water-cycle")
    doc = api.get("/api/v1/lessons/water-cycle").get_json()
    conforms(doc, "Lesson")
    assert doc["chapters"] == CHAPTERS
    assert doc["summary"] == "Water goes round." and doc["summary_model"] == "gemma-3-270m"
    captions = api.get(doc["captions_url"])
    assert captions.status_code == 200 and captions.mimetype == "text/vtt"
    assert captions.get_data(as_text=True) == CAPTIONS
    chapters = api.get(doc["chapters_url"])
    assert chapters.mimetype == "text/vtt" and chapters.get_data(as_text=True) == CHAPTERS_VTT


def test_missing_lessons_and_tracks_are_json_404s(api):
    for url in ("/api/v1/lessons/no-such-lesson", "/api/v1/lessons/water-cycle/captions.vtt",
                "/api/v1/lessons/no-such-lesson/chapters.vtt"):
        response = api.get(url)
        assert response.status_code == 404
        conforms(response.get_json(), "Error")


def test_search_finds_lessons_by_title_and_notes_best_first(api):
    doc = api.get("/api/v1/search?q=triangle angles").get_json()
    conforms(doc, "SearchResults")
    assert doc["results"][0]["lesson_id"] == "shapes-and-angles"
    habitat = api.get("/api/v1/search?q=habitat").get_json()["results"]
    assert [hit["lesson_id"] for hit in habitat] == ["living-things"]
    assert api.get("/api/v1/search?q=%22%29%28*").get_json()["results"] == []


def test_search_also_finds_transcript_passages_with_their_time_span(api, sample_data_dir):
    store_ai_outputs(sample_data_dir, "water-cycle")
    doc = api.get("/api/v1/search?q=cloud").get_json()
    conforms(doc, "SearchResults")
    transcript = [hit for hit in doc["results"] if hit["kind"] == "transcript"]
    assert transcript == [{"kind": "transcript", "lesson_id": "water-cycle", "title": "The water cycle",
                           "knowledge_point": "sci.water.condensation", "start": 20.5, "end": 40.0,
                           "snippet": "tiny drops of liquid form a [cloud]"}]


def test_the_openapi_document_describes_every_route_of_the_api_blueprint_and_takes_parts(api):
    extra = openapi.Part({"/api/v1/test-only": {"get": {"responses": {"200": {"description": "ok"}}}}})
    assert "/api/v1/test-only" in openapi.build([openapi.CORE, extra])["paths"]
    doc = api.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    assert "/api/v1/test-only" not in doc["paths"]  # nothing added at import time leaks into the served document
    routes = {str(rule) for rule in api.application.url_map.iter_rules() if rule.endpoint.startswith("api.")}
    documented = {path.replace("{lesson_id}", "<lesson_id>") for path in doc["paths"]}
    assert routes and routes <= documented, routes - documented
    for schema in doc["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


def test_search_finds_a_chinese_word_inside_a_sentence_of_a_chinese_channel(api, sample_data_dir, signing_key,
                                                                            tmp_path):
    from edge_server.packs_import import build_pack, import_pack
    from sync.trust import read_private

    src = tmp_path / "zh"
    (src / "media").mkdir(parents=True)
    (src / "media" / "shui.ogg").write_bytes(b"OggS" + b"\0" * 100)
    catalog = {"channel": {"id": "cn.k12.science.g5", "title": "科学 五年级", "language": "zh", "level": "primary"},
               "knowledge_points": [{"id": "zh.water.evaporation", "name": "蒸发"}],
               "courses": [{"id": "zh-science-5", "title": "科学", "lessons": [{
                   "id": "zh-water-cycle", "title": "水的循环", "knowledge_points": ["zh.water.evaporation"],
                   "media": {"path": "media/shui.ogg", "kind": "audio"},
                   "text": "太阳把水加热，水变成水蒸气升到空中。"}]}]}
    (src / "catalog.json").write_text(json.dumps(catalog, ensure_ascii=False), encoding="utf-8")
    build_pack(src, tmp_path / "zh-pack", read_private(signing_key.private), 1)
    import_pack(load_settings(sample_data_dir), tmp_path / "zh-pack")
    doc = api.get("/api/v1/search?q=水蒸气").get_json()
    conforms(doc, "SearchResults")
    assert [hit["lesson_id"] for hit in doc["results"]] == ["zh-water-cycle"]
    assert "[水蒸气]" in doc["results"][0]["snippet"]
    mixed = api.get("/api/v1/search?q=循环 water").get_json()["results"]
    assert {"zh-water-cycle", "water-cycle"} <= {hit["lesson_id"] for hit in mixed}
