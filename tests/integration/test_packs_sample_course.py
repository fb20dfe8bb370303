"""The bundled sample course: small, narrated, well-formed, and reproducible from its script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from edge_server.sample import SAMPLE_COURSE, build_and_import_sample
from sync import packs

REPO = Path(__file__).resolve().parents[2]
CATALOG = json.loads((SAMPLE_COURSE / "catalog.json").read_bytes())
LESSONS = [lesson for course in CATALOG["courses"] for lesson in course["lessons"]]


def soxi(flag: str, path: Path) -> str:
    return subprocess.run(["soxi", flag, str(path)], capture_output=True, text=True, check=True).stdout.strip()


def test_the_sample_course_is_small_enough_for_git_and_a_valid_catalog():
    total = sum(p.stat().st_size for p in SAMPLE_COURSE.rglob("*") if p.is_file())
    assert total < 3 * 1024 * 1024
    names = {p.relative_to(SAMPLE_COURSE).as_posix() for p in SAMPLE_COURSE.rglob("*") if p.is_file()}
    parsed = packs.parse_catalog((SAMPLE_COURSE / "catalog.json").read_bytes(), names)
    assert parsed["channel"]["id"] == "demo.science.primary" and parsed["channel"]["language"] == "en"
    assert 2 <= len(LESSONS) <= 3


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson["id"])
def test_each_lesson_is_a_60_to_100_second_mono_16khz_narration_with_true_chapters_per_knowledge_point(lesson):
    media = SAMPLE_COURSE / lesson["media"]["path"]
    assert media.suffix == ".ogg" and soxi("-r", media) == "16000" and soxi("-c", media) == "1"
    duration = float(soxi("-D", media))
    assert 60 <= duration <= 100
    chapters = json.loads(media.with_suffix(".chapters.json").read_text())
    assert 2 <= len(lesson["knowledge_points"]) <= 4
    assert [c["knowledge_point"] for c in chapters] == lesson["knowledge_points"]
    assert chapters[0]["start"] == 0 and abs(chapters[-1]["end"] - duration) < 0.2
    for before, after in zip(chapters, chapters[1:], strict=False):
        assert before["start"] < before["end"] < after["start"] < after["end"]


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson["id"])
def test_each_lesson_has_notes_and_four_to_six_mixed_exercises_with_hints(lesson):
    assert lesson["text"].startswith("# ")
    exercises = lesson["exercises"]
    assert 4 <= len(exercises) <= 6
    assert len({ex["kind"] for ex in exercises}) >= 2
    assert {ex["difficulty"] for ex in exercises} <= {1, 2, 3} and len({ex["difficulty"] for ex in exercises}) >= 2
    assert all(ex["hint"] for ex in exercises)
    assert {ex["knowledge_point"] for ex in exercises} <= set(lesson["knowledge_points"])


def test_the_whole_course_mixes_choice_number_and_text_exercises_of_every_difficulty():
    exercises = [ex for lesson in LESSONS for ex in lesson["exercises"]]
    assert {ex["kind"] for ex in exercises} == {"choice", "number", "text"}
    assert {ex["difficulty"] for ex in exercises} == {1, 2, 3}


def test_the_script_regenerates_the_same_catalog_and_chapter_boundaries(tmp_path):
    subprocess.run([sys.executable, str(REPO / "scripts" / "make_sample_course.py"), "--out", str(tmp_path)],
                   check=True, capture_output=True, timeout=120)
    assert (tmp_path / "catalog.json").read_bytes() == (SAMPLE_COURSE / "catalog.json").read_bytes()
    for lesson in LESSONS:
        name = Path(lesson["media"]["path"]).with_suffix(".chapters.json")
        assert json.loads((tmp_path / name).read_text()) == json.loads((SAMPLE_COURSE / name).read_text())


def test_building_and_importing_the_sample_twice_keeps_one_version_unless_forced(tmp_path):
    first = build_and_import_sample(tmp_path / "var")
    assert first["imported"] and first["version"] == 1 and first["lessons"] == len(LESSONS)
    assert (tmp_path / "demo-keys" / "signing.key").is_file()
    again = build_and_import_sample(tmp_path / "var")
    assert not again["imported"] and again["version"] == 1
    forced = build_and_import_sample(tmp_path / "var", force=True)
    assert forced["imported"] and forced["version"] == 2 and forced["previous_version"] == 1
