"""Authoring a pack source from spreadsheets (pure): three CSV files (plus channel.csv) -> catalog.json.

Provincial IT keeps a course as a folder of media and spreadsheets saved as CSV UTF-8; `edge-server pack author`
turns it into the pack source folder that `edge-server pack build` signs (DESIGN: content packs). No I/O here:
the caller passes the CSV bytes, the media files it found and a function that reads a notes file.

Files (UTF-8, with or without the byte-order mark spreadsheets write; the header is row 1):

    channel.csv           id, title, language, level                   (one row; command-line options override it)
    knowledge_points.csv  id, name, description
    lessons.csv           course_id, course_title, lesson_id, lesson_title, media, language, knowledge_points
                          + optional: notes (a Markdown file), media_kind (video|audio), subject, grade
    exercises.csv         id, lesson_id, knowledge_point, kind, prompt, choices, answer, difficulty, hint
                          + optional: tolerance (number exercises)

Lists inside a cell (knowledge_points, choices, text answers) are separated by `;` (write `\\;` for a `;` that
belongs to the text). A choice exercise's answer is the text of the right choice; a number exercise's answer is a
number (`2.5` or `2,5`); a text exercise's answer lists every accepted answer. Rows and lessons keep the order of
the spreadsheets. Every problem names its file, row and column; the caller writes nothing while there is one.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from sync import packs

CHANNEL_CSV = "channel.csv"
KNOWLEDGE_POINTS_CSV = "knowledge_points.csv"
LESSONS_CSV = "lessons.csv"
EXERCISES_CSV = "exercises.csv"
TABLES = (CHANNEL_CSV, KNOWLEDGE_POINTS_CSV, LESSONS_CSV, EXERCISES_CSV)

COLUMNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # file: (required columns, optional columns)
    CHANNEL_CSV: (("id", "title"), ("language", "level")),
    KNOWLEDGE_POINTS_CSV: (("id", "name", "description"), ()),
    LESSONS_CSV: (("course_id", "course_title", "lesson_id", "lesson_title", "media", "language",
                   "knowledge_points"), ("notes", "media_kind", "subject", "grade")),
    EXERCISES_CSV: (("id", "lesson_id", "knowledge_point", "kind", "prompt", "choices", "answer", "difficulty",
                     "hint"), ("tolerance",)),
}
LANGUAGES = ("en", "fr", "zh")
VIDEO_EXTENSIONS = frozenset({"mp4", "m4v", "webm", "mkv", "mov", "ogv", "avi"})
AUDIO_EXTENSIONS = frozenset({"ogg", "oga", "opus", "mp3", "wav", "m4a", "flac", "aac", "weba"})
MAX_NOTES_BYTES = 256 * 1024
_SPLIT = re.compile(r"(?<!\\);")


@dataclass(frozen=True)
class Problem:
    """One thing wrong in the author's files: where (file, spreadsheet row, column) and what."""

    file: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f" row {self.row}"
        if self.column:
            where += f", column {self.column}"
        return f"{where}: {self.message}"


