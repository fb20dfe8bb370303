"""Media serving decisions without a server: paths, MIME types, ranges and conditional requests."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.http import http_date

from edge_server.web.media import FileInfo, clean_relative_path, mime_type, plan_response

SIZE = 1000
MTIME = 1_700_000_000
INFO = FileInfo(size=SIZE, mtime=MTIME, etag="abc123")


def plan(headers: dict[str, str] | None = None, method: str = "GET", info: FileInfo = INFO):
    return plan_response(method, headers or {}, info, "video/mp4")


def header(p, name: str) -> str | None:
    return dict(p.headers).get(name)


@pytest.mark.parametrize("path", ["media/water.mp4", "a.vtt", "deep/er/still/x.ogg", "name with space.mp3",
                                  "ünïcode/中文.png", "dots.in.name.json", "a..b.txt"])
def test_plain_relative_paths_are_accepted_unchanged(path):
    assert clean_relative_path(path) == path


@pytest.mark.parametrize("path", [
    "", "..", "../box.db", "media/../../box.db", "media/..", "./a.mp4", "media/./a.mp4", "/etc/passwd",
    "//etc/passwd", "media//a.mp4", "media/", "media\\..\\box.db", "..\\box.db", "a\x00.mp4", "C:/x.mp4",
    "c:x.mp4", ".hidden", "media/.staging/x.mp4", "line\nbreak.mp4", "tab\t.mp4",
])
def test_escaping_or_odd_paths_are_refused(path):
    assert clean_relative_path(path) is None


@pytest.mark.parametrize(("name", "expected"), [
    ("a.ogg", "audio/ogg"), ("a.oga", "audio/ogg"), ("a.opus", "audio/ogg; codecs=opus"), ("a.mp3", "audio/mpeg"),
    ("a.m4a", "audio/mp4"), ("a.wav", "audio/wav"), ("a.mp4", "video/mp4"), ("a.webm", "video/webm"),
    ("a.vtt", "text/vtt; charset=utf-8"), ("a.json", "application/json"), ("a.png", "image/png"),
    ("a.jpg", "image/jpeg"), ("A.JPEG", "image/jpeg"), ("a.svg", "image/svg+xml"),
    ("a.unknownext", "application/octet-stream"), ("noext", "application/octet-stream"),
])
def test_mime_types_follow_the_extension_case_insensitively(name, expected):
    assert mime_type(name) == expected


def test_a_plain_get_is_the_whole_file_with_validators_and_accept_ranges():
    p = plan()
    assert (p.status, p.start, p.length) == (200, 0, SIZE)
    assert header(p, "Content-Length") == str(SIZE)
    assert header(p, "Accept-Ranges") == "bytes"
    assert header(p, "ETag") == '"abc123"'
    assert header(p, "Last-Modified") == http_date(MTIME)
    assert header(p, "Content-Type") == "video/mp4"
    assert header(p, "Cache-Control")


@pytest.mark.parametrize(("raw", "start", "length", "content_range"), [
    ("bytes=0-99", 0, 100, "bytes 0-99/1000"),
    ("bytes=100-", 100, 900, "bytes 100-999/1000"),
    ("bytes=-50", 950, 50, "bytes 950-999/1000"),
    ("bytes=-5000", 0, 1000, "bytes 0-999/1000"),
    ("bytes=990-5000", 990, 10, "bytes 990-999/1000"),
    ("bytes=999-999", 999, 1, "bytes 999-999/1000"),
])
def test_a_single_satisfiable_range_is_a_206_with_exact_length(raw, start, length, content_range):
    p = plan({"Range": raw})
    assert (p.status, p.start, p.length) == (206, start, length)
    assert header(p, "Content-Range") == content_range
    assert header(p, "Content-Length") == str(length)


@pytest.mark.parametrize("raw", ["bytes=1000-", "bytes=5000-6000", "bytes=-0"])
def test_an_unsatisfiable_range_is_a_416_naming_the_size(raw):
    p = plan({"Range": raw})
    assert p.status == 416
    assert p.length == 0
    assert header(p, "Content-Range") == "bytes */1000"


@pytest.mark.parametrize("raw", ["bytes=0-1,5-9", "items=0-5", "bytes=abc", "bytes=9-2"])
def test_ranges_we_do_not_serve_are_ignored_for_the_whole_file(raw):
    p = plan({"Range": raw})
    assert (p.status, p.length) == (200, SIZE)


def test_head_ignores_range_and_reports_the_full_length():
    p = plan({"Range": "bytes=0-9"}, method="HEAD")
    assert p.status == 200
    assert header(p, "Content-Length") == str(SIZE)


@pytest.mark.parametrize("inm", ['"abc123"', 'W/"abc123"', '"other", "abc123"', "*"])
def test_if_none_match_with_our_etag_is_a_304_without_body(inm):
    p = plan({"If-None-Match": inm, "Range": "bytes=0-9"})
    assert p.status == 304
    assert p.length == 0
    assert header(p, "ETag") == '"abc123"'


def test_if_none_match_with_another_etag_serves_the_file_and_overrides_if_modified_since():
    p = plan({"If-None-Match": '"old"', "If-Modified-Since": http_date(MTIME + 100)})
    assert p.status == 200


def test_if_modified_since_not_before_mtime_is_a_304_and_older_is_a_200():
    assert plan({"If-Modified-Since": http_date(MTIME)}).status == 304
    assert plan({"If-Modified-Since": http_date(MTIME + 60)}).status == 304
    assert plan({"If-Modified-Since": http_date(MTIME - 1)}).status == 200
    assert plan({"If-Modified-Since": "not a date"}).status == 200


def test_if_range_with_the_current_etag_or_date_keeps_the_range():
    assert plan({"Range": "bytes=0-9", "If-Range": '"abc123"'}).status == 206
    assert plan({"Range": "bytes=0-9", "If-Range": http_date(MTIME)}).status == 206


def test_if_range_with_a_stale_or_weak_validator_sends_the_whole_file():
    assert plan({"Range": "bytes=0-9", "If-Range": '"old"'}).status == 200
    assert plan({"Range": "bytes=0-9", "If-Range": 'W/"abc123"'}).status == 200
    assert plan({"Range": "bytes=0-9", "If-Range": http_date(MTIME - 10)}).status == 200


def test_if_match_with_another_etag_is_a_412_and_with_ours_proceeds():
    assert plan({"If-Match": '"old"'}).status == 412
    assert plan({"If-Match": '"abc123"', "Range": "bytes=0-0"}).status == 206
    assert plan({"If-Unmodified-Since": http_date(MTIME - 10)}).status == 412


def test_an_empty_file_is_served_whole_and_any_range_of_it_is_unsatisfiable():
    empty = FileInfo(0, MTIME, "e")
    assert (plan(info=empty).status, plan(info=empty).length) == (200, 0)
    assert plan({"Range": "bytes=0-"}, info=empty).status == 416


@given(size=st.integers(1, 10**12), data=st.data())
def test_any_satisfiable_range_covers_exactly_the_bytes_asked_for(size, data):
    first = data.draw(st.integers(0, size - 1))
    last = data.draw(st.integers(first, size + 10))
    p = plan({"Range": f"bytes={first}-{last}"}, info=FileInfo(size, MTIME, "x"))
    end = min(last, size - 1)
    assert (p.status, p.start, p.length) == (206, first, end - first + 1)
    assert header(p, "Content-Range") == f"bytes {first}-{end}/{size}"
    assert header(p, "Content-Length") == str(end - first + 1)


def test_an_open_ended_range_is_capped_when_asked_and_says_so_in_content_range():
    big = FileInfo(10_000_000, MTIME, "b")
    p = plan_response("GET", {"Range": "bytes=100-"}, big, "video/mp4", open_range_cap=1000)
    assert (p.status, p.start, p.length) == (206, 100, 1000)
    assert header(p, "Content-Range") == "bytes 100-1099/10000000"
    near_end = plan_response("GET", {"Range": "bytes=9999500-"}, big, "video/mp4", open_range_cap=1000)
    assert header(near_end, "Content-Range") == "bytes 9999500-9999999/10000000"


def test_explicit_and_suffix_ranges_and_whole_files_are_never_capped():
    big = FileInfo(10_000_000, MTIME, "b")
    explicit = plan_response("GET", {"Range": "bytes=0-4999999"}, big, "video/mp4", open_range_cap=1000)
    suffix = plan_response("GET", {"Range": "bytes=-5000"}, big, "video/mp4", open_range_cap=1000)
    whole = plan_response("GET", {}, big, "video/mp4", open_range_cap=1000)
    assert (explicit.length, suffix.length, whole.length) == (5_000_000, 5000, 10_000_000)
