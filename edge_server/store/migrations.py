"""Named schema migrations for box.db (sqlite-utils); an applied migration is never edited."""

from __future__ import annotations

import re
import sqlite3

import sqlite_utils
from sqlite_utils.migrations import Migrations

migrations = Migrations("edge_server")


def _script(db: sqlite_utils.Database, script: str) -> None:
    """Execute statements one by one so they stay inside the migration's transaction."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                db.execute(buffer)
            buffer = ""


@migrations(name="0001_initial")
def _initial(db: sqlite_utils.Database) -> None:
    _script(
        db,
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

        CREATE TABLE channels (
            id TEXT PRIMARY KEY, title TEXT NOT NULL, language TEXT, level TEXT,
            version INTEGER NOT NULL, path TEXT NOT NULL, manifest_created TEXT,
            expires TEXT, key_id TEXT, activated_at TEXT NOT NULL, local INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE knowledge_points (
            id TEXT PRIMARY KEY, channel_id TEXT NOT NULL, name TEXT NOT NULL, description TEXT
        );
        CREATE TABLE courses (
            id TEXT PRIMARY KEY, channel_id TEXT NOT NULL, title TEXT NOT NULL,
            subject TEXT, grade TEXT, position INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE lessons (
            id TEXT PRIMARY KEY, channel_id TEXT NOT NULL, course_id TEXT NOT NULL,
            title TEXT NOT NULL, text TEXT, media_path TEXT, media_kind TEXT,
            media_sha256 TEXT, media_size INTEGER, position INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX lessons_course ON lessons(course_id);
        CREATE TABLE lesson_knowledge_points (
            lesson_id TEXT NOT NULL, knowledge_point_id TEXT NOT NULL, position INTEGER NOT NULL,
            PRIMARY KEY (lesson_id, knowledge_point_id)
        );
        CREATE INDEX lkp_kp ON lesson_knowledge_points(knowledge_point_id);
        CREATE TABLE exercises (
            id TEXT PRIMARY KEY, lesson_id TEXT NOT NULL, channel_id TEXT NOT NULL,
            knowledge_point TEXT, kind TEXT NOT NULL, prompt TEXT NOT NULL,
            choices TEXT, answer TEXT NOT NULL, tolerance REAL, difficulty INTEGER NOT NULL DEFAULT 2,
            hint TEXT, position INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX exercises_lesson ON exercises(lesson_id);
        CREATE INDEX exercises_kp ON exercises(knowledge_point);
        CREATE VIRTUAL TABLE catalog_fts USING fts5(
            kind UNINDEXED, ref UNINDEXED, lesson_id UNINDEXED, title, body,
            tokenize = 'unicode61 remove_diacritics 2'
        );

        CREATE TABLE teachers (
            id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE, display_name TEXT,
            password_hash TEXT NOT NULL, created TEXT NOT NULL
        );
        CREATE TABLE classes (
            id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, created TEXT NOT NULL
        );
        CREATE TABLE pupils (
            id INTEGER PRIMARY KEY, ref TEXT NOT NULL UNIQUE, class_id INTEGER REFERENCES classes(id),
            name TEXT NOT NULL, picture TEXT, pin_hash TEXT, created TEXT NOT NULL
        );
        CREATE INDEX pupils_class ON pupils(class_id);
        CREATE TABLE assignments (
            class_id INTEGER NOT NULL REFERENCES classes(id), lesson_id TEXT NOT NULL,
            assigned_at TEXT NOT NULL, PRIMARY KEY (class_id, lesson_id)
        );

        CREATE TABLE attempts (
            id INTEGER PRIMARY KEY, pupil_id INTEGER NOT NULL REFERENCES pupils(id),
            knowledge_point TEXT NOT NULL, item TEXT NOT NULL, correct INTEGER NOT NULL,
            response TEXT, difficulty INTEGER, ts TEXT NOT NULL, source TEXT NOT NULL DEFAULT 'box'
        );
        CREATE INDEX attempts_pupil_kp ON attempts(pupil_id, knowledge_point, ts);
        CREATE INDEX attempts_kp ON attempts(knowledge_point);
        CREATE TABLE mastery (
            pupil_id INTEGER NOT NULL REFERENCES pupils(id), knowledge_point TEXT NOT NULL,
            p_mastery REAL NOT NULL, attempts INTEGER NOT NULL, stuck INTEGER NOT NULL DEFAULT 0,
            mastered INTEGER NOT NULL DEFAULT 0, updated TEXT NOT NULL,
            PRIMARY KEY (pupil_id, knowledge_point)
        );
        CREATE TABLE kp_params (
            knowledge_point TEXT PRIMARY KEY, params TEXT NOT NULL, n_attempts INTEGER NOT NULL,
            fitted_at TEXT NOT NULL
        );
        CREATE TABLE chapter_views (
            id INTEGER PRIMARY KEY, pupil_id INTEGER NOT NULL REFERENCES pupils(id),
            lesson_id TEXT NOT NULL, knowledge_point TEXT, start REAL, end REAL, ts TEXT NOT NULL
        );

        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY, statement_id TEXT NOT NULL UNIQUE, statement TEXT NOT NULL,
            created TEXT NOT NULL, sent_at TEXT, tries INTEGER NOT NULL DEFAULT 0, last_error TEXT
        );
        CREATE INDEX outbox_unsent ON outbox(sent_at, id);

        CREATE TABLE jobs (
            id INTEGER PRIMARY KEY, kind TEXT NOT NULL, key TEXT NOT NULL, payload TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'queued', progress REAL NOT NULL DEFAULT 0, message TEXT,
            error TEXT, tries INTEGER NOT NULL DEFAULT 0, created TEXT NOT NULL,
            started TEXT, finished TEXT
        );
        CREATE UNIQUE INDEX jobs_active_key ON jobs(kind, key) WHERE status IN ('queued', 'running');
        CREATE INDEX jobs_status ON jobs(status, id);

        CREATE TABLE ai_outputs (
            media_sha256 TEXT NOT NULL, kind TEXT NOT NULL, content TEXT NOT NULL,
            model_id TEXT, model_sha256 TEXT, params TEXT, pipeline_version TEXT, source TEXT,
            created TEXT NOT NULL, PRIMARY KEY (media_sha256, kind)
        );
        CREATE TABLE transcript_chunks (
            id INTEGER PRIMARY KEY, media_sha256 TEXT NOT NULL, lesson_id TEXT NOT NULL,
            knowledge_point TEXT, start REAL NOT NULL, end REAL NOT NULL, text TEXT NOT NULL
        );
        CREATE INDEX chunks_lesson ON transcript_chunks(lesson_id);
        CREATE VIRTUAL TABLE chunks_fts USING fts5(
            text, content='transcript_chunks', content_rowid='id',
            tokenize = 'unicode61 remove_diacritics 2'
        );

        CREATE TABLE companion_log (
            id INTEGER PRIMARY KEY, pupil_id INTEGER, lesson_id TEXT, question TEXT NOT NULL,
            refused INTEGER NOT NULL, category TEXT, created TEXT NOT NULL
        );

        CREATE TABLE sync_state (key TEXT PRIMARY KEY, value TEXT, updated TEXT NOT NULL);
        """
    )