class AuthorError(Exception):
    """The folder cannot become a pack source; `problems` says every place that must change."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(str(problems[0]) if problems else "no problems")
        self.problems = problems


@dataclass(frozen=True)
class Authored:
    """The result: the catalog.json document and the media paths (relative) the pack source must hold."""

    catalog: dict[str, Any]
    media: tuple[str, ...]
    counts: dict[str, int] = field(default_factory=dict)

    def catalog_bytes(self) -> bytes:
        return (json.dumps(self.catalog, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


@dataclass
class _Table:
    name: str
    rows: list[tuple[int, dict[str, str]]]  # (spreadsheet row number, cells by column)


class _Problems:
    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, file: str, row: int | None, column: str | None, message: str) -> None:
        self.items.append(Problem(file, row, column, message))


def split_list(cell: str) -> list[str]:
    """`a; b\\; c;` -> ["a", "b; c"]: `;` separates, `\\;` is a literal semicolon, empty items are dropped."""
    return [part.replace("\\;", ";").strip() for part in _SPLIT.split(cell) if part.strip()]


def read_table(name: str, data: bytes, problems: _Problems) -> _Table | None:
    """Decode and parse one CSV file; header problems are reported and the table is None."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        problems.add(name, None, None, f"is not UTF-8 (byte 0x{data[exc.start]:02x} on line {line}): save it as "
                                       "\"CSV UTF-8\"")
        return None
    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        problems.add(name, None, None, f"is not readable CSV ({exc})")
        return None
    if not records or not any(cell.strip() for cell in records[0]):
        problems.add(name, 1, None, "has no header row")
        return None
    header = [cell.strip().lower() for cell in records[0]]
    required, optional = COLUMNS[name]
    ok = True
    for column in required:
        if column not in header:
            problems.add(name, 1, column, "missing from the header")
            ok = False
    seen: set[str] = set()
    for column in header:
        if not column:
            continue
        if column in seen:
            problems.add(name, 1, column, "appears twice in the header")
            ok = False
        seen.add(column)
        if column not in required and column not in optional:
            known = ", ".join(required + optional)
            problems.add(name, 1, column, f"is not a known column (the columns are: {known})")
            ok = False
    if not ok:
        return None
    rows: list[tuple[int, dict[str, str]]] = []
    for number, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue  # spreadsheets export trailing empty rows
        if len(record) > len(header) and any(cell.strip() for cell in record[len(header):]):
            problems.add(name, number, None, f"has {len(record)} cells but the header names {len(header)} columns "
                                             "(a `,` in a cell needs the cell in quotes)")
            continue
        cells = {column: (record[i].strip() if i < len(record) else "") for i, column in enumerate(header) if column}
        rows.append((number, cells))
    return _Table(name, rows)


def _check_id(problems: _Problems, table: str, row: int, column: str, value: str) -> bool:
    if not value:
        problems.add(table, row, column, "is empty")
        return False
    if not packs.ID_RE.match(value):
        problems.add(table, row, column, f"{value[:60]!r} is not a valid id (letters, digits, `.`, `_`, `-`; "
                                         "starting with a letter or digit; at most 128)")
        return False
    return True


def _number(value: str) -> float | int | None:
    text = value.strip().replace(" ", "")
    if text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")  # a decimal comma, as French spreadsheets write it
    try:
        number = float(text)
    except ValueError:
        return None
    if number != number or number in (float("inf"), float("-inf")):
        return None
    return int(number) if number.is_integer() and re.fullmatch(r"[+-]?\d+", text) else number


def media_kind(path: str) -> str | None:
    """video or audio from a file's extension, or None when the extension says neither."""
    ext = PurePosixPath(path).suffix.lower().lstrip(".")
    if ext in VIDEO_EXTENSIONS:
        return "video"
    if ext in AUDIO_EXTENSIONS:
        return "audio"
    return None


def _channel(table: _Table | None, overrides: dict[str, str | None], problems: _Problems) -> dict[str, str]:
    values: dict[str, str] = {}
    row_of: dict[str, int | None] = {}
    if table is not None:
        if len(table.rows) > 1:
            problems.add(CHANNEL_CSV, table.rows[1][0], None, "only one channel per folder: remove the extra rows")
        if table.rows:
            number, cells = table.rows[0]
            values = {k: cells.get(k, "") for k in ("id", "title", "language", "level")}
            row_of = dict.fromkeys(values, number)
    for key, value in overrides.items():
        if value is not None:
            values[key], row_of[key] = value.strip(), None
    where = CHANNEL_CSV if table is not None else "the command line"
    if not values.get("id") and not values.get("title"):
        problems.add(CHANNEL_CSV, None, None, "missing: write channel.csv (id, title, language, level) or pass "
                                              "--channel ID --title TITLE")
        return {}
    cid = values.get("id", "")
    if not cid:
        problems.add(where, row_of.get("id"), "id", "is empty: the channel needs an id (or pass --channel ID)")
    elif not packs.ID_RE.match(cid):
        problems.add(where, row_of.get("id"), "id", f"{cid[:60]!r} is not a valid channel id")
    elif packs.is_reserved_channel(cid):
        problems.add(where, row_of.get("id"), "id", f"{cid!r} is reserved for a box's own content (local.*)")
    if not values.get("title"):
        problems.add(where, row_of.get("title"), "title", "is empty: the channel needs a title (or pass --title)")
    language = values.get("language", "") or "en"
    if language not in LANGUAGES:
        problems.add(where, row_of.get("language"), "language",
                     f"{language!r} is not a language the box's models read ({', '.join(LANGUAGES)})")
    return {"id": cid, "title": values.get("title", ""), "language": language, "level": values.get("level", "")}


