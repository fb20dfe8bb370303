"""Views: box-to-box sharing. Another box on the LAN reads our active packs, read-only, to import them itself."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, abort, jsonify, send_file

from edge_server import fleet
from edge_server.web.app import get_db, get_settings
from edge_server.web.media import DOWNLOAD_HEADERS
from sync import packs

bp = Blueprint("share", __name__, url_prefix="/share/v1")


@lru_cache(maxsize=64)
def _served_paths(manifest_path: Path, mtime_ns: int) -> frozenset[str]:
    """The files one active pack may serve: its manifest, signature, and what the manifest lists."""
    try:
        manifest = packs.parse_manifest(manifest_path.read_bytes())
    except (OSError, packs.PackError):
        return frozenset()
    return frozenset({packs.MANIFEST, packs.SIGNATURE, *(f.path for f in manifest.files)})


@bp.get("/channels")
def channels() -> Any:
    """Active channels and their versions, for a nearby box deciding what to pull (province packs only)."""
    db = get_db()
    keys = ("id", "title", "language", "level", "version", "manifest_created", "expires")
    items = [{k: c.summary()[k] for k in keys} for c in fleet.shareable_channels(db)]
    return jsonify({"box_id": fleet.meta(db).get("box_id", ""), "channels": items})


@bp.get("/channels/<channel_id>/<path:path>")
def channel_file(channel_id: str, path: str) -> Any:
    """One file of a channel's active pack; only what its manifest lists, so no path can escape."""
    found = fleet.shared_pack_dir(get_db(), get_settings(), channel_id)
    if found is None:
        abort(404)
    pack_dir, _version = found
    manifest_path = pack_dir / packs.MANIFEST
    if path not in _served_paths(manifest_path, manifest_path.stat().st_mtime_ns):
        abort(404)
    target = pack_dir / path
    if target.is_symlink() or not target.is_file():
        abort(404)
    # conditional=True: ETag and byte ranges, so an interrupted pull of a big video can resume.
    response = send_file(target, conditional=True, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Another box reads these, never a browser: a pack's HTML or SVG opened here must not run as this box.
    response.headers.update(dict(DOWNLOAD_HEADERS))
    return response


def init_app(app: Flask) -> None:
    """Register this blueprint."""
    app.register_blueprint(bp)