@migrations(name="0002_rate_limits")
def _rate_limits(db: sqlite_utils.Database) -> None:
    # Failed login tries, counted in the database so every worker process sees the same count and a restart
    # does not forgive them.
    _script(db, "CREATE TABLE rate_limits (key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires REAL NOT NULL);")


@migrations(name="0003_session_generations")
def _session_generations(db: sqlite_utils.Database) -> None:
    # A session remembers its account's generation at login; logging out, a new PIN or a new password moves the
    # generation on, which ends every session made before (a signed cookie alone cannot be revoked).
    _script(
        db,
        """
        ALTER TABLE teachers ADD COLUMN session_gen INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE pupils ADD COLUMN session_gen INTEGER NOT NULL DEFAULT 0;
        """,
    )


@migrations(name="0005_login_alerts")
def _login_alerts(db: sqlite_utils.Database) -> None:
    # PIN lockouts that grow per pupil (1, 5, 15, 60 minutes) and the alerts a teacher sees about wrong PINs.
    # New tables only: independent of any other migration.
    _script(
        db,
        """
        CREATE TABLE IF NOT EXISTS pin_lockouts (
            pupil_id INTEGER PRIMARY KEY, level INTEGER NOT NULL, locked_until REAL NOT NULL
        );
        CREATE TABLE IF NOT EXISTS login_alerts (
            id INTEGER PRIMARY KEY, kind TEXT NOT NULL, class_id INTEGER, pupil_id INTEGER,
            created REAL NOT NULL, cleared REAL
        );
        CREATE INDEX IF NOT EXISTS login_alerts_created ON login_alerts(created);
        """,
    )


