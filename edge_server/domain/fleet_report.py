"""The province's fleet view (pure): per box, from the statements the LRS holds.

For each box (named by the box IRI every statement carries in its context, else its actor's account home page):
when the LRS last heard from it (the newest `stored`), statements received (by verb), the pupils active (distinct
pseudonyms; and in the last 7 days), the lessons used (distinct lessons of `experienced` statements), items
answered, and per knowledge point the pupils who practised it, how many of them are stuck and mastered now.

"Stuck" is the box's own definition (domain/mastery.py): the answered statements of each pupil and knowledge point
are replayed in time order through the same knowledge tracing (parameters fitted over the whole fleet's answers),
and a pupil is stuck with enough attempts and a mastery still low. Nothing here identifies a child: pseudonyms are
counted, never shown.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

from edge_server.domain import mastery
from sync.statements import BOX_EXTENSION, DIFFICULTY_EXTENSION, IRI_BASE

ACTIVE_DAYS = 7


def _parse(ts: Any) -> datetime | None:
    if not isinstance(ts, str):
        return None
    try:
        moment = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _local_id(iri: str, kind: str) -> str | None:
    prefix = f"{IRI_BASE}/{kind}/"
    return unquote(iri[len(prefix):]) if iri.startswith(prefix) else None


def box_of(statement: dict[str, Any]) -> str | None:
    """The box IRI a statement came from."""
    extensions = ((statement.get("context") or {}).get("extensions") or {})
    box = extensions.get(BOX_EXTENSION)
    if isinstance(box, str):
        return box
    account = ((statement.get("actor") or {}).get("account") or {})
    home = account.get("homePage")
    return home if isinstance(home, str) else None


def _knowledge_point(statement: dict[str, Any]) -> str | None:
    grouping = (((statement.get("context") or {}).get("contextActivities") or {}).get("grouping") or [])
    for activity in grouping if isinstance(grouping, list) else []:
        found = _local_id(str((activity or {}).get("id", "")), "knowledge-points")
        if found:
            return found
    return None


def _verb(statement: dict[str, Any]) -> str:
    return str((statement.get("verb") or {}).get("id", "")).rsplit("/", 1)[-1]


def _kp_rows(states: list[dict[str, Any]], mastered: dict[str, set[str]]) -> list[dict[str, Any]]:
    by_kp: dict[str, dict[str, Any]] = {}
    for state in states:
        row = by_kp.setdefault(state["knowledge_point"], {"knowledge_point": state["knowledge_point"], "pupils": 0,
                                                         "stuck": 0, "mastered": 0, "attempts": 0})
        row["pupils"] += 1
        row["stuck"] += int(state["stuck"])
        row["mastered"] += int(state["mastered"] or state["pupil"] in mastered.get(state["knowledge_point"], set()))
        row["attempts"] += state["attempts"]
    out = sorted(by_kp.values(), key=lambda r: (-r["stuck"] / max(r["pupils"], 1), r["knowledge_point"]))
    for row in out:
        row["stuck_rate"] = round(row["stuck"] / row["pupils"], 4) if row["pupils"] else 0.0
    return out


def summarise(statements: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    """The fleet report from the LRS's statements (any order)."""
    recent = now - timedelta(days=ACTIVE_DAYS)
    boxes: dict[str, dict[str, Any]] = {}
    lines: list[mastery.ReplayLine] = []
    pupil_box: dict[str, str] = {}
    mastered: dict[str, set[str]] = defaultdict(set)  # knowledge point -> "box#pupil" keys (a key names its box)
    for statement in statements:
        box = box_of(statement)
        if box is None:
            continue
        entry = boxes.setdefault(box, {"box_id": unquote(box.rsplit("/", 1)[-1]), "statements": 0,
                                       "by_verb": defaultdict(int), "_pupils": set(), "_recent": set(),
                                       "_lessons": set(), "_items": set(), "last_contact": None,
                                       "last_statement": None})
        entry["statements"] += 1
        verb = _verb(statement)
        entry["by_verb"][verb] += 1
        pupil = str(((statement.get("actor") or {}).get("account") or {}).get("name", ""))
        key = f"{box}#{pupil}"
        pupil_box[key] = box
        when = _parse(statement.get("timestamp"))
        stored = _parse(statement.get("stored"))
        if pupil:
            entry["_pupils"].add(pupil)
            if when is not None and when >= recent:
                entry["_recent"].add(pupil)
        for field, moment in (("last_contact", stored), ("last_statement", when)):
            if moment is not None and (entry[field] is None or moment > entry[field]):
                entry[field] = moment
        object_id = str((statement.get("object") or {}).get("id", ""))
        if verb == "experienced":
            lesson = _local_id(object_id, "lessons")  # a chapter is "<lesson>#t=start,end" (lesson ids have no #)
            if lesson:
                entry["_lessons"].add(lesson.split("#", 1)[0])
        elif verb == "answered":
            item = _local_id(object_id, "items")
            if item:
                entry["_items"].add(item)
            kp = _knowledge_point(statement)
            success = (statement.get("result") or {}).get("success")
            if kp and isinstance(success, bool) and when is not None and pupil:
                difficulty = ((statement.get("context") or {}).get("extensions") or {}).get(DIFFICULTY_EXTENSION, 2)
                lines.append(mastery.ReplayLine(key, kp, success, when.timestamp() / 86400.0,
                                                mastery.clamp_difficulty(difficulty)))
        elif verb == "mastered":
            kp = _local_id(object_id, "knowledge-points")
            if kp and pupil:
                mastered[kp].add(key)
    states = mastery.replay(lines).mastery if lines else []
    by_box: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for state in states:
        by_box[pupil_box[state["pupil"]]].append(state)
    out = []
    for box, entry in sorted(boxes.items(), key=lambda kv: kv[1]["box_id"]):
        last = entry["last_contact"]
        out.append({"box": box, "box_id": entry["box_id"], "last_contact": last.isoformat() if last else None,
                    "days_since_contact": round((now - last).total_seconds() / 86400, 2) if last else None,
                    "last_statement": entry["last_statement"].isoformat() if entry["last_statement"] else None,
                    "statements": entry["statements"], "by_verb": dict(sorted(entry["by_verb"].items())),
                    "pupils_active": len(entry["_pupils"]), f"pupils_active_{ACTIVE_DAYS}_days": len(entry["_recent"]),
                    "lessons_used": len(entry["_lessons"]), "lessons": sorted(entry["_lessons"]),
                    "items_answered": len(entry["_items"]),
                    "knowledge_points": _kp_rows(by_box[box], mastered)})
    return {"generated": now.isoformat(timespec="seconds"), "statements": sum(b["statements"] for b in out),
            "boxes": out, "knowledge_points": _kp_rows(states, mastered)}