def _knowledge_points(table: _Table, problems: _Problems) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    first_row: dict[str, int] = {}
    for number, cells in table.rows:
        kid = cells["id"]
        if not _check_id(problems, table.name, number, "id", kid):
            continue
        if kid in found:
            problems.add(table.name, number, "id", f"{kid!r} already defined on row {first_row[kid]}")
            continue
        if not cells["name"]:
            problems.add(table.name, number, "name", "is empty: each knowledge point needs a name")
        found[kid] = {"id": kid, "name": cells["name"], "description": cells["description"] or None}
        first_row[kid] = number
    return found


def _lessons(table: _Table, kps: dict[str, dict[str, Any]], media_files: frozenset[str],
             read_note: Callable[[str], bytes | None], channel_language: str,
             problems: _Problems) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]], list[str]]:
    courses: dict[str, dict[str, Any]] = {}
    course_row: dict[str, int] = {}
    lessons: dict[str, dict[str, Any]] = {}
    lesson_row: dict[str, int] = {}
    media: list[str] = []
    for number, cells in table.rows:
        name = table.name
        course_id, lesson_id = cells["course_id"], cells["lesson_id"]
        course_ok = _check_id(problems, name, number, "course_id", course_id)
        lesson_ok = _check_id(problems, name, number, "lesson_id", lesson_id)
        if lesson_ok and lesson_id in lessons:
            problems.add(name, number, "lesson_id", f"{lesson_id!r} already used on row {lesson_row[lesson_id]}")
            lesson_ok = False
        if course_ok:
            course = courses.get(course_id)
            title = cells["course_title"]
            if course is None:
                if not title:
                    problems.add(name, number, "course_title", f"is empty on the first row of course {course_id!r}")
                course = {"id": course_id, "title": title, "subject": cells.get("subject") or None,
                          "grade": cells.get("grade") or None, "lessons": []}
                courses[course_id] = course
                course_row[course_id] = number
            else:
                if title and title != course["title"]:
                    problems.add(name, number, "course_title", f"{title!r} differs from {course['title']!r} on row "
                                                               f"{course_row[course_id]} for the same course")
                for extra in ("subject", "grade"):
                    if cells.get(extra) and course[extra] is None:
                        course[extra] = cells[extra]
                    elif cells.get(extra) and cells[extra] != course[extra]:
                        problems.add(name, number, extra, f"{cells[extra]!r} differs from {course[extra]!r} for the "
                                                          "same course")
        if not cells["lesson_title"]:
            problems.add(name, number, "lesson_title", "is empty: each lesson needs a title")
        kp_ids = split_list(cells["knowledge_points"])
        for kid in kp_ids:
            if kid not in kps:
                problems.add(name, number, "knowledge_points", f"{kid!r} is not in {KNOWLEDGE_POINTS_CSV}")
        repeated = sorted({k for k in kp_ids if kp_ids.count(k) > 1})
        if repeated:
            problems.add(name, number, "knowledge_points", f"{repeated[0]!r} is listed twice")
        language = cells["language"] or None
        if language is not None and language not in LANGUAGES:
            problems.add(name, number, "language",
                         f"{language!r} is not a language the box's models read ({', '.join(LANGUAGES)}); "
                         f"leave it empty for the channel's ({channel_language})")
        lesson: dict[str, Any] = {"id": lesson_id, "title": cells["lesson_title"], "knowledge_points": kp_ids}
        if language and language != channel_language:
            lesson["language"] = language
        path = cells["media"]
        if path:
            try:
                packs.check_path(path)
            except packs.PackError as exc:
                problems.add(name, number, "media", str(exc).replace("manifest path", "the path"))
                path = ""
        if path:
            if path not in media_files:
                problems.add(name, number, "media", f"{path} is not a file in the media folder (paths are relative "
                                                    "to it, with `/`, and match letter case)")
            kind = cells.get("media_kind") or media_kind(path)
            if kind not in packs.MEDIA_KINDS:
                column = "media_kind" if cells.get("media_kind") else "media"
                problems.add(name, number, column, f"cannot tell whether {path} is video or audio: write video or "
                                                   "audio in a media_kind column")
            lesson["media"] = {"path": path, "kind": kind}
            if path not in media:
                media.append(path)
        elif cells.get("media_kind"):
            problems.add(name, number, "media_kind", "is set but the lesson has no media")
        note = cells.get("notes", "")
        if note:
            data = read_note(note)
            if data is None:
                problems.add(name, number, "notes", f"{note} is not a file in the folder")
            elif len(data) > MAX_NOTES_BYTES:
                problems.add(name, number, "notes", f"{note} is {len(data)} bytes, over {MAX_NOTES_BYTES}")
            else:
                try:
                    lesson["text"] = data.decode("utf-8-sig")
                except UnicodeDecodeError:
                    problems.add(name, number, "notes", f"{note} is not UTF-8 text")
        lesson["exercises"] = []
        if lesson_ok:
            lessons[lesson_id] = lesson
            lesson_row[lesson_id] = number
            if course_ok:
                courses[course_id]["lessons"].append(lesson)
    return list(courses.values()), lessons, media


