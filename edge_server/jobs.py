"""The job queue in box.db: AI pipeline runs and other long work, surviving restarts.

One worker at a time per data directory: a process runs jobs only while it holds an exclusive lock on
DATA/jobs.lock (flock, released by the kernel when the process dies). So whoever takes the lock knows that a job
still marked 'running' was left by a crash, and puts it back in the queue before claiming the oldest queued job.
The scheduler process calls `run_pending` every few seconds; `edge-server jobs wait` calls it too, and when the
server already holds the lock it only watches the queue drain.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from edge_server import clock
from edge_server.model_status import selftest_allows_llm
from edge_server.settings import Settings
from edge_server.store import channels as channel_store
from edge_server.store import jobs as job_store
from edge_server.store.db import connect, one, rows, write
from models import languages

log = logging.getLogger("edge_server.jobs")

PIPELINE = "pipeline"
SHARE_PULL = "share-pull"  # a channel pulled from a nearby box (edge_server/share_pull.py)
LOCK_NAME = "jobs.lock"

Progress = Callable[[dict[str, Any]], None]


def enqueue(db: sqlite_utils.Database, kind: str, key: str, payload: dict[str, Any]) -> bool:
    """Queue a job unless one with the same kind and key is already queued or running."""
    return job_store.enqueue(db, kind, key, payload)


def _media_file(db: sqlite_utils.Database, lesson_id: str) -> Path | None:
    found = one(db, "SELECT media_path FROM lessons WHERE id = ?", (lesson_id,))
    channel = channel_store.of_lesson(db, lesson_id)
    if not found or not found["media_path"] or channel is None:
        return None
    return Path(channel.path) / found["media_path"]


def lesson_language(db: sqlite_utils.Database, lesson_id: str) -> str:
    """The language a lesson is taught in: its own, else its channel's, else English."""
    found = one(db, "SELECT l.language, c.language AS channel_language FROM lessons l "
                    "LEFT JOIN channels c ON c.id = l.channel_id WHERE l.id = ?", (lesson_id,))
    return languages.lesson_language(found["language"], found["channel_language"]) if found else languages.DEFAULT


def queue_pipeline_jobs(db: sqlite_utils.Database, channel_id: str) -> int:
    """Queue the AI pipeline for each lesson medium of a channel that has no outputs yet.

    Outputs a pack ships precomputed next to the medium (models.pipeline documents the `.ai.json` format) are
    stored as they are instead, in the caller's transaction, and no job is queued for that medium.
    """
    from models.pipeline import PrecomputedError, load_precomputed

    queued = 0
    # outputs made for another language (the lesson's language changed) are made again; a pack's own are kept
    done = {r["media_sha256"]: r for r in rows(
        db, "SELECT o.media_sha256, o.source, json_extract(t.content, '$.language') AS language FROM ai_outputs o "
            "LEFT JOIN ai_outputs t ON t.media_sha256 = o.media_sha256 AND t.kind = 'transcript' "
            "WHERE o.kind = 'chapters' AND o.media_sha256 IN (SELECT media_sha256 FROM lessons WHERE channel_id = ?)",
        (channel_id,))}
    for lesson in rows(db, "SELECT id, media_sha256 FROM lessons WHERE channel_id = ? AND media_sha256 IS NOT NULL",
                       (channel_id,)):
        old = done.get(lesson["media_sha256"])
        if old and (old["source"] == "pack" or not old["language"]
                    or languages.base(old["language"]) == lesson_language(db, lesson["id"])):
            continue
        media = _media_file(db, lesson["id"])
        try:
            shipped = load_precomputed(media, lesson["media_sha256"]) if media else None
        except PrecomputedError as exc:
            log.warning("lesson %s: precomputed AI outputs ignored (%s); queuing the pipeline", lesson["id"], exc)
            shipped = None
        if shipped is not None:
            store_outputs(db, lesson["media_sha256"], shipped)
            continue
        queued += enqueue(db, PIPELINE, lesson["media_sha256"], {"lesson_id": lesson["id"]})
    return queued


# -- storing outputs -------------------------------------------------------------------------------------------

def store_outputs(db: sqlite_utils.Database, media_sha256: str, outputs: dict[str, Any]) -> None:
    """Write outputs and the transcript chunks (with their FTS rows) of every lesson using this medium.

    An output a teacher corrected (ai_outputs.edited_at, domain/output_edits.py) is kept: a later run, a pack's
    precomputed outputs or a re-import never overwrite it. Runs inside the caller's transaction, so outputs, chunks
    and index change together or not at all.
    """
    created = clock.now_iso()
    edited = {r["kind"] for r in rows(db, "SELECT kind FROM ai_outputs WHERE media_sha256 = ? "
                                          "AND edited_at IS NOT NULL", (media_sha256,))}
    for out in outputs.values():
        if out.kind in edited:
            continue
        db.execute("INSERT OR REPLACE INTO ai_outputs (media_sha256, kind, content, model_id, model_sha256, params, "
                   "pipeline_version, source, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (media_sha256, out.kind, out.content, out.model_id, out.model_sha256,
                    json.dumps(out.params, ensure_ascii=False), out.pipeline_version, out.source, created))
    index_outputs(db, media_sha256)


