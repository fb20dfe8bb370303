"""CLI commands: sync."""

from __future__ import annotations

import click


def register(main: click.Group) -> None:
    """Attach this module's commands to the edge-server group."""
