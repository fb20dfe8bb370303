"""Content pack format: manifest model, canonical build, Ed25519 signing and every acceptance check (pure).

Nothing here touches the disk or the clock: callers pass bytes, file facts and the trusted time in.

manifest.sig is a small JSON document (UTF-8):
    {"format": 1, "algorithm": "ed25519", "key_id": "<16 hex>", "signature": "<base64 of 64 bytes>"}
where the signature covers the exact bytes of manifest.json, and key_id = first 16 hex digits of the
SHA-256 of the raw 32-byte public key (see key_id()).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

FORMAT = 1
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
CATALOG = "catalog.json"
MAX_MANIFEST_BYTES = 1024 * 1024
MAX_SIGNATURE_BYTES = 4096
MAX_CATALOG_BYTES = 4 * 1024 * 1024
MAX_FILES = 10_000
MAX_PATH_CHARS = 400
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
LANGUAGE_RE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8}){0,3}$")  # a BCP 47 tag: "fr", "zh-Hans"
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
EXERCISE_KINDS = ("choice", "number", "text")
MEDIA_KINDS = ("video", "audio")
RESERVED = {MANIFEST, SIGNATURE}
# Channel ids a box makes for itself (the teachers' recordings are "local.school"): no pack may publish one.
LOCAL_PREFIX = "local."


class PackError(Exception):
    """A pack is refused; the message is one line that says why."""


@dataclass(frozen=True)
class FileEntry:
    path: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Manifest:
    channel: dict[str, str]
    version: int
    created: datetime
    expires: datetime | None
    files: tuple[FileEntry, ...]

    @property
    def channel_id(self) -> str:
        return self.channel["id"]

    def entry(self, path: str) -> FileEntry | None:
        """The listed file at path, if any."""
        return next((f for f in self.files if f.path == path), None)


@dataclass(frozen=True)
class Signature:
    key_id: str
    signature: bytes


@dataclass(frozen=True)
class FileFacts:
    """What the caller observed about one listed file on disk (lstat plus streamed hash)."""

    exists: bool
    is_regular: bool = True
    is_link: bool = False
    size: int = 0
    sha256: str | None = None


# --- keys -------------------------------------------------------------------------------------------------

def public_raw(public_key: Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of a public key."""
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short stable id of a signing key: 16 hex digits of the SHA-256 of its raw bytes."""
    return hashlib.sha256(public_raw(public_key)).hexdigest()[:16]


def private_pem(key: Ed25519PrivateKey) -> bytes:
    """A private key as unencrypted PKCS#8 PEM."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def public_pem(public_key: Ed25519PublicKey) -> bytes:
    """A public key as SubjectPublicKeyInfo PEM."""
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_private(data: bytes) -> Ed25519PrivateKey:
    """Parse a PEM Ed25519 private key, or raise PackError."""
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise PackError(f"not a PEM private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise PackError("signing key is not an Ed25519 key")
    return key


def load_public(data: bytes) -> Ed25519PublicKey:
    """Parse a PEM (or 64-hex raw) Ed25519 public key, or raise PackError."""
    text = data.strip()
    try:
        if re.fullmatch(rb"[0-9a-fA-F]{64}", text):
            return Ed25519PublicKey.from_public_bytes(bytes.fromhex(text.decode()))
        key = serialization.load_pem_public_key(text)
    except (ValueError, TypeError) as exc:
        raise PackError(f"not an Ed25519 public key: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise PackError("trust key is not an Ed25519 key")
    return key


# --- time -------------------------------------------------------------------------------------------------

def parse_time(value: Any, field: str) -> datetime:
    """An ISO-8601 timestamp with a timezone, or PackError."""
    if not isinstance(value, str):
        raise PackError(f"manifest {field} must be an ISO-8601 string")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise PackError(f"manifest {field} is not ISO-8601: {value[:40]!r}") from exc
    if parsed.tzinfo is None:
        raise PackError(f"manifest {field} has no timezone: {value[:40]!r}")
    return parsed


def iso(moment: datetime) -> str:
    """A timestamp as ISO-8601 with seconds precision."""
    return moment.isoformat(timespec="seconds")


# --- paths ------------------------------------------------------------------------------------------------

def check_path(path: Any) -> str:
    """A manifest path must be a plain relative POSIX path inside the pack; return it or raise PackError."""
    if not isinstance(path, str) or not path:
        raise PackError("manifest file path must be a non-empty string")
    shown = path[:80].encode("unicode_escape").decode()
    if len(path) > MAX_PATH_CHARS:
        raise PackError(f"manifest path too long: {shown!r}")
    if "\x00" in path or any(ord(c) < 32 for c in path):
        raise PackError(f"manifest path has control characters: {shown!r}")
    if "\\" in path:
        raise PackError(f"manifest path has a backslash: {shown!r}")
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        raise PackError(f"manifest path is absolute: {shown!r}")
    parts = path.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise PackError(f"manifest path escapes or is not normal (.., ., //): {shown!r}")
    if str(PurePosixPath(path)) != path:
        raise PackError(f"manifest path is not normal: {shown!r}")
    if path in RESERVED:
        raise PackError(f"manifest may not list {path}")
    return path


# --- manifest ---------------------------------------------------------------------------------------------

def _load_json(data: bytes, what: str, cap: int) -> Any:
    if len(data) > cap:
        raise PackError(f"{what} is {len(data)} bytes, over the {cap}-byte cap")
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PackError(f"{what} is not valid JSON: {exc}") from exc


def _check_channel(channel: Any) -> dict[str, str]:
    if not isinstance(channel, dict):
        raise PackError("manifest channel must be an object")
    cid = channel.get("id")
    if not isinstance(cid, str) or not ID_RE.match(cid):
        raise PackError(f"manifest channel id is missing or invalid: {str(cid)[:40]!r}")
    if not isinstance(channel.get("title"), str) or not channel["title"].strip():
        raise PackError("manifest channel title is missing")
    for opt in ("language", "level"):
        if channel.get(opt) is not None and not isinstance(channel[opt], str):
            raise PackError(f"manifest channel {opt} must be a string")
    return {"id": cid, "title": channel["title"], "language": channel.get("language") or "",
            "level": channel.get("level") or ""}


def parse_manifest(data: bytes) -> Manifest:
    """Parse and validate manifest.json bytes (size cap, schema, paths, duplicates), or raise PackError."""
    raw = _load_json(data, MANIFEST, MAX_MANIFEST_BYTES)
    if not isinstance(raw, dict):
        raise PackError("manifest.json must be a JSON object")
    if raw.get("format") != FORMAT:
        raise PackError(f"unsupported pack format {raw.get('format')!r} (this box reads format {FORMAT})")
    channel = _check_channel(raw.get("channel"))
    version = raw.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise PackError("manifest version must be a positive integer")
    created = parse_time(raw.get("created"), "created")
    expires = None if raw.get("expires") is None else parse_time(raw["expires"], "expires")
    files_raw = raw.get("files")
    if not isinstance(files_raw, list) or not files_raw:
        raise PackError("manifest files must be a non-empty list")
    if len(files_raw) > MAX_FILES:
        raise PackError(f"manifest lists {len(files_raw)} files, over the cap of {MAX_FILES}")
    files: list[FileEntry] = []
    seen: set[str] = set()
    for item in files_raw:
        if not isinstance(item, dict):
            raise PackError("manifest file entry must be an object")
        path = check_path(item.get("path"))
        if path.casefold() in seen:
            raise PackError(f"manifest lists {path!r} twice")
        seen.add(path.casefold())
        sha = item.get("sha256")
        if not isinstance(sha, str) or not SHA256_RE.match(sha):
            raise PackError(f"manifest sha256 of {path!r} is not 64 lowercase hex digits")
        size = item.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise PackError(f"manifest size of {path!r} must be a non-negative integer")
        files.append(FileEntry(path, sha, size))
    prefixes = {p for f in files for p in _parents(f.path)}
    clash = next((f.path for f in files if f.path in prefixes), None)
    if clash:
        raise PackError(f"manifest lists {clash!r} both as a file and as a folder")
    manifest = Manifest(channel, version, created, expires, tuple(files))
    catalog = manifest.entry(CATALOG)
    if catalog is None:
        raise PackError("manifest does not list catalog.json")
    if catalog.size > MAX_CATALOG_BYTES:
        raise PackError(f"catalog.json is {catalog.size} bytes, over the {MAX_CATALOG_BYTES}-byte cap")
    return manifest


def _parents(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


def build_manifest(channel: dict[str, Any], version: int, created: datetime, expires: datetime | None,
                   files: list[FileEntry]) -> bytes:
    """Canonical manifest.json bytes: sorted keys, files sorted by path, UTF-8, trailing newline."""
    doc = {
        "format": FORMAT,
        "channel": {k: channel.get(k) for k in ("id", "title", "language", "level")},
        "version": version,
        "created": iso(created),
        "expires": iso(expires) if expires else None,
        "files": [{"path": f.path, "sha256": f.sha256, "size": f.size} for f in sorted(files, key=lambda f: f.path)],
    }
    data = (json.dumps(doc, sort_keys=True, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
    parse_manifest(data)  # never build what a box would refuse
    return data


# --- signatures -------------------------------------------------------------------------------------------

def sign(manifest_bytes: bytes, key: Ed25519PrivateKey) -> bytes:
    """manifest.sig bytes for the exact manifest bytes."""
    doc = {"format": FORMAT, "algorithm": "ed25519", "key_id": key_id(key.public_key()),
           "signature": base64.b64encode(key.sign(manifest_bytes)).decode()}
    return (json.dumps(doc, indent=1) + "\n").encode()


def parse_signature(data: bytes) -> Signature:
    """Parse manifest.sig, or raise PackError."""
    raw = _load_json(data, SIGNATURE, MAX_SIGNATURE_BYTES)
    if not isinstance(raw, dict) or raw.get("algorithm") != "ed25519":
        raise PackError("manifest.sig must be a JSON object with algorithm ed25519")
    kid = raw.get("key_id")
    if not isinstance(kid, str) or not re.fullmatch(r"[0-9a-f]{16}", kid):
        raise PackError("manifest.sig key_id must be 16 hex digits")
    try:
        sig = base64.b64decode(str(raw.get("signature", "")), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise PackError("manifest.sig signature is not base64") from exc
    if len(sig) != 64:
        raise PackError("manifest.sig signature must be 64 bytes")
    return Signature(kid, sig)


def check_signature(manifest_bytes: bytes, signature: Signature, trusted: dict[str, Ed25519PublicKey]) -> str:
    """Verify the signature against the trusted keys by key id; return the key id or raise PackError."""
    key = trusted.get(signature.key_id)
    if key is None:
        raise PackError(f"pack is signed by untrusted key {signature.key_id}: install its .pub as a trust anchor")
    try:
        key.verify(signature.signature, manifest_bytes)
    except InvalidSignature as exc:
        raise PackError(f"bad signature on manifest.json (key {signature.key_id}): the pack was altered") from exc
    return signature.key_id


# --- acceptance checks ------------------------------------------------------------------------------------

def check_version(manifest: Manifest, active_version: int | None) -> None:
    """No rollback: the version must be greater than the active one."""
    if active_version is not None and manifest.version <= active_version:
        raise PackError(f"channel {manifest.channel_id} version {manifest.version} is not newer than the active "
                        f"version {active_version} (rollback refused)")


def is_reserved_channel(channel_id: str) -> bool:
    """True for "local" and every "local.*" id (any letter case): channels the box itself owns."""
    lowered = channel_id.lower()
    return lowered == LOCAL_PREFIX.rstrip(".") or lowered.startswith(LOCAL_PREFIX)


def in_scope(channel_id: str, prefix: str) -> bool:
    """A scope line "cn.k12." covers cn.k12.*; "cn.k12" covers cn.k12 itself and cn.k12.*, never cn.k12x."""
    if prefix.endswith("."):
        return channel_id.startswith(prefix)
    return channel_id == prefix or channel_id.startswith(prefix + ".")


def check_publisher(channel_id: str, key: str, scope: tuple[str, ...] | None) -> None:
    """The signing key may publish this channel: never a reserved local one, and only inside the key's scope
    (None = no scope file: any channel that is not reserved)."""
    if is_reserved_channel(channel_id):
        raise PackError(f"channel {channel_id} is reserved for the box's own content (local.*): no pack may "
                        f"publish it")
    if scope is not None and not any(in_scope(channel_id, prefix) for prefix in scope):
        allowed = ", ".join(scope) or "no channel"
        raise PackError(f"key {key} may not publish channel {channel_id}: its scope file allows {allowed}")


def check_expiry(manifest: Manifest, trusted_now: datetime) -> None:
    """The pack must not be expired at the box's trusted time."""
    if manifest.expires is not None and manifest.expires <= trusted_now:
        raise PackError(f"pack expired at {iso(manifest.expires)} (trusted time {iso(trusted_now)})")


def check_file(entry: FileEntry, facts: FileFacts) -> None:
    """One listed file as observed: present, a regular file and no link, right size, right hash."""
    if not facts.exists:
        raise PackError(f"missing file {entry.path}")
    if facts.is_link:
        raise PackError(f"{entry.path} is a symbolic link (links are refused)")
    if not facts.is_regular:
        raise PackError(f"{entry.path} is not a regular file")
    if facts.size < entry.size:
        raise PackError(f"{entry.path} is truncated: {facts.size} bytes, manifest says {entry.size}")
    if facts.size > entry.size:
        raise PackError(f"{entry.path} is too big: {facts.size} bytes, manifest says {entry.size}")
    if facts.sha256 is not None and facts.sha256 != entry.sha256:
        raise PackError(f"{entry.path} does not match its sha256 (corrupted or altered)")


def check_channel_match(manifest: Manifest, catalog: dict[str, Any]) -> None:
    """catalog.json must describe the channel the signed manifest names."""
    if catalog["channel"]["id"] != manifest.channel_id:
        raise PackError(f"catalog.json channel {catalog['channel']['id']!r} differs from the manifest's "
                        f"{manifest.channel_id!r}")


def check_owners(kind: str, ids: list[str], owners: dict[str, str], channel_id: str) -> None:
    """Ids are unique on a box: refuse lesson/course/knowledge point/exercise ids owned by another channel."""
    for item in ids:
        owner = owners.get(item)
        if owner is not None and owner != channel_id:
            raise PackError(f"{kind} id {item!r} already belongs to channel {owner}: ids must be unique on a box")


# --- catalog ----------------------------------------------------------------------------------------------

def _req_str(obj: dict, key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        raise PackError(f"catalog.json: {where} needs a non-empty string {key!r}")
    return value


def _req_id(obj: dict, where: str, seen: set[str]) -> str:
    value = obj.get("id")
    if not isinstance(value, str) or not ID_RE.match(value):
        raise PackError(f"catalog.json: {where} has a missing or invalid id {str(value)[:40]!r}")
    if value in seen:
        raise PackError(f"catalog.json: duplicate id {value!r}")
    seen.add(value)
    return value


def _exercise(ex: Any, lesson_id: str, kps: set[str], seen: set[str]) -> dict[str, Any]:
    if not isinstance(ex, dict):
        raise PackError(f"catalog.json: an exercise of lesson {lesson_id} is not an object")
    eid = _req_id(ex, f"an exercise of lesson {lesson_id}", seen)
    kind = ex.get("kind")
    if kind not in EXERCISE_KINDS:
        raise PackError(f"catalog.json: exercise {eid} kind must be one of {', '.join(EXERCISE_KINDS)}")
    prompt = _req_str(ex, "prompt", f"exercise {eid}")
    kp = ex.get("knowledge_point")
    if kp is not None and kp not in kps:
        raise PackError(f"catalog.json: exercise {eid} names unknown knowledge point {kp!r}")
    answer, choices, tolerance = ex.get("answer"), ex.get("choices"), ex.get("tolerance")
    if kind == "choice":
        if not isinstance(choices, list) or len(choices) < 2 or not all(isinstance(c, str) for c in choices):
            raise PackError(f"catalog.json: choice exercise {eid} needs at least two string choices")
        if not isinstance(answer, int) or isinstance(answer, bool) or not 0 <= answer < len(choices):
            raise PackError(f"catalog.json: choice exercise {eid} answer must be the index of a choice")
    elif kind == "number":
        if not isinstance(answer, int | float) or isinstance(answer, bool):
            raise PackError(f"catalog.json: number exercise {eid} answer must be a number")
        if tolerance is not None and (not isinstance(tolerance, int | float) or tolerance < 0):
            raise PackError(f"catalog.json: number exercise {eid} tolerance must be a non-negative number")
        choices = None
    else:
        accepted = [answer] if isinstance(answer, str) else answer
        if not isinstance(accepted, list) or not accepted or not all(isinstance(a, str) for a in accepted):
            raise PackError(f"catalog.json: text exercise {eid} answer must be a string or a list of strings")
        choices = None
    difficulty = ex.get("difficulty", 2)
    if difficulty not in (1, 2, 3):
        raise PackError(f"catalog.json: exercise {eid} difficulty must be 1, 2 or 3")
    hint = ex.get("hint")
    if hint is not None and not isinstance(hint, str):
        raise PackError(f"catalog.json: exercise {eid} hint must be a string")
    return {"id": eid, "knowledge_point": kp, "kind": kind, "prompt": prompt, "choices": choices,
            "answer": answer, "tolerance": float(tolerance) if kind == "number" and tolerance is not None else None,
            "difficulty": difficulty, "hint": hint}


def parse_catalog(data: bytes, listed_paths: set[str] | None = None) -> dict[str, Any]:
    """Parse and validate catalog.json; media paths must be listed files when listed_paths is given."""
    raw = _load_json(data, CATALOG, MAX_CATALOG_BYTES)
    if not isinstance(raw, dict):
        raise PackError("catalog.json must be a JSON object")
    channel = _check_channel(raw.get("channel"))
    kps: list[dict[str, Any]] = []
    kp_ids: set[str] = set()
    for kp in raw.get("knowledge_points") or []:
        if not isinstance(kp, dict):
            raise PackError("catalog.json: a knowledge point is not an object")
        kid = _req_id(kp, "a knowledge point", kp_ids)
        desc = kp.get("description")
        kps.append({"id": kid, "name": _req_str(kp, "name", f"knowledge point {kid}"),
                    "description": desc if isinstance(desc, str) else None})
    courses_raw = raw.get("courses")
    if not isinstance(courses_raw, list):
        raise PackError("catalog.json: courses must be a list")
    course_ids: set[str] = set()
    lesson_ids: set[str] = set()
    exercise_ids: set[str] = set()
    courses: list[dict[str, Any]] = []
    for course in courses_raw:
        if not isinstance(course, dict):
            raise PackError("catalog.json: a course is not an object")
        cid = _req_id(course, "a course", course_ids)
        lessons = []
        for lesson in course.get("lessons") or []:
            if not isinstance(lesson, dict):
                raise PackError(f"catalog.json: a lesson of course {cid} is not an object")
            lid = _req_id(lesson, f"a lesson of course {cid}", lesson_ids)
            lkps = lesson.get("knowledge_points") or []
            if not isinstance(lkps, list) or any(k not in kp_ids for k in lkps) or len(set(lkps)) != len(lkps):
                raise PackError(f"catalog.json: lesson {lid} names unknown or repeated knowledge points")
            media = lesson.get("media")
            if media is not None:
                if not isinstance(media, dict) or media.get("kind") not in MEDIA_KINDS:
                    raise PackError(f"catalog.json: lesson {lid} media needs kind video or audio")
                mpath = check_path(media.get("path"))
                if listed_paths is not None and mpath not in listed_paths:
                    raise PackError(f"catalog.json: lesson {lid} media {mpath} is not listed in the manifest")
                media = {"path": mpath, "kind": media["kind"]}
            text = lesson.get("text")
            language = lesson.get("language")
            if language is not None and (not isinstance(language, str) or not LANGUAGE_RE.match(language)):
                raise PackError(f"catalog.json: lesson {lid} language must be a language tag such as \"fr\"")
            exercises = [_exercise(ex, lid, kp_ids, exercise_ids) for ex in lesson.get("exercises") or []]
            lessons.append({"id": lid, "title": _req_str(lesson, "title", f"lesson {lid}"),
                            "knowledge_points": list(lkps), "media": media,
                            "text": text if isinstance(text, str) else None, "exercises": exercises,
                            "language": language})
        courses.append({"id": cid, "title": _req_str(course, "title", f"course {cid}"),
                        "subject": course.get("subject"), "grade": None if course.get("grade") is None
                        else str(course.get("grade")), "lessons": lessons})
    return {"channel": channel, "knowledge_points": kps, "courses": courses}


def lesson_ids(catalog: dict[str, Any]) -> list[str]:
    """Every lesson id of a parsed catalog."""
    return [lesson["id"] for course in catalog["courses"] for lesson in course["lessons"]]