def index_outputs(db: sqlite_utils.Database, media_sha256: str) -> None:
    """Rebuild the transcript chunks (the companion's index) of every lesson using this medium from its stored
    transcript and chapters, the teacher's corrections included (call inside a transaction)."""
    from edge_server.retrieval import bump_index_generation
    from models.asr import Transcript
    from models.pipeline import chapters_from_json, chunks_for
    from models.textutil import index_text

    stored = {r["kind"]: r["content"] for r in rows(db, "SELECT kind, content FROM ai_outputs WHERE media_sha256 = ? "
                                                        "AND kind IN ('transcript', 'chapters')", (media_sha256,))}
    if len(stored) < 2:
        return
    transcript = Transcript.from_json(json.loads(stored["transcript"]))
    chapters = chapters_from_json(json.loads(stored["chapters"]))
    chunks = chunks_for(transcript.segments, chapters)
    bump_index_generation(db)  # the companions' answer caches, in every worker, start again
    # external-content FTS5: old rows must be deleted from the index with their old text before they go
    for old in rows(db, "SELECT id, COALESCE(search_text, text) AS text FROM transcript_chunks "
                        "WHERE media_sha256 = ?", (media_sha256,)):
        db.execute("INSERT INTO chunks_fts (chunks_fts, rowid, text) VALUES ('delete', ?, ?)", (old["id"], old["text"]))
    db.execute("DELETE FROM transcript_chunks WHERE media_sha256 = ?", (media_sha256,))
    for lesson in rows(db, "SELECT id FROM lessons WHERE media_sha256 = ?", (media_sha256,)):
        for chunk in chunks:
            indexed = index_text(chunk.text)  # Chinese cut into words: the index's tokenizer cannot
            cur = db.execute("INSERT INTO transcript_chunks (media_sha256, lesson_id, knowledge_point, start, end, "
                             "text, search_text) VALUES (?, ?, ?, ?, ?, ?, ?)",
                             (media_sha256, lesson["id"], chunk.knowledge_point, chunk.start, chunk.end, chunk.text,
                              indexed if indexed != chunk.text else None))
            db.execute("INSERT INTO chunks_fts (rowid, text) VALUES (?, ?)", (cur.lastrowid, indexed))


# -- the queue -------------------------------------------------------------------------------------------------

MAX_TRIES = 3
# Each lane has its own worker lock, so that a share pull never waits behind hours of AI work (nor the reverse).
LANES: dict[str, str] = {PIPELINE: LOCK_NAME, SHARE_PULL: "share-pull.lock"}
_INTERRUPTED = {
    PIPELINE: f"the worker stopped during this job {MAX_TRIES} times: check the medium plays, then import it again",
    SHARE_PULL: f"the box stopped during this pull {MAX_TRIES} times: start it again from the admin page",
}


def requeue_interrupted(db: sqlite_utils.Database, kind: str = PIPELINE) -> int:
    """Put jobs a crashed worker left 'running' back in the queue (call only while holding the kind's worker lock).

    A job that was interrupted MAX_TRIES times is marked failed instead, so a medium that crashes the worker
    cannot keep the box in a crash loop.
    """
    return job_store.requeue_interrupted(db, (kind,), MAX_TRIES, _INTERRUPTED[kind])


def claim_next(db: sqlite_utils.Database, kinds: tuple[str, ...] = (PIPELINE,)) -> dict[str, Any] | None:
    """Mark the oldest queued job running and return it (None when the queue is empty)."""
    return job_store.claim_next(db, kinds)


def set_progress(db: sqlite_utils.Database, job_id: int, fraction: float, message: str) -> None:
    """Record how far a running job is (0..1) and what it is doing."""
    job_store.set_progress(db, job_id, fraction, message)


def finish(db: sqlite_utils.Database, job_id: int, media_sha256: str, outputs: dict[str, Any]) -> None:
    """Store a job's outputs and mark it done, in one transaction."""
    def done(tx: sqlite_utils.Database) -> None:
        store_outputs(tx, media_sha256, outputs)
        job_store.mark_done(tx, job_id)

    write(db, done)


def fail(db: sqlite_utils.Database, job_id: int, error: str) -> None:
    """Mark a job failed with a message a teacher can read."""
    job_store.fail(db, job_id, error)


