"""The lesson's own words put back where Whisper misheard them (models.lexicon): Chinese by sound, French by spelling.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.asr import Transcript
from models.lexicon import mend_terms, mend_transcript, sound_grams, syllable_score, terms_of
from models.types import KnowledgePoint, Segment

SEEDS = [KnowledgePoint("kp.seed", "种子的结构", "种子由种皮和胚组成，胚里有子叶，子叶储存养料。"),
         KnowledgePoint("kp.sprout", "发芽的条件", "种子发芽需要适量的水分、充足的空气和适宜的温度。")]
SHAPES = [KnowledgePoint("kp.rect", "长方形的特点", "长方形有四条边、四个直角，对边相等。"),
          KnowledgePoint("kp.square", "正方形的特点", "正方形四条边都相等，四个角都是直角，是特殊的长方形。"),
          KnowledgePoint("kp.perimeter", "周长", "长方形的周长等于长加宽的和乘二，正方形的周长等于边长乘四。")]
FROGS = [KnowledgePoint("kp.eggs", "Les œufs de grenouille", "La grenouille pond des centaines d'œufs dans la mare."),
         KnowledgePoint("kp.tadpole", "Le têtard", "Le têtard respire avec des branchies.")]
PLANETS = [KnowledgePoint("kp.planets", "Les huit planètes", "Huit planètes tournent autour du Soleil.")]


def _mend(text: str, kps: list[KnowledgePoint], language: str) -> str:
    return mend_terms([Segment(0.0, 5.0, text)], kps, language)[0].text


def test_a_chinese_word_heard_as_other_characters_of_the_same_sound_is_written_as_the_lessons_word():
    # 中子 and 种子 are both zhong zi, 发押 and 发芽 both fa ya
    assert _mend("中子发押的时候先长出根", SEEDS, "zh") == "种子发芽的时候先长出根"


def test_a_chinese_word_heard_with_sounds_taken_for_one_another_is_written_as_the_lessons_word():
    # zhen fan xin for zheng fang xing: en/eng, an/ang and in/ing are the fuzzy pinyin of input methods
    assert _mend("真翻新也有四个直角", SHAPES, "zh") == "正方形也有四个直角"


@pytest.mark.parametrize("said", [
    "长方形的周长等于长加宽，再乘二。比如长五米、宽三米的花坛，周长就是十六米。",
    "正方形也有四个直角，但是它的四条边全都一样长。每一条边都叫做边长。",
    "注意，周长用米做单位，面积用平方米做单位。同学们，看看我们的课本和黑板。",
])
def test_chinese_said_rightly_is_left_as_it_is(said):
    assert _mend(said, SHAPES, "zh") == said


def test_a_sound_that_shares_nothing_with_the_lessons_word_is_not_taken_for_it():
    assert syllable_score(("zh", "ong"), ("zh", "ong")) == 1.0
    assert syllable_score(("z", "an"), ("zh", "ang")) == 0.8
    assert syllable_score(("b", "u"), ("h", "ou")) == 0.0
    assert _mend("不后悔", [KnowledgePoint("k", "猴子", "")], "zh") == "不后悔"


def test_the_lessons_chinese_words_are_its_knowledge_points_words_of_two_characters_or_more():
    words = [t.text for t in terms_of(SEEDS)]
    assert {"种子", "发芽", "种皮", "子叶", "养料"} <= set(words)
    assert "胚" not in words and "的" not in words
    assert len(words[0]) >= len(words[-1])  # longest first: a long word is put back before its parts


def test_a_french_word_that_is_no_french_word_but_is_spelt_like_the_lessons_word_is_written_as_it():
    mended = _mend("Renouille pond des œufs. Le tetan respire avec des manchines.", FROGS, "fr")
    assert mended == "Grenouille pond des œufs. Le têtard respire avec des branchies."


def test_a_french_word_of_the_dictionary_is_never_changed_even_when_spelt_like_the_lessons_word():
    said = "Une planète tourne. Les têtards nagent."
    assert _mend(said, PLANETS + FROGS, "fr") == said


def test_english_and_a_lesson_without_knowledge_points_are_left_as_they_were():
    assert _mend("The evaporaton of water", [KnowledgePoint("k", "Evaporation", "")], "en") == "The evaporaton of water"
    assert _mend("中子发押", [], "zh") == "中子发押"


def test_a_mended_transcript_keeps_its_language_duration_and_timings():
    heard = Transcript("zh", 12.5, [Segment(0.0, 4.0, "中子"), Segment(4.0, 9.0, "发押了")])
    mended = mend_transcript(heard, SEEDS, "zh")
    assert (mended.language, mended.duration) == ("zh", 12.5)
    assert [(s.start, s.end, s.text) for s in mended.segments] == [(0.0, 4.0, "种子"), (4.0, 9.0, "发芽了")]


def test_chinese_sounds_alike_share_their_syllable_pairs_and_other_sounds_do_not():
    # 水蒸气 (shui zheng qi) heard as 为真其 (wei zhen qi): zhen and zheng are made one sound, wei and shui are not
    assert sound_grams("水蒸气") == ["sueizen", "zenqi"]
    said, heard = set(sound_grams("水蒸气")), set(sound_grams("为真其"))
    assert said & heard and said != heard
    assert not set(sound_grams("太阳")) & set(sound_grams("月亮"))
    assert sound_grams("Water 水") == [] and sound_grams("雨") == []  # one syllable makes no pair


def test_knowledge_points_written_in_traditional_characters_put_their_words_back_in_simplified_ones():
    traditional = [KnowledgePoint("kp.seed", "種子的結構", "種子發芽需要水分。")]
    assert _mend("中子发押了", traditional, "zh") == "种子发芽了"


@given(st.text(alphabet=st.sampled_from("中子种发押芽真翻新正方形的, 。abc1"), max_size=40))
def test_putting_chinese_words_back_keeps_the_length_and_every_character_that_is_not_chinese(text):
    mended = _mend(text, SEEDS + SHAPES, "zh")
    assert len(mended) == len(text)
    assert all(a == b for a, b in zip(text, mended, strict=True) if not "\u4e00" <= a <= "\u9fff")