@migrations(name="0006_offline_tablets")
def _offline_tablets(db: sqlite_utils.Database) -> None:
    # Tablets that work offline (edge_server/tablets.py): an answer carries the id its tablet made (attempt_id, a
    # UUID), unique per pupil, so a resent answer is one attempt and gets back the result stored with it; chapter
    # views likewise. The tablets a class uses, what each last said, lessons a class may take home, each class's
    # media budget per tablet and login kind (PIN or picture password).
    _script(
        db,
        """
        ALTER TABLE attempts ADD COLUMN client_id TEXT;
        ALTER TABLE attempts ADD COLUMN received_at TEXT;
        ALTER TABLE attempts ADD COLUMN tablet_id TEXT;
        ALTER TABLE attempts ADD COLUMN result TEXT;
        CREATE UNIQUE INDEX attempts_client_id ON attempts(pupil_id, client_id) WHERE client_id IS NOT NULL;
        ALTER TABLE chapter_views ADD COLUMN client_id TEXT;
        CREATE UNIQUE INDEX chapter_views_client_id ON chapter_views(pupil_id, client_id)
            WHERE client_id IS NOT NULL;
        CREATE TABLE tablets (
            id TEXT PRIMARY KEY, pupil_id INTEGER REFERENCES pupils(id), class_id INTEGER,
            first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, clock_offset_ms INTEGER,
            waiting INTEGER NOT NULL DEFAULT 0, lessons TEXT, storage_bytes INTEGER, storage_error TEXT,
            last_sync TEXT, synced_answers INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX tablets_class ON tablets(class_id, last_seen);
        CREATE TABLE take_home (
            class_id INTEGER NOT NULL REFERENCES classes(id), lesson_id TEXT NOT NULL,
            until TEXT NOT NULL, created TEXT NOT NULL, PRIMARY KEY (class_id, lesson_id)
        );
        ALTER TABLE classes ADD COLUMN media_budget_mb INTEGER NOT NULL DEFAULT 200;
        ALTER TABLE classes ADD COLUMN login_kind TEXT NOT NULL DEFAULT 'pin';
        ALTER TABLE pupils ADD COLUMN picture_password_hash TEXT;
        """,
    )


@migrations(name="0007_pastoral_alerts")
def _pastoral_alerts(db: sqlite_utils.Database) -> None:
    # A pupil who tells the companion of self-harm or abuse raises an alert on the teachers' pastoral page until a
    # teacher acknowledges it. A new table only, read by nothing that leaves the box (sync, statements, exports).
    _script(
        db,
        """
        CREATE TABLE IF NOT EXISTS pastoral_alerts (
            id INTEGER PRIMARY KEY, log_id INTEGER, pupil_id INTEGER, class_id INTEGER, question TEXT NOT NULL,
            category TEXT, created TEXT NOT NULL, acknowledged TEXT, acknowledged_by INTEGER
        );
        CREATE INDEX IF NOT EXISTS pastoral_alerts_open ON pastoral_alerts(acknowledged, id);
        """,
    )


def migrate(db: sqlite_utils.Database) -> list[str]:
    """Apply pending migrations in order, each in its own transaction; return their names."""
    pending = [m.name for m in migrations.pending(db)]
    migrations.apply(db)
    return pending


@migrations(name="0008_lesson_languages")
def _lesson_languages(db: sqlite_utils.Database) -> None:
    # A lesson may be taught in another language than its channel's (catalog.json "language" on a lesson). The
    # transcript index holds Chinese cut into words (unicode61 would keep a whole run of characters as one token):
    # transcript_chunks.search_text is what is indexed when it differs from the text shown, and chunks_fts reads
    # its content through a view so that snippet() and 'rebuild' see the same words the index holds.
    from models.textutil import index_text

    _script(
        db,
        """
        ALTER TABLE lessons ADD COLUMN language TEXT;
        ALTER TABLE transcript_chunks ADD COLUMN search_text TEXT;
        CREATE VIEW transcript_chunks_search AS
            SELECT id, COALESCE(search_text, text) AS text FROM transcript_chunks;
        DROP TABLE chunks_fts;
        CREATE VIRTUAL TABLE chunks_fts USING fts5(
            text, content='transcript_chunks_search', content_rowid='id',
            tokenize = 'unicode61 remove_diacritics 2'
        );
        """,
    )
    for row in list(db.query("SELECT id, text FROM transcript_chunks")):
        indexed = index_text(row["text"])
        if indexed != row["text"]:
            db.execute("UPDATE transcript_chunks SET search_text = ? WHERE id = ?", (indexed, row["id"]))
    db.execute("INSERT INTO chunks_fts (chunks_fts) VALUES ('rebuild')")


