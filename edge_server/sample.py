"""The bundled sample course: sign it with a demo key and import it into a data directory."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from edge_server.packs_import import build_pack, import_pack
from edge_server.settings import load_settings
from edge_server.store.channels import active_version
from sync.trust import PRIVATE_NAME, PUBLIC_NAME, generate_keys, read_private

SAMPLE_COURSE = Path(__file__).resolve().parent / "sample_course"
SAMPLE_CHANNEL = "demo.science.primary"


def ensure_demo_key(keys_dir: Path) -> tuple[Path, Path]:
    """The demo signing key pair in keys_dir, generated once."""
    private, public = keys_dir / PRIVATE_NAME, keys_dir / PUBLIC_NAME
    if not (private.is_file() and public.is_file()):
        generate_keys(keys_dir, overwrite=True)
    return private, public


def build_and_import_sample(data_dir: Path, keys_dir: Path | None = None, *, force: bool = False,
                            show_progress: bool = False) -> dict[str, Any]:
    """Init data_dir if needed, trust a demo key (data_dir/../demo-keys), build and import the sample pack.

    Already imported: nothing changes (`imported` false) unless force, which imports the next version.
    """
    from edge_server.identity import init_data_dir

    keys_dir = keys_dir or data_dir.resolve().parent / "demo-keys"
    private, public = ensure_demo_key(keys_dir)
    init_data_dir(data_dir, trust=public)
    settings = load_settings(data_dir)
    from edge_server.store.db import connect

    db = connect(settings.db_path, readonly=True)  # init_data_dir has just brought the schema up to date
    try:
        current = active_version(db, SAMPLE_CHANNEL)
    finally:
        db.conn.close()
    if current is not None and not force:
        return {"channel": SAMPLE_CHANNEL, "version": current, "imported": False, "public_key": str(public)}
    with tempfile.TemporaryDirectory(prefix="sample-pack-") as tmp:
        pack = Path(tmp) / "pack"
        build_pack(SAMPLE_COURSE, pack, read_private(private), (current or 0) + 1, show_progress=show_progress)
        result = import_pack(settings, pack, show_progress=show_progress)
        shutil.rmtree(pack, ignore_errors=True)
    return {**result, "imported": True, "public_key": str(public)}
