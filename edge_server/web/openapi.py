"""The OpenAPI 3.1 document of /api/v1: the core endpoints here, others in a Part of their own view module.

create_app builds the document once from the parts (build); nothing is added at import time.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from edge_server import __version__

_NULLABLE_STR = {"type": ["string", "null"]}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def ref(name: str) -> dict[str, str]:
    """A $ref to a component schema."""
    return {"$ref": f"#/components/schemas/{name}"}


NOT_FOUND = _json(ref("Error"), "No such item")
# A lesson of the school's own recordings (local channel) without a pupil or teacher login; a lesson of an expired pack.
REFUSED = {"401": _json(ref("Error"), "The school's own recordings need a pupil or teacher session"),
           "410": _json(ref("Error"), "The lesson's pack has expired by the box's trusted time")}

SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
    "Health": {
        "type": "object", "required": ["status", "version", "channels", "lessons"],
        "properties": {"status": {"type": "string", "enum": ["ok"]}, "version": {"type": "string"},
                       "box_id": _NULLABLE_STR, "box_name": {"type": "string"},
                       "channels": {"type": "integer"}, "lessons": {"type": "integer"},
                       "models": {"type": "object", "required": ["process", "selftest", "text"], "properties": {
                           "process": {"type": "string", "enum": ["up", "down"]},
                           "pid": {"type": ["integer", "null"]},
                           "selftest": {"type": ["array", "null"], "items": {"type": "object"}},
                           "tested_at": _NULLABLE_STR,
                           "text": {"type": "string", "enum": ["generated", "extractive"]}}},
                       "time": {"type": "string", "format": "date-time"}},
    },
    "Media": {
        "type": ["object", "null"], "required": ["url", "kind"],
        "properties": {"url": {"type": "string", "pattern": "^/"}, "kind": {"type": "string",
                                                                           "enum": ["video", "audio"]},
                       "sha256": _NULLABLE_STR, "size": {"type": ["integer", "null"]}},
    },
    "KnowledgePoint": {
        "type": "object", "required": ["id", "name"],
        "properties": {"id": {"type": "string"}, "channel_id": {"type": "string"}, "name": {"type": "string"},
                       "description": _NULLABLE_STR},
    },
    "LessonSummary": {
        "type": "object", "required": ["id", "title", "media", "knowledge_points"],
        "properties": {"id": {"type": "string"}, "title": {"type": "string"}, "media": ref("Media"),
                       "knowledge_points": {"type": "array", "items": {"type": "string"}}},
    },
    "Course": {
        "type": "object", "required": ["id", "title", "lessons"],
        "properties": {"id": {"type": "string"}, "title": {"type": "string"}, "subject": _NULLABLE_STR,
                       "grade": _NULLABLE_STR, "lessons": {"type": "array", "items": ref("LessonSummary")}},
    },
    "Channel": {
        "type": "object", "required": ["id", "title", "version", "courses"],
        "properties": {"id": {"type": "string"}, "title": {"type": "string"}, "language": _NULLABLE_STR,
                       "level": _NULLABLE_STR, "version": {"type": "integer"},
                       "expired": {"type": "boolean",
                                   "description": "The pack expired by the box's trusted time: no courses served"},
                       "courses": {"type": "array", "items": ref("Course")}},
    },
    "Catalog": {
        "type": "object", "required": ["channels", "knowledge_points"],
        "properties": {"channels": {"type": "array", "items": ref("Channel")},
                       "knowledge_points": {"type": "array", "items": ref("KnowledgePoint")}},
    },
    "Chapter": {
        "type": "object", "required": ["start", "end", "title"],
        "properties": {"start": {"type": "number"}, "end": {"type": "number"}, "title": {"type": "string"},
                       "knowledge_point": _NULLABLE_STR},
    },
    "Exercise": {
        "type": "object", "required": ["id", "kind", "prompt", "difficulty"],
        "description": "An exercise as a pupil sees it: never the answer.",
        "properties": {"id": {"type": "string"}, "knowledge_point": _NULLABLE_STR,
                       "kind": {"type": "string", "enum": ["choice", "number", "text"]},
                       "prompt": {"type": "string"},
                       "choices": {"type": ["array", "null"], "items": {"type": "string"}},
                       "difficulty": {"type": "integer", "minimum": 1, "maximum": 3}, "hint": _NULLABLE_STR},
        "not": {"anyOf": [{"required": ["answer"]}, {"required": ["tolerance"]}]},
    },
    "Lesson": {
        "type": "object",
        "required": ["id", "title", "media", "chapters", "summary", "knowledge_points", "exercises",
                     "captions_url", "chapters_url"],
        "properties": {
            "id": {"type": "string"}, "title": {"type": "string"}, "channel_id": {"type": "string"},
            "course_id": {"type": "string"}, "media": ref("Media"),
            "chapters": {"type": "array", "items": ref("Chapter")},
            "summary": _NULLABLE_STR, "summary_model": _NULLABLE_STR,
            "notes": {"type": ["string", "null"], "description": "Lesson notes (Markdown)"},
            "knowledge_points": {"type": "array", "items": ref("KnowledgePoint")},
            "exercises": {"type": "array", "items": ref("Exercise")},
            "captions_url": _NULLABLE_STR, "chapters_url": _NULLABLE_STR,
            "language": {"type": "string", "description": "The language the lesson is taught in (its own, else its "
                                                          "channel's), the captions track's srclang"},
        },
    },
    "SearchHit": {
        "type": "object", "required": ["kind", "lesson_id", "title", "snippet"],
        "properties": {"kind": {"type": "string", "enum": ["lesson", "transcript"]},
                       "lesson_id": {"type": "string"}, "title": {"type": "string"}, "snippet": {"type": "string"},
                       "start": {"type": "number"}, "end": {"type": "number"}, "knowledge_point": _NULLABLE_STR},
    },
    "SearchResults": {
        "type": "object", "required": ["query", "results"],
        "properties": {"query": {"type": "string"}, "results": {"type": "array", "items": ref("SearchHit")}},
    },
}

LESSON_ID = {"name": "lesson_id", "in": "path", "required": True, "schema": {"type": "string"}}
VTT = {"text/vtt": {"schema": {"type": "string"}}}

PATHS: dict[str, Any] = {
    "/api/v1/health": {"get": {"operationId": "health", "summary": "Box status",
                               "responses": {"200": _json(ref("Health"), "The box is up")}}},
    "/api/v1/catalog": {"get": {"operationId": "catalog", "summary": "Channels, courses and lessons (the school's "
                                "own recordings only with a pupil or teacher session)",
                                "responses": {"200": _json(ref("Catalog"), "The active catalog")}}},
    "/api/v1/lessons/{lesson_id}": {"get": {
        "operationId": "lesson", "summary": "One lesson with medium, chapters, summary and exercises",
        "parameters": [LESSON_ID],
        "responses": {"200": _json(ref("Lesson"), "The lesson"), "404": NOT_FOUND, **REFUSED}}},
    "/api/v1/lessons/{lesson_id}/captions.vtt": {"get": {
        "operationId": "lessonCaptions", "summary": "WebVTT captions of the lesson medium", "parameters": [LESSON_ID],
        "responses": {"200": {"description": "Captions", "content": VTT}, "404": NOT_FOUND, **REFUSED}}},
    "/api/v1/lessons/{lesson_id}/chapters.vtt": {"get": {
        "operationId": "lessonChapters", "summary": "WebVTT chapters track of the lesson medium",
        "parameters": [LESSON_ID],
        "responses": {"200": {"description": "Chapters", "content": VTT}, "404": NOT_FOUND, **REFUSED}}},
    "/api/v1/search": {"get": {
        "operationId": "search", "summary": "Full-text search over lesson titles, notes and transcripts",
        "parameters": [{"name": "q", "in": "query", "required": False, "schema": {"type": "string"}}],
        "responses": {"200": _json(ref("SearchResults"), "Hits, best first")}}},
    "/api/v1/openapi.json": {"get": {"operationId": "openapi", "summary": "This document",
                                     "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1")}}},
}

@dataclass(frozen=True)
class Part:
    """The path items and component schemas one module documents."""

    paths: Mapping[str, dict[str, Any]]
    schemas: Mapping[str, dict[str, Any]] = field(default_factory=dict)


CORE = Part(PATHS, SCHEMAS)


def build(parts: Iterable[Part]) -> dict[str, Any]:
    """The whole document, as served at /api/v1/openapi.json: the parts' paths (methods of one path merged) and
    schemas."""
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {}
    for part in parts:
        for path, item in part.paths.items():
            paths.setdefault(path, {}).update(copy.deepcopy(item))
        schemas.update(copy.deepcopy(dict(part.schemas)))
    return {"openapi": "3.1.0",
            "info": {"title": "Classroom box API", "version": __version__,
                     "description": "The JSON API of a classroom box, served on the school LAN."},
            "paths": paths, "components": {"schemas": schemas}}
