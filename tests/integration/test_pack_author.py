"""`edge-server pack author`: spreadsheets (CSV) -> a pack source that `pack build` signs and a box imports."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from edge_server.identity import init_data_dir
from edge_server.packs_import import build_pack, import_pack
from edge_server.sample import SAMPLE_COURSE
from edge_server.settings import load_settings
from edge_server.store.db import open_box_db, rows
from sync import packs
from sync.trust import read_private
from tests.sync_fixtures import EDGE

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "docs" / "pack-example"
TEMPLATE = REPO / "docs" / "pack-template"


def author(folder: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([*EDGE, "pack", "author", str(folder), "--out", str(out), *extra], capture_output=True,
                          text=True, timeout=120)


def example_copy(tmp_path: Path) -> Path:
    """The worked example with the sample course's media beside it, as an author's own folder."""
    folder = tmp_path / "course"
    shutil.copytree(EXAMPLE, folder)
    shutil.copytree(SAMPLE_COURSE / "media", folder / "media")
    return folder


def edit_cell(path: Path, row: int, column: str, value: str) -> None:
    """Set one cell (row numbered as in a spreadsheet: the header is row 1)."""
    import csv

    with path.open(newline="", encoding="utf-8") as fh:
        records = list(csv.reader(fh))
    records[row - 1][records[0].index(column)] = value
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(records)


def test_the_worked_example_authors_the_sample_course_which_builds_and_imports_on_a_box(tmp_path, signing_key):
    out = tmp_path / "src"
    done = author(EXAMPLE, out, "--media", str(SAMPLE_COURSE))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report == {"out": str(out), "channel": "demo.science.primary", "courses": 2, "lessons": 3,
                      "knowledge_points": 10, "exercises": 14, "media": 3, "bytes": report["bytes"]}
    # the same catalog as the hand-written sample course, field for field, and the same media bytes
    assert packs.parse_catalog((out / "catalog.json").read_bytes()) == \
        packs.parse_catalog((SAMPLE_COURSE / "catalog.json").read_bytes())
    for medium in (SAMPLE_COURSE / "media").glob("*.ogg"):
        assert (out / "media" / medium.name).read_bytes() == medium.read_bytes()
    pack = tmp_path / "pack"
    build_pack(out, pack, read_private(signing_key.private), 1)
    data = tmp_path / "var"
    init_data_dir(data, trust=signing_key.public)
    result = import_pack(load_settings(data), pack)
    assert result["lessons"] == 3
    db = open_box_db(data / "box.db")
    try:
        choice = rows(db, "SELECT choices, answer FROM exercises WHERE id = 'water-cycle-4'")[0]
        assert json.loads(choice["choices"])[json.loads(choice["answer"])] == "In rivers, lakes, seas and the ground"
        assert rows(db, "SELECT text FROM lessons WHERE id = 'shapes-and-angles'")[0]["text"].startswith("# Shapes")
    finally:
        db.conn.close()


def test_errors_name_the_file_row_and_column_and_nothing_is_written(tmp_path):
    folder = example_copy(tmp_path)
    edit_cell(folder / "lessons.csv", 3, "media", "media/living-thing.ogg")
    edit_cell(folder / "lessons.csv", 4, "knowledge_points", "math.shapes.polygons;math.shapes.angels")
    edit_cell(folder / "exercises.csv", 5, "answer", "In rivers and lakes")
    edit_cell(folder / "exercises.csv", 11, "difficulty", "5")
    edit_cell(folder / "knowledge_points.csv", 4, "id", "sci.water.evaporation")
    out = tmp_path / "src"
    done = author(folder, out)
    assert done.returncode == 1
    err = done.stderr
    assert "lessons.csv row 3, column media: media/living-thing.ogg is not a file in the media folder" in err
    assert "lessons.csv row 4, column knowledge_points: 'math.shapes.angels' is not in knowledge_points.csv" in err
    assert "exercises.csv row 5, column answer: 'In rivers and lakes' is not one of the choices" in err
    assert "exercises.csv row 11, column difficulty: '5' must be 1 (easy), 2 or 3 (hard)" in err
    assert "knowledge_points.csv row 4, column id: 'sci.water.evaporation' already defined on row 2" in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: nothing written: ") and "problems in" in last
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["course"]  # no half-written temp folder either


def test_row_numbers_are_spreadsheet_rows_even_when_a_quoted_cell_spans_lines(tmp_path):
    folder = example_copy(tmp_path)
    edit_cell(folder / "exercises.csv", 2, "prompt", "What makes water\nevaporate\nfrom a lake?")
    edit_cell(folder / "exercises.csv", 4, "kind", "multiple")
    done = author(folder, tmp_path / "src")
    assert done.returncode == 1
    assert "exercises.csv row 4, column kind: 'multiple' must be one of choice, number, text" in done.stderr
    assert done.stderr.count("exercises.csv") == 2  # the problem line and the summary line, nothing about row 2


def test_a_file_saved_in_another_encoding_is_named_with_the_line_of_its_first_bad_byte(tmp_path):
    folder = example_copy(tmp_path)
    text = (folder / "knowledge_points.csv").read_text(encoding="utf-8")
    (folder / "knowledge_points.csv").write_bytes(text.replace("Evaporation", "Évaporation").encode("latin-1"))
    done = author(folder, tmp_path / "src")
    assert done.returncode == 1
    assert 'knowledge_points.csv: is not UTF-8 (byte 0xc9 on line 2): save it as "CSV UTF-8"' in done.stderr


def test_a_misspelt_or_missing_column_is_reported_on_row_1(tmp_path):
    folder = example_copy(tmp_path)
    text = (folder / "lessons.csv").read_text(encoding="utf-8")
    (folder / "lessons.csv").write_text(text.replace("lesson_title", "lesson_titel", 1), encoding="utf-8")
    done = author(folder, tmp_path / "src")
    assert done.returncode == 1
    assert "lessons.csv row 1, column lesson_title: missing from the header" in done.stderr
    assert "lessons.csv row 1, column lesson_titel: is not a known column" in done.stderr


def test_spreadsheet_habits_are_read_as_meant_bom_decimal_comma_escaped_semicolon_and_channel_options(tmp_path):
    folder = tmp_path / "course"
    (folder / "media").mkdir(parents=True)
    (folder / "media" / "fractions.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(64))
    (folder / "knowledge_points.csv").write_bytes(
        "\ufeffid,name,description\nmath.fr.halves,Moitiés,\"Une moitié, c'est 1/2.\"\n".encode())
    (folder / "lessons.csv").write_text(
        "course_id,course_title,lesson_id,lesson_title,media,language,knowledge_points\n"
        "maths-fr,Mathématiques,halves,Les moitiés,media/fractions.mp4,fr,math.fr.halves\n", encoding="utf-8")
    (folder / "exercises.csv").write_text(
        "id,lesson_id,knowledge_point,kind,prompt,choices,answer,difficulty,hint,tolerance\n"
        "halves-1,halves,math.fr.halves,number,La moitié de 5 ?,,\"2,5\",,,\"0,01\"\n"
        "halves-2,halves,math.fr.halves,choice,Laquelle ?,a\\;b;c,a;b,1,,\n"
        "halves-3,halves,math.fr.halves,text,Le mot ?,,moitié; la moitié,3,Pense à 1/2,\n", encoding="utf-8")
    out = tmp_path / "src"
    done = author(folder, out, "--channel", "fr.maths.cm1", "--title", "Maths CM1", "--language", "fr")
    assert done.returncode == 0, done.stderr
    catalog = json.loads((out / "catalog.json").read_bytes())
    assert catalog["channel"] == {"id": "fr.maths.cm1", "title": "Maths CM1", "language": "fr", "level": ""}
    assert catalog["knowledge_points"][0]["id"] == "math.fr.halves"  # the byte-order mark is not part of "id"
    lesson = catalog["courses"][0]["lessons"][0]
    assert lesson["media"] == {"path": "media/fractions.mp4", "kind": "video"} and "language" not in lesson
    number, choice, text = lesson["exercises"]
    assert number["answer"] == 2.5 and number["tolerance"] == 0.01 and number["difficulty"] == 2
    assert choice["choices"] == ["a;b", "c"] and choice["answer"] == 0
    assert text["answer"] == ["moitié", "la moitié"] and text["hint"] == "Pense à 1/2"


def test_an_out_folder_that_holds_files_is_refused_and_left_as_it_was(tmp_path):
    out = tmp_path / "src"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    done = author(EXAMPLE, out, "--media", str(SAMPLE_COURSE))
    assert done.returncode == 1
    assert done.stderr.strip() == f"error: {out} exists and is not an empty folder: choose a new --out folder"
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_the_template_has_every_column_the_author_reads_and_only_those():
    from edge_server.domain.pack_author import COLUMNS

    for name, (required, optional) in COLUMNS.items():
        header = (TEMPLATE / name).read_text(encoding="utf-8").strip().split(",")
        assert set(required) <= set(header) <= set(required) | set(optional), name
