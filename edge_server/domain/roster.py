"""Class lists as CSV (pure): read a roster file, make PINs, write a roster back out.

A roster is a UTF-8 CSV file with a header row: a `name` column, and optionally `picture` (one of the box's
pictures a pupil finds their name by: people.PICTURES) and `pin` (four digits; missing PINs are made here). Commas,
semicolons (a French spreadsheet's CSV) or tabs separate the columns. The same parser serves `edge-server pupil
import` and the class page's upload: a file with any error is refused as a whole, each error naming its row (the
header is row 1), so nothing is half imported.
"""

from __future__ import annotations

import csv
import io
import secrets
import unicodedata
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from random import Random
from typing import Any

MAX_BYTES = 256 * 1024  # a class list is a few KiB; this is far more than any school's roster
MAX_PUPILS = 500
MAX_NAME = 80  # as the class page's "Add a pupil" form
COLUMNS = ("name", "picture", "pin")
DELIMITERS = (",", ";", "\t")
MAX_ERRORS = 20  # shown at once; the rest are counted


def _l(text: str) -> str:
    """Marks a message for translation (pybabel extracts `_l`); the pages translate it, the CLI prints it as is."""
    return text


NOT_UTF8 = _l('this is not UTF-8 text: save the spreadsheet as "CSV UTF-8"')
TOO_LARGE = _l("the file is larger than %(kb)d KiB")
NOT_TEXT = _l("this is not a CSV text file")
EMPTY = _l("the file is empty: the first row names the columns (name, and optionally picture and pin)")
MALFORMED = _l("the CSV is malformed (%(reason)s)")
NO_NAME_COLUMN = _l('there is no "name" column (the first row names the columns: name, and optionally picture '
                    "and pin)")
UNKNOWN_COLUMNS = _l("unknown column(s) %(columns)s: the columns are name, picture and pin")
REPEATED_COLUMNS = _l("the column(s) %(columns)s appear more than once")
TOO_MANY_CELLS = _l("%(cells)d cells but the header has %(columns)d columns")
NAME_EMPTY = _l("the name is empty")
NAME_TOO_LONG = _l("the name is longer than %(n)d characters")
NAME_BAD_CHARACTERS = _l("the name holds control or invisible characters")
NAME_IN_CLASS = _l("'%(name)s' is already in the class: pupils find themselves by name, so add something (an "
                   "initial) to tell them apart")
NAME_IN_FILE = _l("'%(name)s' is already in row %(other)d: pupils find themselves by name, so add something (an "
                  "initial) to tell them apart")
UNKNOWN_PICTURE = _l("unknown picture '%(picture)s': use one of %(pictures)s, or leave it empty")
BAD_PIN = _l("the PIN '%(pin)s' is not four digits")
SHORT_PIN = _l("the PIN '%(pin)s' is not four digits (a spreadsheet may have dropped a leading 0: format the "
               "column as text)")
NO_PUPILS = _l("the file has a header but no pupils")
TOO_MANY_PUPILS = _l("%(n)d pupils: a roster holds at most %(most)d")
NO_FILE = _l("Choose a CSV file.")


@dataclass(frozen=True)
class RosterRow:
    """One pupil of a roster file: its row number in the file (the header is row 1), name, picture, PIN."""

    row: int
    name: str
    picture: str | None = None
    pin: str | None = None


@dataclass(frozen=True)
class RosterError:
    """What is wrong with a roster file, and where (row 0: the file as a whole): one of the messages above and
    its values, so that a page shows it in its own language."""

    row: int
    template: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def message(self) -> str:
        """The message in English."""
        return self.template % self.params if self.params else self.template

    def __str__(self) -> str:
        return f"row {self.row}: {self.message}" if self.row else self.message


class RosterRefused(ValueError):
    """A roster file with errors: nothing of it is imported."""

    def __init__(self, errors: list[RosterError], more: int = 0) -> None:
        self.errors = errors
        self.more = more
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """Every error on one line (the CLI's failure line)."""
        text = "; ".join(str(e) for e in self.errors)
        return text + (f"; and {self.more} more" if self.more else "")


def name_key(name: str) -> str:
    """How two names are compared: Unicode-normalised, case and surrounding spaces ignored."""
    return unicodedata.normalize("NFC", " ".join(name.split())).casefold()


def clean_name(name: str) -> str:
    """A name as stored: NFC, inner runs of spaces made one, no control characters."""
    return unicodedata.normalize("NFC", " ".join(name.split()))


