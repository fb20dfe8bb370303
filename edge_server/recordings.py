"""A teacher's own recorded lessons: checks on an upload, the school's local channel, and their job status.

An upload is checked by content, never by its name: the first bytes must be a known audio or video container
(magic numbers) and PyAV must find an audio stream in it. It must fit settings.max_upload_mb and leave
settings.min_free_disk_mb free. It is then stored in the local channel of the school ("local.school", folder
content/local.school/v1/media/<sha256 prefix>.<ext>) as a lesson with its knowledge points, and the AI pipeline
is queued for it like for any pack medium.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import sqlite_utils

from edge_server.jobs import PIPELINE, enqueue
from edge_server.settings import Settings
from edge_server.store import channels as channel_store
from edge_server.store import jobs as job_store
from edge_server.store.db import one, rows, write

LOCAL_CHANNEL = "local.school"
LOCAL_COURSE = "local.school.recordings"
LOCAL_VERSION = 1
CHUNK = 1024 * 1024

# container magic numbers: (offset, bytes, extension, kind when the container alone says it)
MAGIC = (
    (0, b"RIFF", "wav", None),  # checked for WAVE / AVI below
    (0, b"OggS", "ogg", None),
    (0, b"fLaC", "flac", "audio"),
    (0, b"ID3", "mp3", "audio"),
    (0, b"\x1aE\xdf\xa3", "webm", None),  # Matroska / WebM
    (4, b"ftyp", "mp4", None),  # MP4, M4A, MOV, 3GP
)


class UploadError(Exception):
    """An upload is refused; the message says why, for the teacher, and `status` is the HTTP code."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class StoredUpload:
    """An upload saved to a temporary file, hashed on the way."""

    path: Path
    sha256: str
    size: int


@dataclass(frozen=True)
class MediaInfo:
    kind: str  # "audio" | "video"
    extension: str
    duration: float


def sniff(head: bytes) -> str | None:
    """The container extension the first bytes announce, or None for anything that is not audio or video."""
    if head[:4] == b"RIFF" and len(head) >= 12:
        return {b"WAVE": "wav", b"AVI ": "avi"}.get(head[8:12])
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:  # MPEG audio frame sync (MP3 without ID3)
        return "mp3"
    for offset, magic, ext, _kind in MAGIC:
        if head[offset:offset + len(magic)] == magic and magic != b"RIFF":
            return ext
    return None


DISK_FULL = "the box's disk is too full for this recording: free some space and try again"


def check_free_disk(settings: Settings, expected_size: int | None = None) -> None:
    """Refuse (507) an upload of expected_size bytes that would leave less than settings.min_free_disk_mb free.

    Called before the request body is read (Werkzeug spools the file into DATA/uploads as it parses the form,
    which the CSRF check does first: see app.BoxRequest), and again by save_upload.
    """
    settings.uploads_dir.mkdir(parents=True, exist_ok=True)
    if shutil.disk_usage(settings.uploads_dir).free - (expected_size or 0) < settings.min_free_disk_mb * 1024 * 1024:
        raise UploadError(DISK_FULL, 507)


def save_upload(stream: IO[bytes], settings: Settings, expected_size: int | None = None) -> StoredUpload:
    """Copy an upload into DATA/uploads while hashing it, enforcing the size limit and the free-disk floor."""
    limit = settings.max_upload_mb * 1024 * 1024
    floor = settings.min_free_disk_mb * 1024 * 1024
    check_free_disk(settings, expected_size)
    fd, name = tempfile.mkstemp(prefix=".upload-", dir=settings.uploads_dir)
    path, digest, size = Path(name), hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as out:
            while block := stream.read(CHUNK):
                size += len(block)
                if size > limit:
                    raise UploadError(f"the recording is larger than {settings.max_upload_mb} MB", 413)
                if shutil.disk_usage(settings.uploads_dir).free - len(block) < floor:
                    raise UploadError(DISK_FULL, 507)
                digest.update(block)
                out.write(block)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if size == 0:
        path.unlink(missing_ok=True)
        raise UploadError("the file is empty: choose a recorded lesson")
    return StoredUpload(path=path, sha256=digest.hexdigest(), size=size)


