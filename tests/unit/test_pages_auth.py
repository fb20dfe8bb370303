"""Secrets, PINs, redirects and the small pure helpers behind the pages."""

from __future__ import annotations

import pytest

from edge_server.web import auth
from edge_server.web.views.presenter import join_url
from edge_server.web.views.pupil import notes_blocks
from edge_server.web.views.teacher import answer_text


def test_a_password_is_stored_as_a_salted_scrypt_hash_that_only_the_right_password_matches():
    first, second = auth.hash_password("chalk-and-board"), auth.hash_password("chalk-and-board")
    assert first.startswith("scrypt:") and "chalk-and-board" not in first and first != second
    assert auth.verify_password(first, "chalk-and-board")
    assert not auth.verify_password(first, "chalk-and-boarD")
    assert not auth.verify_password(None, "chalk-and-board")  # unknown account


@pytest.mark.parametrize("pin", ["123", "12345", "12a4", "", " 1234", "１２３４"])
def test_a_pin_must_be_exactly_four_ascii_digits(pin):
    assert not auth.valid_pin(pin)
    with pytest.raises(ValueError):
        auth.hash_pin(pin)


def test_a_pin_hash_matches_only_its_pin_and_a_pupil_without_a_pin_cannot_log_in():
    stored = auth.hash_pin("0420")
    assert "0420" not in stored
    assert auth.verify_pin(stored, "0420")
    assert not auth.verify_pin(stored, "0421")
    assert not auth.verify_pin(None, "0420")


@pytest.mark.parametrize(("target", "expected"), [
    ("/teacher/class/3", "/teacher/class/3"),
    ("//evil.example/x", "/teacher/"),
    ("https://evil.example/", "/teacher/"),
    ("/\\evil.example", "/teacher/"),
    (None, "/teacher/"),
])
def test_after_login_only_paths_on_this_box_are_followed(target, expected):
    assert auth.safe_next(target, "/teacher/") == expected


def test_lesson_notes_become_headings_lists_and_paragraphs_with_bold_pieces():
    text = ("# The water cycle\n\nWater moves.\n\n1. **Evaporation**: warm.\n2. **Rain** falls\n\n"
            "## More\n\n- a\n- <b>b</b>")
    blocks = notes_blocks(text, "The water cycle")
    assert [b["kind"] for b in blocks] == ["p", "ol", "h", "ul"]  # the heading that repeats the title is dropped
    assert blocks[1]["lines"][0] == [("Evaporation", True), (": warm.", False)]
    assert blocks[3]["lines"][1] == [("<b>b</b>", False)]  # left as text: the template escapes it


def test_a_choice_answer_is_shown_by_its_words_and_other_answers_as_typed():
    assert answer_text({"response": "1", "choices": '["Rain", "Cloud"]'}) == "Cloud"
    assert answer_text({"response": "7", "choices": '["Rain", "Cloud"]'}) == "7"
    assert answer_text({"response": "evaporation", "choices": None}) == "evaporation"


@pytest.mark.parametrize(("host_url", "lan", "expected"), [
    ("http://192.168.1.20:8080/", ["10.0.0.5"], "http://192.168.1.20:8080/"),
    ("http://box.local:8080/", ["10.0.0.5"], "http://box.local:8080/"),
    ("http://localhost:8080/", ["127.0.0.1", "192.168.1.20"], "http://192.168.1.20:8080/"),
    ("http://127.0.0.1/", ["192.168.1.20"], "http://192.168.1.20/"),
    ("http://localhost:8080/", ["127.0.0.1"], "http://localhost:8080/"),
])
def test_the_join_qr_code_names_the_box_on_the_lan_even_when_the_teacher_browses_on_the_box(host_url, lan, expected):
    assert join_url(host_url, lan) == expected
