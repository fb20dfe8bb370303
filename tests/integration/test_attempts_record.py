"""Recording answers: grading, attempt row, mastery row and outbox statements in one transaction."""

from __future__ import annotations

import json

import pytest

from edge_server import attempts, clock
from edge_server.identity import load_identity
from edge_server.store.db import open_box_db, rows
from sync.statements import pseudonym


def add_exercise(db, ex_id: str, kind: str, answer, kp: str | None = "m.frac", difficulty: int = 1,
                 choices=None, hint: str | None = "Think of halves.") -> None:
    db.execute("INSERT OR IGNORE INTO knowledge_points (id, channel_id, name) VALUES (?, 'ch', ?)",
               (kp or "none", (kp or "none").title()))
    db.execute("INSERT INTO exercises (id, lesson_id, channel_id, knowledge_point, kind, prompt, choices, answer, "
               "difficulty, hint) VALUES (?, 'lesson-1', 'ch', ?, ?, 'What?', ?, ?, ?, ?)",
               (ex_id, kp, kind, json.dumps(choices) if choices else None, json.dumps(answer), difficulty, hint))


@pytest.fixture
def db(settings):
    db = open_box_db(settings.db_path)
    db.execute("INSERT INTO pupils (id, ref, name, created) VALUES (1, 'ref-ana', 'Ana Secret', '2026-01-01')")
    add_exercise(db, "n1", "number", 0.5)
    add_exercise(db, "c1", "choice", 1, choices=["a", "b", "c"])
    add_exercise(db, "t1", "text", ["evaporation", "evaporating"], kp="sci.water")
    yield db
    db.conn.close()


def test_a_right_number_answer_is_stored_with_mastery_and_one_answered_statement(db, settings):
    result = attempts.record_attempt(db, settings, 1, "n1", "1/2")
    assert result["correct"] is True and result["hint"] is None
    assert 0 < result["p_mastery"] < 1
    stored = rows(db, "SELECT * FROM attempts")
    assert [(a["item"], a["correct"], a["knowledge_point"], a["source"]) for a in stored] == [
        ("n1", 1, "m.frac", "box")]
    row = rows(db, "SELECT * FROM mastery")[0]
    assert row["attempts"] == 1 and abs(row["p_mastery"] - result["p_mastery"]) < 1e-4
    statements = [json.loads(r["statement"]) for r in rows(db, "SELECT statement FROM outbox")]
    assert [s["verb"]["id"] for s in statements] == ["http://adlnet.gov/expapi/verbs/answered"]
    assert statements[0]["result"]["success"] is True


def test_a_wrong_answer_gives_the_hint_and_lowers_mastery(db, settings):
    first = attempts.record_attempt(db, settings, 1, "n1", "0,5")
    second = attempts.record_attempt(db, settings, 1, "n1", "3")
    assert second["correct"] is False and second["hint"] == "Think of halves."
    assert second["p_mastery"] < first["p_mastery"]


def test_repeated_right_answers_write_a_mastered_statement_once(db, settings):
    results = [attempts.record_attempt(db, settings, 1, "c1", "1") for _ in range(8)]
    assert results[-1]["p_mastery"] >= 0.95
    verbs = [json.loads(r["statement"])["verb"]["display"]["en-US"]
             for r in rows(db, "SELECT statement FROM outbox ORDER BY id")]
    assert verbs.count("answered") == 8 and verbs.count("mastered") == 1
    assert rows(db, "SELECT mastered FROM mastery")[0]["mastered"] == 1


def test_statements_carry_no_name_no_ref_and_no_typed_text(db, settings):
    attempts.record_attempt(db, settings, 1, "t1", "Évaporation ")
    attempts.record_attempt(db, settings, 1, "c1", "2")
    raw = " ".join(r["statement"] for r in rows(db, "SELECT statement FROM outbox"))
    for secret_text in ("Ana", "Secret", "ref-ana", "vaporation"):
        assert secret_text not in raw
    identity = load_identity(settings.keys_dir)
    text_stmt, choice_stmt = (json.loads(r["statement"]) for r in rows(db, "SELECT statement FROM outbox ORDER BY id"))
    assert text_stmt["actor"]["account"]["name"] == pseudonym(identity.secret, 1)
    assert "response" not in text_stmt["result"] and text_stmt["result"]["success"] is True
    assert choice_stmt["result"]["response"] == "2" and choice_stmt["result"]["success"] is False


def test_a_failing_transaction_leaves_no_attempt_and_no_statement(db, settings, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(attempts.outbox, "enqueue", broken)
    with pytest.raises(RuntimeError):
        attempts.record_attempt(db, settings, 1, "n1", "0.5")
    assert rows(db, "SELECT * FROM attempts") == [] and rows(db, "SELECT * FROM mastery") == []
    assert rows(db, "SELECT * FROM outbox") == []


def test_an_unknown_exercise_is_refused(db, settings):
    with pytest.raises(attempts.UnknownExercise):
        attempts.record_attempt(db, settings, 1, "nope", "1")


def test_a_chapter_view_writes_an_experienced_statement(db, settings):
    view_id = attempts.record_chapter_view(db, settings, 1, "lesson-1", "m.frac", 12.0, 40.5)
    stmt = json.loads(rows(db, "SELECT statement FROM outbox")[0]["statement"])
    assert stmt["verb"]["id"].endswith("/experienced") and view_id == 1
    assert rows(db, "SELECT lesson_id, start, end FROM chapter_views") == [
        {"lesson_id": "lesson-1", "start": 12.0, "end": 40.5}]


def test_an_answer_stamped_before_the_latest_one_refilters_the_history_in_time_order(db, settings, monkeypatch):
    now = ["2026-05-02T10:00:00.000000+00:00"]
    monkeypatch.setattr(clock, "now_iso", lambda: now[0])
    attempts.record_attempt(db, settings, 1, "n1", "0.5")  # right, later
    now[0] = "2026-05-01T10:00:00.000000+00:00"  # the clock went back
    late = attempts.record_attempt(db, settings, 1, "n1", "7")  # wrong, but earlier
    history = [(a["correct"], a["ts"][:10]) for a in rows(db, "SELECT * FROM attempts ORDER BY ts")]
    assert history == [(0, "2026-05-01"), (1, "2026-05-02")]
    # The filtered state ends on the right answer, so mastery is higher than after a wrong answer last.
    assert late["p_mastery"] > 0.5 and rows(db, "SELECT attempts FROM mastery")[0]["attempts"] == 2


def test_an_import_failing_half_way_leaves_nothing_behind(db, settings, monkeypatch):
    calls = {"n": 0}
    real = attempts.outbox.enqueue

    def flaky(db_, statement):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk full")
        return real(db_, statement)

    monkeypatch.setattr(attempts.outbox, "enqueue", flaky)
    lines = [json.dumps({"pupil": f"new-{i}", "pupil_name": f"P{i}", "knowledge_point": "m.frac", "item": "n1",
                         "correct": True, "ts": f"2026-01-0{i + 1}T00:00:00Z"}) for i in range(5)]
    with pytest.raises(RuntimeError):
        attempts.import_attempts(db, settings, lines)
    assert rows(db, "SELECT * FROM attempts") == [] and rows(db, "SELECT * FROM outbox") == []
    assert [p["ref"] for p in rows(db, "SELECT ref FROM pupils")] == ["ref-ana"]