def retry_once(db: sqlite_utils.Database, job_id: int, error: str, tries: int) -> None:
    """Queue a job again after its first failure (the reason kept for teachers); fail it after the second."""
    if tries >= 2:
        fail(db, job_id, error)
        return
    job_store.queue_again(db, job_id, error, f"retrying once after: {error}")


def list_jobs(db: sqlite_utils.Database, limit: int = 100, lesson_ids: list[str] | None = None) -> list[dict]:
    """Recent jobs, newest first, with their lesson id and title."""
    titles = {r["id"]: r["title"] for r in rows(db, "SELECT id, title FROM lessons")}
    out = []
    for job in job_store.recent(db, limit):
        payload = job.pop("payload")
        job["lesson_id"] = payload.get("lesson_id")
        job["lesson_title"] = titles.get(job["lesson_id"])
        if lesson_ids is None or job["lesson_id"] in lesson_ids:
            out.append(job)
    return out


def counts(db: sqlite_utils.Database) -> dict[str, int]:
    """How many jobs are in each status."""
    return job_store.counts(db)


def pending(db: sqlite_utils.Database) -> int:
    """Jobs queued or running."""
    return job_store.pending(db)


# -- the worker ------------------------------------------------------------------------------------------------

@contextmanager
def worker_lock(settings: Settings, blocking: bool = False, name: str = LOCK_NAME) -> Iterator[bool]:
    """Hold DATA/<name> (jobs.lock: the AI lane); yields False when another process is the worker (and blocking is
    False)."""
    path = settings.data_dir / name
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


class Runners:
    """The models a job uses: speech and text runners served by a model process (never loaded in this process)."""

    def __init__(self, settings: Settings, client: Any = None) -> None:
        from models.worker import ModelClient

        self.settings = settings
        self.client = client or ModelClient(settings.models_address)
        self._transcriber: Any = None
        self._generator: Any = None
        self._lock = threading.Lock()

    @property
    def transcriber(self) -> Any:
        """Speech to text in the model process, behind the box's transcript cache (DATA/cache/transcripts, the
        same kind the `ai` commands keep: a medium processed again is not transcribed again)."""
        with self._lock:
            if self._transcriber is None:
                from models.transcript_cache import CachedTranscriber
                from models.worker import RemoteTranscriber

                remote = RemoteTranscriber(self.client, self.settings.installed_models_dir, self.settings.device,
                                           self.settings.ai_threads)
                self._transcriber = CachedTranscriber(remote, self.settings.data_dir / "cache" / "transcripts",
                                                      self.settings.installed_models_dir)
            return self._transcriber

    @property
    def generator(self) -> Any:
        with self._lock:
            if self._generator is None:
                from models.worker import RemoteGenerator

                self._generator = RemoteGenerator(self.client, self.settings.installed_models_dir,
                                                  self.settings.device, self.settings.ai_threads)
            return self._generator

    @property
    def embed(self) -> Any:
        """texts -> unit sentence vectors, from the model process (chapters by meaning, passages for the search)."""
        return self.client.embed


def _lesson_kps(db: sqlite_utils.Database, lesson_id: str) -> list[Any]:
    from models.types import KnowledgePoint

    return [KnowledgePoint(r["id"], r["name"], r["description"] or "") for r in rows(
        db, "SELECT kp.id, kp.name, kp.description FROM lesson_knowledge_points lkp "
            "JOIN knowledge_points kp ON kp.id = lkp.knowledge_point_id WHERE lkp.lesson_id = ? "
            "ORDER BY lkp.position", (lesson_id,))]


def run_job(db: sqlite_utils.Database, job: dict[str, Any], runners: Runners,
            progress: Progress | None = None) -> None:
    """Run one claimed pipeline job to done or failed."""
    from models.pipeline import PrecomputedError, load_precomputed, run_pipeline
    from models.registry import ModelError
    from models.worker import ModelsUnavailable

    lesson_id = job["payload"].get("lesson_id")
    media_sha = job["key"]
    try:
        media = _media_file(db, lesson_id)
        if media is None or not media.is_file():
            raise FileNotFoundError(f"the medium of lesson {lesson_id} is missing on disk: import its pack again")
        try:
            outputs = load_precomputed(media, media_sha)
        except PrecomputedError:
            outputs = None
        if outputs is None:
            def report(fraction: float, message: str) -> None:
                set_progress(db, job["id"], fraction, message)
                if progress:
                    progress({**job, "progress": fraction, "message": message})

            generator = runners.generator
            try:
                generator.model  # noqa: B018 - resolve now: a missing text model means extractive text, not failure
            except ModelError as exc:
                log.warning("no text model (%s); chapters and summary stay extractive", exc)
                generator = None
            if not selftest_allows_llm(runners.settings.selftest_path):
                generator = None  # the text model failed its self-test here: extractive titles and summary
            outputs = run_pipeline(media, _lesson_kps(db, lesson_id), runners.transcriber, generator, report,
                                   language=lesson_language(db, lesson_id), embed=getattr(runners, "embed", None))
        finish(db, job["id"], media_sha, outputs)
        embed_passages(runners.settings, db, media_sha, getattr(runners, "embed", None))
    except ModelsUnavailable as exc:
        # the model process crashed or was killed: the reason is recorded and the job runs once more
        log.warning("job %s: %s", job["id"], exc)
        retry_once(db, job["id"], str(exc), job.get("tries", 0) + 1)  # the claim counted this try in the table
    except Exception as exc:  # noqa: BLE001 - any failure is recorded on the job for teachers to see
        log.exception("job %s failed", job["id"])
        fail(db, job["id"], f"{type(exc).__name__}: {exc}" if not isinstance(exc, ModelError | FileNotFoundError)
             else str(exc))


