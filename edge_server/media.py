"""Media serving: byte ranges, ETags, sendfile, no path escapes.

GET /media/<channel>/<path> serves a file of the channel's active folder (the `channels` row's `path`).
The range and conditional logic is done here rather than by werkzeug, because werkzeug's range
support wraps the file and so loses the WSGI server's sendfile path; here the body is always
`wsgi.file_wrapper` over a file seeked to the first byte with an exact Content-Length, which gunicorn
turns into one sendfile() call for full and ranged responses alike.
"""

from __future__ import annotations

import json
import os
import re
import stat
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils
from flask import Blueprint, Flask, Response, abort, current_app, request
from werkzeug.http import http_date, parse_date, parse_etags, parse_if_range_header, parse_range_header
from werkzeug.wsgi import FileWrapper

from edge_server.db import connect, one
from edge_server.settings import Settings

bp = Blueprint("media", __name__)

CHUNK = 64 * 1024
# Pack folders are versioned but the URL is not, so keep browser caching short and revalidate by ETag.
PACK_CACHE_CONTROL = "public, max-age=600"
LOCAL_CACHE_CONTROL = "no-cache"

MIME_TYPES: dict[str, str] = {
    ".ogg": "audio/ogg", ".oga": "audio/ogg", ".opus": "audio/ogg; codecs=opus", ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4", ".aac": "audio/aac", ".wav": "audio/wav", ".flac": "audio/flac", ".weba": "audio/webm",
    ".mp4": "video/mp4", ".m4v": "video/mp4", ".webm": "video/webm", ".ogv": "video/ogg",
    ".vtt": "text/vtt; charset=utf-8", ".srt": "application/x-subrip", ".json": "application/json",
    ".txt": "text/plain; charset=utf-8", ".md": "text/markdown; charset=utf-8", ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8", ".pdf": "application/pdf",
    ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
    ".webp": "image/webp", ".svg": "image/svg+xml", ".ico": "image/x-icon",
}
DEFAULT_MIME = "application/octet-stream"

_DRIVE = re.compile(r"^[A-Za-z]:")
_ZERO_SUFFIX = re.compile(r"^\s*bytes\s*=\s*-0+\s*$")


# --- pure helpers -------------------------------------------------------------------------------

def clean_relative_path(path: str) -> str | None:
    """The path if it is a plain relative path inside a folder, else None (refused)."""
    if not path or "\x00" in path or "\\" in path or path.startswith("/") or _DRIVE.match(path):
        return None
    parts = path.split("/")
    # Empty, "." and ".." segments are refused rather than normalised; hidden names too (.staging, .git).
    if any(not part or part.startswith(".") for part in parts):
        return None
    if any(ord(ch) < 32 or ch == "\x7f" for ch in path):
        return None
    return path


def mime_type(path: str) -> str:
    """The Content-Type for a file name, by extension."""
    return MIME_TYPES.get(os.path.splitext(path)[1].lower(), DEFAULT_MIME)


@dataclass(frozen=True)
class FileInfo:
    """What the response depends on: size, modification time (seconds) and a strong ETag (unquoted)."""

    size: int
    mtime: int
    etag: str


@dataclass(frozen=True)
class Plan:
    """The response to send: status, headers, and which bytes of the file form the body."""

    status: int
    headers: list[tuple[str, str]]
    start: int = 0
    length: int = 0


def stat_etag(st: os.stat_result) -> str:
    """A strong ETag from size and mtime, for files whose sha256 is not known."""
    return f"{st.st_size:x}-{st.st_mtime_ns:x}"


def _match_strong(header: str, etag: str) -> bool:
    etags = parse_etags(header)
    return etags.star_tag or etags.contains(etag)


