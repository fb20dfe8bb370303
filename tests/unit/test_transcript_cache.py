"""The transcript cache the `ai` commands and the pipeline job share: by medium, model and decoding options."""

from __future__ import annotations

from dataclasses import replace

import pytest

from models.asr import DecodeOptions, Transcriber, options_for
from models.transcript_cache import CachedTranscriber, cache_key
from tests.ai_support import WATER, speak


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return speak(tmp_path_factory.mktemp("clip") / "water.wav", WATER)


def test_the_key_holds_the_medium_the_model_and_the_options_and_the_prompt_only_when_it_is_used() -> None:
    options = DecodeOptions()
    key, _ = cache_key("m" * 64, "a" * 64, options, "Evaporation.")
    assert key == cache_key("m" * 64, "a" * 64, options, "Condensation.")[0]  # tiny.en's decoding takes no prompt
    assert key != cache_key("n" * 64, "a" * 64, options, None)[0]
    assert key != cache_key("m" * 64, "b" * 64, options, None)[0]
    assert key != cache_key("m" * 64, "a" * 64, options_for("fr"), None)[0]
    prompted = replace(options, use_prompt=True)
    assert cache_key("m" * 64, "a" * 64, prompted, "A.")[0] != cache_key("m" * 64, "a" * 64, prompted, "B.")[0]


def test_options_added_later_leave_the_key_of_an_english_transcript_as_it_was_unless_they_are_changed() -> None:
    # the key English transcripts were cached under before no_speech_threshold, repetition_penalty and drop_loops
    # (computed at 0c873ee~1)
    before = "c4d94ddf6fc475d4fc75608855f0392b0e5bee4abdbda17b97b0af7f56a9f55d"
    key, made_of = cache_key("m" * 64, "a" * 64, DecodeOptions(), None)
    assert set(made_of["options"]) == {"beam_size", "vad_filter", "condition_on_previous_text", "temperature_fallback",
                                       "language", "use_prompt", "tempos", "simplify", "hotwords"}
    assert key == before
    assert cache_key("m" * 64, "a" * 64, DecodeOptions(repetition_penalty=1.1), None)[0] != before


def test_a_medium_heard_once_is_read_back_with_the_model_that_heard_it(clip, tmp_path) -> None:
    inner = Transcriber(threads=2, device="cpu", options=DecodeOptions(tempos=(1.0,), beam_size=1))
    cached = CachedTranscriber(inner, tmp_path / "transcripts")
    first = cached.transcribe(clip)
    assert cached.hits == 0 and "evaporation" in first.text.lower()
    again = CachedTranscriber(inner, tmp_path / "transcripts")  # another command, or the pipeline job
    progress: list[float] = []
    second = again.transcribe(clip, progress=progress.append)
    assert again.hits == 1 and second.to_json() == first.to_json() and progress == [1.0]
    assert (again.model_id, again.sha256) == (inner.model_id, inner.sha256)
    assert again.params["beam_size"] == 1
    [kept] = list((tmp_path / "transcripts").rglob("*.json"))
    kept.write_text("{torn")  # a torn file is heard again and written over
    third = CachedTranscriber(inner, tmp_path / "transcripts")
    assert third.transcribe(clip).to_json() == first.to_json() and third.hits == 0
    assert CachedTranscriber(inner, tmp_path / "transcripts").transcribe(clip).to_json() == first.to_json()
