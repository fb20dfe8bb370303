"""The roster CSV parser (domain/roster.py, pure): what it reads, what it refuses and where, PINs it makes."""

from __future__ import annotations

from random import Random

import pytest

from edge_server.domain import roster
from edge_server.store.people import PICTURES


def parse(text: str | bytes, existing: tuple[str, ...] = (), **kw) -> list[roster.RosterRow]:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return roster.parse_roster(data, PICTURES, existing, **kw)


def refusal(text: str | bytes, existing: tuple[str, ...] = (), **kw) -> roster.RosterRefused:
    with pytest.raises(roster.RosterRefused) as refused:
        parse(text, existing, **kw)
    return refused.value


def test_a_roster_gives_names_pictures_and_pins_with_their_spreadsheet_row_numbers():
    rows = parse("name,picture,pin\nAmina,sun,0412\n\n  Bao  Li ,FISH,\nChloé,,\n")
    assert rows == [roster.RosterRow(2, "Amina", "sun", "0412"), roster.RosterRow(4, "Bao Li", "fish", None),
                    roster.RosterRow(5, "Chloé", None, None)]


def test_only_a_name_column_is_needed_and_columns_may_come_in_any_order_and_case():
    assert parse("Name\nAmina\nBao") == [roster.RosterRow(2, "Amina"), roster.RosterRow(3, "Bao")]
    assert parse("pin,NAME\n1234,Amina")[0] == roster.RosterRow(2, "Amina", None, "1234")


@pytest.mark.parametrize("text", ["name;picture;pin\r\nAmélie;moon;1234\r\n",
                                  "name\tpicture\tpin\nAmélie\tmoon\t1234\n"])
def test_semicolons_and_tabs_separate_columns_as_spreadsheets_write_them(text):
    assert parse(text) == [roster.RosterRow(2, "Amélie", "moon", "1234")]


def test_a_utf8_byte_order_mark_and_chinese_names_are_read():
    assert parse("\ufeffname\n王小明\n李华\n".encode())[1].name == "李华"


def test_a_quoted_name_with_a_comma_is_one_cell():
    assert parse('name,pin\n"Diallo, Awa",1234\n')[0].name == "Diallo, Awa"


def test_a_file_that_is_not_utf8_is_refused_naming_the_row_of_the_first_bad_byte():
    refused = refusal("name\nAmina\nZoë\n".encode("latin-1"))
    assert [e.row for e in refused.errors] == [3] and refused.errors[0].template == roster.NOT_UTF8
    assert "UTF-8" in str(refused)


def test_every_bad_row_is_named_with_its_row_number_and_nothing_is_returned():
    text = "name,picture,pin\nAmina,sun,123\n,cat,\nBao,dragon,\namina,,12a4\n" + "X" * 81 + ",,\n"
    refused = refusal(text)
    got = [(e.row, e.message.split(" ")[0:2]) for e in refused.errors]
    assert [row for row, _ in got] == [2, 3, 4, 5, 5, 6]
    messages = str(refused)
    assert "row 2: the PIN '123' is not four digits (a spreadsheet may have dropped a leading 0" in messages
    assert "row 3: the name is empty" in messages
    assert "row 4: unknown picture 'dragon'" in messages and "sun" in messages
    assert "row 5: 'amina' is already in row 2" in messages
    assert "row 6: the name is longer than 80 characters" in messages


def test_a_name_already_in_the_class_is_refused_whatever_its_case_or_spacing():
    assert "already in the class" in str(refusal("name\n  AMINA \n", existing=("Amina",)))


def test_a_missing_name_column_or_an_unknown_column_is_a_row_1_error():
    assert refusal("pupil,pin\nAmina,1234\n").errors[0].row == 1
    unknown = refusal("name,birthday\nAmina,2017-01-01\n")
    assert unknown.errors[0].row == 1 and "'birthday'" in unknown.errors[0].message


def test_an_empty_file_a_header_alone_and_too_many_pupils_are_refused():
    assert refusal("").errors[0].row == 1
    assert "no pupils" in str(refusal("name\n\n"))
    assert "at most 3" in str(refusal("name\na\nb\nc\nd\n", max_pupils=3))


def test_a_file_over_the_size_limit_is_refused_before_it_is_read():
    assert "larger than" in str(refusal(b"name\n" + b"a\n" * (roster.MAX_BYTES // 2)))


def test_control_characters_in_a_name_are_refused():
    assert "control or invisible" in str(refusal("name\nAmi\u200bna\n"))


def test_a_row_with_more_cells_than_the_header_is_refused():
    assert refusal("name\nAmina,sun\n").errors[0].row == 2


def test_many_errors_are_cut_to_a_few_and_counted():
    refused = refusal("name,pin\n" + "".join(f"p{i},1\n" for i in range(30)))
    assert len(refused.errors) == roster.MAX_ERRORS and refused.more == 10
    assert refused.one_line().endswith("; and 10 more")


def test_made_pins_are_four_digits_distinct_not_weak_and_not_the_ones_given():
    rows = [roster.RosterRow(2, "A", None, "5831")] + [roster.RosterRow(i, f"P{i}") for i in range(3, 40)]
    filled, made = roster.with_pins(rows, Random(7))
    pins = [r.pin for r in filled]
    assert filled[0].pin == "5831" and made == set(range(3, 40))
    assert all(p and len(p) == 4 and p.isdigit() and not roster.weak_pin(p) for p in pins)
    assert len(set(pins)) == len(pins)


@pytest.mark.parametrize(("pin", "weak"), [("0000", True), ("1234", True), ("9876", True), ("3456", True),
                                           ("1235", False), ("0412", False), ("1122", False)])
def test_weak_pins_are_repeated_digits_and_straight_runs(pin, weak):
    assert roster.weak_pin(pin) is weak


def test_the_export_reads_back_as_the_same_names_and_pictures_and_never_holds_a_pin():
    pupils = [{"name": "Amina", "picture": "sun", "pin_hash": "pbkdf2:x"}, {"name": "=Bao", "picture": None},
              {"name": "Diallo, Awa", "picture": "cat"}]
    text = roster.roster_csv(pupils)
    assert "pbkdf2" not in text and text.splitlines()[0] == "name,picture"
    back = parse(text)
    assert [(r.name, r.picture) for r in back] == [("Amina", "sun"), ("'=Bao", None), ("Diallo, Awa", "cat")]
