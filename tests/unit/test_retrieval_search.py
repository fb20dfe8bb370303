"""Retrieval over transcript chunks, knowledge points and notes, in a real box.db (en, fr and zh content)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge_server import retrieval
from edge_server.store.db import open_box_db
from models.textutil import index_text

# Lessons as a box holds them after the AI pipeline: one transcript chunk per chapter (spoken, imperfect text).
LESSONS = [
    {"id": "water-cycle", "title": "The water cycle", "channel": "c.en", "text": "Water moves in a loop.", "chunks": [
        ("sci.water.evaporation", "Evaporation", "Heat from the sun turns liquid water into water vapour.",
         0.0, 20.5, "Good morning. Today we follow a drop of water. When the sun shines on the sea, the water gets "
                    "warm. The warm water turns into an invisible gas called water vapour, and it rises into the "
                    "air. This is called evaporation."),
        ("sci.water.condensation", "Condensation", "Cooling water vapour turns back into tiny drops that form clouds.",
         21.3, 40.1, "High in the sky the air is cold. The vapour cools down and turns back into tiny drops of "
                     "water. Millions of these drops together make a cloud. We call this condensation."),
        ("sci.water.precipitation", "Precipitation", "Drops join until they are heavy and fall as rain, snow or hail.",
         40.7, 57.9, "Inside the cloud the tiny drops bump into each other and join. When they get too heavy they "
                     "fall down as rain. If it is very cold they fall as snow or hail."),
    ]},
    {"id": "fractions", "title": "Fractions", "channel": "c.en", "text": "Fractions name parts of a whole.", "chunks": [
        ("math.frac.meaning", "What a fraction is", "A fraction names equal parts of a whole.",
         0.0, 30.0, "A fraction describes a part of a whole. The number on the bottom is called the denominator. "
                    "It tells us how many equal parts the whole was cut into. The number on top is the numerator."),
        ("math.frac.add_same", "Adding fractions with the same denominator", "Add the numerators, keep the "
         "denominator.", 30.5, 60.0, "To add fractions with the same denominator we add the numerators and keep "
                                     "the denominator. One quarter plus two quarters makes three quarters."),
    ]},
    {"id": "plantes", "title": "Les plantes", "channel": "c.fr", "text": "Les plantes fabriquent leur nourriture.",
     "chunks": [
         ("fr.plantes.lumiere", "La lumière", "Les plantes utilisent la lumière du soleil pour fabriquer leur sucre.",
          0.0, 25.0, "Les feuilles vertes attrapent la lumière du soleil. Avec cette lumière, la plante fabrique "
                     "du sucre à partir de l'eau et de l'air. C'est la photosynthèse."),
         ("fr.plantes.racines", "Les racines", "Les racines boivent l'eau du sol.",
          25.5, 50.0, "Sous la terre, les racines tiennent la plante. Elles boivent l'eau et les sels minéraux du "
                      "sol et les envoient vers les feuilles."),
     ]},
    {"id": "magnets-zh", "title": "磁铁", "channel": "c.zh", "text": "磁铁能吸引铁。", "chunks": [
        ("zh.magnet.attract", "磁铁吸铁", "磁铁能吸引铁和钢做的东西。",
         0.0, 18.0, "今天我们来认识磁铁。磁铁能吸引铁做的东西，比如铁钉和回形针。木头和塑料不会被磁铁吸引。"),
        ("zh.magnet.poles", "磁极", "磁铁有南极和北极，同极相斥，异极相吸。",
         18.5, 40.0, "每块磁铁都有两个磁极，一个叫北极，一个叫南极。"
                     "两个相同的磁极靠近时会互相推开，不同的磁极会互相吸引。"),
    ]},
    {"id": "notes-only", "title": "Volcanoes", "channel": "c.en", "chunks": [],
     "text": "A volcano is an opening in the ground where hot melted rock called magma comes out.",
     "kps": [("geo.volcano", "Volcanoes", "Magma rises and erupts through a volcano.")]},
]


def seed(db_path: Path) -> None:
    """Write the lessons above into box.db as a pack import and the AI pipeline would."""
    db = open_box_db(db_path)
    try:
        for lesson in LESSONS:
            sha = f"sha-{lesson['id']}"
            db.execute("INSERT OR IGNORE INTO channels (id, title, version, path, activated_at) "
                       "VALUES (?, ?, 1, '/x', 'now')", (lesson["channel"], lesson["channel"]))
            db.execute("INSERT INTO lessons (id, channel_id, course_id, title, text, media_path, media_kind, "
                       "media_sha256) VALUES (?, ?, 'course', ?, ?, 'media/x.ogg', 'audio', ?)",
                       (lesson["id"], lesson["channel"], lesson["title"], lesson["text"], sha))
            kps = [(c[0], c[1], c[2]) for c in lesson["chunks"]] or lesson.get("kps", [])
            for pos, (kp, name, description) in enumerate(kps):
                db.execute("INSERT INTO knowledge_points (id, channel_id, name, description) VALUES (?, ?, ?, ?)",
                           (kp, lesson["channel"], name, description))
                db.execute("INSERT INTO lesson_knowledge_points VALUES (?, ?, ?)", (lesson["id"], kp, pos))
            for kp, _name, _desc, start, end, text in lesson["chunks"]:
                cur = db.execute("INSERT INTO transcript_chunks (media_sha256, lesson_id, knowledge_point, start, end, "
                                 "text) VALUES (?, ?, ?, ?, ?, ?)", (sha, lesson["id"], kp, start, end, text))
                db.execute("INSERT INTO chunks_fts (rowid, text) VALUES (?, ?)", (cur.lastrowid, index_text(text)))
        db.execute("INSERT INTO exercises (id, lesson_id, channel_id, knowledge_point, kind, prompt, choices, answer, "
                   "difficulty, hint) VALUES ('wc-2', 'water-cycle', 'c.en', 'sci.water.condensation', 'text', "
                   "'What do we call water vapour turning back into tiny drops?', NULL, ?, 2, "
                   "'It starts with the letter c.')", (json.dumps(["condensation"]),))
        db.execute("INSERT INTO exercises (id, lesson_id, channel_id, knowledge_point, kind, prompt, choices, answer, "
                   "difficulty, hint) VALUES ('fr-1', 'fractions', 'c.en', 'math.frac.add_same', 'choice', "
                   "'1/4 + 2/4 = ?', ?, '1', 1, 'The answer is three quarters.')",
                   (json.dumps(["2/8", "three quarters", "3/8"]),))
    finally:
        db.conn.close()


@pytest.fixture
def db(data_dir: Path):
    seed(data_dir / "box.db")
    database = open_box_db(data_dir / "box.db")
    yield database
    database.conn.close()


@pytest.mark.parametrize(("question", "lesson", "kp"), [
    ("Why does water turn into vapour when the sun heats the sea?", "water-cycle", "sci.water.evaporation"),
    ("How are clouds made?", "water-cycle", "sci.water.condensation"),
    ("When does it snow?", "water-cycle", "sci.water.precipitation"),
    ("What does the bottom number of a fraction tell us?", "fractions", "math.frac.meaning"),
    ("How do I add two quarters and one quarter?", "fractions", "math.frac.add_same"),
    ("Comment la plante fabrique-t-elle du sucre ?", "plantes", "fr.plantes.lumiere"),
    ("À quoi servent les racines ?", "plantes", "fr.plantes.racines"),
    ("磁铁能吸引什么东西？", "magnets-zh", "zh.magnet.attract"),
    ("两个相同的磁极靠近会怎么样？", "magnets-zh", "zh.magnet.poles"),
])
def test_the_chapter_that_explains_a_question_comes_first_across_all_lessons(db, question, lesson, kp) -> None:
    best = retrieval.search(db, question)[0]
    assert (best.lesson_id, best.knowledge_point) == (lesson, kp)
    assert best.found


def test_a_word_form_not_in_the_transcript_still_finds_its_chapter_through_stems(db) -> None:
    best = retrieval.search(db, "What is evaporating?")[0]
    assert best.knowledge_point == "sci.water.evaporation"


def test_scoping_to_a_lesson_keeps_to_its_chapters(db) -> None:
    hits = retrieval.search(db, "What is a fraction?", "fractions", limit=5)
    assert {h.lesson_id for h in hits} == {"fractions"}


def test_a_question_about_another_lesson_is_found_outside_the_scoped_lesson(db) -> None:
    best = retrieval.search(db, "How are clouds made from vapour?", "fractions")[0]
    assert (best.lesson_id, best.knowledge_point) == ("water-cycle", "sci.water.condensation")


@pytest.mark.parametrize("question", ["Who won the football world cup?", "Quel âge a la tour Eiffel ?",
                                      "恐龙是什么时候灭绝的？", "asdf qwerty"])
def test_an_off_topic_question_finds_nothing(db, question) -> None:
    hits = retrieval.search(db, question)
    assert not hits or not hits[0].found


def test_a_lesson_without_transcript_is_searched_through_its_notes(db) -> None:
    best = retrieval.search(db, "What comes out of a volcano?")[0]
    assert (best.lesson_id, best.source, best.found) == ("notes-only", "notes", True)


def test_chinese_is_split_into_character_bigrams_and_latin_words_into_stems() -> None:
    assert "磁铁" in retrieval.terms("磁铁能吸引什么")
    assert retrieval.terms("The clouds are raining") == ["cloud", "rain"]


def test_bm25_prefers_a_document_that_repeats_a_rare_term() -> None:
    docs = [["rain", "cloud"], ["rain", "rain", "snow"], ["sun"]]
    scores = retrieval.bm25_scores(["snow"], docs)
    assert scores[1] > 0 and scores[0] == scores[2] == 0


def test_the_chapter_teaching_a_knowledge_point_is_found_for_pointers(db) -> None:
    passage = retrieval.kp_passage(db, "water-cycle", "sci.water.condensation")
    assert passage is not None and passage.start == 21.3