_KEEP_IDS = ("pupils", "attempts", "chapter_views")


def _keep_ids_unique(db: sqlite_utils.Database, table: str) -> None:
    """Rebuild a table as it stands (columns added by any migration, indexes, triggers) with AUTOINCREMENT ids."""
    sql = db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()[0]
    if "AUTOINCREMENT" in sql.upper():
        return  # done by an earlier run of this migration that stopped before it was recorded
    new_sql, found = re.subn(r"\bid\s+INTEGER\s+PRIMARY\s+KEY\b", "id INTEGER PRIMARY KEY AUTOINCREMENT", sql,
                             count=1, flags=re.IGNORECASE)
    if not found:
        raise RuntimeError(f"0009_teacher_roles: {table}.id is not an INTEGER PRIMARY KEY")
    new_sql = re.sub(rf'^CREATE\s+TABLE\s+"?{table}"?', f'CREATE TABLE "{table}_0009"', new_sql, count=1,
                     flags=re.IGNORECASE)
    extras = [r[0] for r in db.execute("SELECT sql FROM sqlite_master WHERE tbl_name = ? AND type IN "
                                       "('index', 'trigger') AND sql IS NOT NULL", (table,)).fetchall()]
    columns = ", ".join(f'"{r[1]}"' for r in db.execute(f'PRAGMA table_info("{table}")').fetchall())
    db.execute(new_sql)
    db.execute(f'INSERT INTO "{table}_0009" ({columns}) SELECT {columns} FROM "{table}"')
    db.execute(f'DROP TABLE "{table}"')
    db.execute(f'ALTER TABLE "{table}_0009" RENAME TO "{table}"')
    for statement in extras:
        db.execute(statement)


@migrations(name="0009_teacher_roles", transactional=False)
def _teacher_roles(db: sqlite_utils.Database) -> None:
    # Teachers are admins (box settings, teachers, channels, sync; every class) or teachers (their own classes):
    # teachers.role and classes.teacher_id, the owner. On a box that had teachers, the oldest one becomes the admin
    # and owns the classes that exist.
    # A removed pupil (edge_server/roster_ops.py) is deleted with their attempts and chapter views, so those ids
    # must never be handed out again: statements sent to the LRS are named by the attempt's or view's id
    # (sync/statements.py: a reused id would be "the same statement", refused or dropped) and the pupil's
    # pseudonym is an HMAC of the pupil's id (a reused id would join a new pupil to the removed one's history).
    # SQLite gives INTEGER PRIMARY KEY rows max(id) + 1, so these tables are rebuilt with AUTOINCREMENT. That needs
    # foreign keys off (the official 12-step rebuild: dropping a parent table with them on would cascade), which
    # SQLite ignores inside a transaction: hence transactional=False and a transaction of our own. Every step is
    # skipped when already done, since the record of this migration is written after that transaction commits.
    conn = db.conn
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("PRAGMA legacy_alter_table = ON")  # the rename checks no view or trigger of the other tables
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            teacher_columns = {r[1] for r in conn.execute("PRAGMA table_info(teachers)").fetchall()}
            if "role" not in teacher_columns:
                conn.execute("ALTER TABLE teachers ADD COLUMN role TEXT NOT NULL DEFAULT 'teacher'")
                conn.execute("UPDATE teachers SET role = 'admin' WHERE id = "
                             "(SELECT id FROM teachers ORDER BY created, id LIMIT 1)")
            class_columns = {r[1] for r in conn.execute("PRAGMA table_info(classes)").fetchall()}
            if "teacher_id" not in class_columns:
                conn.execute("ALTER TABLE classes ADD COLUMN teacher_id INTEGER REFERENCES teachers(id)")
                conn.execute("UPDATE classes SET teacher_id = (SELECT id FROM teachers WHERE role = 'admin' "
                             "ORDER BY created, id LIMIT 1) WHERE teacher_id IS NULL")
            conn.execute("CREATE INDEX IF NOT EXISTS classes_teacher ON classes(teacher_id)")
            for table in _KEEP_IDS:
                _keep_ids_unique(db, table)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    finally:
        conn.execute("PRAGMA legacy_alter_table = OFF")
        conn.execute("PRAGMA foreign_keys = ON")


