"""The companion with the real default text model (Gemma 3 270M): what reaches the pupil is grounded in the lesson."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_server import companion, retrieval
from edge_server.settings import load_settings
from edge_server.store.db import open_box_db
from models.selftest import Options
from models.textutil import content_terms
from models.worker import OnDemandModels, RemoteGenerator
from tests.unit.test_retrieval_search import seed

QUESTIONS = [("How are clouds made?", "sci.water.condensation"),
             ("What does the bottom number of a fraction tell us?", "math.frac.meaning"),
             ("When does it snow?", "sci.water.precipitation")]


@pytest.fixture(scope="module")
def generator():
    """The real model, as the box runs it: in a model process of its own, streamed over its socket."""
    with OnDemandModels(Options(device="cpu", threads=2)) as models:
        yield RemoteGenerator(models, None, "cpu", 2)


@pytest.fixture
def service(data_dir: Path, generator):
    seed(data_dir / "box.db")
    settings = load_settings(data_dir, scheduler_enabled=False, ai_jobs_enabled=False, companion_timeout_s=60.0,
                             companion_rephrase_budget_s=60.0)
    db = open_box_db(data_dir / "box.db")
    yield companion.Companion(settings, generator=generator), db
    db.conn.close()


def test_every_answer_of_the_real_model_is_grounded_in_the_cited_chapter_and_streams_what_it_shows(service) -> None:
    comp, db = service
    for n, (question, kp) in enumerate(QUESTIONS):
        stream = list(comp.stream(db, n + 1, question))
        kinds = [kind for kind, _ in stream]
        answer = stream[-1][1]
        assert kinds[-1] == "answer" and answer.citations[0]["knowledge_point"] == kp
        chapter = retrieval.kp_passage(db, answer.citations[0]["lesson"], kp)
        supported = set(content_terms(chapter.text)) | set(content_terms(question))
        words = content_terms(answer.answer)
        assert sum(any(retrieval._same(w, s) for s in supported) for w in words) >= 0.8 * len(words), answer
        if answer.method == "generated":
            assert "".join(data for kind, data in stream if kind == "token") == answer.answer
        else:
            assert answer.method == "extractive" and answer.answer in chapter.text.replace("  ", " ") or all(
                s in chapter.text for s in companion.sentences(answer.answer))
