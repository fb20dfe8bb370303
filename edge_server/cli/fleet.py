"""CLI commands: fleet and LAN: discover nearby boxes, re-key a cloned box, pull a channel from a nearby box."""

from __future__ import annotations

from pathlib import Path

import click

from edge_server.cli import data_option, emit_json, fail, info, open_box


def _identity_json(check, data_dir: Path) -> dict:
    return {"box_id": check.identity.box_id, "rekeyed": check.rekeyed, "previous_box_id": check.previous_box_id,
            "reason": check.reason, "data": str(data_dir)}


def register(main: click.Group) -> None:
    """Attach this module's commands to the edge-server group."""

    @main.command()
    @click.option("--timeout", type=float, default=3.0, show_default=True,
                  help="Seconds to listen for answers (under ~1.5 s can miss boxes: mDNS repeats an answer at most "
                       "once a second).")
    @click.option("--mdns-interface", "interfaces", multiple=True,
                  help="Only use this interface address for mDNS (repeatable; tests use 127.0.0.1).")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON (the default; kept for scripts).")
    def discover(timeout: float, interfaces: tuple[str, ...], as_json: bool) -> None:
        """List classroom boxes announced on the LAN."""
        from edge_server.discovery import discover as run_discover

        if timeout <= 0:
            fail("--timeout must be a positive number of seconds")
        info(f"listening for boxes for {timeout:g} s…")
        try:
            boxes = run_discover(timeout, list(interfaces) or None)
        except OSError as exc:
            fail(f"cannot use mDNS on {', '.join(interfaces) or 'all interfaces'}: {exc}")
        info(f"{len(boxes)} box(es) found")
        emit_json({"boxes": boxes})

    @main.command()
    @data_option
    @click.option("--if-cloned", is_flag=True,
                  help="Re-key only when the identity looks copied from another box (what the service runs).")
    @click.option("--adopt-host", is_flag=True,
                  help="Keep the identity and record this host as its owner (a restore after a failed disk).")
    def rekey(data_dir: Path, if_cloned: bool, adopt_host: bool) -> None:
        """Give this box a new key, secret and box id, keeping content, pupils and progress."""
        from edge_server import identity as box

        if if_cloned and adopt_host:
            fail("--if-cloned and --adopt-host exclude each other: pick one")
        if not (data_dir / "keys" / "box.key").exists():
            fail(f"no box identity in {data_dir}: run `edge-server init --data {data_dir}` first")
        try:
            if adopt_host:
                check = box.adopt_host(data_dir)
            elif if_cloned:
                check = box.ensure_unique_identity(data_dir)
            else:
                check = box.rekey(data_dir)
        except (box.ProvisionError, OSError) as exc:
            fail(str(exc))
        if check.rekeyed:
            info(f"re-keyed: box {check.previous_box_id} is now {check.identity.box_id} ({check.reason})")
        else:
            info(f"box {check.identity.box_id} kept ({check.reason or 'identity belongs to this host'})")
        emit_json(_identity_json(check, data_dir))

    @main.group()
    def share() -> None:
        """Box-to-box sharing on the classroom LAN."""

    @share.command("pull")
    @click.option("--from", "source", required=True, metavar="http://HOST:PORT", help="The nearby box's address.")
    @click.option("--channel", "channel_id", required=True, help="The channel id to import.")
    @data_option
    @click.option("--timeout", type=float, default=30.0, show_default=True, help="Seconds per HTTP request.")
    def share_pull(source: str, channel_id: str, data_dir: Path, timeout: float) -> None:
        """Import a channel from a nearby box: same signature, rollback and file checks as any pack."""
        from tqdm import tqdm

        from edge_server.share_pull import ShareError, pull_channel

        if not source.startswith(("http://", "https://")):
            fail(f"--from must be an http:// address of a box, not {source!r}")
        if not (data_dir / "keys" / "trusted").is_dir():
            fail(f"{data_dir} is not a box data directory: run `edge-server init --data {data_dir} --trust PUB`")
        settings = open_box(data_dir).settings
        bar = tqdm(total=0, unit="B", unit_scale=True, desc=channel_id, file=click.get_text_stream("stderr"),
                   disable=None)

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        try:  # in the foreground, not through the job queue: the operator watches it and can stop it with Ctrl-C
            result = pull_channel(settings, source, channel_id, timeout=timeout, progress=progress)
        except ShareError as exc:
            fail(f"channel {channel_id} from {source} refused: {exc}")
        finally:
            bar.close()
        info(f"imported {result['channel']} version {result['version']} from {source}")
        emit_json(result)