def plan_response(method: str, headers: Mapping[str, str], info: FileInfo, content_type: str,
                  cache_control: str = PACK_CACHE_CONTROL) -> Plan:
    """Decide status, headers and byte range for a GET or HEAD of a file (RFC 9110 sections 13 and 14)."""
    validators = [("ETag", f'"{info.etag}"'), ("Last-Modified", http_date(info.mtime)),
                  ("Cache-Control", cache_control)]
    common = [*validators, ("Accept-Ranges", "bytes")]
    last_modified = parse_date(http_date(info.mtime))

    if_match = headers.get("If-Match")
    if if_match is not None:
        if not _match_strong(if_match, info.etag):
            return Plan(412, [*common, ("Content-Length", "0")])
    else:
        since = parse_date(headers.get("If-Unmodified-Since"))
        if since is not None and last_modified is not None and last_modified > since:
            return Plan(412, [*common, ("Content-Length", "0")])

    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None:
        if parse_etags(if_none_match).contains_weak(info.etag):
            return Plan(304, validators)
    else:
        since = parse_date(headers.get("If-Modified-Since"))
        if since is not None and last_modified is not None and last_modified <= since:
            return Plan(304, validators)

    body = [*common, ("Content-Type", content_type), ("X-Content-Type-Options", "nosniff")]
    raw_range = headers.get("Range")
    # Range is defined for GET only; HEAD reports the full representation.
    if raw_range is None or method != "GET" or not _if_range_holds(headers.get("If-Range"), info, last_modified):
        return Plan(200, [*body, ("Content-Length", str(info.size))], 0, info.size)
    if _ZERO_SUFFIX.match(raw_range):
        return _unsatisfiable(common, info)
    parsed = parse_range_header(raw_range)
    # Unparsable ranges, other units and multiple ranges are ignored: the full file is a valid answer.
    if parsed is None or parsed.units != "bytes" or len(parsed.ranges) != 1:
        return Plan(200, [*body, ("Content-Length", str(info.size))], 0, info.size)
    span = _span(parsed.ranges[0], info.size)
    if span is None:
        return _unsatisfiable(common, info)
    start, stop = span
    return Plan(206, [*body, ("Content-Length", str(stop - start)),
                      ("Content-Range", f"bytes {start}-{stop - 1}/{info.size}")], start, stop - start)


def _span(spec: tuple[int, int | None], size: int) -> tuple[int, int] | None:
    """[start, stop) of one parsed byte range for a file of `size`, or None if unsatisfiable."""
    first, stop = spec
    if first < 0:
        # Suffix range: a suffix longer than the file means the whole file (werkzeug would refuse it).
        first = max(0, size + first)
        stop = size
    stop = size if stop is None else min(stop, size)
    if first >= size or first >= stop:
        return None
    return first, stop


def _unsatisfiable(common: list[tuple[str, str]], info: FileInfo) -> Plan:
    return Plan(416, [*common, ("Content-Range", f"bytes */{info.size}"), ("Content-Length", "0")])


def _if_range_holds(raw: str | None, info: FileInfo, last_modified: Any) -> bool:
    """True when there is no If-Range, or it names the current representation (strong comparison)."""
    if raw is None:
        return True
    if_range = parse_if_range_header(raw)
    if if_range.etag is not None:
        return not raw.lstrip().startswith("W/") and if_range.etag == info.etag
    return if_range.date is not None and last_modified is not None and if_range.date == last_modified


def can_read(channel: str, path: str) -> bool:
    """Whether the current request may read this file: anyone on the LAN may, for now (pupil pages play it)."""
    return True


# --- files and channels ---------------------------------------------------------------------------

class _Slice:
    """A file seeked to `start` that reads at most `length` bytes; fileno() lets the server sendfile it."""

    def __init__(self, fh: Any, start: int, length: int) -> None:
        self._fh = fh
        self._remaining = length
        os.lseek(fh.fileno(), start, os.SEEK_SET)

    def fileno(self) -> int:
        return self._fh.fileno()

    def read(self, size: int = -1) -> bytes:
        n = self._remaining if size is None or size < 0 else min(size, self._remaining)
        if n <= 0:
            return b""
        data = self._fh.read(n)
        self._remaining -= len(data)
        return data

    def close(self) -> None:
        self._fh.close()


def channel_folder(db: sqlite_utils.Database, data_dir: Path, channel: str) -> tuple[Path, bool] | None:
    """The active folder of a channel and whether it is the local (teacher uploads) channel, or None."""
    row = one(db, "SELECT version, path, local FROM channels WHERE id = ?", (channel,))
    if row is None:
        return None
    folder = Path(row["path"]) if row["path"] else Path("content") / channel / f"v{row['version']}"
    return (folder if folder.is_absolute() else data_dir / folder), bool(row["local"])


