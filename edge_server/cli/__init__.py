"""The `edge-server` command: one entry point, subcommands registered from cli_* modules."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from edge_server import __version__

if TYPE_CHECKING:
    from edge_server.box import Box


class CliError(click.ClickException):
    """A failure reported as one line on stderr with a non-zero exit."""

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """Stop with one line on stderr."""
    err = CliError(message)
    err.exit_code = code
    raise err


def emit_json(data: Any) -> None:
    """Write a JSON document to stdout."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def info(message: str) -> None:
    """Write a human message to stderr."""
    click.echo(message, err=True)


data_option = click.option(
    "--data", "data_dir", type=click.Path(path_type=Path), default=Path("var"), show_default=True,
    help="The box's data directory.",
)


def open_box(data_dir: Path, *, migrate: bool = True, **overrides: Any) -> Box:
    """The box of a data directory, built once per command: Settings loaded, and box.db's schema brought up to date
    (creating box.db when missing, as the commands that write always did); `with box.db() as db:` then.
    migrate=False: a command that only reads takes the database as it is."""
    from edge_server.box import Box
    from edge_server.settings import load_settings

    ctx = click.get_current_context(silent=True)
    key = ("edge_server.box", str(data_dir), migrate, tuple(sorted(overrides.items())))
    if ctx is not None and key in ctx.meta:
        return ctx.meta[key]
    settings = load_settings(data_dir, **overrides)
    box = Box.start(settings) if migrate else Box(settings)
    if ctx is not None:
        ctx.meta[key] = box
    return box


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="edge-server")
def main() -> None:
    """The classroom box: offline content, local AI and sync for a rural school."""


@main.command()
@data_option
@click.option("--trust", type=click.Path(path_type=Path), help="Province signing public key (.pub).")
@click.option("--name", help="Friendly box name, shown on the LAN.")
def init(data_dir: Path, trust: Path | None, name: str | None) -> None:
    """Create a data directory, box identity and trust anchor."""
    from edge_server.identity import ProvisionError, init_data_dir, issue_setup_token

    try:
        identity = init_data_dir(data_dir, trust, name)
    except ProvisionError as exc:
        fail(str(exc))
    token = issue_setup_token(data_dir)
    _make_certificate(data_dir)
    info(f"box {identity.box_id} ready in {data_dir}")
    if token:
        _show_setup_token(token, data_dir)
    emit_json({"box_id": identity.box_id, "data": str(data_dir), "setup_token": token})


def _make_certificate(data_dir: Path) -> None:
    """The box's CA and https certificate, so that /install can offer the CA from the first start."""
    from edge_server import tls
    from edge_server.settings import load_settings

    try:
        tls.ensure(load_settings(data_dir))
    except tls.TlsError as exc:  # the box still serves http; `edge-server tls status` says what is wrong
        info(f"warning: no https certificate: {exc}")


def _show_setup_token(token: str, data_dir: Path) -> None:
    info(f"first teacher: open /teacher/setup on the box and type the setup token {token} "
         f"(shown only now; `edge-server setup-token --data {data_dir}` makes a new one)")


@main.command("setup-token")
@data_option
def setup_token(data_dir: Path) -> None:
    """Make a new one-time token for the first-teacher setup page (the old one stops working)."""
    from edge_server.identity import issue_setup_token

    if not (data_dir / "box.db").is_file():
        fail(f"no box in {data_dir}: run `edge-server init --data {data_dir}` first")
    token = issue_setup_token(data_dir)
    if token is None:
        fail(f"this box already has a teacher: no setup left to do (`edge-server teacher add USER --data {data_dir}` "
             "adds another)")
    _show_setup_token(token, data_dir)
    emit_json({"setup_token": token, "data": str(data_dir)})


def _register() -> None:
    from edge_server.cli import ai as cli_ai
    from edge_server.cli import box as cli_box
    from edge_server.cli import demo as cli_demo
    from edge_server.cli import fleet as cli_fleet
    from edge_server.cli import mastery as cli_mastery
    from edge_server.cli import packs as cli_packs
    from edge_server.cli import people as cli_people
    from edge_server.cli import province as cli_province
    from edge_server.cli import serve as cli_serve
    from edge_server.cli import sync as cli_sync

    for module in (cli_demo, cli_packs, cli_serve, cli_people, cli_ai, cli_mastery, cli_sync, cli_fleet):
        module.register(main)
    cli_box.register(main)
    cli_province.register(main)  # adds to the pack and ai groups made above
    from edge_server.cli import tls as cli_tls

    cli_tls.register(main)


_register()


if __name__ == "__main__":
    sys.exit(main())
