"""After login the box follows `next` only to its own pages: every way of smuggling another host in is refused."""

from __future__ import annotations

import pytest

from edge_server.web import auth

DEFAULT = "/teacher/"

HOSTILE = [
    "//evil.example",
    "//evil.example/teacher/",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "\t//evil.example",
    " //evil.example",
    "/ /evil.example",
    "/\u3000/evil.example",  # an ideographic space
    "/\u200b/evil.example",  # a zero-width space
    "/\\evil.example",
    "/\\\\evil.example",
    "\\\\evil.example",
    "/teacher\\..\\..\\\\evil.example",
    "https://evil.example",
    "https://evil.example/teacher/",
    "http:/evil.example",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "\x00/evil.example",
    "/\x00/evil.example",
    "/teacher/\x00",
    "/\x7f/evil.example",
    "/%09/evil.example",
    "/%0a/evil.example",
    "/%2F/evil.example",
    "/%2f%2fevil.example",
    "/%5Cevil.example",
    "/%252F/evil.example",  # encoded twice
    "%2F%2Fevil.example",
    "evil.example",
    "teacher/class/3",
    "",
    None,
]

GOOD = [
    "/",
    "/teacher/",
    "/teacher/class/3",
    "/teacher/class/3?x=1",
    "/teacher/class/3?x=1&y=two#roster",
    "/present/water-cycle?lang=fr",
    "/lesson/caf%C3%A9",
    "/teacher/class/3?next=/teacher/",
    "/teacher/search?q=a%20b",
]


@pytest.mark.parametrize("target", HOSTILE, ids=repr)
def test_a_next_target_that_could_leave_the_box_falls_back_to_the_default(target):
    assert auth.safe_next(target, DEFAULT) == DEFAULT


@pytest.mark.parametrize("target", GOOD, ids=repr)
def test_a_path_on_this_box_is_followed_as_it_is(target):
    assert auth.safe_next(target, DEFAULT) == target


def test_the_login_page_never_redirects_off_the_box_whatever_next_says(app, data_dir):
    from edge_server.store import people
    from edge_server.store.db import open_box_db

    db = open_box_db(data_dir / "box.db")
    people.add_teacher(db, "ms-lee", auth.hash_password("chalk-and-board"))
    db.conn.close()
    app.config.update(WTF_CSRF_ENABLED=False)
    for target in ("/\t/evil.example", "/%09/evil.example", "//evil.example", "/teacher/class/3?x=1"):
        client = app.test_client()
        done = client.post("/teacher/login", query_string={"next": target},
                           data={"username": "ms-lee", "password": "chalk-and-board"})
        assert done.status_code == 302
        assert done.location == (target if target.startswith("/teacher/") else "/teacher/"), (target, done.location)
