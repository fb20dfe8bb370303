"""People for page tests and screenshots: a teacher, a class with pupils, on a data dir with the sample course."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edge_server.store import people
from edge_server.store.db import open_box_db
from edge_server.web import auth

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


def _vtt_time(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}.{int(round((seconds - whole) * 1000)):03d}"


def add_ai_outputs(data_dir: Path) -> int:
    """Store chapters, tracks and a summary for the sample lessons, as the AI pipeline would (no models needed).

    Chapters are the sample course's reference chapters; captions are the knowledge points' descriptions, so every
    text shown stays faithful to the lesson.
    """
    import json
    from datetime import UTC, datetime

    from edge_server.sample import SAMPLE_COURSE

    db = open_box_db(data_dir / "box.db")
    stored = 0
    try:
        lessons = db.execute("SELECT media_path, media_sha256 FROM lessons WHERE media_sha256 IS NOT NULL")
        for media_path, sha in lessons.fetchall():
            reference = SAMPLE_COURSE / media_path.replace(".ogg", ".chapters.json")
            if not reference.is_file():
                continue
            chapters = json.loads(reference.read_text())
            texts = dict(db.execute("SELECT id, description FROM knowledge_points").fetchall())
            chapters_vtt = "WEBVTT\n\n" + "\n".join(
                f"{_vtt_time(c['start'])} --> {_vtt_time(c['end'])}\n{c['title']}\n" for c in chapters)
            captions_vtt = "WEBVTT\n\n" + "\n".join(
                f"{_vtt_time(c['start'])} --> {_vtt_time(c['end'])}\n"
                f"{texts.get(c['knowledge_point']) or c['title']}\n" for c in chapters)
            summary = " ".join(texts[c["knowledge_point"]] for c in chapters if c.get("knowledge_point") in texts)
            outputs = {"chapters": json.dumps(chapters), "chapters_vtt": chapters_vtt, "captions_vtt": captions_vtt,
                       "summary": json.dumps({"summary": summary, "model": "extractive"})}
            for kind, content in outputs.items():
                db.execute("INSERT OR REPLACE INTO ai_outputs (media_sha256, kind, content, model_id, source, created) "
                           "VALUES (?, ?, ?, 'test-fixture', 'test', ?)",
                           (sha, kind, content, datetime.now(UTC).isoformat()))
            stored += 1
    finally:
        db.conn.close()
    return stored
