"""Media serving: byte ranges, ETags, sendfile, no path escapes.

GET /media/<channel>/<path> serves a file of the channel's active folder (the `channels` row's `path`).
It is a small WSGI app mounted at /media in front of Flask (init_app), so that the hundreds of range
requests of one lesson video skip sessions, CSRF, locale and rate limiting. Pack media is public course content;
the local channel (teachers' recordings) is served only with a good pupil or teacher session cookie, opened here
with the Flask app's own session interface and judged by auth.signed_in. An expired pack answers 410 Gone.
The range and conditional logic is done here rather than by werkzeug, because werkzeug's range
support wraps the file and so loses the WSGI server's sendfile path; here the body is always
`wsgi.file_wrapper` over a file seeked to the first byte with an exact Content-Length, which gunicorn
turns into one sendfile() call for full and ranged responses alike.
Layout: pure decisions (paths, MIME types, plan_response), then files and channels, then the WSGI app.
"""

from __future__ import annotations

import hmac
import json
import os
import re
import stat
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import sqlite_utils
from flask import Flask
from werkzeug.http import http_date, parse_date, parse_etags, parse_if_range_header, parse_range_header
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.wrappers import Request
from werkzeug.wsgi import FileWrapper

from edge_server.catalog import is_expired, parse_floor
from edge_server.settings import Settings
from edge_server.store import channels as channel_store
from edge_server.store.db import connect
from edge_server.web.auth import signed_in

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
# What a browser may show inline from the box's origin: media, raster images, captions, PDF, JSON and plain text
# (with nosniff none of these runs script). Anything else a pack holds (HTML, SVG, XML, CSS, unknown types) would
# run its scripts as the box if opened, so it is a download in a sandbox with no rights at all.
INLINE_TYPES = ("audio/", "video/", "image/png", "image/jpeg", "image/gif", "image/webp", "image/x-icon", "text/vtt",
                "application/pdf", "application/json", "text/plain")
DOWNLOAD_HEADERS = (("Content-Disposition", "attachment"), ("Content-Security-Policy", "sandbox; default-src 'none'"))
# A browser asks a video for "bytes=0-" and then stops reading once its buffer is full, which would hold a
# server thread in sendfile() for as long as the pupil watches: 32 paused tablets would stall the box.
# Answering open-ended ranges with at most 1 MiB (this fits in the kernel's socket buffers, about 3.9 MB on
# loopback for a client that reads nothing) frees the thread at once, and the player asks for the next part
# (checked with Chromium playing a 21 MB file through; explicit ranges, as Safari sends, are not capped).
OPEN_RANGE_CAP = 1024 * 1024

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


def shown_inline(content_type: str) -> bool:
    """Whether a file of this type may be shown by the browser (else: a sandboxed download, see INLINE_TYPES)."""
    return content_type.split(";")[0].strip().lower().startswith(INLINE_TYPES)


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
                  cache_control: str = PACK_CACHE_CONTROL, open_range_cap: int | None = None) -> Plan:
    """Decide status, headers and byte range for a GET or HEAD of a file (RFC 9110 sections 13 and 14).

    With open_range_cap, an open-ended range ("bytes=N-") gets at most that many bytes, in a 206 whose
    Content-Range says so; media players then ask for the next part when they need it.
    """
    validators = [("ETag", f'"{info.etag}"'), ("Last-Modified", http_date(info.mtime)),
                  ("Cache-Control", cache_control)]
    common = [*validators, ("Accept-Ranges", "bytes")]
    last_modified = datetime.fromtimestamp(info.mtime, UTC)

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

    body = [*common, ("Content-Type", content_type), ("X-Content-Type-Options", "nosniff"),
            *(() if shown_inline(content_type) else DOWNLOAD_HEADERS)]
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
    span = _span(parsed.ranges[0], info.size, open_range_cap)
    if span is None:
        return _unsatisfiable(common, info)
    start, stop = span
    return Plan(206, [*body, ("Content-Length", str(stop - start)),
                      ("Content-Range", f"bytes {start}-{stop - 1}/{info.size}")], start, stop - start)


def _span(spec: tuple[int, int | None], size: int, open_cap: int | None = None) -> tuple[int, int] | None:
    """[start, stop) of one parsed byte range for a file of `size`, or None if unsatisfiable."""
    first, stop = spec
    if first < 0:
        # Suffix range: a suffix longer than the file means the whole file (werkzeug would refuse it).
        first = max(0, size + first)
        stop = size
    elif stop is None and open_cap:
        stop = first + open_cap
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


def can_read(local: bool, signed_in: bool) -> bool:
    """Whether a request may read a file: national pack content is public course content, anyone on the LAN may;
    the local channel (teachers' classroom recordings: children's voices and names) needs a pupil or teacher login."""
    return signed_in or not local


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


# realpaths of channel folders a MediaStore remembers (one per active version; cleared when full)
ROOTS_MAX = 256


