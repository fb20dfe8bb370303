"""`edge-server class add --teacher`, `pupil import`, `pupil move` and `pupil remove` as real subprocesses on a real
data dir, and migration 0009 on a box that had teachers, classes and answers before it."""

from __future__ import annotations

import json
from pathlib import Path

from edge_server.store import people
from edge_server.store.db import connect, one, rows
from edge_server.store.migrations import migrate, migrations
from edge_server.web import auth
from tests.integration.test_pages_cli import run


def _box(data_dir: Path) -> str:
    data = str(data_dir)
    assert run("teacher", "add", "head", "--data", data, "--password", "a-long-password").returncode == 0
    assert run("teacher", "add", "ms-lee", "--data", data, "--password", "a-long-password").returncode == 0
    return data


def test_the_first_teacher_is_the_admin_and_a_class_belongs_to_the_teacher_named_or_else_the_admin(data_dir):
    data = _box(data_dir)
    made = run("class", "add", "Class 5", "--teacher", "ms-lee", "--data", data)
    assert made.returncode == 0 and json.loads(made.stdout) == {"id": 1, "name": "Class 5"}
    assert run("class", "add", "Class 4", "--data", data).returncode == 0
    assert run("teacher", "add", "mr-ba", "--admin", "--data", data, "--password", "a-long-password").returncode == 0
    nobody = run("class", "add", "Class 6", "--teacher", "nobody", "--data", data)
    assert nobody.returncode != 0 and "no teacher 'nobody'" in nobody.stderr and nobody.stdout == ""
    db = connect(data_dir / "box.db")
    assert [(t["username"], t["role"]) for t in rows(db, "SELECT username, role FROM teachers ORDER BY id")] == [
        ("head", "admin"), ("ms-lee", "teacher"), ("mr-ba", "admin")]
    owners = {c["name"]: c["teacher_id"] for c in people.list_classes(db)}
    assert owners == {"Class 4": 1, "Class 5": 2}


def test_a_class_made_before_any_teacher_belongs_to_the_first_teacher(data_dir):
    data = str(data_dir)
    assert run("class", "add", "Class 4", "--data", data).returncode == 0
    assert run("teacher", "add", "head", "--data", data, "--password", "a-long-password").returncode == 0
    assert people.class_by_name(connect(data_dir / "box.db"), "Class 4")["teacher_id"] == 1


def test_pupil_import_adds_a_class_list_and_prints_only_the_pins_it_made(data_dir, tmp_path):
    data = _box(data_dir)
    run("class", "add", "Class 5", "--teacher", "ms-lee", "--data", data)
    names = [f"Élève {i}" for i in range(1, 35)] + ["李华"]
    roster = tmp_path / "class5.csv"
    roster.write_text("name,picture,pin\n" + "".join(f"{n},sun,\n" for n in names[:-1]) + "李华,,0420\n",
                      encoding="utf-8")
    done = run("pupil", "import", str(roster), "--class", "Class 5", "--data", data)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["added"] == 35 and [p["name"] for p in out["pupils"]] == names
    made = {p["name"]: p["pin"] for p in out["pupils"] if "pin" in p}
    assert len(made) == 34 and "李华" not in made and "34 PINs made by the box" in done.stderr
    db = connect(data_dir / "box.db")
    for pupil in out["pupils"]:
        stored = one(db, "SELECT class_id, picture, pin_hash FROM pupils WHERE ref = ?", (pupil["ref"],))
        assert stored["class_id"] == 1 and auth.verify_pin(stored["pin_hash"], made.get(pupil["name"], "0420"))
    again = run("pupil", "import", str(roster), "--class", "Class 5", "--data", data)
    assert again.returncode != 0 and "row 2: 'Élève 1' is already in the class" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1 and again.stdout == ""


def test_a_roster_with_a_bad_row_or_bad_bytes_adds_nobody_and_says_which_row(data_dir, tmp_path):
    data = _box(data_dir)
    run("class", "add", "Class 5", "--data", data)
    cases = [("name,pin\nAmina,1234\nBao,12345\n", "row 3: the PIN '12345' is not four digits"),
             ("name,picture\nAmina,dragon\n", "row 2: unknown picture 'dragon'"),
             ("nom\nAmina\n", "row 1: there is no \"name\" column"),
             ("name\nAmina\nAmina\n", "row 3: 'Amina' is already in row 2")]
    for i, (text, reason) in enumerate(cases):
        path = tmp_path / f"bad{i}.csv"
        path.write_text(text, encoding="utf-8")
        refused = run("pupil", "import", str(path), "--class", "Class 5", "--data", data)
        assert refused.returncode != 0 and refused.stdout == "" and reason in refused.stderr, refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1 and "nothing was imported" in refused.stderr
    latin = tmp_path / "latin.csv"
    latin.write_bytes("name\nAmina\nJosé\n".encode("latin-1"))
    refused = run("pupil", "import", str(latin), "--class", "Class 5", "--data", data)
    assert refused.returncode != 0 and "row 3: this is not UTF-8 text" in refused.stderr
    missing = run("pupil", "import", str(tmp_path / "none.csv"), "--class", "Class 5", "--data", data)
    assert missing.returncode != 0 and "no file" in missing.stderr
    no_class = run("pupil", "import", str(latin), "--class", "Class 9", "--data", data)
    assert no_class.returncode != 0 and "no class 'Class 9'" in no_class.stderr
    assert one(connect(data_dir / "box.db"), "SELECT COUNT(*) AS n FROM pupils")["n"] == 0


