"""People for page tests and screenshots: a teacher, a class with pupils, on a data dir with the sample course."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edge_server import auth, people
from edge_server.db import open_box_db

TEACHER = ("teacher", "chalk-and-board")
CLASS_NAME = "Class 4"
PUPILS = (("Amina", "1234", "sun"), ("Bao", "5678", "fish"), ("Chloé", "2468", "cat"))


def populate(data_dir: Path) -> dict[str, Any]:
    """Add the teacher, the class and its pupils; return their ids and refs."""
    db = open_box_db(data_dir / "box.db")
    try:
        teacher_id = people.add_teacher(db, TEACHER[0], auth.hash_password(TEACHER[1]), "Ms Teacher")
        class_id = people.add_class(db, CLASS_NAME)
        pupils = {name: {**people.add_pupil(db, class_id, name, auth.hash_pin(pin), picture), "pin": pin}
                  for name, pin, picture in PUPILS}
    finally:
        db.conn.close()
    return {"teacher_id": teacher_id, "class_id": class_id, "pupils": pupils}
