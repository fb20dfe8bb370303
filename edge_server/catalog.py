"""Read the catalog of active packs: channels, courses, lessons, knowledge points, exercises."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import sqlite_utils

from edge_server.store import channels as channel_store
from edge_server.store.db import one, rows
from models import languages
from sync.trust import parse_floor


def media_url(lesson: dict[str, Any]) -> str | None:
    """The box path a lesson's medium is served from."""
    if not lesson.get("media_path"):
        return None
    return f"/media/{lesson['channel_id']}/{lesson['media_path']}"


# --- who may see what: the school's own recordings need a login; an expired pack is no longer served -------------
# The local channel (recordings.LOCAL_CHANNEL, "local.school", marked local = 1 in `channels`) holds teachers'
# classroom recordings: children's voices and names. National packs are public course content.


def is_expired(expires: str | None, trusted_now: datetime) -> bool:
    """Whether a channel's `expires` (ISO-8601, or None for never) has passed at the box's trusted time."""
    moment = parse_floor(expires)
    return moment is not None and moment <= trusted_now


def expired_channels(db: sqlite_utils.Database, now: datetime | None = None) -> dict[str, str]:
    """Channel id -> expiry of every active channel whose pack has expired by the box's trusted time."""
    trusted = channel_store.box_trusted_now(db, now)
    return {c.id: c.expires for c in channel_store.all_channels(db) if c.expires and is_expired(c.expires, trusted)}


def hidden_channels(db: sqlite_utils.Database, signed_in: bool, now: datetime | None = None) -> set[str]:
    """Channels whose lessons may not be served to this reader: expired ones, and the local one without a login."""
    hidden = set(expired_channels(db, now))
    if not signed_in:
        hidden |= {c.id for c in channel_store.all_channels(db) if c.local}
    return hidden


def lesson_ids(db: sqlite_utils.Database, channels: set[str] | None = None) -> set[str]:
    """The ids of every lesson, or of the lessons of the given channels."""
    if channels is None:
        return {r["id"] for r in rows(db, "SELECT id FROM lessons")}
    marks = ",".join("?" * len(channels))
    return {r["id"] for r in rows(db, f"SELECT id FROM lessons WHERE channel_id IN ({marks})", tuple(channels))}


def lesson_refusal(db: sqlite_utils.Database, lesson_id: str, signed_in: bool,
                   now: datetime | None = None) -> tuple[int, str] | None:
    """Why a lesson (and its tracks) may not be served to this reader, as (HTTP status, reason), or None."""
    channel = channel_store.of_lesson(db, lesson_id)
    if channel is None:
        return None
    if channel.local and not signed_in:
        return 401, "the school's own recordings need a pupil or teacher login"
    if is_expired(channel.expires, channel_store.box_trusted_now(db, now)):
        return 410, f"the pack of channel {channel.id} expired at {channel.expires}: it is no longer served"
    return None