@migrations(name="0010_quizzes")
def _quizzes(db: sqlite_utils.Database) -> None:
    # Quizzes a teacher builds for a class from the packs' exercises (domain/quizzes.py). A quiz answer is an
    # ordinary attempt (record_attempt: mastery, xAPI outbox, idempotent on the tablet's attempt_id); quiz_answers
    # only links it to the quiz. A link table rather than a column on attempts: attempts stays as the export, sync
    # and nightly fit read it, and the primary key makes "one answer per pupil per item" a rule of the database.
    _script(
        db,
        """
        CREATE TABLE IF NOT EXISTS quizzes (
            id INTEGER PRIMARY KEY, class_id INTEGER NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
            title TEXT NOT NULL, created_by INTEGER REFERENCES teachers(id) ON DELETE SET NULL,
            state TEXT NOT NULL DEFAULT 'draft' CHECK (state IN ('draft', 'open', 'closed')),
            released INTEGER NOT NULL DEFAULT 0, created TEXT NOT NULL, opened TEXT, closed TEXT, released_at TEXT
        );
        CREATE INDEX IF NOT EXISTS quizzes_class ON quizzes(class_id, state);
        CREATE TABLE IF NOT EXISTS quiz_items (
            quiz_id INTEGER NOT NULL REFERENCES quizzes(id) ON DELETE CASCADE, position INTEGER NOT NULL,
            exercise_id TEXT NOT NULL, PRIMARY KEY (quiz_id, position), UNIQUE (quiz_id, exercise_id)
        );
        CREATE TABLE IF NOT EXISTS quiz_answers (
            quiz_id INTEGER NOT NULL REFERENCES quizzes(id) ON DELETE CASCADE,
            pupil_id INTEGER NOT NULL REFERENCES pupils(id) ON DELETE CASCADE,
            exercise_id TEXT NOT NULL,
            attempt_id INTEGER NOT NULL UNIQUE REFERENCES attempts(id) ON DELETE CASCADE,
            PRIMARY KEY (quiz_id, pupil_id, exercise_id)
        );
        """,
    )


@migrations(name="0011_teacher_edits_and_watching")
def _teacher_edits_and_watching(db: sqlite_utils.Database) -> None:
    # A teacher's corrections of the AI's outputs (domain/output_edits.py) replace them in ai_outputs, marked
    # with who and when: every reader (player, API, companion index, tablets) sees them at once, and the pipeline's
    # store_outputs keeps any row so marked when it runs again. Recordings remember who uploaded them (NULL for those
    # uploaded before this migration and for pack lessons). Each pupil's watching of a lesson (the player's progress
    # beacon): the furthest point played, the seconds played, and each jump back to a part already played (a
    # position, mapped to the chapters of the day when reported, so that an edited chapter keeps its replays).
    _script(
        db,
        """
        ALTER TABLE ai_outputs ADD COLUMN edited_by INTEGER;
        ALTER TABLE ai_outputs ADD COLUMN edited_at TEXT;
        ALTER TABLE lessons ADD COLUMN uploaded_by INTEGER;
        CREATE TABLE IF NOT EXISTS lesson_watching (
            pupil_id INTEGER NOT NULL REFERENCES pupils(id) ON DELETE CASCADE, lesson_id TEXT NOT NULL,
            furthest REAL NOT NULL DEFAULT 0, seconds REAL NOT NULL DEFAULT 0, duration REAL,
            first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, last_beat REAL,
            PRIMARY KEY (pupil_id, lesson_id)
        );
        CREATE INDEX IF NOT EXISTS lesson_watching_lesson ON lesson_watching(lesson_id);
        CREATE TABLE IF NOT EXISTS lesson_replays (
            id INTEGER PRIMARY KEY, pupil_id INTEGER NOT NULL REFERENCES pupils(id) ON DELETE CASCADE,
            lesson_id TEXT NOT NULL, at REAL NOT NULL, ts TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS lesson_replays_lesson ON lesson_replays(lesson_id, pupil_id);
        """,
    )
