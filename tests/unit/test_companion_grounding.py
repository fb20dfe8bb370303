"""The companion's pure steps: choosing sentences, checking a rephrasing, keeping exercise answers secret."""

from __future__ import annotations

from edge_server import companion
from edge_server.retrieval import Passage

CHAPTER = ("High in the sky the air is cold. The vapour cools down and turns back into tiny drops of water. "
           "Millions of these drops together make a cloud. We call this condensation.")
PASSAGE = Passage("water-cycle", "The water cycle", "sci.water.condensation", "Condensation",
                  "Cooling water vapour turns back into tiny drops that form clouds.", 21.3, 40.1, CHAPTER,
                  "transcript")


def test_the_sentences_that_match_the_question_are_chosen_in_the_order_of_the_lesson() -> None:
    chosen = companion.pick_sentences("How are clouds made from drops?", PASSAGE)
    assert chosen[0] == "Millions of these drops together make a cloud."
    assert all(s in CHAPTER for s in chosen) and len(chosen) <= 3


def test_a_citation_opens_the_player_at_the_chapter_second() -> None:
    assert companion.citation(PASSAGE) == {"lesson": "water-cycle", "knowledge_point": "sci.water.condensation",
                                           "start": 21.3, "end": 40.1, "url": "/lesson/water-cycle?t=21"}


def test_a_rephrasing_with_new_words_or_numbers_is_not_grounded() -> None:
    question = "How are clouds made?"
    assert companion.grounded("Millions of tiny drops make a cloud.", CHAPTER, question)
    assert not companion.grounded("Clouds are made of cotton candy.", CHAPTER, question)
    assert not companion.grounded("Millions of drops make 3 clouds.", CHAPTER, question)
    assert not companion.grounded("You are stupid if you ask about clouds.", CHAPTER + " stupid", question)


def test_spoken_numbers_and_digits_are_the_same_numbers() -> None:
    source = "So 3 times 4 is the same as 4 times 3."
    assert companion.grounded("Three times four is the same as four times three.", source, "Is 3 x 4 = 4 x 3?")


def test_restating_the_question_does_not_keep_the_point_of_the_lesson() -> None:
    focus = "Photosynthesis also makes oxygen, which the plant releases into the air through its leaves."
    question = "Where does the oxygen we breathe come from?"
    assert not companion.keeps_point("The oxygen we breathe comes from the air we breathe.", focus, question)
    assert companion.keeps_point("Plants make oxygen in their leaves by photosynthesis and release it into the air.",
                                 focus, question)


def test_an_exercise_answer_is_recognised_in_any_case_but_not_inside_other_numbers() -> None:
    choice = {"kind": "choice", "choices": ["2/8", "three quarters"], "answer": 1}
    assert companion.reveals("It is Three Quarters!", choice)
    assert not companion.reveals("Think about quarters of a flatbread.", choice)
    number = {"kind": "number", "answer": 4}
    assert companion.reveals("The answer is 4.", number)
    assert not companion.reveals("Count to 14 or 4.5 first.", number)
    text = {"kind": "text", "answer": ["évaporation", "evaporation"]}
    assert companion.reveals("C'est l'Evaporation", text)


def test_socratic_help_hides_a_chapter_name_that_is_the_answer() -> None:
    exercise = {"kind": "text", "answer": ["condensation"], "hint": "It starts with the letter c.",
                "prompt": "What do we call vapour turning back into drops?",
                "knowledge_point": "sci.water.condensation"}
    answer = companion.socratic(exercise, PASSAGE, "fr")
    assert "condensation" not in answer.answer.lower()
    assert answer.answer.startswith("Indice : It starts with the letter c.")
    assert "0:21" in answer.answer and answer.citations[0]["start"] == 21.3


def test_questions_that_differ_in_case_and_punctuation_share_a_cache_entry() -> None:
    assert companion.cache_key("How are CLOUDS made?", "l", None, "en") == companion.cache_key(
        "how are clouds made", "l", None, "en")
    assert companion.cache_key("How are clouds made?", "l", None, "en") != companion.cache_key(
        "How are clouds made?", "other", None, "en")


def test_chinese_sentences_are_split_on_chinese_punctuation_and_joined_without_spaces() -> None:
    parts = companion.sentences("磁铁能吸引铁。木头不会被吸引！为什么？")
    assert parts == ["磁铁能吸引铁。", "木头不会被吸引！", "为什么？"]
    assert companion.join(parts[:2]) == "磁铁能吸引铁。木头不会被吸引！"
    assert companion.join(["One.", "Two."]) == "One. Two."
