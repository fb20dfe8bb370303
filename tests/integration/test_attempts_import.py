"""Attempt files: `edge-server attempts import`, `mastery replay`, `mastery fit`, and line parsing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.mastery_eval import simulate_a
from edge_server import attempts
from edge_server.store.db import open_box_db, rows

CLI = [str(Path(sys.executable).parent / "edge-server")]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120)


def line(pupil="p-1", name="Ana", kp="sci.water", item="wc-1", correct=True, ts="2026-02-01T09:00:00Z", **extra):
    return json.dumps({"pupil": pupil, "pupil_name": name, "knowledge_point": kp, "item": item,
                       "correct": correct, "ts": ts, **extra})


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def test_import_creates_unknown_pupils_keeps_unknown_items_and_writes_statements(data_dir, tmp_path):
    db = open_box_db(data_dir / "box.db")
    db.execute("INSERT INTO knowledge_points (id, channel_id, name) VALUES ('sci.water', 'ch', 'Water')")
    db.execute("INSERT INTO exercises (id, lesson_id, channel_id, knowledge_point, kind, prompt, answer, difficulty) "
               "VALUES ('wc-1', 'l', 'ch', 'sci.water', 'choice', 'Q', '0', 1)")
    db.conn.close()
    f = write_lines(tmp_path / "marks.jsonl", [
        line(), line(correct=False, ts="2026-02-01T09:05:00Z"),
        line(pupil="p-2", name="Bo", kp="math.paper", item="paper-test-3", ts="2026-02-02T10:00:00+01:00",
             difficulty=3),
    ])
    result = run_cli("attempts", "import", str(f), "--data", str(data_dir))
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["imported"] == 3 and out["pupils_created"] == 2
    assert out["unknown_knowledge_points"] == 1 and out["unknown_items"] == 1
    assert "warning" in result.stderr and "not in the catalog" in result.stderr
    db = open_box_db(data_dir / "box.db")
    assert rows(db, "SELECT ref, name, class_id FROM pupils ORDER BY ref") == [
        {"ref": "p-1", "name": "Ana", "class_id": None}, {"ref": "p-2", "name": "Bo", "class_id": None}]
    assert [r["difficulty"] for r in rows(db, "SELECT difficulty FROM attempts ORDER BY id")] == [1, 1, 3]
    assert rows(db, "SELECT ts FROM attempts ORDER BY id")[2]["ts"].startswith("2026-02-02T09:00:00")
    assert len(rows(db, "SELECT * FROM mastery")) == 2
    outbox = [json.loads(r["statement"]) for r in rows(db, "SELECT statement FROM outbox")]
    assert len(outbox) == 3 and all(s["verb"]["id"].endswith("/answered") for s in outbox)
    assert "Ana" not in json.dumps(outbox) and "p-1" not in json.dumps(outbox)
    db.conn.close()
    again = run_cli("attempts", "import", str(f), "--data", str(data_dir))
    assert json.loads(again.stdout)["imported"] == 0 and json.loads(again.stdout)["duplicates"] == 3


def test_a_malformed_line_rejects_the_whole_file_and_names_the_line(data_dir, tmp_path):
    f = write_lines(tmp_path / "bad.jsonl", [line(), line(pupil="p-2"), '{"pupil": "p-3", "correct": "yes"}'])
    result = run_cli("attempts", "import", str(f), "--data", str(data_dir))
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1 and "line 3" in result.stderr
    db = open_box_db(data_dir / "box.db")
    assert rows(db, "SELECT * FROM attempts") == [] and rows(db, "SELECT * FROM pupils") == []
    assert rows(db, "SELECT * FROM outbox") == []
    db.conn.close()


def test_import_into_a_missing_data_dir_fails_with_one_line(tmp_path):
    f = write_lines(tmp_path / "a.jsonl", [line()])
    result = run_cli("attempts", "import", str(f), "--data", str(tmp_path / "nowhere"))
    assert result.returncode != 0 and len(result.stderr.strip().splitlines()) == 1


def test_replay_gives_one_prediction_per_line_and_final_mastery(tmp_path):
    sim = simulate_a(np.random.default_rng(4), n_pupils=30, n_kps=2)
    lines = [json.dumps({"pupil": ln.pupil, "knowledge_point": ln.knowledge_point, "item": "x",
                         "correct": ln.correct, "ts": ln.t_days * 86400}) for ln in sim.lines]
    f = write_lines(tmp_path / "sim.jsonl", lines)
    result = run_cli("mastery", "replay", str(f), "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert len(out["predictions"]) == len(lines) and all(0 < p < 1 for p in out["predictions"])
    assert len(out["mastery"]) == 60
    assert {"pupil", "knowledge_point", "p_mastery", "stuck"} <= set(out["mastery"][0])
    stuck = {(m["pupil"], m["knowledge_point"]) for m in out["mastery"] if m["stuck"]}
    truly = {k for k, v in sim.stuck_truth.items() if v}
    assert len(stuck & truly) >= 0.7 * len(truly) and len(stuck - truly) <= 0.3 * max(1, len(stuck))


def test_fit_all_stores_parameters_and_recomputes_mastery_rows(settings, tmp_path):
    sim = simulate_a(np.random.default_rng(2), n_pupils=40, n_kps=2)
    lines = [line(pupil=ln.pupil, name=ln.pupil, kp=ln.knowledge_point, item="x", correct=ln.correct,
                  ts=ln.t_days * 86400) for ln in sim.lines]
    db = open_box_db(settings.db_path)
    attempts.import_attempts(db, settings, lines)
    before = {(r["pupil_id"], r["knowledge_point"]): r["p_mastery"] for r in rows(db, "SELECT * FROM mastery")}
    result = attempts.fit_all(settings)
    assert result == {"knowledge_points": 2, "attempts": len(lines), "mastery_rows": 80}
    stored = rows(db, "SELECT knowledge_point, params, n_attempts FROM kp_params ORDER BY knowledge_point")
    assert [r["knowledge_point"] for r in stored] == ["kp0", "kp1"]
    fitted = json.loads(stored[0]["params"])
    assert abs(fitted["learn"] - sim.true_params["kp0"].learn) < 0.15
    after = {(r["pupil_id"], r["knowledge_point"]): r["p_mastery"] for r in rows(db, "SELECT * FROM mastery")}
    assert before.keys() == after.keys() and before != after
    db.conn.close()


# ---------------------------------------------------------------- property tests of line parsing

texts = st.text(min_size=1, max_size=20).filter(lambda s: s.strip())
valid_lines = st.fixed_dictionaries(
    {"pupil": texts, "pupil_name": texts, "knowledge_point": texts, "item": texts, "correct": st.booleans(),
     "ts": st.datetimes(min_value=__import__("datetime").datetime(2000, 1, 1),
                        max_value=__import__("datetime").datetime(2100, 1, 1)).map(lambda d: d.isoformat())},
    optional={"difficulty": st.sampled_from([1, 2, 3])},
)


@settings(max_examples=150, deadline=None)
@given(valid_lines, st.integers(min_value=1, max_value=10_000))
def test_every_well_formed_line_parses_to_its_values(data, lineno):
    parsed = attempts.parse_attempt_line(json.dumps(data), lineno)
    assert parsed.pupil == data["pupil"].strip() and parsed.item == data["item"].strip()
    assert parsed.correct is data["correct"] and parsed.difficulty == data.get("difficulty")
    assert parsed.ts.endswith("+00:00")


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
                           max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), json_values.map(json.dumps),
                 st.fixed_dictionaries({"pupil": json_values, "knowledge_point": json_values, "item": json_values,
                                        "correct": json_values, "ts": json_values}).map(json.dumps)),
       st.integers(min_value=1, max_value=999))
def test_any_line_either_parses_or_is_refused_with_its_line_number(text, lineno):
    try:
        parsed = attempts.parse_attempt_line(text, lineno)
    except attempts.AttemptLineError as exc:
        assert str(exc).startswith(f"line {lineno}: ")
    else:
        assert parsed is None or (parsed.pupil and parsed.knowledge_point and parsed.item)
