"""The ai and models commands as operators run them: JSON on stdout, one clear line on failure."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ai_support import WATER, speak, spoken_words

EDGE = str(Path(sys.executable).parent / "edge-server")


def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([EDGE, *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return speak(tmp_path_factory.mktemp("clip") / "water.wav", WATER)


def test_ai_transcribe_prints_language_duration_and_timed_segments_without_a_data_dir(clip):
    done = run("ai", "transcribe", str(clip), "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["language"] == "en" and 8 < doc["duration"] < 20
    heard = spoken_words(" ".join(s["text"] for s in doc["segments"]))
    assert {"evaporation", "sun", "clouds", "condensation"} <= heard
    assert all(set(s) == {"start", "end", "text"} for s in doc["segments"])


def test_ai_chapters_follow_the_given_knowledge_points_in_spoken_order(clip, tmp_path):
    kps = tmp_path / "kps.json"
    kps.write_text(json.dumps([
        {"id": "evap", "name": "Evaporation", "description": "The sun heats water in the sea into vapour."},
        {"id": "cond", "name": "Condensation", "description": "Vapour cools and forms clouds."}]))
    done = run("ai", "chapters", str(clip), "--knowledge-points", str(kps), "--no-llm", "--json")
    assert done.returncode == 0, done.stderr
    chapters = json.loads(done.stdout)["chapters"]
    assert [c["knowledge_point"] for c in chapters] == ["evap", "cond"]
    assert chapters[0]["start"] == 0 and chapters[0]["end"] == chapters[1]["start"] < chapters[1]["end"]
    assert [c["title"] for c in chapters] == ["Evaporation", "Condensation"]


def test_ai_summarize_gives_a_short_summary_drawn_from_the_transcript(clip):
    done = run("ai", "summarize", str(clip), "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["method"] in ("generated", "extractive") and "model" in doc
    assert 0 < len(doc["summary"].split()) <= 150
    assert spoken_words(doc["summary"]) & {"evaporation", "condensation", "clouds", "sun"}


def test_a_file_that_is_not_audio_fails_with_one_line(tmp_path):
    bogus = tmp_path / "notes.wav"
    bogus.write_text("this is not sound")
    done = run("ai", "transcribe", str(bogus), "--json")
    assert done.returncode != 0 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and "not a readable audio or video file" in done.stderr


def test_models_install_list_verify_and_a_corrupt_model_named_with_its_fix(tmp_path, clip):
    data = tmp_path / "var"
    done = run("models", "install", "--data", str(data))
    assert done.returncode == 0, done.stderr
    assert {m["role"] for m in json.loads(done.stdout)["models"]} == {"asr", "llm", "asr_multilingual"}
    assert "installing models" in done.stderr  # the progress bar goes to stderr
    listed = json.loads(run("models", "list", "--data", str(data), "--json").stdout)
    assert [m["role"] for m in listed["models"]] == ["asr", "llm", "asr_multilingual"]
    assert run("models", "verify", "--data", str(data)).returncode == 0
    again = run("models", "install", "--data", str(data))
    assert again.returncode == 0 and "installing models" not in again.stderr  # intact copies are kept
    asr = listed["models"][0]
    model_bin = data / "models" / asr["path"] / "model.bin"
    with model_bin.open("r+b") as fh:
        fh.seek(4096)
        fh.write(b"\0\1\2\3")
    bad = run("models", "verify", "--data", str(data))
    assert bad.returncode == 1 and len(bad.stderr.strip().splitlines()) == 1
    assert "model.bin" in bad.stderr and "corrupt" in bad.stderr and "models install --data" in bad.stderr
    used = run("ai", "transcribe", str(clip), "--models", str(data / "models"), "--json")
    assert used.returncode == 1 and used.stdout == "" and len(used.stderr.strip().splitlines()) == 1
    assert "corrupt" in used.stderr and "models install" in used.stderr
    assert run("models", "install", "--data", str(data)).returncode == 0  # the fix it names works
    assert run("models", "verify", "--data", str(data)).returncode == 0


def test_a_missing_model_is_one_line_naming_the_fix(tmp_path, clip):
    done = run("ai", "transcribe", str(clip), "--models", str(tmp_path / "empty"), "--json")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"error: no asr model installed in {tmp_path / 'empty'}: run `edge-server models install --data {tmp_path}`"]


def _models_pack(tmp_path: Path, signing_key, gguf: bytes) -> Path:
    from edge_server.packs_import import build_pack
    from sync.trust import read_private

    src = tmp_path / "models-src"
    (src / "models").mkdir(parents=True)
    (src / "models" / "bigger.gguf").write_bytes(gguf)
    catalog = {"channel": {"id": "models.province", "title": "Models", "language": "en", "level": "any"},
               "knowledge_points": [], "courses": [],
               "models": [{"role": "llm", "id": "bigger-llm", "format": "gguf",
                           "files": [{"path": "models/bigger.gguf"}]}]}
    (src / "catalog.json").write_text(json.dumps(catalog))
    build_pack(src, tmp_path / "models-pack", read_private(signing_key.private), 1)
    return tmp_path / "models-pack"


def test_a_signed_models_pack_installs_its_model_for_its_role_and_a_tampered_one_installs_nothing(tmp_path,
                                                                                                  signing_key):
    import hashlib

    from edge_server.identity import init_data_dir

    data = tmp_path / "var"
    init_data_dir(data, trust=signing_key.public)
    gguf = b"GGUF" + bytes(range(256)) * 64
    pack = _models_pack(tmp_path, signing_key, gguf)
    done = run("models", "install", "--data", str(data), "--pack", str(pack))
    assert done.returncode == 0, done.stderr
    listed = json.loads(run("models", "list", "--data", str(data), "--json").stdout)["models"]
    assert [(m["role"], m["id"], m["sha256"]) for m in listed] == [
        ("llm", "bigger-llm", hashlib.sha256(gguf).hexdigest())]
    tampered = _models_pack(tmp_path / "t", signing_key, gguf)
    (tampered / "models" / "bigger.gguf").write_bytes(gguf[:-1] + b"X")
    other = tmp_path / "other-var"
    init_data_dir(other, trust=signing_key.public)
    refused = run("models", "install", "--data", str(other), "--pack", str(tampered))
    assert refused.returncode == 1 and refused.stderr.strip().splitlines()[-1].startswith("error: models pack refused")
    assert not (other / "models" / "models.json").exists()


VOLCANS = ("Aujourd'hui nous parlons des volcans. Sous le volcan, le magma est très chaud. "
           "Pendant une éruption, la lave sort par le cratère et coule sur la montagne.")
# about 27 s: on a 10 s clip of this synthetic voice Whisper hears Thai first and English before Chinese
CIRCUIT = ("今天我们学习简单的电路。一个简单电路由电池、导线、开关和小灯泡组成。电流要沿着一条完整的路流动，"
           "小灯泡才会亮。金属容易导电，是导体；塑料和木头不容易导电，是绝缘体。")


def cached_run(cache: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """The command with its own transcript cache (XDG_CACHE_HOME), so that it starts cold."""
    import os

    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    return subprocess.run([EDGE, *args], capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def french_clip(tmp_path_factory) -> Path:
    return speak(tmp_path_factory.mktemp("fr") / "volcans.wav", VOLCANS, voice="fr")


@pytest.fixture(scope="module")
def chinese_clip(tmp_path_factory) -> Path:
    return speak(tmp_path_factory.mktemp("zh") / "circuit.wav", CIRCUIT, voice="cmn-latn-pinyin")


def test_without_language_the_commands_hear_which_of_english_french_and_chinese_is_spoken(
        clip, french_clip, chinese_clip, tmp_path) -> None:
    for medium, language in ((clip, "en"), (french_clip, "fr"), (chinese_clip, "zh")):
        done = cached_run(tmp_path / "cache", "ai", "transcribe", str(medium), "--json")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["language"] == language
        assert f"language heard: {language}" in done.stderr
    chinese = json.loads(cached_run(tmp_path / "cache", "ai", "transcribe", str(chinese_clip), "--json").stdout)
    text = "".join(s["text"] for s in chinese["segments"])
    assert text and not set(text) & set("電們這會個來說時為於燈")  # Simplified characters, never Traditional


def test_the_three_commands_share_one_cached_transcript_and_take_knowledge_points_and_a_language(
        french_clip, tmp_path) -> None:
    kps = tmp_path / "kps.json"
    kps.write_text(json.dumps([
        {"id": "magma", "name": "Le magma", "description": "Sous le volcan, le magma est très chaud."},
        {"id": "eruption", "name": "L'éruption", "description": "La lave sort par le cratère."}],
        ensure_ascii=False), encoding="utf-8")
    cache = tmp_path / "cache"
    first = cached_run(cache, "ai", "transcribe", str(french_clip), "--language", "fr", "--knowledge-points",
                       str(kps), "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["language"] == "fr" and "from the cache" not in first.stderr
    assert len(list((cache / "classroom-box" / "transcripts").rglob("*.json"))) == 1
    chapters = cached_run(cache, "ai", "chapters", str(french_clip), "--language", "fr", "--knowledge-points",
                          str(kps), "--json")
    assert chapters.returncode == 0, chapters.stderr
    assert "from the cache" in chapters.stderr  # no second transcription
    found = json.loads(chapters.stdout)["chapters"]
    # in spoken order (a poorly heard clip of 12 s may make one chapter); French titles: the knowledge points'
    names = {"magma": "Le magma", "eruption": "L'éruption"}
    assert [c["knowledge_point"] for c in found] in (["magma", "eruption"], ["magma"], ["eruption"])
    assert [c["title"] for c in found] == [names[c["knowledge_point"]] for c in found]
    summary = cached_run(cache, "ai", "summarize", str(french_clip), "--language", "fr", "--knowledge-points",
                         str(kps), "--json")
    assert summary.returncode == 0, summary.stderr
    assert "from the cache" in summary.stderr
    doc = json.loads(summary.stdout)
    heard = " ".join(s["text"] for s in json.loads(first.stdout)["segments"])
    # in French the summary is the transcript's own sentences under the knowledge points' names (no text model)
    assert doc["language"] == "fr" and doc["method"] == "extractive" and doc["summary"].startswith(found[0]["title"])
    assert doc["sentences"] and all(sentence in heard for sentence in doc["sentences"])
    # another language is another decoding and model: transcribed anew, then kept too
    other = cached_run(cache, "ai", "transcribe", str(french_clip), "--language", "en", "--json")
    assert other.returncode == 0 and "from the cache" not in other.stderr
    assert len(list((cache / "classroom-box" / "transcripts").rglob("*.json"))) == 2


def test_a_chinese_summary_is_the_transcripts_own_sentences_within_250_characters(chinese_clip, tmp_path) -> None:
    done = cached_run(tmp_path / "cache", "ai", "summarize", str(chinese_clip), "--language", "zh", "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    # the transcript's own sentences (Whisper base hears this synthetic voice poorly, sometimes as pinyin)
    assert doc["language"] == "zh" and doc["method"] == "extractive" and 0 < len(doc["summary"]) <= 250


def _homophone(text: str) -> tuple[str, str]:
    """A word of text (two characters) and another word of the dictionary said with the same toneless sounds."""
    import re

    import jieba
    from pypinyin import Style, lazy_pinyin

    jieba.initialize()
    by_sound: dict[tuple[str, ...], str] = {}
    # the most frequent word of each sound; jieba's FREQ also lists prefixes of longer words, at frequency 0
    for word, frequency in sorted(jieba.dt.FREQ.items(), key=lambda item: -item[1]):
        if frequency > 0 and len(word) == 2 and re.fullmatch(r"[\u4e00-\u9fff]{2}", word):
            by_sound.setdefault(tuple(lazy_pinyin(word, style=Style.NORMAL)), word)
    for start in range(len(text) - 1):
        heard = text[start:start + 2]
        other = by_sound.get(tuple(lazy_pinyin(heard, style=Style.NORMAL)))
        if re.fullmatch(r"[\u4e00-\u9fff]{2}", heard) and other and other != heard and other not in text:
            return heard, other
    raise AssertionError(f"no two characters of {text!r} sound like another word")


def test_ai_transcribe_writes_the_knowledge_points_word_where_chinese_was_heard_as_other_characters_of_its_sound(
        chinese_clip, tmp_path) -> None:
    cache = tmp_path / "cache"
    heard = json.loads(cached_run(cache, "ai", "transcribe", str(chinese_clip), "--language", "zh", "--json").stdout)
    text = "".join(s["text"] for s in heard["segments"])
    # as if the lesson's word were another word of the same sounds, which Whisper wrote as it did
    _heard, lessons_word = _homophone(text)
    kps = tmp_path / "kps.json"
    kps.write_text(json.dumps([{"id": "k", "name": lessons_word, "description": ""}], ensure_ascii=False),
                   encoding="utf-8")
    done = cached_run(cache, "ai", "transcribe", str(chinese_clip), "--language", "zh", "--knowledge-points",
                      str(kps), "--json")
    assert done.returncode == 0, done.stderr
    assert "from the cache" in done.stderr  # the cache keeps what Whisper heard; the word is put back after it
    mended = "".join(s["text"] for s in json.loads(done.stdout)["segments"])
    assert lessons_word in mended and len(mended) == len(text)
