"""`edge-server attempts export`: a class's attempts in the line format `attempts import` reads (real CLI, real
SQLite, the real sample course)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edge_server import attempts
from edge_server.identity import init_data_dir
from edge_server.store import people
from edge_server.store.db import open_box_db
from edge_server.web import auth
from tests.e2e.pages_data import CLASS_NAME, populate
from tests.fixtures_packs import sample_data_dir, signing_key  # noqa: F401

CLI = str(Path(sys.executable).with_name("edge-server"))


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=120)


@pytest.fixture
def box(sample_data_dir, settings):  # noqa: F811
    data = sample_data_dir
    ids = populate(data)
    box_settings = settings.with_overrides(data_dir=data)
    db = open_box_db(data / "box.db")
    other_class = people.add_class(db, "Class 6")
    zoe = people.add_pupil(db, other_class, "=Zoé", auth.hash_pin("4321"))
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    amina, bao = ids["pupils"]["Amina"]["id"], ids["pupils"]["Bao"]["id"]
    given = [(bao, "water-cycle-5", "4", start + timedelta(minutes=3)),
             (amina, "water-cycle-1", "0", start + timedelta(minutes=1)),
             (zoe["id"], "water-cycle-1", "2", start + timedelta(minutes=2)),
             (amina, "water-cycle-3", "1", start + timedelta(minutes=4))]
    client_ids = {}
    for pupil_id, item, response, when in given:
        client_ids[item, pupil_id] = str(uuid.uuid4())
        origin = attempts.AnswerOrigin(client_ids[item, pupil_id], when.isoformat(timespec="microseconds"),
                                       (when + timedelta(hours=1)).isoformat(timespec="microseconds"))
        attempts.record_attempt(db, box_settings, pupil_id, item, response, origin)
    db.conn.close()
    return data, ids, client_ids


def test_a_class_export_lists_its_attempts_oldest_first_with_device_times_and_attempt_ids(box):
    data, ids, client_ids = box
    result = run("attempts", "export", "--data", str(data), "--class", CLASS_NAME)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    amina, bao = ids["pupils"]["Amina"], ids["pupils"]["Bao"]
    assert [(x["pupil"], x["pupil_name"], x["item"], x["correct"], x["ts"]) for x in lines] == [
        (amina["ref"], "Amina", "water-cycle-1", True, "2026-03-02T09:01:00.000000+00:00"),
        (bao["ref"], "Bao", "water-cycle-5", True, "2026-03-02T09:03:00.000000+00:00"),
        (amina["ref"], "Amina", "water-cycle-3", False, "2026-03-02T09:04:00.000000+00:00")]
    assert lines[0]["attempt_id"] == client_ids["water-cycle-1", amina["id"]]
    assert lines[0]["received_at"] == "2026-03-02T10:01:00.000000+00:00"
    assert all(x["knowledge_point"].startswith("sci.water.") and x["difficulty"] in (1, 2, 3) for x in lines)
    assert "exported 3 attempt(s)" in result.stderr


def test_an_export_imported_into_another_box_exports_the_same_lines(box, tmp_path):
    data, _ids, _client_ids = box
    exported = run("attempts", "export", "--data", str(data))
    assert exported.returncode == 0 and len(exported.stdout.splitlines()) == 4
    marks = tmp_path / "marks.jsonl"
    marks.write_text(exported.stdout)
    other = tmp_path / "other-box"
    init_data_dir(other, trust=None, name="other")
    imported = run("attempts", "import", str(marks), "--data", str(other))
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout)["imported"] == 4
    again = run("attempts", "export", "--data", str(other))
    core = ("pupil", "pupil_name", "knowledge_point", "item", "correct", "ts", "difficulty")

    def strip(text: str) -> list:
        return [{k: json.loads(line)[k] for k in core} for line in text.splitlines()]

    assert strip(again.stdout) == strip(exported.stdout)


def test_the_csv_export_has_the_same_columns_and_keeps_formulas_out_of_spreadsheets(box):
    data, _ids, _client_ids = box
    result = run("attempts", "export", "--data", str(data), "--class", "Class 6", "--format", "csv")
    assert result.returncode == 0, result.stderr
    table = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(table[0]) == list(attempts.EXPORT_FIELDS)
    assert [(r["pupil_name"], r["item"], r["correct"]) for r in table] == [("'=Zoé", "water-cycle-1", "false")]


def test_an_unknown_class_is_one_line_on_stderr_and_a_failing_exit(box):
    data, _ids, _client_ids = box
    result = run("attempts", "export", "--data", str(data), "--class", "Nobody's class")
    assert result.returncode != 0 and result.stdout == ""
    assert result.stderr.strip().count("\n") == 0 and "Nobody's class" in result.stderr