def knowledge_points(db: sqlite_utils.Database, ids: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """Knowledge points by id (all, or only the given ids)."""
    found = rows(db, "SELECT id, channel_id, name, description FROM knowledge_points")
    return {kp["id"]: kp for kp in found if ids is None or kp["id"] in ids}


def _lesson_kps(db: sqlite_utils.Database, lesson_id: str) -> list[str]:
    return [r["knowledge_point_id"] for r in rows(
        db, "SELECT knowledge_point_id FROM lesson_knowledge_points WHERE lesson_id = ? ORDER BY position",
        (lesson_id,))]


def catalog_tree(db: sqlite_utils.Database, lesson_ids: set[str] | None = None, *, signed_in: bool = True,
                 now: datetime | None = None) -> dict[str, Any]:
    """Channels → courses → lessons (summaries only), optionally limited to some lessons.

    Without signed_in the local channel (teachers' recordings) is left out altogether; an expired channel is listed
    with "expired": true and no courses (its lessons are no longer served).
    """
    expired = expired_channels(db, now)
    lessons = rows(db, "SELECT id, channel_id, course_id, title, media_kind, media_path, position "
                       "FROM lessons ORDER BY course_id, position")
    kp_by_lesson: dict[str, list[str]] = {}
    for r in rows(db, "SELECT lesson_id, knowledge_point_id FROM lesson_knowledge_points ORDER BY position"):
        kp_by_lesson.setdefault(r["lesson_id"], []).append(r["knowledge_point_id"])
    by_course: dict[str, list[dict[str, Any]]] = {}
    for lesson in lessons:
        if lesson_ids is not None and lesson["id"] not in lesson_ids:
            continue
        by_course.setdefault(lesson["course_id"], []).append({
            "id": lesson["id"], "title": lesson["title"],
            "media": {"kind": lesson["media_kind"], "url": media_url(lesson)} if lesson["media_path"] else None,
            "knowledge_points": kp_by_lesson.get(lesson["id"], []),
        })
    channels = []
    for channel in (c.summary() for c in channel_store.all_channels(db)):
        if channel["local"] and not signed_in:
            continue
        if channel["id"] in expired:
            channels.append({**channel, "expired": True, "courses": []})
            continue
        courses = [
            {**{k: c[k] for k in ("id", "title", "subject", "grade")}, "lessons": by_course.get(c["id"], [])}
            for c in rows(db, "SELECT * FROM courses WHERE channel_id = ? ORDER BY position", (channel["id"],))
        ]
        courses = [c for c in courses if c["lessons"] or lesson_ids is None]
        channels.append({**channel, "expired": False, "courses": courses})
    kps = [kp for kp in knowledge_points(db).values() if kp["channel_id"] not in expired]
    return {"channels": channels, "knowledge_points": kps}


def get_lesson(db: sqlite_utils.Database, lesson_id: str) -> dict[str, Any] | None:
    """One lesson with its medium, knowledge points and exercises (answers included: callers strip)."""
    lesson = one(db, "SELECT l.*, c.language AS channel_language FROM lessons l "
                     "LEFT JOIN channels c ON c.id = l.channel_id WHERE l.id = ?", (lesson_id,))
    if lesson is None:
        return None
    kp_ids = _lesson_kps(db, lesson_id)
    kps = knowledge_points(db, kp_ids)
    exercises = []
    for ex in rows(db, "SELECT * FROM exercises WHERE lesson_id = ? ORDER BY position", (lesson_id,)):
        ex["choices"] = json.loads(ex["choices"]) if ex["choices"] else None
        ex["answer"] = json.loads(ex["answer"])
        exercises.append(ex)
    return {
        "id": lesson["id"], "title": lesson["title"], "channel_id": lesson["channel_id"],
        "course_id": lesson["course_id"], "text": lesson["text"],
        "language": languages.lesson_language(lesson["language"], lesson["channel_language"]),
        "media": {"url": media_url(lesson), "kind": lesson["media_kind"],
                  "sha256": lesson["media_sha256"], "size": lesson["media_size"],
                  "path": lesson["media_path"]} if lesson["media_path"] else None,
        "knowledge_points": [kps[k] for k in kp_ids if k in kps],
        "exercises": exercises,
    }


def get_exercise(db: sqlite_utils.Database, exercise_id: str) -> dict[str, Any] | None:
    """One exercise with decoded choices and answer."""
    ex = one(db, "SELECT * FROM exercises WHERE id = ?", (exercise_id,))
    if ex is None:
        return None
    ex["choices"] = json.loads(ex["choices"]) if ex["choices"] else None
    ex["answer"] = json.loads(ex["answer"])
    return ex


def public_exercise(ex: dict[str, Any]) -> dict[str, Any]:
    """An exercise as a pupil may see it: no answer key."""
    return {k: ex[k] for k in ("id", "knowledge_point", "kind", "prompt", "choices", "difficulty", "hint")}


# Ideographs and kana/hangul: unicode61 keeps a run of them as one token, so a word inside a Chinese
# sentence is not an FTS5 term; such query terms are found by a substring scan instead.
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")


def _terms(query: str) -> list[str]:
    return [t for t in "".join(c if c.isalnum() else " " for c in query).split() if t]


def _cjk_snippet(text: str, term: str, width: int = 16) -> str:
    at = text.find(term)
    if at < 0:
        return text[: 2 * width]
    start = max(0, at - width)
    return ("…" if start else "") + text[start:at] + f"[{term}]" + text[at + len(term): at + len(term) + width] + "…"


def _not_in_channels(column: str, hidden: set[str] | frozenset[str]) -> tuple[str, tuple[str, ...]]:
    """An SQL condition (and its parameters) that keeps lessons of the hidden channels out of a search."""
    if not hidden:
        return "", ()
    marks = ", ".join("?" for _ in hidden)
    return f" AND {column} NOT IN (SELECT id FROM lessons WHERE channel_id IN ({marks}))", tuple(sorted(hidden))


def search(db: sqlite_utils.Database, query: str, limit: int = 20,
           hidden: set[str] | frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """Full-text search over lesson titles and notes (FTS5, BM25 order; substring match for CJK terms).

    Lessons of the `hidden` channels (see hidden_channels) are left out.
    """
    terms = _terms(query)
    plain = [t for t in terms if not _CJK.search(t)]
    cjk = [t for t in terms if _CJK.search(t)]
    hits: list[dict[str, Any]] = []
    skip, skip_params = _not_in_channels("lesson_id", hidden)
    if plain:
        match = " OR ".join(f'"{t}"' for t in plain)
        hits = rows(db, "SELECT kind, ref, lesson_id, title, snippet(catalog_fts, 4, '[', ']', '…', 12) AS snippet "
                        f"FROM catalog_fts WHERE catalog_fts MATCH ?{skip} ORDER BY bm25(catalog_fts) LIMIT ?",
                    (match, *skip_params, limit))
    if cjk:
        where = " OR ".join("(title LIKE ? OR body LIKE ?)" for _ in cjk)
        found = rows(db, f"SELECT kind, ref, lesson_id, title, body FROM catalog_fts WHERE ({where}){skip}",
                     (*(p for t in cjk for p in (f"%{t}%", f"%{t}%")), *skip_params))
        scored = sorted(found, key=lambda r: -sum(2 * (t in r["title"]) + (t in (r["body"] or "")) for t in cjk))
        seen = {(h["kind"], h["ref"]) for h in hits}
        for r in scored:
            if (r["kind"], r["ref"]) not in seen:
                term = next((t for t in cjk if t in (r["body"] or "")), cjk[0])
                hits.append({"kind": r["kind"], "ref": r["ref"], "lesson_id": r["lesson_id"], "title": r["title"],
                             "snippet": _cjk_snippet(r["body"] or r["title"], term)})
    return hits[:limit]


def search_transcripts(db: sqlite_utils.Database, query: str, limit: int = 20,
                       hidden: set[str] | frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """Full-text search over lesson transcripts (filled by the AI pipeline), with the time span of each hit.

    Lessons of the `hidden` channels (see hidden_channels) are left out.
    """
    from models.textutil import index_text

    terms = _terms(index_text(query))  # the index holds Chinese as words: a Chinese query is cut the same way
    if not terms:
        return []
    match = " OR ".join(f'"{t}"' for t in terms)
    skip, skip_params = _not_in_channels("c.lesson_id", hidden)
    found = rows(db, "SELECT 'transcript' AS kind, c.lesson_id, l.title, c.knowledge_point, c.start, c.end, "
                     "snippet(chunks_fts, 0, '[', ']', '…', 12) AS snippet FROM chunks_fts "
                     "JOIN transcript_chunks c ON c.id = chunks_fts.rowid JOIN lessons l ON l.id = c.lesson_id "
                     "AND l.media_sha256 = c.media_sha256 "
                     f"WHERE chunks_fts MATCH ?{skip} ORDER BY bm25(chunks_fts) LIMIT ?",
                 (match, *skip_params, limit))
    for hit in found:  # the snippet comes from the indexed words: close the gaps between Chinese ones again
        hit["snippet"] = _CJK_GAP.sub("", hit["snippet"])
    return found


_HAN = "\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef"
_CJK_GAP = re.compile(rf"(?<=[{_HAN}]) (?=\[?[{_HAN}])|(?<=[{_HAN}]\]) (?=[{_HAN}])")


def ai_outputs(db: sqlite_utils.Database, media_sha256: str | None) -> dict[str, dict[str, Any]]:
    """AI outputs of one medium by kind (chapters, summary, captions_vtt, chapters_vtt, ...)."""
    if not media_sha256:
        return {}
    return {r["kind"]: r for r in rows(db, "SELECT kind, content, model_id, model_sha256, params, "
                                           "pipeline_version, source, created FROM ai_outputs "
                                           "WHERE media_sha256 = ?", (media_sha256,))}


def ai_text(db: sqlite_utils.Database, lesson_id: str, kind: str) -> str | None:
    """One stored AI output of a lesson's medium as text (e.g. captions_vtt), or None."""
    row = one(db, "SELECT o.content FROM ai_outputs o JOIN lessons l ON l.media_sha256 = o.media_sha256 "
                  "WHERE l.id = ? AND o.kind = ?", (lesson_id, kind))
    return row["content"] if row else None


def _json_or(value: str, fallback: Any) -> Any:
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return fallback


def public_lesson(db: sqlite_utils.Database, lesson_id: str, api_prefix: str = "/api/v1") -> dict[str, Any] | None:
    """The lesson document of GET /api/v1/lessons/<id>: medium, chapters, summary, exercises without answers."""
    lesson = get_lesson(db, lesson_id)
    if lesson is None:
        return None
    media = lesson["media"]
    outputs = ai_outputs(db, media["sha256"] if media else None)
    chapters: Any = _json_or(outputs["chapters"]["content"], []) if "chapters" in outputs else []
    if isinstance(chapters, dict):  # tolerate {"chapters": [...]} as well as a bare list
        chapters = chapters.get("chapters", [])
    summary_doc: Any = _json_or(outputs["summary"]["content"], None) if "summary" in outputs else None
    if isinstance(summary_doc, str):
        summary_doc = {"summary": summary_doc}
    if summary_doc is None and "summary" in outputs:
        summary_doc = {"summary": outputs["summary"]["content"]}
    base = f"{api_prefix}/lessons/{lesson_id}"
    return {
        "id": lesson["id"], "title": lesson["title"], "channel_id": lesson["channel_id"],
        "course_id": lesson["course_id"],
        "media": {k: media[k] for k in ("url", "kind", "sha256", "size")} if media else None,
        "chapters": chapters if isinstance(chapters, list) else [],
        "summary": (summary_doc or {}).get("summary"),
        "summary_model": (summary_doc or {}).get("model") or (outputs.get("summary") or {}).get("model_id"),
        "notes": lesson["text"],
        "knowledge_points": lesson["knowledge_points"],
        "exercises": [public_exercise(ex) for ex in lesson["exercises"]],
        "captions_url": f"{base}/captions.vtt" if "captions_vtt" in outputs else None,
        "chapters_url": f"{base}/chapters.vtt" if "chapters_vtt" in outputs else None,
        "language": lesson["language"],
    }


def box_facts(db: sqlite_utils.Database) -> dict[str, Any]:
    """Counts and identity for the health endpoint."""
    meta = {r["key"]: r["value"] for r in rows(db, "SELECT key, value FROM meta WHERE key IN ('box_id', 'box_name')")}
    lessons = one(db, "SELECT COUNT(*) AS n FROM lessons") or {"n": 0}
    return {"box_id": meta.get("box_id"), "channels": channel_store.count(db), "lessons": lessons["n"]}