def _bad_characters(text: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") for ch in text)


def _decode(data: bytes) -> tuple[str | None, RosterError | None]:
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        row = data[:exc.start].count(b"\n") + 1
        return None, RosterError(row, NOT_UTF8)


def _delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def parse_roster(data: bytes, pictures: Collection[str], existing_names: Iterable[str] = (),
                 max_pupils: int = MAX_PUPILS) -> list[RosterRow]:
    """The pupils of a roster file, in file order; RosterRefused with every error (up to MAX_ERRORS) otherwise.

    Blank rows are skipped. A name may appear once in the file and must not be a name the class already has
    (existing_names): pupils find themselves by name on the login page.
    """
    if len(data) > MAX_BYTES:
        raise RosterRefused([RosterError(0, TOO_LARGE, {"kb": MAX_BYTES // 1024})])
    text, error = _decode(data)
    if error is not None or text is None:
        raise RosterRefused([error or RosterError(0, NOT_TEXT)])
    if "\x00" in text:
        raise RosterRefused([RosterError(0, NOT_TEXT)])
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise RosterRefused([RosterError(1, EMPTY)])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(lines[0]), strict=True)
    errors: list[RosterError] = []
    try:
        records = list(reader)
    except csv.Error as exc:
        raise RosterRefused([RosterError(reader.line_num, MALFORMED, {"reason": str(exc)})]) from None
    header = [cell.strip().lower() for cell in records[0]]
    unknown = [c for c in header if c not in COLUMNS]
    if "name" not in header:
        errors.append(RosterError(1, NO_NAME_COLUMN))
    if unknown:
        errors.append(RosterError(1, UNKNOWN_COLUMNS, {"columns": ", ".join(repr(c) for c in unknown)}))
    repeated = sorted({c for c in header if header.count(c) > 1 and c in COLUMNS})
    if repeated:
        errors.append(RosterError(1, REPEATED_COLUMNS, {"columns": ", ".join(repeated)}))
    if errors:
        raise RosterRefused(errors)
    where = {column: header.index(column) for column in COLUMNS if column in header}
    taken = {name_key(n): 0 for n in existing_names}  # 0: the class; else the row of the file
    found: list[RosterRow] = []
    # csv.reader counts physical lines (a quoted name may hold a line break); rows are what a spreadsheet shows
    for number, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue
        if len(record) > len(header):
            errors.append(RosterError(number, TOO_MANY_CELLS, {"cells": len(record), "columns": len(header)}))
            continue
        cells = {column: (record[i].strip() if i < len(record) else "") for column, i in where.items()}
        name = clean_name(cells["name"])
        picture = cells.get("picture", "").lower() or None
        pin = cells.get("pin", "") or None
        if not name:
            errors.append(RosterError(number, NAME_EMPTY))
        elif len(name) > MAX_NAME:
            errors.append(RosterError(number, NAME_TOO_LONG, {"n": MAX_NAME}))
        elif _bad_characters(name):
            errors.append(RosterError(number, NAME_BAD_CHARACTERS))
        elif name_key(name) in taken:
            other = taken[name_key(name)]
            errors.append(RosterError(number, NAME_IN_FILE, {"name": name, "other": other}) if other else
                          RosterError(number, NAME_IN_CLASS, {"name": name}))
        else:
            taken[name_key(name)] = number
        if picture is not None and picture not in pictures:
            errors.append(RosterError(number, UNKNOWN_PICTURE, {"picture": picture,
                                                                "pictures": ", ".join(sorted(pictures))}))
        if pin is not None and not (len(pin) == 4 and pin.isascii() and pin.isdigit()):
            short = pin.isascii() and pin.isdigit() and len(pin) < 4
            errors.append(RosterError(number, SHORT_PIN if short else BAD_PIN, {"pin": pin}))
        found.append(RosterRow(number, name, picture, pin))
    if not errors and not found:
        errors.append(RosterError(0, NO_PUPILS))
    if not errors and len(found) > max_pupils:
        errors.append(RosterError(0, TOO_MANY_PUPILS, {"n": len(found), "most": max_pupils}))
    if errors:
        raise RosterRefused(errors[:MAX_ERRORS], max(0, len(errors) - MAX_ERRORS))
    return found


def weak_pin(pin: str) -> bool:
    """PINs a classmate would guess first: one digit four times, or four digits counting up or down."""
    digits = [int(c) for c in pin]
    steps = {b - a for a, b in zip(digits, digits[1:], strict=False)}
    return len(set(digits)) == 1 or steps in ({1}, {-1})


def new_pins(count: int, rng: Random | None = None, avoid: Collection[str] = ()) -> list[str]:
    """count random four-digit PINs, none weak, none twice and none in avoid (so a class's new cards differ)."""
    rng = rng or secrets.SystemRandom()
    chosen: list[str] = []
    seen = set(avoid)
    while len(chosen) < count:
        pin = f"{rng.randrange(10_000):04d}"
        if weak_pin(pin) or (pin in seen and len(seen) < 5_000):
            continue
        seen.add(pin)
        chosen.append(pin)
    return chosen


def with_pins(pupils: list[RosterRow], rng: Random | None = None) -> tuple[list[RosterRow], set[int]]:
    """The rows with a PIN each (made where the file had none), and the row numbers whose PIN was made here."""
    given = {p.pin for p in pupils if p.pin}
    made = iter(new_pins(sum(1 for p in pupils if not p.pin), rng, given))
    out = [p if p.pin else RosterRow(p.row, p.name, p.picture, next(made)) for p in pupils]
    return out, {p.row for p in pupils if not p.pin}


def _csv_cell(value: str) -> str:
    # a name starting with = + - @ would run as a formula in a spreadsheet
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def roster_csv(pupils: Iterable[dict]) -> str:
    """A class's roster as CSV that parse_roster reads back: name and picture (never a PIN or its hash)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["name", "picture"])
    for pupil in pupils:
        writer.writerow([_csv_cell(pupil["name"]), pupil.get("picture") or ""])
    return out.getvalue()
