"""Install and verify a box's models for Ansible: a thin wrapper over models.registry that reports `changed`.

    python -m provisioning.model_install --data /var/lib/edge-server [--role asr --role llm]

prints {"changed": bool, "models": [{"role", "id", "sha256"}]} on stdout; exit 1 with one line on stderr when a
model cannot be installed or fails its check afterwards. `changed` lets the role say `changed_when` honestly.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from models import registry


def _installed(models_dir: Path) -> dict[str, str]:
    try:
        return {e.role: e.sha256 for e in registry.load_manifest(models_dir)}
    except registry.ModelError:
        return {}


def install_models(models_dir: Path, roles: tuple[str, ...] = registry.ROLES) -> dict[str, Any]:
    """Install the default model of each role unless an intact copy is there; then verify them all."""
    models_dir.mkdir(parents=True, exist_ok=True)
    before = _installed(models_dir)
    # A repaired model keeps its sha256, so "changed" also counts a copy that failed its check before.
    intact_before = not registry.verify(models_dir, roles)
    entries = registry.install_defaults(models_dir, roles)
    problems = registry.verify(models_dir, roles)
    if problems:
        raise registry.ModelError(problems[0])
    return {"changed": _installed(models_dir) != before or not intact_before,
            "models": [{"role": e.role, "id": e.id, "sha256": e.sha256} for e in entries if e.role in roles]}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point for Ansible."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the box's data directory")
    parser.add_argument("--models", type=Path, help="models folder (default DATA/models)")
    parser.add_argument("--role", action="append", choices=registry.ROLES, help="only these roles (repeatable)")
    args = parser.parse_args(argv)
    try:
        result = install_models(args.models or args.data / "models", tuple(args.role or registry.ROLES))
    except (registry.ModelError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
