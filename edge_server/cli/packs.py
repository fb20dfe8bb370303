"""CLI commands: keys generate, pack build / verify / import / list, trusted-time."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from edge_server.cli import data_option, emit_json, fail, info, open_box
from sync.packs import PackError

path_arg = click.Path(path_type=Path)


def _expires(value: str | None) -> datetime | None:
    """--expires as an aware datetime; a value without a timezone means UTC."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        fail(f"--expires {value!r} is not ISO-8601 (e.g. 2027-07-31T00:00:00Z)")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _warn_floor_ahead(data_dir: Path, report: dict | None = None) -> None:
    """Say so when trusted time runs a day or more ahead of the system clock."""
    if report is None:
        from edge_server.store.channels import trusted_time

        with open_box(data_dir, migrate=False).db(readonly=True) as db:
            report = trusted_time(db)
    days = report["floor_ahead_s"] / 86400
    if days >= 1:
        info(f"warning: trusted time is {days:.0f} days ahead of the system clock ({report['floor']}), so packs that "
             "expire before then are refused. If a pack was signed with a wrong clock and this box's clock is right: "
             f"edge-server trusted-time --data {data_dir} --reset")


def register(main: click.Group) -> None:
    """Attach this module's commands to the edge-server group."""

    @main.group()
    def keys() -> None:
        """Pack-signing keys."""

    @keys.command("generate")
    @click.option("--out", "out", type=path_arg, required=True, help="Folder for signing.key and signing.pub.")
    @click.option("--force", is_flag=True, help="Overwrite an existing key pair.")
    def keys_generate(out: Path, force: bool) -> None:
        """Write OUT/signing.key (keep secret) and OUT/signing.pub (give to boxes as a trust anchor)."""
        from sync.trust import generate_keys

        try:
            private, public, kid = generate_keys(out, overwrite=force)
        except PackError as exc:
            fail(str(exc))
        info(f"key {kid}: private {private}, public {public}")
        emit_json({"key_id": kid, "private": str(private), "public": str(public)})

    @main.group()
    def pack() -> None:
        """Signed content packs."""

    @pack.command("build")
    @click.argument("src", type=path_arg)
    @click.argument("out", type=path_arg)
    @click.option("--key", "key_path", type=path_arg, required=True, help="signing.key")
    @click.option("--version", "version", type=click.IntRange(min=1), required=True, help="Pack version (> active).")
    @click.option("--expires", help="ISO-8601 expiry, e.g. 2027-07-31T00:00:00Z (default: never).")
    def pack_build(src: Path, out: Path, key_path: Path, version: int, expires: str | None) -> None:
        """Build a signed pack OUT from SRC (a folder with catalog.json and its files)."""
        from edge_server.packs_import import build_pack
        from sync.trust import read_private

        try:
            result = build_pack(src, out, read_private(key_path), version, _expires(expires), show_progress=True)
        except (PackError, OSError) as exc:
            fail(f"pack not built: {exc}")
        info(f"built {result['channel']} v{version} in {out} ({result['files']} files)")
        emit_json(result)

    @pack.command("verify")
    @click.argument("pack_dir", type=path_arg)
    @click.option("--trust", type=path_arg, required=True, help="Trusted public key (.pub) or a folder of them.")
    @click.option("--data", "data_dir", type=path_arg, default=None,
                  help="Also check rollback and expiry against this box's active version and trusted time.")
    def pack_verify(pack_dir: Path, trust: Path, data_dir: Path | None) -> None:
        """Check signature, files, paths, sizes and expiry; exit 0 or one line saying why not."""
        from edge_server.packs_import import verify_pack
        from sync.trust import trusted_keys

        try:
            trusted = trusted_keys(trust)
            active, now = None, None
            if data_dir is not None:
                from edge_server.store.channels import active_version, box_trusted_now
                from sync.packs import parse_manifest

                with open_box(data_dir, migrate=False).db(readonly=True) as db:
                    now = box_trusted_now(db)
                    manifest_path = pack_dir / "manifest.json"
                    if manifest_path.is_file() and manifest_path.stat().st_size < 2**20:
                        with_channel = parse_manifest(manifest_path.read_bytes())
                        active = active_version(db, with_channel.channel_id)
            verified = verify_pack(pack_dir, trusted, active, now, show_progress=True)
        except (PackError, OSError) as exc:
            fail(f"pack refused: {exc}")
        m = verified.manifest
        info(f"pack OK: {m.channel_id} v{m.version}, signed by {verified.key_id}")
        emit_json({"ok": True, "channel": m.channel_id, "version": m.version, "key_id": verified.key_id,
                   "created": m.created.isoformat(), "expires": m.expires.isoformat() if m.expires else None,
                   "files": len(m.files)})

    @pack.command("import")
    @click.argument("pack_dir", type=path_arg)
    @data_option
    def pack_import(pack_dir: Path, data_dir: Path) -> None:
        """Verify a pack and activate it atomically; the AI pipeline is queued for its media."""
        from edge_server.packs_import import import_pack

        if not (data_dir / "box.db").is_file():
            fail(f"no box in {data_dir}: run `edge-server init --data {data_dir} --trust PUB` first")
        try:
            result = import_pack(open_box(data_dir).settings, pack_dir, show_progress=True)
        except (PackError, OSError) as exc:
            fail(f"pack refused: {exc}")
        info(f"activated {result['channel']} v{result['version']} ({result['lessons']} lessons, "
             f"{result['jobs_queued']} AI jobs queued)")
        _warn_floor_ahead(data_dir)
        emit_json(result)

    @pack.command("list")
    @data_option
    @click.option("--json", "as_json", is_flag=True, help="JSON on stdout (the default output too).")
    def pack_list(data_dir: Path, as_json: bool) -> None:
        """Active channels and their versions."""
        from edge_server.store.channels import all_channels

        if not (data_dir / "box.db").is_file():
            fail(f"no box in {data_dir}: run `edge-server init --data {data_dir}` first")
        with open_box(data_dir, migrate=False).db(readonly=True) as db:
            channels = [c.listing() for c in all_channels(db, count_lessons=True)]
        if not as_json:
            for c in channels:
                info(f"{c['channel']}  v{c['version']}  {c['title']}  ({c['lessons']} lessons)")
        emit_json({"channels": channels})

    @main.command("trusted-time")
    @data_option
    @click.option("--reset", is_flag=True,
                  help="Lower the floor to the system clock (after a pack signed with a clock in the future).")
    @click.option("--yes", is_flag=True, help="Reset without asking.")
    def trusted_time_command(data_dir: Path, reset: bool, yes: bool) -> None:
        """The time the box judges pack expiry by: max(system clock, newest verified manifest); --reset repairs it."""
        from edge_server.packs_import import reset_floor
        from edge_server.store.channels import trusted_time
        from edge_server.store.db import write

        if not (data_dir / "box.db").is_file():
            fail(f"no box in {data_dir}: run `edge-server init --data {data_dir}` first")
        with open_box(data_dir).db() as db:
            report = trusted_time(db)
            if reset:
                if not yes:
                    click.confirm(f"lower the trusted-time floor from {report['floor']} to the system clock "
                                  f"{report['system_clock']}?", abort=True, err=True)
                try:
                    old = write(db, reset_floor)
                except PackError as exc:
                    fail(f"floor not reset: {exc}")
                report = {**trusted_time(db), "reset_from": old.isoformat(timespec="seconds") if old else None}
        info(f"trusted time {report['trusted_now']} (system clock {report['system_clock']}, floor {report['floor']})")
        _warn_floor_ahead(data_dir, report)
        emit_json(report)
