"""xAPI statements: stable ids, canonical bytes, pseudonymous actors, no child text."""

from __future__ import annotations

import json
import uuid

from sync import statements

SECRET = bytes(range(32))


def _answered(**overrides):
    args = dict(pupil_id=7, attempt_id=42, item_id="wc-1", knowledge_point="sci.water", correct=True,
                ts="2026-03-01T09:30:00+00:00", kind="choice", choice_index=1, difficulty=2)
    args.update(overrides)
    return statements.answered("box123", SECRET, **args)


def test_rebuilding_a_statement_gives_the_same_bytes_and_id():
    assert statements.canonical_json(_answered()) == statements.canonical_json(_answered())
    assert _answered()["id"] == statements.statement_id("box123", "attempt:42")
    assert uuid.UUID(_answered()["id"]).version == 5


def test_the_same_event_on_two_boxes_gets_two_ids():
    other = statements.answered("box999", SECRET, pupil_id=7, attempt_id=42, item_id="wc-1",
                                knowledge_point=None, correct=True, ts="2026-03-01T09:30:00Z")
    assert other["id"] != _answered()["id"]


def test_the_actor_is_an_account_with_an_hmac_pseudonym_and_no_name():
    actor = _answered()["actor"]
    assert actor == {"objectType": "Agent", "account": {"homePage": statements.box_iri("box123"),
                                                         "name": statements.pseudonym(SECRET, 7)}}
    assert statements.pseudonym(SECRET, 7) != statements.pseudonym(SECRET, 8)
    assert statements.pseudonym(b"other-secret", 7) != statements.pseudonym(SECRET, 7)


def test_an_answered_statement_has_timestamp_result_and_no_stored():
    stmt = _answered()
    assert stmt["timestamp"] == "2026-03-01T09:30:00.000Z" and "stored" not in stmt
    assert stmt["verb"]["id"] == "http://adlnet.gov/expapi/verbs/answered"
    assert stmt["result"] == {"success": True, "score": {"scaled": 1.0}, "response": "1"}
    assert stmt["object"]["id"].endswith("/items/wc-1")
    assert stmt["context"]["extensions"][statements.BOX_EXTENSION] == statements.box_iri("box123")


def test_text_and_number_answers_never_carry_a_response():
    for kind in ("text", "number"):
        stmt = _answered(kind=kind, choice_index=None)
        assert "response" not in stmt["result"]


def test_canonical_json_is_sorted_and_compact():
    text = statements.canonical_json(_answered())
    assert " " not in text.replace("en-US", "") and json.loads(text) == _answered()
    assert text.index('"actor"') < text.index('"context"') < text.index('"id"')


def test_mastered_and_experienced_statements_use_their_adl_verbs():
    m = statements.mastered("b", SECRET, pupil_id=1, attempt_id=3, knowledge_point="kp", p_mastery=0.961,
                            ts="2026-01-01T00:00:00")
    e = statements.experienced("b", SECRET, pupil_id=1, view_id=9, lesson_id="water-cycle", knowledge_point="kp",
                               ts="2026-01-01T00:00:00", start=12.0, end=30.5)
    assert m["verb"]["id"].endswith("/mastered") and m["result"]["score"]["scaled"] == 0.961
    assert e["verb"]["id"].endswith("/experienced") and e["id"] == statements.statement_id("b", "chapter_view:9")
    assert m["timestamp"] == "2026-01-01T00:00:00.000Z"