class MediaStore:
    """Finds media files for one box: channel folders from box.db, sha256 ETags from pack manifests."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._local = threading.local()
        self._manifests: dict[str, tuple[int, dict[str, tuple[str, int]]]] = {}
        self._lock = threading.Lock()

    def _db(self) -> sqlite_utils.Database:
        # One connection per server thread: a media request is a single indexed lookup.
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = connect(self.settings.db_path)
        return db

    def folder(self, channel: str) -> tuple[Path, bool] | None:
        """The active folder of a channel (see channel_folder)."""
        return channel_folder(self._db(), self.settings.data_dir, channel)

    def manifest_files(self, folder: Path) -> dict[str, tuple[str, int]]:
        """path -> (sha256, size) from the folder's manifest.json, cached while the manifest is unchanged."""
        manifest = folder / "manifest.json"
        try:
            mtime = manifest.stat().st_mtime_ns
        except OSError:
            return {}
        key = str(folder)
        cached = self._manifests.get(key)
        if cached is not None and cached[0] == mtime:
            return cached[1]
        try:
            files = json.loads(manifest.read_text(encoding="utf-8")).get("files", [])
            table = {f["path"]: (str(f["sha256"]), int(f["size"])) for f in files}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            table = {}
        with self._lock:
            self._manifests[key] = (mtime, table)
        return table

    def etag(self, folder: Path, path: str, st: os.stat_result) -> str:
        """The manifest's sha256 when it describes this file, else size and mtime."""
        known = self.manifest_files(folder).get(path)
        if known is not None and known[1] == st.st_size:
            return known[0]
        return stat_etag(st)


def resolve(folder: Path, path: str) -> Path | None:
    """The real file for a clean relative path, or None if missing or if it (or a link) leaves the folder."""
    try:
        root = os.path.realpath(folder, strict=True)
        target = os.path.realpath(os.path.join(root, path), strict=True)
    except (OSError, ValueError):
        return None
    if os.path.commonpath([root, target]) != root or target == root:
        return None
    return Path(target)


# --- the view -------------------------------------------------------------------------------------

def _store() -> MediaStore:
    return current_app.extensions["media_store"]


# merge_slashes=False: "//etc/passwd" must reach the path check and be refused, not be redirected.
@bp.route("/media/<channel>/<path:path>", methods=["GET", "HEAD"], merge_slashes=False)
def serve_media(channel: str, path: str) -> Response:
    """One media file of a channel's active version, with ranges and conditional requests."""
    rel = clean_relative_path(path)
    if rel is None:
        abort(404)
    store = _store()
    found = store.folder(channel)
    if found is None:
        abort(404)
    folder, local = found
    target = resolve(folder, rel)
    if target is None:
        abort(404)
    if not can_read(channel, rel):
        abort(403)
    try:
        fh = open(target, "rb", buffering=0)  # noqa: SIM115 - closed by the WSGI server via the wrapper
    except OSError:
        abort(404)
    try:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            abort(404)
        info = FileInfo(st.st_size, int(st.st_mtime), store.etag(folder, rel, st))
        plan = plan_response(request.method, request.headers, info, mime_type(rel),
                             LOCAL_CACHE_CONTROL if local else PACK_CACHE_CONTROL)
        if plan.length == 0 or request.method == "HEAD":
            fh.close()
            return _empty(plan)
        wrapper = request.environ.get("wsgi.file_wrapper", FileWrapper)
        body = wrapper(_Slice(fh, plan.start, plan.length), CHUNK)
    except BaseException:
        fh.close()
        raise
    # direct_passthrough hands the wrapper itself to the server, which then sendfiles it.
    return current_app.response_class(body, status=plan.status, headers=plan.headers, direct_passthrough=True)


def _empty(plan: Plan) -> Response:
    """A response without body whose headers (Content-Length included) are exactly the plan's."""
    response = current_app.response_class(b"", status=plan.status)
    for name, value in plan.headers:
        response.headers[name] = value
    return response


def init_app(app: Flask) -> None:
    """Register this blueprint and the app's media store."""
    app.extensions["media_store"] = MediaStore(app.extensions["settings"])
    app.register_blueprint(bp)
