"""CLI commands: sync push / pull / status."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from edge_server.cli import data_option, emit_json, fail, info, open_box

if TYPE_CHECKING:
    from edge_server.box import Box


def _require_box(data_dir: Path, **overrides: Any) -> Box:
    """Stop unless data_dir holds a box; the box, its schema brought up to date (the sync services do not migrate)."""
    if not (data_dir / "box.db").is_file():
        fail(f"no box in {data_dir}: run `edge-server init --data {data_dir} --trust PUB` first")
    return open_box(data_dir, **overrides)


def register(main: click.Group) -> None:
    """Attach this module's commands to the edge-server group."""

    @main.group()
    def sync() -> None:
        """Progress to the province's LRS, content from the pack origin."""

    @sync.command("push")
    @data_option
    @click.option("--lrs", "lrs_url", help="The LRS's xAPI base URL (statements go to URL/statements).")
    @click.option("--lrs-user", help="HTTP basic auth user (default: lrs_user in config.toml).")
    @click.option("--lrs-password", help="HTTP basic auth password (default: lrs_password in config.toml).")
    @click.option("--lrs-ca-file", type=click.Path(dir_okay=False),
                  help="The CA bundle (PEM) the LRS's certificate must chain to (default: lrs_ca_file).")
    @click.option("--allow-insecure-http", is_flag=True,
                  help="Send over plain http:// to a host other than this one (default: lrs_allow_insecure_http).")
    @click.option("--batch-size", type=click.IntRange(min=1), help="Statements per request (default: settings).")
    @click.option("--retries", type=click.IntRange(min=0), default=4, show_default=True,
                  help="Retries with backoff and jitter after a dropped link, before giving up until next time.")
    def push(data_dir: Path, lrs_url: str | None, lrs_user: str | None, lrs_password: str | None,
             lrs_ca_file: str | None, allow_insecure_http: bool, batch_size: int | None, retries: int) -> None:
        """Send unsent statements, oldest first; exit 0 only when nothing is left unsent."""
        from edge_server.sync_runs import SyncError, lrs_config, run_push

        settings = _require_box(data_dir, push_batch_size=batch_size).settings
        try:
            lrs = lrs_config(settings, lrs_url, lrs_user, lrs_password, lrs_ca_file, allow_insecure_http or None)
        except SyncError as exc:
            fail(str(exc))
        result = run_push(settings, lrs, retries=retries)
        emit_json(result)
        if result["error"]:
            fail(f"push stopped with {result['pending']} statements unsent: {result['error']}")
        if result["pending"]:
            fail(f"{result['pending']} statements left unsent: run `edge-server sync push` again")
        info(f"pushed {result['sent']} statements in {result['batches']} batches; nothing left unsent")

    @sync.command("pull")
    @data_option
    @click.option("--origin", help="rsync://HOST:PORT/MODULE, USER@HOST:PATH or ssh://USER@HOST:PORT/PATH over SSH "
                                   "with the box's key (default: pack_origin).")
    def pull(data_dir: Path, origin: str | None) -> None:
        """Pull new packs from the origin, then verify and activate them like `pack import`."""
        from edge_server.sync_runs import SyncError, run_pull

        box = _require_box(data_dir)
        try:
            result = run_pull(box.settings, origin)
        except SyncError as exc:
            fail(str(exc))
        emit_json(result)
        if result["error"]:
            fail(result["error"])
        for channel in result["channels"]:
            version = f" v{channel['version']}" if channel.get("version") else ""
            info(f"{channel['channel']}: {channel['status']}{version}")

    @sync.command("status")
    @data_option
    @click.option("--json", "as_json", is_flag=True, help="JSON on stdout (the default output too).")
    def status(data_dir: Path, as_json: bool) -> None:
        """Last push and pull, statements pending, active versions, last error, how the LRS is reached."""
        from edge_server.store.channels import trusted_time
        from edge_server.store.sync_state import summary
        from edge_server.sync_runs import lrs_check

        box = _require_box(data_dir)
        lrs = lrs_check(box.settings)
        with box.db(readonly=True) as db:
            emit_json({**summary(db), "trusted_time": trusted_time(db), "lrs": lrs})
        if lrs["problem"]:  # the JSON is the answer; the operator also hears that no push can work like this
            info(f"no push can reach the LRS: {lrs['problem']}")
