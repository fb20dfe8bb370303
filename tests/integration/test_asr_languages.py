"""Speech recognition by language: the multilingual Whisper base from its two packages, Chinese and French lessons."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace

import pytest

from models.asr import Transcriber, chinese_caption, latin_tokens, options_for, simplified
from models.registry import WHISPER_BASE_SHA256, ModelError, install_defaults, resolve, verify
from tests.ai_support import speak, spoken_words
from tests.fixtures_packs import signing_key  # noqa: F401

WATER = "今天我们学习水。水可以是固体、液体和气体。冰是固体，水是液体，水蒸气是气体。"
VOLCAN = ("Bonjour à tous. Aujourd'hui, nous allons découvrir les volcans. "
          "Le magma sort du volcan et devient de la lave.")


@pytest.fixture(scope="module")
def transcriber():
    return Transcriber(threads=2, device="cpu")


def test_the_multilingual_model_is_assembled_once_from_its_two_packages_and_checked_by_its_published_hash(
        tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    model = resolve("asr_multilingual")
    blob = model.path / "model.bin"
    assert hashlib.sha256(blob.read_bytes()).hexdigest() == WHISPER_BASE_SHA256
    assert model.id == "whisper-base-ct2" and model.path.is_relative_to(tmp_path)
    made = blob.stat().st_mtime_ns
    assert resolve("asr_multilingual").path == model.path and blob.stat().st_mtime_ns == made  # not made again
    with open(blob, "r+b") as fh:  # a damaged copy is noticed and made again from the packages
        fh.seek(1000)
        fh.write(b"\0" * 16)
    again = resolve("asr_multilingual")
    assert hashlib.sha256((again.path / "model.bin").read_bytes()).hexdigest() == WHISPER_BASE_SHA256


def test_models_install_copies_the_multilingual_model_into_the_box_by_content_hash(tmp_path):
    install_defaults(tmp_path / "models", roles=("asr_multilingual",))
    assert verify(tmp_path / "models", roles=("asr_multilingual",)) == []
    assert resolve("asr_multilingual", tmp_path / "models").entry.files[1].sha256 == WHISPER_BASE_SHA256
    with pytest.raises(ModelError, match="no asr model installed"):
        resolve("asr", tmp_path / "models")


def test_english_keeps_tiny_en_and_french_and_chinese_use_the_multilingual_model_with_the_language_forced():
    assert options_for("en").role == "asr" and options_for(None).role == "asr"
    assert options_for("fr").role == options_for("zh").role == "asr_multilingual"
    assert options_for("fr").kwargs()["language"] == "fr" and options_for("zh").simplify


def test_a_chinese_lesson_is_heard_in_simplified_characters(tmp_path, transcriber):
    clip = speak(tmp_path / "water.wav", WATER, voice="cmn-latn-pinyin", speed=150)
    transcript = transcriber.transcribe(clip, prompt="水的三种状态。", language="zh")
    text = "".join(s.text for s in transcript.segments)
    assert transcript.language == "zh"
    assert text and simplified(text) == text  # never Traditional characters
    assert all(word in text for word in ("今天", "学习", "固体", "气体"))
    assert not re.search("[A-Za-z]", text)  # never romanised words: Latin tokens are suppressed
    assert transcriber._others["zh"].model.id == "whisper-base-ct2"


def test_the_tokens_suppressed_for_chinese_are_the_latin_words_and_never_characters_or_digits(transcriber):
    tokenizer = transcriber._other("zh").load().hf_tokenizer
    suppressed = set(latin_tokens(tokenizer))
    assert {tokenizer.token_to_id(t) for t in ("Ġfeel", "ĠHello", "A", "ing")} <= suppressed
    assert not {tokenizer.token_to_id(t) for t in ("æ°´", "1", "Ġ2", ",", ".")} & suppressed
    assert options_for("zh").latin_suppressed and not options_for("fr").latin_suppressed


def test_a_french_lesson_is_heard_in_french(tmp_path, transcriber):
    clip = speak(tmp_path / "volcan.wav", VOLCAN, voice="fr-fr", speed=150)
    transcript = transcriber.transcribe(clip, prompt="Les volcans. Le magma et la lave.", language="fr")
    heard = {w.strip(".,!?").lower() for w in transcript.text.split()}
    assert transcript.language == "fr"
    assert {"bonjour", "magma"} <= heard


def test_traditional_characters_are_written_as_simplified_and_other_text_is_left_alone():
    assert simplified("月亮繞地球轉，這個電腦") == "月亮绕地球转，这个电脑"
    assert simplified("Le volcan") == "Le volcan"


def test_a_chinese_caption_is_simplified_and_loses_the_kana_and_hangul_whisper_strayed_into() -> None:
    assert chinese_caption("月亮繞ク地球轉 일 DNA，這個電腦") == "月亮绕地球转 DNA，这个电脑"
    assert chinese_caption("クラス") == ""
    assert chinese_caption("種子發芽了。") == "种子发芽了。"


def test_a_french_lessons_job_transcribes_with_the_multilingual_model_and_keeps_its_summary_in_french(
        tmp_path, signing_key):  # noqa: F811
    import json

    from edge_server import jobs
    from edge_server.settings import load_settings
    from edge_server.store.db import connect, rows
    from models.worker import OnDemandModels
    from tests.ai_support import import_source, write_spoken_source

    src = write_spoken_source(tmp_path / "src", clips={"volcan": VOLCAN})
    catalog = json.loads((src / "catalog.json").read_text())
    catalog["courses"][0]["lessons"][0]["language"] = "fr"  # the channel stays English: the lesson says French
    speak(src / "media" / "volcan.wav", VOLCAN, voice="fr-fr", speed=150)
    (src / "catalog.json").write_text(json.dumps(catalog))
    data = tmp_path / "var"
    import_source(src, data, signing_key)
    settings = load_settings(data, ai_threads=2, device="cpu")
    with OnDemandModels(settings.model_options()) as models:
        assert jobs.run_pending(settings, runners=jobs.Runners(settings, models)) == 1
    outputs = {r["kind"]: r for r in rows(connect(data / "box.db"), "SELECT * FROM ai_outputs")}
    transcript = json.loads(outputs["transcript"]["content"])
    assert transcript["language"] == "fr" and outputs["transcript"]["model_id"] == "whisper-base-ct2"
    assert json.loads(outputs["transcript"]["params"])["asr"]["language"] == "fr"
    summary = json.loads(outputs["summary"]["content"])
    heard = " ".join(s["text"] for s in transcript["segments"])
    # the transcript's own French sentences, never the English text model's
    assert summary["method"] == "extractive" and summary["sentences"]
    assert all(sentence.rstrip(".") in heard for sentence in summary["sentences"])


def test_a_synthetic_french_voice_is_heard_a_little_lower_where_whisper_is_surer_and_hears_more_of_it(tmp_path):
    clip = speak(tmp_path / "volcan.wav", VOLCAN, voice="fr-fr", speed=150)
    shifting = Transcriber(threads=2, device="cpu", options=options_for("fr"))
    as_said = Transcriber(threads=2, device="cpu", options=replace(options_for("fr"), voice_shifts=(0.0,)))
    lower, plain = shifting.transcribe(clip), as_said.transcribe(clip)
    assert shifting.voice_shift < 0  # espeak's formants sit where Whisper expects a smaller speaker's
    said = spoken_words(VOLCAN)
    assert len(spoken_words(lower.text) & said) > len(spoken_words(plain.text) & said)
