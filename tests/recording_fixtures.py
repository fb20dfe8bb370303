"""A teacher's recording on a test box: a spoken clip uploaded through the real recordings code, and outputs stored
through the pipeline's own store path (a fixed transcript, so chapter times are known: no model needed)."""

from __future__ import annotations

import json
from pathlib import Path

from edge_server import jobs, recordings
from edge_server.settings import load_settings
from edge_server.store.db import open_box_db, write
from models import vtt
from models.asr import Transcript
from models.pipeline import Output, chapters_json
from models.types import Chapter, Segment
from tests.ai_support import WATER, speak

KPS = ("sci.water.evaporation", "sci.water.condensation")
SEGMENTS = [Segment(0.0, 3.0, "The water cycle begins with evaporation."),
            Segment(3.0, 6.0, "The sun heats the water in the sea."),
            Segment(6.0, 8.5, "Then the vapour cools and forms clouds."),
            Segment(8.5, 10.0, "This is condensation.")]
CHAPTERS = [Chapter(0.0, 6.0, KPS[0], "Evaporation"), Chapter(6.0, 10.0, KPS[1], "Condensation")]
SUMMARY = "The sun heats the sea and water evaporates. The vapour cools into clouds."


def pipeline_outputs(segments=SEGMENTS, chapters=CHAPTERS, summary=SUMMARY) -> dict[str, Output]:
    """The five outputs as models.pipeline.run_pipeline shapes them, for a fixed transcript and chapters."""
    transcript = Transcript("en", 10.0, list(segments))
    model = ("fixture-model", "0f" * 32)
    doc = {"summary": summary, "method": "extractive", "model": None, "sentences": [summary], "pipeline_version": "2"}
    return {"transcript": Output("transcript", json.dumps(transcript.to_json()), *model),
            "captions_vtt": Output("captions_vtt", vtt.captions_vtt(segments), *model),
            "chapters": Output("chapters", json.dumps(chapters_json(list(chapters))), *model),
            "chapters_vtt": Output("chapters_vtt", vtt.chapters_vtt(chapters), *model),
            "summary": Output("summary", json.dumps(doc), *model)}


def add_recording(data_dir: Path, uploaded_by: int | None, title: str = "Our water cycle",
                  text: str = WATER, with_outputs: bool = True) -> tuple[str, str]:
    """Upload a spoken clip as a teacher's recording (its pipeline job marked done when outputs are stored);
    return its lesson id and medium sha256."""
    settings = load_settings(data_dir, scheduler_enabled=False, ai_jobs_enabled=False, announce=False)
    clip = speak(data_dir.parent / f"{title.replace(' ', '-')}.wav", text)
    db = open_box_db(settings.db_path)
    try:
        with clip.open("rb") as fh:
            stored = recordings.save_upload(fh, settings)
        info = recordings.probe(stored.path)
        lesson_id = recordings.add_recording(db, settings, stored, info, title, list(KPS), settings.box_name,
                                             uploaded_by=uploaded_by)
        if with_outputs:
            def store(tx):
                jobs.store_outputs(tx, stored.sha256, pipeline_outputs())
                tx.execute("UPDATE jobs SET status = 'done', progress = 1 WHERE key = ?", (stored.sha256,))

            write(db, store)
    finally:
        db.conn.close()
    return lesson_id, stored.sha256
