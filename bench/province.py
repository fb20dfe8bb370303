"""Province tools benchmark: AI precompute of the sample course on this CPU, jobs queued when a box imports the
precomputed pack (against the same pack without), and backup size and time of a box with 40 pupils and 10,000
attempts (and its restore).

Everything real: `edge-server ai precompute` with the installed models, a signed pack, a box import; a data dir with
the sample course and attempts recorded through the attempts importer (outbox and mastery written as on a box),
the real backup / restore code.
Run: .venv/bin/python -m bench.province [--attempts N] [--pupils N] [--skip-precompute] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.report import emit
from edge_server.backup import create_backup, restore_backup
from edge_server.identity import init_data_dir
from edge_server.packs_import import build_pack, import_pack
from edge_server.sample import SAMPLE_COURSE, build_and_import_sample
from edge_server.settings import load_settings
from sync.trust import generate_keys, read_private
from tests.sync_fixtures import EDGE, add_attempts


def precompute_figures(root: Path, threads: int | None) -> dict[str, Any]:
    """Precompute the sample course (CPU), then import it, and the plain course, into two fresh boxes."""
    src = root / "src"
    shutil.copytree(SAMPLE_COURSE, src)
    load = os.getloadavg()[0]
    started = time.perf_counter()
    done = subprocess.run([*EDGE, "ai", "precompute", str(src), "--device", "cpu",
                           *(["--threads", str(threads)] if threads else [])], capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1])
    report = json.loads(done.stdout)
    private, public, _kid = generate_keys(root / "keys")
    queued = {}
    for label, folder in (("precomputed", src), ("plain", SAMPLE_COURSE)):
        pack = root / f"pack-{label}"
        build_pack(folder, pack, read_private(private), 1)
        data = root / f"box-{label}"
        init_data_dir(data, trust=public)
        queued[label] = import_pack(load_settings(data), pack)["jobs_queued"]
    audio = sum(m.get("duration") or 0 for m in report["media"])
    return {"media": len(report["media"]), "audio_seconds": round(audio, 1), "wall_seconds": round(seconds, 1),
            "pipeline_seconds": report["seconds"], "threads": report["threads"], "cores": os.cpu_count(),
            "load_before": round(load, 2), "models": report["models"],
            "per_medium": [{k: m.get(k) for k in ("media", "seconds", "duration", "chapters", "summary")}
                           for m in report["media"]],
            "jobs_queued_precomputed": queued["precomputed"], "jobs_queued_plain": queued["plain"]}


def backup_figures(root: Path, pupils: int, attempts: int) -> dict[str, Any]:
    """Backup (without media, the nightly default) and restore of a box with that many pupils and attempts."""
    data = root / "var"
    build_and_import_sample(data, root / "keys")
    started = time.perf_counter()
    add_attempts(data, attempts, pupils=pupils)
    filled_s = time.perf_counter() - started
    wal = data / "box.db-wal"
    db_bytes = (data / "box.db").stat().st_size + (wal.stat().st_size if wal.exists() else 0)
    out: dict[str, Any] = {"pupils": pupils, "attempts": attempts, "fill_seconds": round(filled_s, 1),
                           "box_db_bytes": db_bytes}
    for label, media in (("backup", False), ("backup_with_media", True)):
        started = time.perf_counter()
        result = create_backup(data, root / f"{label}.tar.gz", with_media=media)
        out[label] = {"seconds": round(time.perf_counter() - started, 3), "bytes": result["bytes"],
                      "uncompressed_bytes": result["uncompressed_bytes"], "files": result["files"]}
    started = time.perf_counter()
    restore_backup(root / "backup.tar.gz", root / "restored")
    out["restore_seconds"] = round(time.perf_counter() - started, 3)
    return out


def table(r: dict[str, Any]) -> str:
    lines = []
    p = r.get("precompute")
    if p:
        lines.append(f"ai precompute of the sample course ({p['media']} media, {p['audio_seconds']:.0f} s of audio) on "
                     f"{p['cores']} cores, {p['threads']} threads, load {p['load_before']} before: "
                     f"{p['wall_seconds']:.1f} s wall ({p['pipeline_seconds']:.1f} s in the pipeline, "
                     f"real-time factor {p['pipeline_seconds'] / max(p['audio_seconds'], 1):.2f})")
        lines.append(f"  jobs queued on import: precomputed pack {p['jobs_queued_precomputed']}, "
                     f"same pack without {p['jobs_queued_plain']}")
    b = r.get("backup_box")
    if b:
        lines.append(f"box with {b['pupils']} pupils and {b['attempts']:,} attempts: "
                     f"box.db {b['box_db_bytes'] / 1e6:.2f} MB")
        for label in ("backup", "backup_with_media"):
            x = b[label]
            lines.append(f"  {label:18s} {x['bytes'] / 1e6:7.2f} MB in {x['seconds']:.2f} s "
                         f"({x['files']} files, {x['uncompressed_bytes'] / 1e6:.2f} MB before compression)")
        lines.append(f"  restore (without media) {b['restore_seconds']:.2f} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=10_000)
    parser.add_argument("--pupils", type=int, default=40)
    parser.add_argument("--skip-precompute", action="store_true", help="only the backup figures")
    parser.add_argument("--threads", type=int, default=None, help="model threads for precompute (default: cores)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-province-") as tmp:
        if not args.skip_precompute:
            result["precompute"] = precompute_figures(Path(tmp) / "precompute", args.threads)
        result["backup_box"] = backup_figures(Path(tmp) / "backup", args.pupils, args.attempts)
    emit(result, table, args.json)


if __name__ == "__main__":
    main()