def probe(path: Path) -> MediaInfo:
    """Check by content that a file is audio or video (magic bytes, then PyAV finds a decodable audio stream)."""
    with path.open("rb") as fh:
        ext = sniff(fh.read(64))
    if ext is None:
        raise UploadError("this file is not a recording: upload a video or audio file (MP4, WebM, MP3, WAV, OGG…)",
                          415)
    import av

    try:
        with av.open(str(path)) as container:
            audio = [s for s in container.streams if s.type == "audio"]
            video = [s for s in container.streams if s.type == "video"
                     and not (s.disposition & av.stream.Disposition.attached_pic)]
            if not audio:
                raise UploadError("this recording has no sound track: the lesson needs speech to be transcribed", 415)
            duration = float(container.duration / 1_000_000) if container.duration else 0.0
            next(container.decode(audio[0]))  # one frame decodes: the stream is usable
    except UploadError:
        raise
    except Exception as exc:  # noqa: BLE001 - PyAV raises many error kinds for damaged files
        raise UploadError("this file could not be read as audio or video: it may be damaged", 415) from exc
    kind = "video" if video else "audio"
    if ext == "mp4" and kind == "audio":
        ext = "m4a"
    return MediaInfo(kind=kind, extension=ext, duration=duration)


def local_channel_dir(settings: Settings) -> Path:
    return settings.content_dir / LOCAL_CHANNEL / f"v{LOCAL_VERSION}"


def ensure_local_channel(db: sqlite_utils.Database, settings: Settings, box_name: str) -> None:
    """Create the school's local channel and its one course, once (call inside a transaction)."""
    channel_store.add_local(db, LOCAL_CHANNEL, f"Recordings of {box_name}", LOCAL_VERSION,
                            local_channel_dir(settings).resolve())
    db.execute("INSERT OR IGNORE INTO courses (id, channel_id, title, subject, grade, position) "
               "VALUES (?, ?, ?, '', '', 0)", (LOCAL_COURSE, LOCAL_CHANNEL, "Our recorded lessons"))


