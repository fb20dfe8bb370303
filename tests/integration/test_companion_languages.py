"""The companion across languages through the app, with the box's real model process: a pupil who asks in French
about an English lesson, or in Chinese about a Chinese one, gets the right chapter; without the model process the
words alone still answer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge_server import companion, jobs, retrieval
from edge_server.box import Box
from edge_server.settings import load_settings
from edge_server.store import people
from edge_server.store.db import connect, open_box_db, rows
from edge_server.web import auth
from edge_server.web.app import create_app
from models.worker import ModelProcess
from tests.ai_support import import_source, write_spoken_source
from tests.integration.test_companion_api import ask, pupil_client
from tests.unit.test_retrieval_search import seed


def box_app(data_dir: Path):
    """The app of a box whose companion reaches the model process at the box's own address (as `serve` runs it);
    the text model is off (extractive answers: the citation is what is tested)."""
    settings = load_settings(data_dir, scheduler_enabled=False, ai_jobs_enabled=False, device="cpu")
    app = create_app(settings, Box.start(settings, companion=companion.Companion(settings, generator=False)))
    app.config.update(TESTING=True)
    return settings, app


def a_pupil(data_dir: Path) -> int:
    db = open_box_db(data_dir / "box.db")
    try:
        return people.add_pupil(db, people.add_class(db, "5B"), "Amina", auth.hash_pin("1234"))["id"]
    finally:
        db.conn.close()


@pytest.fixture
def seeded(data_dir: Path):
    seed(data_dir / "box.db")
    return data_dir, a_pupil(data_dir)


@pytest.fixture
def model_process(data_dir: Path):
    """The box's model process, started at the box's address as the supervisor starts it."""
    settings = load_settings(data_dir, device="cpu")
    process = ModelProcess(settings.models_address, settings.model_options(), settings.selftest_path)
    process.start(wait=True)
    yield process
    process.stop()


@pytest.mark.parametrize(("question", "lesson", "kp", "start"), [
    ("Comment se forment les nuages ?", "water-cycle", "sci.water.condensation", 21),
    ("Que veut dire le nombre du bas d'une fraction ?", "fractions", "math.frac.meaning", 0),
    ("两块磁铁的北极靠在一起会怎样？", "magnets-zh", "zh.magnet.poles", 18),
    ("Les racines, elles servent à quoi ?", "plantes", "fr.plantes.racines", 25),
])
def test_a_question_in_the_pupils_language_cites_the_chapter_through_the_api(seeded, model_process, question,
                                                                              lesson, kp, start) -> None:
    data_dir, pupil = seeded
    _settings, app = box_app(data_dir)
    client = pupil_client(app, pupil)
    body = ask(client, question, lesson_id=lesson).get_json()
    assert (body["refused"], body["found"]) == (False, True), body
    assert body["citations"][0]["knowledge_point"] == kp
    assert body["citations"][0]["url"] == f"/lesson/{lesson}?t={start}"
    # asked from no lesson at all, the whole box is searched and the same chapter comes first
    anywhere = ask(client, question).get_json()
    assert anywhere["citations"][0]["knowledge_point"] == kp


def test_an_off_topic_question_in_any_language_still_finds_nothing(seeded, model_process) -> None:
    data_dir, pupil = seeded
    _settings, app = box_app(data_dir)
    client = pupil_client(app, pupil)
    for question in ("Who won the football world cup?", "Qui a gagné la coupe du monde de football ?",
                     "谁赢了足球世界杯？"):
        body = ask(client, question, lesson_id="water-cycle").get_json()
        assert (body["found"], body["citations"]) == (False, []), (question, body)


def test_with_the_model_process_down_the_words_alone_answer_and_nothing_fails(seeded, model_process) -> None:
    data_dir, pupil = seeded
    _settings, app = box_app(data_dir)
    client = pupil_client(app, pupil)
    french = ask(client, "Comment se forment les nuages ?", lesson_id="water-cycle").get_json()
    assert french["citations"][0]["knowledge_point"] == "sci.water.condensation"
    model_process.stop()  # killed, or being restarted by the supervisor
    english = ask(client, "How are clouds made?", lesson_id="water-cycle")
    assert english.status_code == 200
    assert english.get_json()["citations"][0]["knowledge_point"] == "sci.water.condensation"
    # another question: answered as a box without embeddings answers it (by words alone), not an error page
    again = ask(client, "D'où viennent les nuages ?", lesson_id="fractions")
    db = open_box_db(data_dir / "box.db")
    by_words = retrieval.search(db, "D'où viennent les nuages ?", "fractions")
    db.conn.close()
    assert again.status_code == 200 and again.get_json()["found"] == bool(by_words and by_words[0].found)
    assert [c["knowledge_point"] for c in again.get_json()["citations"]] == [
        p.knowledge_point for p in by_words[:1] if p.found]
    zh = ask(client, "磁铁能吸引什么东西？", lesson_id="magnets-zh").get_json()  # Chinese words still work
    assert zh["citations"][0]["knowledge_point"] == "zh.magnet.attract"


def test_a_spoken_english_lesson_run_through_the_pipeline_answers_a_french_question_with_its_chapter(
        model_process_for_pipeline) -> None:
    data, settings = model_process_for_pipeline
    assert jobs.run_pending(settings, runners=jobs.Runners(settings)) == 1
    db = connect(data / "box.db")
    chapters = json.loads(rows(db, "SELECT content FROM ai_outputs WHERE kind = 'chapters'")[0]["content"])
    assert [c["knowledge_point"] for c in chapters] == ["test.spoken.evaporation", "test.spoken.condensation"]
    # the job embedded the passages (a pupil's question embeds only itself) and kept the transcript
    assert list((data / "cache" / "embed" / "passages").rglob("*.npy"))
    assert list((data / "cache" / "transcripts").rglob("*.json"))
    _settings, app = box_app(data)
    client = pupil_client(app, a_pupil(data))
    body = ask(client, "Comment se forment les nuages ?", lesson_id="water").get_json()
    assert body["found"] is True and body["citations"][0]["knowledge_point"] == "test.spoken.condensation"
    assert body["citations"][0]["start"] == chapters[1]["start"]
    zh = ask(client, "太阳把海水变成什么？", lesson_id="water").get_json()
    assert zh["citations"][0]["knowledge_point"] == "test.spoken.evaporation"


@pytest.fixture
def model_process_for_pipeline(tmp_path, signing_key):
    """A box with one spoken English lesson imported (its pipeline job queued) and its model process running."""
    data = tmp_path / "var"
    assert import_source(write_spoken_source(tmp_path / "src"), data, signing_key)["jobs_queued"] == 1
    settings = load_settings(data, scheduler_enabled=False, ai_jobs_enabled=False, device="cpu")
    process = ModelProcess(settings.models_address, settings.model_options(), settings.selftest_path)
    process.start(wait=True)
    yield data, settings
    process.stop()
