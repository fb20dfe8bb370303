"""The real tiny models behind our runners: Whisper hears spoken words, Gemma generates, streams and waits its turn."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from models.asr import SAMPLE_RATE, DecodeOptions, Transcriber, change_tempo, decode_audio
from models.llm import GenerationTimeout, TextGenerator
from tests.ai_support import PLANTS, make_video, speak, spoken_words


@pytest.fixture(scope="module")
def transcriber():
    return Transcriber(threads=2, device="cpu")


@pytest.fixture(scope="module")
def generator():
    return TextGenerator(threads=2, device="cpu", n_ctx=1024)


def test_the_transcriber_hears_the_words_of_a_spoken_clip(tmp_path, transcriber):
    transcript = transcriber.transcribe(speak(tmp_path / "plants.wav", PLANTS))
    heard = spoken_words(transcript.text)
    assert {"sunlight", "water", "grow", "animals"} <= heard
    assert transcript.language == "en"
    assert 4.0 < transcript.duration < 12.0
    assert all(0 <= s.start < s.end <= transcript.duration + 0.5 for s in transcript.segments)
    assert transcriber.sha256 and len(transcriber.sha256) == 64
    assert transcriber.params["beam_size"] == 5 and transcriber.params["compute_type"] == "int8"


def test_decodes_at_other_tempos_run_side_by_side_vote_and_keep_the_recordings_clock(tmp_path):
    clip = speak(tmp_path / "plants.wav", PLANTS)
    audio = decode_audio(clip)
    assert len(change_tempo(audio, 0.9)) / len(audio) == pytest.approx(1 / 0.9, rel=0.02)
    voting = Transcriber(threads=2, device="cpu", options=DecodeOptions(tempos=(1.0, 0.9, 1.1)))
    reports: list[tuple[float, str]] = []
    transcript = voting.transcribe(clip, progress=lambda f: reports.append((f, threading.current_thread().name)))
    assert {"sunlight", "water", "grow", "animals"} <= spoken_words(transcript.text)
    assert transcript.duration == pytest.approx(len(audio) / SAMPLE_RATE)
    assert all(0 <= s.start < s.end <= transcript.duration + 0.5 for s in transcript.segments)
    assert voting.params["tempos"] == (1.0, 0.9, 1.1)
    assert voting.workers == 3 and voting.load().model.num_workers == 3
    fractions = [f for f, _ in reports]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0, abs=0.05)
    # progress comes from the caller's thread, which may hold a thread-bound database connection
    assert {name for _, name in reports} == {threading.current_thread().name}


def test_one_decode_uses_every_thread_and_many_decodes_one_thread_each():
    assert Transcriber(threads=4, device="cpu", options=DecodeOptions(tempos=(1.0,))).workers == 1
    assert Transcriber(threads=2, device="cpu").workers == 3
    assert Transcriber(threads=1, device="cpu", options=DecodeOptions(tempos=(1.0, 0.9, 1.1))).workers == 2
    assert Transcriber(threads=2, device="cpu", workers=1).workers == 1


def test_the_sound_of_a_video_file_is_decoded_without_a_system_ffmpeg(tmp_path, transcriber):
    video = make_video(speak(tmp_path / "plants.wav", PLANTS), tmp_path / "plants.mp4")
    assert {"sunlight", "water", "grow"} <= spoken_words(transcriber.transcribe(video).text)


def test_the_generator_completes_deterministically_and_stops_at_a_stop_string(generator):
    first = generator.generate("List of colours: red, green,", max_tokens=12, stop=["\n"])
    again = generator.generate("List of colours: red, green,", max_tokens=12, stop=["\n"])
    assert first == again and first.strip() and "\n" not in first
    assert generator.model_id == "gemma-3-270m-q4_k_m" and generator.params["threads"] == 2


LOAD_AND_ANSWER = """
from edge_server.malloc import heap_usage
from models.llm import TextGenerator
before = heap_usage().mmapped_mb
generator = TextGenerator(threads=2, device="cpu")
generator.generate("Water evaporates, rises and cools into clouds. " * 40 + "How are clouds made?", max_tokens=4)
print(heap_usage().mmapped_mb - before)
"""


def test_the_text_model_reserves_buffers_for_a_small_batch_not_the_whole_vocabulary_at_512_tokens():
    out = subprocess.run([sys.executable, "-c", LOAD_AND_ANSWER], capture_output=True, text=True, check=True)
    # 1,148 MiB with llama.cpp's default batch of 512 tokens
    assert float(out.stdout.split()[-1]) < 500


def test_streaming_yields_pieces_as_they_come_and_honours_the_timeout(generator):
    pieces = list(generator.stream("Once upon a time", max_tokens=12))
    assert len(pieces) > 1
    started = time.monotonic()
    cut = list(generator.stream("Write a very long story about a river.", max_tokens=2000, timeout_s=0.4))
    # 2,000 tokens take tens of seconds on 2 cores; a loaded CI machine may not even reach the first token in 0.4 s
    assert time.monotonic() - started < 10.0
    assert len(cut) < 2000


def test_streaming_stops_when_cancelled_and_releases_the_model(generator):
    cancel = threading.Event()
    got = []
    for piece in generator.stream("Count: one, two, three,", max_tokens=500, cancel=cancel):
        got.append(piece)
        if len(got) == 3:
            cancel.set()
    assert 3 <= len(got) <= 5
    assert generator.generate("Hello", max_tokens=2, timeout_s=5)  # lock released


def test_one_generation_runs_at_a_time_and_a_waiting_caller_times_out(generator):
    holder = generator.stream("Write a long story about the sea.", max_tokens=400)
    next(holder)  # holds the model now
    try:
        with pytest.raises(GenerationTimeout):
            generator.generate("Hi", max_tokens=2, timeout_s=0.2)
    finally:
        holder.close()
    assert generator.generate("Hi", max_tokens=2, timeout_s=5) is not None


def test_the_device_setting_maps_to_ctranslate2_devices_and_falls_back_to_cpu_without_a_gpu():
    import ctranslate2

    from models.asr import pick_device

    assert pick_device("cpu") == ("cpu", "int8")
    gpus = ctranslate2.get_cuda_device_count()
    expected = ("cuda", "int8_float16") if gpus else ("cpu", "int8")
    assert pick_device("auto") == expected
    assert pick_device("cuda") == expected


def test_the_text_model_offloads_layers_only_when_llama_cpp_can_and_the_device_allows(generator):
    import llama_cpp

    generator.load()
    can = bool(llama_cpp.llama_supports_gpu_offload())
    assert generator.n_gpu_layers == 0  # built for device cpu
    gpu_gen = TextGenerator(generator.model, threads=2, device="auto", n_ctx=256)
    gpu_gen.load()
    assert gpu_gen.n_gpu_layers == (-1 if can else 0)