def _exercise(number: int, cells: dict[str, str], lesson: dict[str, Any] | None, problems: _Problems,
              name: str) -> dict[str, Any] | None:
    eid = cells["id"]
    ok = _check_id(problems, name, number, "id", eid)
    kind = cells["kind"].lower()
    if kind not in packs.EXERCISE_KINDS:
        problems.add(name, number, "kind", f"{cells['kind']!r} must be one of {', '.join(packs.EXERCISE_KINDS)}")
        ok = False
    if not cells["prompt"]:
        problems.add(name, number, "prompt", "is empty: each exercise needs a question")
        ok = False
    kp = cells["knowledge_point"]
    if not kp:
        problems.add(name, number, "knowledge_point", "is empty: each exercise trains one knowledge point")
        ok = False
    elif lesson is not None and kp not in lesson["knowledge_points"]:
        problems.add(name, number, "knowledge_point",
                     f"{kp!r} is not one of lesson {lesson['id']}'s knowledge points in {LESSONS_CSV}")
        ok = False
    difficulty: int = 2
    if cells["difficulty"]:
        if cells["difficulty"] not in ("1", "2", "3"):
            problems.add(name, number, "difficulty", f"{cells['difficulty']!r} must be 1 (easy), 2 or 3 (hard)")
            ok = False
        else:
            difficulty = int(cells["difficulty"])
    choices = split_list(cells["choices"])
    answer_cell = cells["answer"]
    exercise: dict[str, Any] = {"id": eid, "knowledge_point": kp, "kind": kind, "prompt": cells["prompt"]}
    if kind == "choice":
        if len(choices) < 2:
            problems.add(name, number, "choices", "a choice exercise needs at least two choices separated by `;`")
            ok = False
        elif len(set(choices)) != len(choices):
            problems.add(name, number, "choices", "two choices are the same")
            ok = False
        elif answer_cell not in choices:
            problems.add(name, number, "answer", f"{answer_cell[:60]!r} is not one of the choices: write the text of "
                                                 "the right choice exactly")
            ok = False
        else:
            exercise["choices"] = choices
            exercise["answer"] = choices.index(answer_cell)
    elif kind in ("number", "text"):
        if choices:
            problems.add(name, number, "choices", f"only choice exercises have choices (this one is {kind})")
            ok = False
        if kind == "number":
            value = _number(answer_cell)
            if value is None:
                problems.add(name, number, "answer", f"{answer_cell[:60]!r} is not a number")
                ok = False
            else:
                exercise["answer"] = value
            tolerance = cells.get("tolerance", "")
            if tolerance:
                tol = _number(tolerance)
                if tol is None or tol < 0:
                    problems.add(name, number, "tolerance", f"{tolerance!r} must be a number of 0 or more")
                    ok = False
                else:
                    exercise["tolerance"] = tol
        else:
            accepted = split_list(answer_cell)
            if not accepted:
                problems.add(name, number, "answer", "is empty: list the accepted answers separated by `;`")
                ok = False
            exercise["answer"] = accepted
    if kind != "number" and cells.get("tolerance"):
        problems.add(name, number, "tolerance", "only number exercises have a tolerance")
        ok = False
    exercise["difficulty"] = difficulty
    if cells["hint"]:
        exercise["hint"] = cells["hint"]
    return exercise if ok else None