def test_pupil_move_and_remove_from_the_command_line(data_dir):
    data = _box(data_dir)
    run("class", "add", "Class 4", "--data", data)
    run("class", "add", "Class 5", "--data", data)
    for name, klass in (("Amina", "Class 4"), ("Bao", "Class 4"), ("Bao", "Class 5")):
        run("pupil", "add", name, "--class", klass, "--pin", "1234", "--data", data)
    moved = run("pupil", "move", "amina", "--class", "Class 4", "--to", "Class 5", "--data", data)
    assert moved.returncode == 0 and json.loads(moved.stdout)["class"] == "Class 5"
    clash = run("pupil", "move", "Bao", "--class", "Class 4", "--to", "Class 5", "--data", data)
    assert clash.returncode != 0 and "already has a pupil called 'Bao'" in clash.stderr
    asked = run("pupil", "remove", "Bao", "--class", "Class 4", "--data", data, stdin="n\n")
    assert asked.returncode != 0 and "Erase Bao (Class 4)" in asked.stderr and "nothing was removed" in asked.stderr
    db = connect(data_dir / "box.db")
    bao = one(db, "SELECT p.id FROM pupils p JOIN classes c ON c.id = p.class_id "
                  "WHERE p.name = 'Bao' AND c.name = 'Class 4'")["id"]
    db.execute("INSERT INTO attempts (pupil_id, knowledge_point, item, correct, ts) VALUES (?, 'k', 'i', 1, 'now')",
               (bao,))
    removed = run("pupil", "remove", "Bao", "--class", "Class 4", "--yes", "--data", data)
    assert removed.returncode == 0, removed.stderr
    assert json.loads(removed.stdout)["erased"] == {"attempts": 1}
    assert one(db, "SELECT COUNT(*) AS n FROM pupils WHERE id = ?", (bao,))["n"] == 0
    assert [p["name"] for p in people.pupils_in_class(db, 2)] == ["Amina", "Bao"]
    gone = run("pupil", "remove", "Bao", "--class", "Class 4", "--yes", "--data", data)
    assert gone.returncode != 0 and "no pupil 'Bao' in 'Class 4'" in gone.stderr


def test_migration_0009_makes_the_oldest_teacher_admin_and_owner_and_keeps_removed_ids_unused(tmp_path):
    db = connect(tmp_path / "box.db")
    migrations.apply(db, stop_before="0009_teacher_roles")
    db.execute("INSERT INTO teachers (username, password_hash, created) VALUES ('newer', 'x', '2026-03-01')")
    db.execute("INSERT INTO teachers (username, password_hash, created) VALUES ('oldest', 'x', '2025-09-01')")
    db.execute("INSERT INTO classes (name, created) VALUES ('Class 4', 'now'), ('Class 5', 'now')")
    for ref, name in (("p-1", "Ana"), ("p-2", "Bo")):
        db.execute("INSERT INTO pupils (ref, class_id, name, created) VALUES (?, 1, ?, 'now')", (ref, name))
    db.execute("INSERT INTO attempts (pupil_id, knowledge_point, item, correct, ts, client_id) "
               "VALUES (2, 'k', 'i', 1, 'now', 'c-1')")
    db.execute("INSERT INTO chapter_views (pupil_id, lesson_id, ts) VALUES (2, 'l', 'now')")
    assert "0009_teacher_roles" in migrate(db)
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert rows(db, "SELECT username, role FROM teachers ORDER BY id") == [
        {"username": "newer", "role": "teacher"}, {"username": "oldest", "role": "admin"}]
    assert {c["teacher_id"] for c in rows(db, "SELECT teacher_id FROM classes")} == {2}
    assert one(db, "SELECT client_id FROM attempts WHERE pupil_id = 2")["client_id"] == "c-1"  # data kept
    assert {r["name"] for r in rows(db, "SELECT name FROM sqlite_master WHERE type = 'index'")} >= {
        "attempts_client_id", "attempts_pupil_kp", "pupils_class", "chapter_views_client_id"}
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    db.execute("DELETE FROM attempts")
    db.execute("DELETE FROM chapter_views")
    db.execute("DELETE FROM pupils WHERE id = 2")
    assert people.add_pupil(db, 1, "Cy", None)["id"] == 3
    assert db.execute("INSERT INTO attempts (pupil_id, knowledge_point, item, correct, ts) "
                      "VALUES (1, 'k', 'i', 1, 'now')").lastrowid == 2
    assert db.execute("INSERT INTO chapter_views (pupil_id, lesson_id, ts) VALUES (1, 'l', 'now')").lastrowid == 2
    assert migrate(db) == []