def knowledge_point_choices(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Every knowledge point of the catalog a teacher can tag a recording with."""
    return rows(db, "SELECT kp.id, kp.name, kp.description, kp.channel_id, c.title AS channel_title "
                    "FROM knowledge_points kp LEFT JOIN channels c ON c.id = kp.channel_id "
                    "ORDER BY c.title, kp.rowid")


def add_recording(db: sqlite_utils.Database, settings: Settings, upload: StoredUpload, media: MediaInfo,
                  title: str, kp_ids: list[str], box_name: str, uploaded_by: int | None = None) -> str:
    """Move a checked upload into the local channel, create its lesson (with the teacher who uploaded it) and queue
    its pipeline; return the lesson id."""
    known = {r["id"] for r in rows(db, "SELECT id FROM knowledge_points")}
    unknown = [k for k in kp_ids if k not in known]
    if unknown:
        raise UploadError(f"unknown knowledge point {unknown[0]}: pick from the list")
    existing = one(db, "SELECT l.title FROM lessons l WHERE l.channel_id = ? AND l.media_sha256 = ?",
                   (LOCAL_CHANNEL, upload.sha256))
    if existing:
        raise UploadError(f"this recording is already on the box as \u201c{existing['title']}\u201d", 409)
    lesson_id = f"rec-{upload.sha256[:12]}"
    rel = f"media/{upload.sha256[:16]}.{media.extension}"
    target = local_channel_dir(settings) / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(upload.path, target)

    def insert(tx: sqlite_utils.Database) -> None:
        ensure_local_channel(tx, settings, box_name)
        position = one(tx, "SELECT COALESCE(MAX(position) + 1, 0) AS n FROM lessons WHERE course_id = ?",
                       (LOCAL_COURSE,))["n"]
        tx.execute("INSERT INTO lessons (id, channel_id, course_id, title, text, media_path, media_kind, "
                   "media_sha256, media_size, position, uploaded_by) VALUES (?, ?, ?, ?, '', ?, ?, ?, ?, ?, ?)",
                   (lesson_id, LOCAL_CHANNEL, LOCAL_COURSE, title, rel, media.kind, upload.sha256, upload.size,
                    position, uploaded_by))
        for pos, kp in enumerate(kp_ids):
            tx.execute("INSERT INTO lesson_knowledge_points (lesson_id, knowledge_point_id, position) VALUES (?, ?, ?)",
                       (lesson_id, kp, pos))
        kp_names = {r["id"]: r["name"] for r in rows(tx, "SELECT id, name FROM knowledge_points")}
        names = " ".join(kp_names[k] for k in kp_ids)
        tx.execute("INSERT INTO catalog_fts (kind, ref, lesson_id, title, body) VALUES ('lesson', ?, ?, ?, ?)",
                   (lesson_id, lesson_id, title, names))
        if not one(tx, "SELECT 1 AS x FROM ai_outputs WHERE media_sha256 = ? AND kind = 'chapters'",
                   (upload.sha256,)):
            enqueue(tx, PIPELINE, upload.sha256, {"lesson_id": lesson_id})

    try:
        write(db, insert)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return lesson_id


def recordings_status(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """The school's recordings, newest first, each with its latest pipeline job (status, progress, message)."""
    lessons = rows(db, "SELECT id, title, media_kind, media_sha256, media_size, uploaded_by FROM lessons "
                       "WHERE channel_id = ? ORDER BY position DESC", (LOCAL_CHANNEL,))
    done = {r["media_sha256"] for r in rows(db, "SELECT media_sha256 FROM ai_outputs WHERE kind = 'chapters'")}
    out = []
    for lesson in lessons:
        job = job_store.latest(db, PIPELINE, lesson["media_sha256"])
        if job is None:
            job = {"status": "done" if lesson["media_sha256"] in done else "none", "progress": 1.0, "message": None,
                   "error": None}
        out.append({"lesson_id": lesson["id"], "title": lesson["title"], "kind": lesson["media_kind"],
                    "size": lesson["media_size"], "uploaded_by": lesson["uploaded_by"],
                    "has_outputs": lesson["media_sha256"] in done, **job})
    return out


# -- a teacher's corrections of the AI's outputs (checked by domain/output_edits.py) --------------------------

class EditConflict(Exception):
    """The outputs changed since the editing page was opened (another teacher's save, or the pipeline's)."""


def recording_for_edit(db: sqlite_utils.Database, lesson_id: str) -> dict[str, Any] | None:
    """A recording of the school with its stored outputs by kind (who corrected each, when), its knowledge points
    and who uploaded it; None for any other lesson (a pack's outputs are the province's to correct)."""
    lesson = one(db, "SELECT l.id, l.title, l.media_sha256, l.uploaded_by, "
                     "COALESCE(t.display_name, t.username) AS uploader FROM lessons l "
                     "LEFT JOIN teachers t ON t.id = l.uploaded_by WHERE l.id = ? AND l.channel_id = ?",
                 (lesson_id, LOCAL_CHANNEL))
    if lesson is None:
        return None
    outputs = {r["kind"]: r for r in rows(
        db, "SELECT o.kind, o.content, o.source, o.edited_by, o.edited_at, "
            "COALESCE(t.display_name, t.username) AS editor FROM ai_outputs o "
            "LEFT JOIN teachers t ON t.id = o.edited_by WHERE o.media_sha256 = ?", (lesson["media_sha256"],))}
    kps = rows(db, "SELECT kp.id, kp.name FROM lesson_knowledge_points lkp "
                   "JOIN knowledge_points kp ON kp.id = lkp.knowledge_point_id WHERE lkp.lesson_id = ? "
                   "ORDER BY lkp.position", (lesson_id,))
    return {**lesson, "outputs": outputs, "knowledge_points": kps}


def may_edit(teacher: dict[str, Any] | None, uploaded_by: int | None) -> bool:
    """Who may correct a recording: the teacher who uploaded it, or an admin. A recording uploaded before the box
    kept uploaders (uploaded_by NULL) any teacher may correct, as any teacher could upload it then."""
    if teacher is None:
        return False
    if uploaded_by is None or teacher["id"] == uploaded_by:
        return True
    return teacher.get("role") == "admin"


def save_edits(db: sqlite_utils.Database, media_sha256: str, contents: dict[str, str], teacher_id: int,
               versions: dict[str, str]) -> None:
    """Store corrected outputs as the teacher's and rebuild the companion's index of every lesson using the medium,
    in one transaction. versions: each edited kind's fingerprint (output_edits.content_version) when the page was
    made; EditConflict when the stored content is no longer that."""
    from edge_server.clock import now_iso
    from edge_server.domain.output_edits import content_version
    from edge_server.jobs import index_outputs

    def store(tx: sqlite_utils.Database) -> None:
        stored = {r["kind"]: r for r in rows(tx, "SELECT kind, content, model_id, model_sha256, params, "
                                                 "pipeline_version, source, edited_at FROM ai_outputs "
                                                 "WHERE media_sha256 = ?", (media_sha256,))}
        for kind, version in versions.items():
            if content_version((stored.get(kind) or {}).get("content")) != version:
                raise EditConflict(kind)
        now = now_iso()
        for kind, content in contents.items():
            old = stored.get(kind)
            params = old["params"] if old and old["edited_at"] else json.dumps(
                {"edited_from": {k: old[k] for k in ("model_id", "model_sha256", "pipeline_version", "source")}}
                if old else {})
            # the model did not write this: no model id; what it had written is named in params
            tx.execute("INSERT OR REPLACE INTO ai_outputs (media_sha256, kind, content, model_id, model_sha256, "
                       "params, pipeline_version, source, created, edited_by, edited_at) "
                       "VALUES (?, ?, ?, NULL, NULL, ?, ?, 'teacher', ?, ?, ?)",
                       (media_sha256, kind, content, params, old["pipeline_version"] if old else None,
                        now, teacher_id, now))
        index_outputs(tx, media_sha256)

    write(db, store)