class ChannelFolder(NamedTuple):
    """A channel's active folder, whether it is the local (teacher uploads) channel, and its pack's expiry."""

    path: Path
    local: bool
    expires: str | None


def channel_folder(db: sqlite_utils.Database, data_dir: Path, channel_id: str) -> ChannelFolder | None:
    """The active folder of a channel, whether it is local and when it expires, or None."""
    channel = channel_store.get(db, channel_id)
    if channel is None:
        return None
    return ChannelFolder(channel.folder(data_dir), channel.local, channel.expires)


class MediaStore:
    """Finds media files for one box: channel folders from box.db, sha256 ETags from pack manifests."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._local = threading.local()
        self._manifests: dict[str, tuple[int, dict[str, tuple[str, int]]]] = {}
        self._roots: dict[str, str] = {}
        self._lock = threading.Lock()

    def _db(self) -> sqlite_utils.Database:
        # One connection per server thread: a media request is a single indexed lookup.
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = connect(self.settings.db_path)
        return db

    def folder(self, channel: str) -> ChannelFolder | None:
        """The active folder of a channel (see channel_folder)."""
        return channel_folder(self._db(), self.settings.data_dir, channel)

    def expired(self, expires: str | None) -> bool:
        """Whether a pack expiring at `expires` has expired by the box's trusted time (max(clock, floor))."""
        return expires is not None and is_expired(expires, channel_store.box_trusted_now(self._db()))

    def seconds_left(self, expires: str | None) -> int:
        """Whole seconds until a pack expires by the box's trusted time (a large number for never)."""
        moment = parse_floor(expires)
        if moment is None:
            return 1 << 30
        return int((moment - channel_store.box_trusted_now(self._db())).total_seconds())

    def signed_in(self, session: Mapping[str, Any]) -> bool:
        """Whether an opened session is a good pupil or teacher session (the same test as the Flask views)."""
        return signed_in(session, self._db(), float(self.settings.session_hours) * 3600)

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

    def real_root(self, folder: str) -> str:
        """realpath of a channel folder, remembered: active folders change only when a pack is activated."""
        root = self._roots.get(folder)
        if root is None:
            root = os.path.realpath(folder, strict=True)
            with self._lock:
                if len(self._roots) >= ROOTS_MAX:
                    self._roots.clear()
                self._roots[folder] = root
        return root

    def etag(self, folder: Path, path: str, st: os.stat_result) -> str:
        """The manifest's sha256 when it describes this file, else size and mtime."""
        known = self.manifest_files(folder).get(path)
        if known is not None and known[1] == st.st_size:
            return known[0]
        return stat_etag(st)


def resolve(folder: Path | str, path: str, real_root: Callable[[str], str] = os.path.realpath) -> str | None:
    """The real file for a clean relative path, or None if missing or if it (or a link) leaves the folder.

    real_root(folder) gives the folder's realpath (MediaStore.real_root remembers them).
    """
    try:
        root = real_root(str(folder))
        target = root
        for part in path.split("/"):
            target = os.path.join(target, part)
            if stat.S_ISLNK(os.lstat(target).st_mode):
                # Rare: a link inside the pack. Follow it all the way and check where it lands.
                target = os.path.realpath(os.path.join(root, path), strict=True)
                break
    except (OSError, ValueError):
        return None
    if target == root or os.path.commonpath([root, target]) != root:
        return None
    return target


# --- the WSGI app mounted at /media ---------------------------------------------------------------

_STATUS = {200: "200 OK", 206: "206 Partial Content", 304: "304 Not Modified", 401: "401 Unauthorized",
           403: "403 Forbidden", 404: "404 Not Found", 405: "405 Method Not Allowed", 410: "410 Gone",
           412: "412 Precondition Failed", 416: "416 Range Not Satisfiable"}
_CONDITIONAL = {"Range": "HTTP_RANGE", "If-Range": "HTTP_IF_RANGE", "If-None-Match": "HTTP_IF_NONE_MATCH",
                "If-Modified-Since": "HTTP_IF_MODIFIED_SINCE", "If-Match": "HTTP_IF_MATCH",
                "If-Unmodified-Since": "HTTP_IF_UNMODIFIED_SINCE"}


