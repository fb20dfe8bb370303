"""Whisper's repetition loops are taken out of transcripts; text a lesson really repeats stays."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from models.asr import DecodeOptions, mend_drift, options_for
from models.loops import collapse_repeats, drop_loops
from models.types import Segment


def test_a_chinese_character_looped_many_times_is_kept_once():
    assert collapse_repeats("汉风浆浆浆浆浆浆浆浆浆文去") == "汉风浆文去"


def test_a_longer_chinese_phrase_said_twice_back_to_back_is_kept_once():
    assert collapse_repeats("青菲丝河横的菲丝河横的") == "青菲丝河横的"


def test_a_french_phrase_looped_three_times_is_kept_once():
    assert collapse_repeats("il fait il fait il fait beau") == "il fait beau"


def test_short_doubles_that_languages_use_are_left_alone():
    for text in ("一颗一颗的", "药花，药花", "très très bien", "哈哈", "c'est très, très loin"):
        assert collapse_repeats(text) == text


def test_numbers_and_the_starts_of_words_are_never_taken_for_loops():
    for text in ("1000 élèves", "11111 étoiles", "la la la lanterne"):
        assert collapse_repeats(text) == text


def test_a_sentence_repeated_over_the_following_segments_is_kept_once_with_its_first_timing():
    looped = [Segment(0.0, 3.0, "月亮绕着地球转。"), Segment(3.0, 6.0, "月亮自己不会发光。"),
              Segment(6.0, 9.0, "月亮自己不会发光。"), Segment(9.0, 12.0, "月亮自己不会发光"),
              Segment(12.0, 15.0, "它反射太阳的光。")]
    assert drop_loops(looped) == [looped[0], looped[1], looped[4]]


def test_a_sentence_said_again_a_few_sentences_later_is_kept():
    lesson = [Segment(0.0, 3.0, "Un angle droit mesure 90 degrés."), Segment(3.0, 6.0, "On le trace avec une équerre."),
              Segment(6.0, 9.0, "La règle aide aussi."), Segment(9.0, 12.0, "Un angle droit mesure 90 degrés.")]
    assert drop_loops(lesson) == lesson


def test_a_near_copy_that_says_something_more_is_kept():
    lesson = [Segment(0.0, 3.0, "正方形也有四个直角"), Segment(3.0, 6.0, "因为正方形也有四个直角")]
    assert drop_loops(lesson) == lesson


def test_a_segment_left_with_no_words_is_dropped():
    assert drop_loops([Segment(0.0, 1.0, " , "), Segment(1.0, 2.0, "Bonjour.")]) == [Segment(1.0, 2.0, "Bonjour.")]


@given(st.lists(st.text(alphabet="abc 的了,", max_size=12), max_size=6))
def test_removing_loops_twice_changes_nothing_more_and_never_adds_text(texts):
    segments = [Segment(float(i), float(i + 1), t) for i, t in enumerate(texts)]
    once = drop_loops(segments)
    assert drop_loops(once) == once
    assert len(once) <= len(segments)
    assert all(len(s.text) <= len(next(o for o in segments if o.start == s.start).text) for s in once)


def test_english_decoding_keeps_whisper_defaults_and_no_loop_removal():
    english = DecodeOptions()
    assert not english.drop_loops
    assert english.kwargs()["no_speech_threshold"] == 0.6
    assert not english.kwargs()["vad_filter"] and english.kwargs()["repetition_penalty"] == 1.0


def test_a_short_segment_heard_twice_in_a_row_is_kept_as_it_may_be_two_words_heard_alike():
    heard = [Segment(0.0, 1.0, "头部"), Segment(1.0, 2.0, "头部"), Segment(2.0, 3.0, "和腹部")]
    assert drop_loops(heard) == heard


def test_french_and_chinese_never_skip_a_window_as_silence_but_cut_silences_out_with_vad():
    for language in ("fr", "zh"):
        kwargs = options_for(language).kwargs()
        assert kwargs["no_speech_threshold"] is None and kwargs["vad_filter"]
        assert options_for(language).drop_loops


def test_a_french_transcript_comes_out_of_the_transcriber_with_its_loops_removed(monkeypatch):
    from types import SimpleNamespace

    import numpy as np

    import models.asr as asr

    said = ["La lave coule.", "Le volcan dort depuis longtemps.", "Le volcan dort depuis longtemps.", "Fin."]
    pieces = [SimpleNamespace(start=2.0 * i, end=2.0 * i + 2, text=f" {t}") for i, t in enumerate(said)]

    class Model:
        def transcribe(self, audio, **kwargs):
            assert kwargs["no_speech_threshold"] is None and kwargs["vad_filter"]
            return iter(pieces), SimpleNamespace(language="fr")

    monkeypatch.setattr(asr, "decode_audio", lambda path: np.zeros(8 * asr.SAMPLE_RATE, dtype=np.float32))
    # one voice: the fake model says the same at every shift (the choice of shift: tests/unit/test_asr_voice_shift.py)
    transcriber = asr.Transcriber(options=replace(options_for("fr"), voice_shifts=(0.0,)))
    monkeypatch.setattr(transcriber, "load", lambda: Model())
    heard = transcriber.transcribe("lesson.wav")
    assert [s.text for s in heard.segments] == ["La lave coule.", "Le volcan dort depuis longtemps.", "Fin."]


def test_a_stretch_that_drifted_into_romanised_words_is_taken_from_the_decode_without_latin_and_the_rest_is_kept():
    first = [Segment(0.0, 4.0, "今天我们学习雨"), Segment(4.0, 6.0, "Hody feel so"), Segment(6.0, 8.0, "Woo"),
             Segment(8.0, 12.0, "水蒸气变成云")]
    again = [Segment(0.0, 4.5, "今天我们学习与"), Segment(4.5, 7.5, "小水滴越来越大"),
             Segment(7.5, 12.0, "水蒸气变成晕")]
    assert [s.text for s in mend_drift(first, again)] == ["今天我们学习雨", "小水滴越来越大", "水蒸气变成云"]
    assert mend_drift(first[:1], again) == first[:1]  # nothing drifted: the first decode as it was
    assert [s.text for s in mend_drift(first[1:3], [])] == ["Hody feel so", "Woo"]  # nothing better: kept
