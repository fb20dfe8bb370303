"""edge_server.domain.fleet_report.summarise on hand-made statements: grouping, counting, stuck and mastered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from edge_server.domain.fleet_report import summarise
from sync import statements

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)
SECRET = b"s" * 32


def answered(box: str, pupil: int, n: int, kp: str, correct: bool, days_ago: float) -> dict:
    s = statements.answered(box, SECRET, pupil_id=pupil, attempt_id=n, item_id=f"{kp}-{n}", knowledge_point=kp,
                            correct=correct, ts=NOW - timedelta(days=days_ago, minutes=-n))
    return {**s, "stored": (NOW - timedelta(hours=1)).isoformat()}


def test_boxes_pupils_lessons_and_stuck_rates_come_from_the_statements_alone():
    found = [answered("box-a", 1, i, "kp.x", False, 1) for i in range(6)]
    found += [answered("box-a", 2, 10 + i, "kp.x", True, 10) for i in range(6)]
    found.append({**statements.experienced("box-b", SECRET, pupil_id=7, view_id=1, lesson_id="water", start=0,
                                           end=12, knowledge_point=None, ts=NOW - timedelta(days=2)),
                  "stored": NOW.isoformat()})
    found.append({**statements.mastered("box-a", SECRET, pupil_id=2, attempt_id=15, knowledge_point="kp.x",
                                        p_mastery=0.97, ts=NOW - timedelta(days=9)), "stored": NOW.isoformat()})
    found.append({"id": "x", "actor": {"mbox": "mailto:someone@example.org"}, "verb": {"id": "v"}, "object": {}})
    report = summarise(found, now=NOW)
    a, b = report["boxes"]
    assert (a["box_id"], a["statements"], a["pupils_active"], a["pupils_active_7_days"]) == ("box-a", 13, 2, 1)
    assert a["knowledge_points"] == [{"knowledge_point": "kp.x", "pupils": 2, "stuck": 1, "mastered": 1,
                                      "attempts": 12, "stuck_rate": 0.5}]
    assert (b["box_id"], b["lessons"], b["by_verb"], b["knowledge_points"]) == ("box-b", ["water"],
                                                                             {"experienced": 1}, [])
    assert report["statements"] == 14  # the statement from no box is left out