class MediaApp:
    """The WSGI app behind /media/<channel>/<path>, mounted in front of Flask.

    A media request needs none of what Flask adds per request (session, CSRF, locale, rate limits), and a
    lesson video is hundreds of range requests, so this path is plain WSGI: one indexed lookup, one open,
    one sendfile. The access decision is still the app's: can_read(). For the local channel only, the Flask app's
    session interface opens the session cookie from the environ and auth.signed_in() judges it as the views do.
    """

    def __init__(self, settings: Settings, app: Flask | None = None) -> None:
        self.store = MediaStore(settings)
        self.app = app  # for its session interface; without it nobody is signed in here

    def _signed_in(self, environ: dict[str, Any]) -> bool:
        if self.app is None:
            return False
        session = self.app.session_interface.open_session(self.app, Request(environ))
        return session is not None and self.store.signed_in(session)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in ("GET", "HEAD"):
            return _error(start_response, 405, [("Allow", "GET, HEAD")])
        try:
            # PEP 3333: PATH_INFO holds the URL-decoded bytes as latin-1; names on disk are UTF-8.
            path_info = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8")
        except UnicodeError:
            return _error(start_response, 404)
        channel, _, rest = path_info.removeprefix("/").partition("/")
        rel = clean_relative_path(rest)
        if not channel or rel is None:
            return _error(start_response, 404)
        found = self.store.folder(channel)
        if found is None:
            return _error(start_response, 404)
        # Decided before the file is looked up, so an anonymous client cannot even tell which recordings exist.
        if not can_read(found.local, found.local and self._signed_in(environ)):
            return _error(start_response, 401, reason="log in as a pupil or teacher to play the school's recordings")
        if self.store.expired(found.expires):
            return _error(start_response, 410, reason=f"the pack of channel {channel} expired at {found.expires}: "
                                                     "it is no longer served")
        target = resolve(found.path, rel, self.store.real_root)
        if target is None:
            return _error(start_response, 404)
        try:
            fh = open(target, "rb", buffering=0)  # noqa: SIM115 - closed by the WSGI server via the wrapper
        except OSError:
            return _error(start_response, 404)
        try:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode):
                fh.close()
                return _error(start_response, 404)
            folder, local, _expires = found
            headers = {name: environ[key] for name, key in _CONDITIONAL.items() if key in environ}
            info = FileInfo(st.st_size, int(st.st_mtime), self.store.etag(folder, rel, st))
            plan = plan_response(method, headers, info, mime_type(rel),
                                 LOCAL_CACHE_CONTROL if local else PACK_CACHE_CONTROL, OPEN_RANGE_CAP)
            start_response(_STATUS[plan.status], plan.headers)
            if plan.length == 0 or method == "HEAD":
                fh.close()
                return []
            # The server's own wrapper over an fd seeked to the first byte: gunicorn sendfiles exactly
            # Content-Length bytes from there; any other server iterates it in CHUNK reads.
            wrapper = environ.get("wsgi.file_wrapper", FileWrapper)
            return wrapper(_Slice(fh, plan.start, plan.length), CHUNK)
        except BaseException:
            fh.close()
            raise


class MediaAccessApp:
    """/media-access/<channel>: the app's access decision for its nginx front (edge_server/web/front.py).

    200 names the channel's folder and cache policy, and how long nginx may reuse the answer (X-Accel-Expires:
    never for the local channel, whose readers are sessions that can be revoked; never past the pack's expiry).
    403 sends the media request itself to MediaApp, which gives the exact answer (401, 404, 410). Only requests
    carrying this start's front token are answered: the path is not part of the box's public API.
    """

    def __init__(self, media: MediaApp, token: str, cache_s: int) -> None:
        self.media = media
        self.token = token
        self.cache_s = cache_s

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        given = environ.get("HTTP_X_EDGE_FRONT", "")
        if not self.token or not hmac.compare_digest(given.encode(), self.token.encode()):
            return _error(start_response, 404)
        channel = environ.get("PATH_INFO", "").strip("/")
        store = self.media.store
        found = store.folder(channel) if channel and "/" not in channel else None
        if (found is None or not can_read(found.local, found.local and self.media._signed_in(environ))
                or store.expired(found.expires)):
            return _error(start_response, 403)
        cache_s = 0 if found.local else min(self.cache_s, store.seconds_left(found.expires))
        start_response("200 OK", [("Content-Length", "0"), ("X-Media-Folder", os.fsdecode(found.path)),
                                  ("X-Media-Cache-Control", LOCAL_CACHE_CONTROL if found.local else PACK_CACHE_CONTROL),
                                  ("X-Accel-Expires", str(max(0, cache_s)))])
        return []


def _error(start_response: Any, status: int, extra: list[tuple[str, str]] | None = None,
           reason: str | None = None) -> list[bytes]:
    body = (f"{_STATUS[status]}: {reason}" if reason else _STATUS[status]).encode()
    start_response(_STATUS[status], [("Content-Type", "text/plain; charset=utf-8"),
                                     ("Content-Length", str(len(body))), *(extra or [])])
    return [body]


def init_app(app: Flask) -> None:
    """Mount the media app at /media (and its front's access checks at /media-access) in front of the Flask app."""
    from edge_server.web.front import ACCESS_CACHE_S

    settings = app.extensions["settings"]
    media = MediaApp(settings, app)
    app.extensions["media_app"] = media
    mounts: dict[str, Any] = {"/media": media}
    if settings.front_token:
        mounts["/media-access"] = MediaAccessApp(media, settings.front_token, ACCESS_CACHE_S)
    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, mounts)  # type: ignore[method-assign]
