"""A lesson's voice may be heard a little lower: the shift keeps the speech's length, and Whisper's confidence picks
it."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from models.asr import SAMPLE_RATE, options_for, shift_voice, voice_confidence


def _peak_hz(audio: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    return float(np.fft.rfftfreq(len(audio), 1 / SAMPLE_RATE)[spectrum.argmax()])


def _piece(logprob: float, tokens: int, ratio: float = 1.5, text: str = "le magma devient lave") -> SimpleNamespace:
    return SimpleNamespace(avg_logprob=logprob, tokens=list(range(tokens)), compression_ratio=ratio, text=text)


def test_a_voice_three_semitones_lower_keeps_its_length_and_its_pitch_falls_by_a_fifth_of_itself():
    t = np.arange(3 * SAMPLE_RATE) / SAMPLE_RATE
    tone = (0.5 * np.sin(2 * np.pi * 400 * t)).astype(np.float32)
    lower = shift_voice(tone, -3.0)
    assert abs(len(lower) - len(tone)) < SAMPLE_RATE // 20
    assert _peak_hz(lower[SAMPLE_RATE // 2:-SAMPLE_RATE // 2]) == pytest.approx(400 * 2 ** (-3 / 12), abs=3)


def test_no_shift_leaves_the_audio_itself():
    audio = np.zeros(SAMPLE_RATE, dtype=np.float32)
    assert shift_voice(audio, 0.0) is audio


def test_confidence_is_the_log_probability_of_the_decode_weighted_by_its_tokens():
    pieces = [_piece(-1.0, 10, text="le magma monte"), _piece(-0.5, 30, text="puis il devient de la lave")]
    assert voice_confidence(pieces) == pytest.approx(-0.625)


def test_a_decode_that_loops_or_hears_nothing_is_never_the_surest():
    assert voice_confidence([_piece(-0.1, 50, ratio=4.4), _piece(-0.5, 10)]) == float("-inf")
    assert voice_confidence([]) == float("-inf")
    # a short loop stays under Whisper's compression threshold, yet it is a loop
    looped = "坚定亡人是一席位 绘口衣服 衣服 衣服 衣服 衣服 衣服 衣服"
    assert voice_confidence([_piece(-0.3, 20, text=looped)]) == float("-inf")
    assert voice_confidence([_piece(-0.7, 20, text="水是液体，冰是固体，水蒸气是气体，冰是固体")]) == -0.7


def test_french_tries_the_voice_as_said_first_and_english_and_chinese_are_decoded_as_said():
    shifts = options_for("fr").voice_shifts
    assert shifts[0] == 0.0 and len(shifts) > 1 and all(s < 0 for s in shifts[1:])
    assert options_for("en").voice_shifts == options_for("zh").voice_shifts == (0.0,)
