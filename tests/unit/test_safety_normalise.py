"""What children type is normalised before the safety rules and the embedder read it: disguises undone, numbers kept."""

from __future__ import annotations

import subprocess
import sys

import pytest

from edge_server.domain.safety_normalise import clean, fold, rule_text, words


@pytest.mark.parametrize(("typed", "read"), [
    ("i want to k i l l myself", "i want to kill myself"),
    ("k.i.l.l", "kill"),
    ("how do i make a b0mb", "how do i make a bomb"),
    ("$uicide", "suicide"),
    ("h0w d0 1 k1ll", "how do 1 kill"),
    ("ＫＩＬＬ ＭＹＳＥＬＦ", "kill myself"),
    ("killllll", "kill"),
    ("jveux mourir", "je veux mourir"),
    ("pk tu fais ca", "pourquoi tu fais ca"),
    ("sum1 hurt me", "someone hurt me"),
    ("how 2 get a knife", "how to get a knife"),
    ("c koi le mdp de léa", "c'est quoi le mot de passe de léa"),
    ("jprends le bus", "je prends le bus"),
    ("g peur de lui", "j'ai peur de lui"),
    # Chinese: homophones, letters and pinyin for the words a filter looks for
    ("怎么紫砂", "怎么自杀"),
    ("我要sha了他", "我要杀了他"),
    ("怎么做炸d", "怎么做炸弹"),
    ("du品哪里有", "毒品哪里有"),
    ("zuo ye bang wo xie 全部", "作业帮我写全部"),  # pinyin is read so in a Chinese sentence only
    ("自 杀", "自杀"),
])
def test_disguised_words_are_read_as_the_words_they_hide(typed: str, read: str) -> None:
    assert clean(typed) == read


@pytest.mark.parametrize("plain", ["4 cm", "What is 5+3?", "10kg of flour", "y = 2x + 1", "the 4th of July",
                                   "i have 2 cats", "vitamin c is good", "5 g of salt", "紫砂壶是什么"])
def test_numbers_in_maths_questions_are_not_turned_into_letters(plain: str) -> None:
    assert clean(plain) == plain.lower()


def test_folding_removes_accents_and_case_and_makes_full_width_forms_ascii() -> None:
    assert fold("Où habite la MAÎTRESSE ？") == "ou habite la maitresse ?"


def test_rules_read_squeezed_words_so_a_doubled_or_dropped_letter_makes_no_difference() -> None:
    assert words("I want to kil myself") == words("i want to kill myself") == ["i", "want", "to", "kil", "myself"]


def test_the_rule_text_has_a_space_at_each_end_so_rules_match_whole_words() -> None:
    assert rule_text("Self-harm?") == " self harm "


def test_the_rules_read_runs_of_chinese_characters_whole_and_latin_words_apart() -> None:
    assert rule_text("把English作业全翻译好") == " 把 english 作业全翻译好 "


def test_classifying_a_chinese_question_never_loads_a_segmentation_dictionary() -> None:
    code = ("import sys; from edge_server.domain import safety; safety.classify('我不想活了'); "
            "print('jieba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
