"""The bench's French and Chinese measures: numbers spoken as words, CER in Simplified, key terms by characters."""

from __future__ import annotations

import pytest

from bench.ai_quality import term_coverage
from bench.wer import cer_zh, chinese_numeral, error_rate, french_number, normalise_fr, wer_fr


@pytest.mark.parametrize(("n", "words"), [(21, "vingt et un"), (71, "soixante et onze"), (80, "quatre-vingts"),
                                          (92, "quatre-vingt-douze"), (365, "trois cent soixante-cinq"),
                                          (1000, "mille")])
def test_french_numbers_are_written_as_a_narrator_says_them(n, words):
    assert french_number(n) == words


def test_french_wer_does_not_count_digits_elisions_or_case_as_errors():
    assert normalise_fr("L'éruption dure 24 heures !") == "l éruption dure vingt quatre heures"
    assert wer_fr("Le magma remonte par la cheminée.", "le magma remonte par la cheminée") == 0.0
    assert wer_fr("le magma remonte", "le magma descend") == pytest.approx(1 / 3)


def test_chinese_cer_is_counted_in_simplified_characters_with_digits_as_numerals():
    assert chinese_numeral(29) == "二十九" and chinese_numeral(105) == "一百零五" and chinese_numeral(10) == "十"
    assert cer_zh("月亮绕地球转一圈大约要二十九天。", "月亮繞地球轉一圈大約要29天") == 0.0
    assert cer_zh("月亮是卫星", "月亮是星星") == pytest.approx(0.2)
    assert error_rate("zh", "月亮", "月光") == pytest.approx(0.5)


def test_chinese_key_terms_are_found_by_their_characters_in_the_summary():
    assert term_coverage("月亮是地球的卫星。它绕着地球公转。", ["卫星", "公转", "满月"], "zh") == pytest.approx(2 / 3)
    found = term_coverage("Le magma remonte et sort en lave.", ["magma", "laves", "cendres"], "fr")
    assert found == pytest.approx(2 / 3)
