"""CLI commands: tls status | renew (the box's CA and https certificate, edge_server/tls.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from edge_server.settings import load_settings


def _show(facts: dict[str, Any]) -> None:
    ca, server = facts["ca"], facts["server"]
    click.echo(f"https port: {facts['https_port'] or 'none'}")
    if ca:
        click.echo(f"CA ({facts['ca_source']}): {ca['subject']}  sha256 {ca['sha256']}")
    if server:
        click.echo(f"server certificate: {', '.join(server['names'] + server['addresses'])} "
                   f"until {server['not_after']}")
    click.echo(f"problem: {facts['problem']}" if facts["problem"] else "up to date")


def register(main: click.Group) -> None:
    """Attach the tls group to the edge-server group."""
    from edge_server.cli import data_option, emit_json, fail, info

    @main.group()
    def tls() -> None:
        """The box's https: its CA (tablets install it from /install) and its server certificate."""

    @tls.command("status")
    @data_option
    @click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")
    def tls_status(data_dir: Path, as_json: bool) -> None:
        """Show the CA, the server certificate, and whether it still covers the box's names and addresses."""
        from edge_server import tls as box_tls

        if not (data_dir / "keys").is_dir():
            fail(f"no box in {data_dir}: run `edge-server init --data {data_dir}` first")
        facts = box_tls.status(load_settings(data_dir))
        emit_json(facts) if as_json else _show(facts)

    @tls.command("renew")
    @data_option
    @click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")
    @click.option("--if-needed", is_flag=True, help="Only when the certificate no longer fits (names, addresses, "
                  "expiry, CA).")
    def tls_renew(data_dir: Path, as_json: bool, if_needed: bool) -> None:
        """Make a new server certificate (and the box's CA if it has none); a running box loads it within a minute
        when its addresses changed, else at its next start."""
        from edge_server import tls as box_tls

        if not (data_dir / "keys").is_dir():
            fail(f"no box in {data_dir}: run `edge-server init --data {data_dir}` first")
        settings = load_settings(data_dir)
        try:
            issued = box_tls.ensure(settings, force=not if_needed)
        except box_tls.TlsError as exc:
            fail(str(exc))
        info(f"new certificate: {issued.reason}" if issued.reissued else "the certificate still fits")
        facts = {**box_tls.status(settings), "reissued": issued.reissued, "reason": issued.reason}
        emit_json(facts) if as_json else _show(facts)