def _exercises(table: _Table, lessons: dict[str, dict[str, Any]], lesson_rows_ok: bool,
               problems: _Problems) -> int:
    seen: dict[str, int] = {}
    count = 0
    for number, cells in table.rows:
        lesson_id = cells["lesson_id"]
        lesson = lessons.get(lesson_id)
        if not lesson_id:
            problems.add(table.name, number, "lesson_id", "is empty: name the lesson this exercise belongs to")
        elif lesson is None and lesson_rows_ok:
            problems.add(table.name, number, "lesson_id", f"{lesson_id!r} is not a lesson in {LESSONS_CSV}")
        eid = cells["id"]
        if eid in seen:
            problems.add(table.name, number, "id", f"{eid!r} already used on row {seen[eid]}")
            continue
        exercise = _exercise(number, cells, lesson, problems, table.name)
        if eid:
            seen[eid] = number
        if exercise is not None and lesson is not None:
            lesson["exercises"].append(exercise)
            count += 1
    return count


def author(tables: dict[str, bytes], media_files: frozenset[str] | set[str],
           read_note: Callable[[str], bytes | None], channel: dict[str, str | None] | None = None) -> Authored:
    """Build catalog.json from the spreadsheets; raise AuthorError listing every problem (file, row, column).

    tables: file name -> bytes for each of TABLES present (exercises.csv may be absent: no exercises).
    media_files: relative paths (with `/`) of the regular files a lesson's media may name.
    read_note: bytes of a notes file by its relative path, or None when there is no such file.
    channel: id / title / language / level given on the command line (they override channel.csv).
    """
    problems = _Problems()
    parsed: dict[str, _Table | None] = {}
    for name in TABLES:
        if name in tables:
            parsed[name] = read_table(name, tables[name], problems)
        elif name in (KNOWLEDGE_POINTS_CSV, LESSONS_CSV):
            problems.add(name, None, None, "missing: the folder needs this file (see docs/pack-template/)")
            parsed[name] = None
        else:
            parsed[name] = None
    overrides = channel or {}
    chan = _channel(parsed[CHANNEL_CSV], overrides, problems)
    kp_table, lesson_table, ex_table = parsed[KNOWLEDGE_POINTS_CSV], parsed[LESSONS_CSV], parsed[EXERCISES_CSV]
    kps = _knowledge_points(kp_table, problems) if kp_table else {}
    courses: list[dict[str, Any]] = []
    lessons: dict[str, dict[str, Any]] = {}
    media: list[str] = []
    if lesson_table is not None:
        if not lesson_table.rows:
            problems.add(LESSONS_CSV, 2, None, "no lessons: add one row per lesson under the header")
        courses, lessons, media = _lessons(lesson_table, kps, frozenset(media_files), read_note,
                                           chan.get("language", "en"), problems)
    exercises = _exercises(ex_table, lessons, lesson_table is not None, problems) if ex_table else 0
    if problems.items:
        raise AuthorError(problems.items)
    catalog = {"channel": chan, "knowledge_points": list(kps.values()), "courses": courses}
    authored = Authored(catalog, tuple(media), {"courses": len(courses), "lessons": len(lessons),
                                                "knowledge_points": len(kps), "exercises": exercises,
                                                "media": len(media)})
    try:  # what `pack build` and a box will check: never write a source they would refuse
        packs.parse_catalog(authored.catalog_bytes(), {packs.CATALOG, *media})
    except packs.PackError as exc:
        raise AuthorError([Problem(packs.CATALOG, None, None, str(exc))]) from exc
    return authored
