"""The people and attempts stores: the only writers of their tables, over a real box.db."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_server.domain import mastery
from edge_server.store import attempts, people
from edge_server.store.db import open_box_db, rows, write

TS = "2026-11-30T09:00:00.000000+00:00"


@pytest.fixture
def db(tmp_path: Path):
    db = open_box_db(tmp_path / "box.db")
    yield db
    db.conn.close()


@pytest.fixture
def pupil(db) -> int:
    class_id = people.add_class(db, "4A")
    return people.add_pupil(db, class_id, "Ana", None)["id"]


def test_an_attempt_stored_with_its_tablet_id_is_found_again_with_its_result(db, pupil):
    new = attempts.NewAttempt(pupil, "m.frac", "n1", True, "0.5", 2, TS, "box", client_id="uuid-1")
    attempt_id = write(db, lambda tx: attempts.insert_attempt(tx, new))
    write(db, lambda tx: attempts.set_result(tx, attempt_id, {"correct": True}))
    assert attempts.by_client_id(db, pupil, "uuid-1")["result"] == '{"correct": true}'
    assert attempts.by_client_id(db, pupil, "uuid-2") is None
    assert attempts.latest_ts(db, pupil, "m.frac") == TS and attempts.count(db, pupil, "m.frac") == 1
    assert attempts.is_known(db, pupil, "m.frac", TS, "n1", True)
    assert not attempts.is_known(db, pupil, "m.frac", TS, "n1", False)


def test_a_mastery_row_carries_its_stuck_and_mastered_flags_and_can_be_forgotten(db, pupil):
    write(db, lambda tx: attempts.save_mastery(tx, pupil, "m.frac", 0.99, 3, TS))
    assert attempts.mastery_row(db, pupil, "m.frac") == {"p_mastery": 0.99, "mastered": 1}
    write(db, lambda tx: attempts.delete_mastery(tx, pupil, "m.frac"))
    assert attempts.mastery_row(db, pupil, "m.frac") is None


def test_a_kp_has_the_default_parameters_until_a_fit_is_stored(db):
    assert attempts.kp_params(db, "m.frac") == mastery.DEFAULT_PARAMS
    fitted = mastery.Params.from_dict({**mastery.DEFAULT_PARAMS.to_dict(), "prior": 0.4})
    write(db, lambda tx: attempts.save_kp_params(tx, "m.frac", fitted, 12, TS))
    assert attempts.kp_params(db, "m.frac") == fitted


def test_a_pupil_from_an_attempts_file_is_made_once_without_a_class(db):
    first = write(db, lambda tx: people.ensure_pupil(tx, "ext-1", "Bo", TS))
    again = write(db, lambda tx: people.ensure_pupil(tx, "ext-1", "Bo", TS))
    assert first[1] is True and again == (first[0], False)
    assert rows(db, "SELECT class_id, created FROM pupils WHERE ref = 'ext-1'") == [{"class_id": None, "created": TS}]


def test_a_lockout_and_its_alert_are_lifted_for_the_pupil(db, pupil):
    write(db, lambda tx: (people.set_lockout(tx, pupil, 1, 1000.0),
                          people.add_login_alert(tx, "pupil", None, pupil, 900.0)))
    assert people.lockout(db, pupil) == (1, 1000.0)
    assert people.has_open_alert(db, "pupil", None, pupil, since=800.0)
    write(db, lambda tx: (people.lift_lockout(tx, pupil), people.clear_pupil_alerts(tx, pupil, 950.0)))
    assert people.lockout(db, pupil) is None
    assert not people.has_open_alert(db, "pupil", None, pupil, since=800.0)
