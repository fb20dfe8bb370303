"""Retrieval by words and meaning in a real box.db, with the real multilingual embedder (models.embed, in-process)."""

from __future__ import annotations

import numpy as np
import pytest

from edge_server import retrieval
from edge_server.domain.safety_normalise import clean
from edge_server.passage_vectors import PassageVectors, QuestionEmbedder, QuestionMeaning, texts_of
from edge_server.store.db import open_box_db
from models.embed import Embedder
from tests.unit.test_retrieval_search import seed

EMBEDDER = Embedder()  # loaded once for the module (~2 s)


class Counting:
    """The real embedder, counting the texts it was asked for."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def __call__(self, texts):
        self.texts.extend(texts)
        return EMBEDDER.embed(texts)


def broken(texts):
    raise ConnectionRefusedError("the model process is not running")


@pytest.fixture
def db(tmp_path):
    seed(tmp_path / "box.db")
    database = open_box_db(tmp_path / "box.db")
    yield database
    database.conn.close()


def meaning_of(question: str, store: PassageVectors, embed=EMBEDDER.embed) -> QuestionMeaning:
    return QuestionMeaning(EMBEDDER.embed([clean(question)])[0], store, embed)


@pytest.mark.parametrize(("question", "lesson", "kp"), [
    ("Comment se forment les nuages ?", "water-cycle", "sci.water.condensation"),
    ("雨和雪是怎么落下来的？", "water-cycle", "sci.water.precipitation"),
    ("Que veut dire le nombre du bas d'une fraction ?", "fractions", "math.frac.meaning"),
    ("两块磁铁的北极靠在一起会怎样？", "magnets-zh", "zh.magnet.poles"),
    ("What do roots do for a plant?", "plantes", "fr.plantes.racines"),
])
def test_a_question_in_another_language_finds_the_chapter_by_meaning(db, tmp_path, question, lesson, kp) -> None:
    store = PassageVectors(tmp_path / "vectors")
    best = retrieval.search(db, question, lesson, meaning=meaning_of(question, store))[0]
    assert (best.lesson_id, best.knowledge_point, best.found) == (lesson, kp, True)
    assert best.similarity is not None and best.near


def test_by_words_alone_such_a_question_finds_nothing_rather_than_a_wrong_chapter(db) -> None:
    hits = retrieval.search(db, "Comment se forment les nuages ?", "water-cycle")
    assert not hits or not hits[0].found


def test_an_off_topic_question_is_still_not_found_with_meaning(db, tmp_path) -> None:
    store = PassageVectors(tmp_path / "vectors")
    for question in ("Who won the football world cup?", "Qui a gagné la coupe du monde ?", "谁赢了世界杯？"):
        hits = retrieval.search(db, question, "water-cycle", meaning=meaning_of(question, store))
        assert not hits or not hits[0].found, (question, hits[:1])


def test_english_questions_keep_their_chapters_with_meaning(db, tmp_path) -> None:
    store = PassageVectors(tmp_path / "vectors")
    for question, kp in (("How are clouds made?", "sci.water.condensation"),
                         ("What does the bottom number of a fraction mean?", "math.frac.meaning"),
                         ("What comes out of a volcano?", "geo.volcano")):
        words = retrieval.search(db, question)[0]
        both = retrieval.search(db, question, meaning=meaning_of(question, store))[0]
        assert words.knowledge_point == both.knowledge_point == kp and both.found


def test_passage_vectors_are_embedded_once_and_read_back_from_disk_by_another_process(db, tmp_path) -> None:
    counting = Counting()
    store = PassageVectors(tmp_path / "vectors")
    passages = [p for _, p in retrieval.load_passages(db)]
    texts = [t for p in passages for t in texts_of(p)]
    assert store.warm(texts, counting) == len(set(texts))
    assert store.warm(texts, counting) == 0  # kept in memory
    files = list((tmp_path / "vectors").rglob("*.npy"))
    assert len(files) == len(set(texts))
    fresh = PassageVectors(tmp_path / "vectors")  # another web worker, or after a restart
    before = len(counting.texts)
    vectors = fresh.get(texts, counting)
    assert len(counting.texts) == before and all(v is not None for v in vectors)
    assert np.allclose(vectors[0], EMBEDDER.embed([texts[0]])[0], atol=1e-5)
    files[0].write_bytes(b"torn")  # a torn file is embedded again and written over
    assert PassageVectors(tmp_path / "vectors").warm(texts, counting) == 1


def test_a_question_embeds_at_most_max_new_passages_on_its_way(db, tmp_path) -> None:
    counting = Counting()
    store = PassageVectors(tmp_path / "vectors")
    passages = [p for _, p in retrieval.load_passages(db)]
    texts = [t for p in passages for t in texts_of(p)]
    got = store.get(texts, counting, limit=3)
    assert len(counting.texts) == 3 and sum(v is not None for v in got) == 3
    similarities = QuestionMeaning(EMBEDDER.embed(["clouds"])[0], store, None).similarities(passages)
    assert similarities is not None and None in similarities  # the others rank by words until embedded


def test_without_an_embedder_that_answers_the_words_alone_rank(db, tmp_path) -> None:
    store = PassageVectors(tmp_path / "vectors")
    meaning = QuestionMeaning(EMBEDDER.embed(["How are clouds made?"])[0], store, broken)
    assert meaning.similarities([p for _, p in retrieval.load_passages(db)]) is None
    best = retrieval.search(db, "How are clouds made?", "water-cycle", meaning=meaning)[0]
    assert (best.knowledge_point, best.found, best.similarity) == ("sci.water.condensation", True, None)


def test_the_question_is_embedded_once_for_the_safety_check_and_the_search_and_a_failure_is_not_retried() -> None:
    counting = Counting()
    embed = QuestionEmbedder(counting)
    first = embed(["comment se forment les nuages ?"])
    again = embed(["comment se forment les nuages ?"])
    assert counting.texts == ["comment se forment les nuages ?"] and np.array_equal(first, again)
    embed(["a", "b"])  # batches pass through
    assert counting.texts[-2:] == ["a", "b"]
    calls = []

    def down(texts):
        calls.append(texts)
        raise ConnectionRefusedError("down")

    failing = QuestionEmbedder(down)
    for _ in range(2):
        with pytest.raises(ConnectionRefusedError):
            failing(["pourquoi ?"])
    assert len(calls) == 1
    assert QuestionEmbedder(counting) == embed and hash(QuestionEmbedder(counting)) == hash(embed)
