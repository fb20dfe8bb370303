"""CLI commands: attempts import and export, mastery replay, mastery fit."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from edge_server.cli import data_option, emit_json, fail, info, open_box

if TYPE_CHECKING:
    from edge_server.box import Box

path_arg = click.Path(path_type=Path, dir_okay=False)


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        fail(f"{path} not found: pass a JSON-lines file of attempts")
    except (UnicodeDecodeError, OSError) as exc:
        fail(f"cannot read {path}: {exc}")


def _box(data_dir: Path) -> Box:
    if not (data_dir / "box.db").exists() or not (data_dir / "keys" / "box.key").exists():
        fail(f"no box in {data_dir}: run `edge-server init --data {data_dir} --trust PUB` first")
    return open_box(data_dir)


def register(main: click.Group) -> None:
    """Attach this module's commands to the edge-server group."""

    @main.group()
    def attempts() -> None:
        """Pupils' attempts (answers)."""

    @attempts.command("import")
    @click.argument("file", type=path_arg)
    @data_option
    def attempts_import(file: Path, data_dir: Path) -> None:
        """Import FILE.jsonl of {"pupil", "pupil_name", "knowledge_point", "item", "correct", "ts"} lines."""
        from edge_server.attempts import AttemptLineError, import_attempts

        box = _box(data_dir)
        lines = _read_lines(file)
        try:
            with box.db() as db:
                result = import_attempts(db, box.settings, lines)
        except AttemptLineError as exc:
            fail(f"{file}: {exc}; nothing was imported")
        unknown_kps, unknown_items = result["unknown_knowledge_points"], result["unknown_items"]
        if unknown_kps or unknown_items:
            info(f"warning: {unknown_kps} knowledge point(s) and {unknown_items} item(s) are not in the catalog; "
                 "their attempts were kept")
        info(f"imported {result['imported']} attempt(s), {result['pupils_created']} new pupil(s), "
             f"{result['duplicates']} already present")
        emit_json(result)

    @attempts.command("export")
    @data_option
    @click.option("--class", "class_name", help="Only this class's pupils (its name).")
    @click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True,
                  help="JSON lines as `attempts import` reads them, or the same columns as CSV.")
    def attempts_export(data_dir: Path, class_name: str | None, fmt: str) -> None:
        """Write the box's attempts (of one class) to stdout, oldest first, in the line format of `attempts import`."""
        import csv
        import json
        import sys

        from edge_server.attempts import EXPORT_FIELDS, csv_cell, export_attempts
        from edge_server.store.people import class_by_name

        with _box(data_dir).db() as db:
            class_id = None
            if class_name is not None:
                klass = class_by_name(db, class_name)
                if klass is None:
                    fail(f"no class named {class_name!r} on this box (`edge-server class add NAME` makes one)")
                class_id = klass["id"]
            lines, left_out = export_attempts(db, class_id)
        if fmt == "csv":
            writer = csv.writer(sys.stdout, lineterminator="\n")
            writer.writerow(EXPORT_FIELDS)
            for line in lines:
                writer.writerow([csv_cell(line[f]) for f in EXPORT_FIELDS])
        else:
            for line in lines:
                click.echo(json.dumps({f: line[f] for f in EXPORT_FIELDS}, ensure_ascii=False))
        if left_out:
            info(f"warning: {left_out} attempt(s) without a knowledge point were left out "
                 "(`attempts import` needs one)")
        info(f"exported {len(lines)} attempt(s)")

    @main.group("mastery")
    def mastery_group() -> None:
        """Knowledge tracing."""

    @mastery_group.command("replay")
    @click.argument("file", type=path_arg)
    @click.option("--json", "as_json", is_flag=True, help="JSON output (the only format; kept for scripts).")
    @click.option("--plain", is_flag=True, help="Plain BKT (no difficulty levels, no forgetting), the baseline.")
    def mastery_replay(file: Path, as_json: bool, plain: bool) -> None:
        """Fit BKT (EM) on FILE.jsonl and give P(correct) before each line and final mastery per pupil and KP."""
        from edge_server.attempts import AttemptLineError, parse_attempt_lines
        from edge_server.domain import mastery

        try:
            parsed = parse_attempt_lines(_read_lines(file))
        except AttemptLineError as exc:
            fail(f"{file}: {exc}")
        result = mastery.replay([p.replay_line() for p in parsed], spec=mastery.PLAIN if plain else mastery.EXTENDED)
        info(f"replayed {len(parsed)} attempt(s) over {len(result.params)} knowledge point(s)")
        emit_json({
            "predictions": [round(p, 6) for p in result.predictions],
            "mastery": [{"pupil": m["pupil"], "knowledge_point": m["knowledge_point"],
                         "p_mastery": round(m["p_mastery"], 6), "stuck": m["stuck"], "mastered": m["mastered"],
                         "attempts": m["attempts"]} for m in result.mastery],
            "params": {kp: p.to_dict() for kp, p in sorted(result.params.items())},
        })

    @mastery_group.command("fit")
    @data_option
    def mastery_fit(data_dir: Path) -> None:
        """Refit every knowledge point's parameters from the box's attempts and recompute mastery (nightly job)."""
        from edge_server.attempts import fit_all

        result = fit_all(_box(data_dir).settings)
        info(f"fitted {result['knowledge_points']} knowledge point(s) from {result['attempts']} attempt(s)")
        emit_json(result)
