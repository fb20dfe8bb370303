"""xAPI 1.0.3 statement building (pure): pseudonymous actors, stable ids, canonical JSON."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

# Shared IRIs: items, lessons and knowledge points have the same IRI on every box so the province can aggregate.
IRI_BASE = "https://classroom-box.org/xapi"
ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, IRI_BASE)
BOX_EXTENSION = f"{IRI_BASE}/extensions/box"
DIFFICULTY_EXTENSION = f"{IRI_BASE}/extensions/difficulty"
PLATFORM = "classroom-box"

VERBS = {
    "answered": {"id": "http://adlnet.gov/expapi/verbs/answered", "display": {"en-US": "answered"}},
    "experienced": {"id": "http://adlnet.gov/expapi/verbs/experienced", "display": {"en-US": "experienced"}},
    "mastered": {"id": "http://adlnet.gov/expapi/verbs/mastered", "display": {"en-US": "mastered"}},
}
QUESTION = "http://adlnet.gov/expapi/activities/question"
LESSON = "http://adlnet.gov/expapi/activities/lesson"
MEDIA = "http://adlnet.gov/expapi/activities/media"
OBJECTIVE = "http://adlnet.gov/expapi/activities/objective"


def box_iri(box_id: str) -> str:
    """The IRI naming one box (actor account home page and context extension)."""
    return f"{IRI_BASE}/boxes/{quote(box_id, safe='')}"


def activity_iri(kind: str, local_id: str) -> str:
    """The IRI of an item, lesson or knowledge point."""
    return f"{IRI_BASE}/{kind}/{quote(local_id, safe='')}"


def pseudonym(secret: bytes, pupil_id: int) -> str:
    """HMAC-SHA256 of the local pupil id under the box secret: stable per box, meaningless elsewhere."""
    return hmac.new(secret, str(int(pupil_id)).encode(), hashlib.sha256).hexdigest()


def statement_id(box_id: str, local_id: str) -> str:
    """UUIDv5 of the box id and the event's local id, so a resend is the same statement."""
    return str(uuid.uuid5(ID_NAMESPACE, f"{box_id}/{local_id}"))


def xapi_timestamp(ts: str | datetime) -> str:
    """An ISO 8601 UTC timestamp with milliseconds (what LRSs store without rounding surprises)."""
    moment = datetime.fromisoformat(ts) if isinstance(ts, str) else ts
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def canonical_json(statement: dict[str, Any]) -> str:
    """Sorted keys, no spaces: a resend is byte-for-byte identical."""
    return json.dumps(statement, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _actor(box_id: str, secret: bytes, pupil_id: int) -> dict[str, Any]:
    return {"objectType": "Agent", "account": {"homePage": box_iri(box_id), "name": pseudonym(secret, pupil_id)}}


def _activity(kind: str, local_id: str, activity_type: str) -> dict[str, Any]:
    return {"objectType": "Activity", "id": activity_iri(kind, local_id), "definition": {"type": activity_type}}


def _context(box_id: str, knowledge_point: str | None, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    context: dict[str, Any] = {"platform": PLATFORM, "extensions": {BOX_EXTENSION: box_iri(box_id), **(extra or {})}}
    if knowledge_point:
        context["contextActivities"] = {"grouping": [_activity("knowledge-points", knowledge_point, OBJECTIVE)]}
    return context


def _statement(box_id: str, secret: bytes, pupil_id: int, local_id: str, verb: str, obj: dict[str, Any],
               ts: str | datetime, context: dict[str, Any], result: dict[str, Any] | None = None) -> dict[str, Any]:
    statement = {
        "id": statement_id(box_id, local_id),
        "actor": _actor(box_id, secret, pupil_id),
        "verb": VERBS[verb],
        "object": obj,
        "timestamp": xapi_timestamp(ts),
        "context": context,
    }
    if result is not None:
        statement["result"] = result
    return statement


def answered(box_id: str, secret: bytes, *, pupil_id: int, attempt_id: int, item_id: str,
             knowledge_point: str | None, correct: bool, ts: str | datetime, kind: str | None = None,
             choice_index: int | None = None, difficulty: int | None = None) -> dict[str, Any]:
    """An attempt at an item; the response is sent only as a choice index, never as typed text."""
    result: dict[str, Any] = {"success": bool(correct), "score": {"scaled": 1.0 if correct else 0.0}}
    if kind == "choice" and choice_index is not None:
        result["response"] = str(int(choice_index))
    extra = {DIFFICULTY_EXTENSION: int(difficulty)} if difficulty is not None else None
    return _statement(box_id, secret, pupil_id, f"attempt:{attempt_id}", "answered",
                      _activity("items", item_id, QUESTION), ts, _context(box_id, knowledge_point, extra), result)


def experienced(box_id: str, secret: bytes, *, pupil_id: int, view_id: int, lesson_id: str,
                knowledge_point: str | None, ts: str | datetime, start: float | None = None,
                end: float | None = None) -> dict[str, Any]:
    """A pupil watched a lesson chapter (or the lesson's medium)."""
    obj = _activity("lessons", lesson_id, LESSON)
    result = None
    if start is not None and end is not None:
        # Times as an ISO 8601 duration watched, the portable xAPI way of saying how long.
        result = {"duration": f"PT{max(0.0, float(end) - float(start)):.2f}S"}
        obj = _activity("lessons", f"{lesson_id}#t={float(start):g},{float(end):g}", MEDIA)
    return _statement(box_id, secret, pupil_id, f"chapter_view:{view_id}", "experienced", obj, ts,
                      _context(box_id, knowledge_point), result)


def mastered(box_id: str, secret: bytes, *, pupil_id: int, attempt_id: int, knowledge_point: str,
             p_mastery: float, ts: str | datetime) -> dict[str, Any]:
    """A pupil's estimated mastery of a knowledge point crossed the threshold with this attempt."""
    result = {"success": True, "score": {"scaled": round(float(p_mastery), 4)}}
    return _statement(box_id, secret, pupil_id, f"mastered:{attempt_id}", "mastered",
                      _activity("knowledge-points", knowledge_point, OBJECTIVE), ts, _context(box_id, None), result)