def embed_passages(settings: Settings, db: sqlite_utils.Database, media_sha256: str, embed: Any) -> int:
    """Embed the companion's passages of a medium now (kept under DATA/cache/embed), so that a pupil's question
    embeds only itself; how many texts were embedded. A failure here costs nothing: the question embeds them."""
    from edge_server.passage_vectors import texts_of, vectors_for
    from edge_server.retrieval import load_passages

    if embed is None:
        return 0
    try:
        lessons = [r["id"] for r in rows(db, "SELECT id FROM lessons WHERE media_sha256 = ?", (media_sha256,))]
        texts = [t for lesson in lessons for _, p in load_passages(db, lesson) for t in texts_of(p)]
        return vectors_for(settings.data_dir).warm(texts, embed)
    except Exception as exc:  # noqa: BLE001 - the job is done; its passages are embedded by the first question
        log.warning("passages of %s not embedded now (%s): the first question embeds them", media_sha256[:12], exc)
        return 0


def run_pending(settings: Settings, max_jobs: int | None = None, progress: Progress | None = None,
                runners: Runners | None = None, kind: str = PIPELINE, blocking: bool = False) -> int | None:
    """Run queued jobs of one kind one at a time; return how many ran, or None when another process is that kind's
    worker (with blocking, wait for it to finish instead, then run what is left)."""
    with worker_lock(settings, blocking, LANES[kind]) as mine:
        if not mine:
            return None
        db = connect(settings.db_path)
        try:
            requeue_interrupted(db, kind)
            ran = 0
            if kind == PIPELINE:
                runners = runners or Runners(settings)
            while max_jobs is None or ran < max_jobs:
                job = claim_next(db, (kind,))
                if job is None:
                    break
                if kind == SHARE_PULL:
                    from edge_server.share_pull import run_pull_job

                    run_pull_job(settings, db, job, progress)
                else:
                    run_job(db, job, runners, progress)
                ran += 1
            return ran
        finally:
            db.conn.close()


def scheduled_run(settings: Settings, runners: Runners | None = None) -> None:
    """The scheduler's entry: drain the queue if no other process is doing it (with the scheduler box's runners)."""
    run_pending(settings, runners=runners)


def scheduled_share_pulls(settings: Settings) -> None:
    """The scheduler's entry for share pulls: run the queued ones unless another process is running them."""
    run_pending(settings, kind=SHARE_PULL)


def run_share_pulls_in_background(settings: Settings) -> threading.Thread:
    """Run the queued share pulls in a thread of this process (where no scheduler process runs them); it waits for
    any other worker of the lane to finish first, so a pull queued meanwhile is never left behind."""
    thread = threading.Thread(target=run_pending, kwargs={"settings": settings, "kind": SHARE_PULL, "blocking": True},
                              daemon=True, name="share-pulls")
    thread.start()
    return thread


def watch(settings: Settings) -> dict[str, Any]:
    """A snapshot of the queue for a progress display: counts and the running job."""
    db = connect(settings.db_path, readonly=True)
    try:
        return {"pending": pending(db), "counts": counts(db), "running": job_store.first_running(db)}
    finally:
        db.conn.close()


def scheduler_is_running(db: sqlite_utils.Database, settings: Settings) -> bool:
    """Whether a scheduler process runs this box's queue: enabled here, and its heartbeat in box.db is fresh."""
    from edge_server.clock import now
    from edge_server.store import meta

    if not settings.scheduler_enabled:
        return False
    try:
        beat = datetime.fromisoformat(json.loads(meta.get(db, "scheduler_heartbeat") or "")["at"])
    except (KeyError, TypeError, ValueError):
        return False
    # two periods and a margin: one late beat on a busy box is no death
    return (now() - beat).total_seconds() < 2 * settings.scheduler_heartbeat_s + 10
