"""`edge-server report`: the fleet view read back from a real Ralph LRS through its xAPI query API."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from edge_server.attempts import import_attempts, record_chapter_view
from edge_server.identity import init_data_dir, load_identity
from edge_server.settings import load_settings
from edge_server.store.db import one, open_box_db
from sync.lrs_push import LrsConfig
from sync.lrs_query import fetch_statements
from tests.sync_fixtures import edge, push


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def school(data: Path, name: str, pupils: dict[str, datetime], hard: bool, lessons: list[str]) -> str:
    """A box whose pupils answered 8 times on kp.easy (all right) and, if hard, 8 times on kp.hard (all wrong)."""
    init_data_dir(data, trust=None, name=name)
    settings = load_settings(data)
    lines = []
    for ref, when in pupils.items():
        for i in range(8):
            ts = iso(when + timedelta(minutes=i))
            lines.append(json.dumps({"pupil": ref, "pupil_name": ref.title(), "knowledge_point": "kp.easy",
                                     "item": f"easy-{i}", "correct": True, "ts": ts}))
            if hard:
                lines.append(json.dumps({"pupil": ref, "pupil_name": ref.title(), "knowledge_point": "kp.hard",
                                         "item": f"hard-{i}", "correct": False, "ts": ts, "difficulty": 1}))
    db = open_box_db(data / "box.db")
    try:
        import_attempts(db, settings, lines)
        first = one(db, "SELECT id FROM pupils ORDER BY id LIMIT 1")["id"]
        for n, lesson in enumerate(lessons):
            record_chapter_view(db, settings, first, lesson, "kp.easy", 0.0, 20.0 + n,
                                ts=iso(datetime.now(UTC) - timedelta(hours=2)))
    finally:
        db.conn.close()
    return load_identity(data / "keys").box_id


def test_the_report_summarises_each_box_from_the_lrs_query_api(tmp_path, ralph):
    now = datetime.now(UTC)
    hill = school(tmp_path / "hill", "hill", {"amina": now - timedelta(days=1), "bao": now - timedelta(days=2),
                                              "chloe": now - timedelta(days=20), "diego": now - timedelta(days=30)},
                  hard=True, lessons=["water-cycle", "living-things"])
    valley = school(tmp_path / "valley", "valley", {"emma": now - timedelta(days=3), "femi": now - timedelta(days=3)},
                    hard=False, lessons=["water-cycle"])
    sent = {hill: push(tmp_path / "hill", ralph)["sent"], valley: push(tmp_path / "valley", ralph)["sent"]}
    assert sent[hill] >= 4 * 16 + 2 and sent[valley] >= 2 * 8 + 1

    done = edge("report", "--lrs", ralph.url, "--lrs-user", ralph.user, "--lrs-password", ralph.password, "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    boxes = {b["box_id"]: b for b in report["boxes"]}
    assert set(boxes) == {hill, valley}
    assert report["statements"] == len(ralph.statements()) == sum(sent.values())
    for box_id, box in boxes.items():
        assert box["statements"] == sent[box_id]
        assert box["days_since_contact"] is not None and box["days_since_contact"] < 0.05  # stored minutes ago
    h, v = boxes[hill], boxes[valley]
    assert (h["by_verb"]["answered"], v["by_verb"]["answered"]) == (64, 16)
    assert (h["by_verb"]["experienced"], v["by_verb"]["experienced"]) == (2, 1)
    assert (h["pupils_active"], h["pupils_active_7_days"]) == (4, 2)
    assert (v["pupils_active"], v["pupils_active_7_days"]) == (2, 2)
    assert (h["lessons_used"], h["lessons"], v["lessons_used"]) == (2, ["living-things", "water-cycle"], 1)
    assert h["items_answered"] == 16 and v["items_answered"] == 8
    kps = {k["knowledge_point"]: k for k in h["knowledge_points"]}
    assert (kps["kp.hard"]["pupils"], kps["kp.hard"]["stuck"], kps["kp.hard"]["stuck_rate"]) == (4, 4, 1.0)
    assert (kps["kp.easy"]["stuck"], kps["kp.easy"]["stuck_rate"]) == (0, 0.0)
    assert [k["knowledge_point"] for k in h["knowledge_points"]][0] == "kp.hard"  # the most stuck first
    fleet = {k["knowledge_point"]: k for k in report["knowledge_points"]}
    assert (fleet["kp.easy"]["pupils"], fleet["kp.hard"]["pupils"], fleet["kp.hard"]["stuck_rate"]) == (6, 4, 1.0)
    assert "amina" not in done.stdout and "Amina" not in done.stdout  # pseudonyms are counted, names never sent
    # the query follows the LRS's `more` links page by page (the report's own query fits in one page)
    lrs = LrsConfig(url=ralph.url, user=ralph.user, password=ralph.password)
    pages: list[int] = []
    paged = [s["id"] for s in fetch_statements(lrs, page_limit=25, on_page=pages.append)]
    assert len(pages) > 3 and sorted(paged) == sorted(s["id"] for s in ralph.statements())

    later = edge("report", "--lrs", ralph.url, "--lrs-user", ralph.user, "--lrs-password", ralph.password,
                 "--since", iso(datetime.now(UTC) + timedelta(minutes=5)), "--json")
    assert later.returncode == 0, later.stderr
    assert json.loads(later.stdout)["boxes"] == []


def test_wrong_credentials_and_plain_http_to_another_host_are_refused_in_one_line(ralph):
    wrong = edge("report", "--lrs", ralph.url, "--lrs-user", ralph.user, "--lrs-password", "not-it", "--json")
    assert wrong.returncode == 1
    assert wrong.stderr.strip() == ("error: the LRS refused the credentials (HTTP 401): the account needs read access "
                                    "to statements (Ralph: scope statements/read or all)")
    clear = edge("report", "--lrs", "http://lrs.example.org:8100/xAPI", "--lrs-user", "u", "--lrs-password", "p")
    assert clear.returncode == 1 and "refusing to send the LRS credentials" in clear.stderr
    assert len(clear.stderr.strip().splitlines()) == 1
