"""Privacy of pushed progress: inspect every statement a real LRS received for names, roster ids and typed text."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from edge_server.attempts import record_attempt, record_chapter_view
from edge_server.identity import install_trust_anchor
from edge_server.packs_import import import_pack
from edge_server.settings import load_settings
from edge_server.store.db import open_box_db
from edge_server.store.people import add_class, add_pupil
from tests.lrs import start_ralph
from tests.requirements import require_ralph
from tests.sync_fixtures import CHANNEL, EDGE, build, keys, media, write_source

NAMES = ["Zephyrine Okonkwo-Blanchard", "Thaddeus Quillfeather"]
ROSTER = ["ROSTER-77Q1-ZEPH", "ROSTER-88X2-THAD"]
TYPED = ["my grandmother Zuleika says the puddle flies away", "vapour rises over Xanthoville ward 9"]


def test_no_statement_received_by_the_lrs_holds_a_name_a_roster_id_or_typed_text(tmp_path: Path,
                                                                                   data_dir: Path) -> None:
    require_ralph()
    private, public = keys(tmp_path / "keys")
    install_trust_anchor(data_dir / "keys" / "trusted", public)
    settings = load_settings(data_dir)
    pack = build(write_source(tmp_path / "src", media(2, 1000)), tmp_path / "pack", private, 1)
    import_pack(settings, pack)

    # Pupils from an attempts file (refs and names from a school roster) ...
    attempts_file = tmp_path / "attempts.jsonl"
    attempts_file.write_text("".join(json.dumps({
        "pupil": ROSTER[i], "pupil_name": NAMES[i], "knowledge_point": f"{CHANNEL}.kp",
        "item": f"{CHANNEL}.ex-0-choice", "correct": True, "ts": f"2026-05-0{i + 1}T08:00:00Z"}) + "\n"
        for i in range(2)))
    imported = subprocess.run([*EDGE, "attempts", "import", str(attempts_file), "--data", str(data_dir)],
                              capture_output=True, text=True)
    assert imported.returncode == 0, imported.stderr
    # ... and pupils added on the box, answering in their own words and watching a chapter.
    db = open_box_db(settings.db_path)
    try:
        class_id = add_class(db, "Class of Zephyrine")
        local = [add_pupil(db, class_id, f"{name} Junior", None) for name in NAMES]
        roster_ids = [r["ref"] for r in db.execute("SELECT ref FROM pupils").fetchall()]
        pupil_ids = [r["id"] for r in db.execute("SELECT id FROM pupils").fetchall()]
        for pupil, typed in zip(local, TYPED, strict=True):
            record_attempt(db, settings, pupil["id"], f"{CHANNEL}.ex-0-text", typed)
            record_attempt(db, settings, pupil["id"], f"{CHANNEL}.ex-1-text", "vapour")
            record_attempt(db, settings, pupil["id"], f"{CHANNEL}.ex-1-choice", "0")
            record_chapter_view(db, settings, pupil["id"], f"{CHANNEL}.lesson-0", f"{CHANNEL}.kp", 0.0, 12.5)
        expected = db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
    finally:
        db.conn.close()

    ralph = start_ralph(tmp_path / "ralph")
    try:
        pushed = subprocess.run([*EDGE, "sync", "push", "--data", str(data_dir), "--lrs", ralph.url, "--lrs-user",
                                 ralph.user, "--lrs-password", ralph.password], capture_output=True, text=True)
        assert pushed.returncode == 0, pushed.stderr
        received = ralph.statements()
    finally:
        ralph.stop()

    assert len(received) == expected >= 10
    verbs = {s["verb"]["id"].rsplit("/", 1)[-1] for s in received}
    assert {"answered", "experienced"} <= verbs
    forbidden = [*NAMES, *ROSTER, *TYPED, *roster_ids, *[n.split()[0] for n in NAMES], "Zuleika", "Xanthoville"]
    for statement in received:
        text = json.dumps(statement, ensure_ascii=False).lower()
        for secret in forbidden:
            assert secret.lower() not in text, f"{secret!r} left the box in {statement['id']}"
        account = statement["actor"]["account"]
        assert set(statement["actor"]) <= {"objectType", "account"}
        assert re.fullmatch(r"[0-9a-f]{64}", account["name"])  # an HMAC pseudonym, not a local id
        assert account["name"] not in {str(i) for i in pupil_ids}
        assert "response" not in statement.get("result", {}) or statement["result"]["response"].isdigit()
