"""CLI commands for provincial IT: pack author (spreadsheets -> pack source), ai precompute (AI outputs into it),
report (the fleet, read from the LRS)."""

from __future__ import annotations

import os
import secrets
import shutil
import stat
import sys
from pathlib import Path
from typing import Any

import click

from edge_server.cli import emit_json, fail, info

path_arg = click.Path(path_type=Path)
MAX_PROBLEMS_SHOWN = 50


def _regular_files(root: Path) -> frozenset[str]:
    """Relative POSIX paths of the regular files under root (links are left out, never followed)."""
    found: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and not os.path.islink(os.path.join(dirpath, d))]
        for name in filenames:
            full = os.path.join(dirpath, name)
            if stat.S_ISREG(os.lstat(full).st_mode):
                found.add(Path(full).relative_to(root).as_posix())
    return frozenset(found)


def _reader(root: Path):
    """read_note for pack_author: a regular file inside root by relative path, else None."""
    from sync.packs import PackError, check_path

    def read(rel: str) -> bytes | None:
        try:
            check_path(rel)
        except PackError:
            return None
        path = root / rel
        try:
            st = os.lstat(path)
        except OSError:
            return None
        if not stat.S_ISREG(st.st_mode):
            return None
        return path.read_bytes()

    return read


def write_source(authored: Any, media_root: Path, out: Path, show_progress: bool = True) -> int:
    """Write catalog.json and copy the media into a new folder OUT, all or nothing; return the bytes copied."""
    from tqdm import tqdm

    tmp = out.with_name(f".{out.name}.tmp-{secrets.token_hex(4)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp.mkdir()
    copied = 0
    try:
        total = sum((media_root / p).stat().st_size for p in authored.media)
        with tqdm(total=total, unit="B", unit_scale=True, desc="copying media", file=sys.stderr,
                  disable=None if show_progress else True, leave=False) as bar:
            for rel in authored.media:
                dest = tmp / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                with open(media_root / rel, "rb") as src, open(dest, "wb") as dst:
                    while chunk := src.read(1024 * 1024):
                        dst.write(chunk)
                        bar.update(len(chunk))
                        copied += len(chunk)
                    dst.flush()
                    os.fsync(dst.fileno())
        with open(tmp / "catalog.json", "wb") as fh:
            fh.write(authored.catalog_bytes())
            fh.flush()
            os.fsync(fh.fileno())
        if out.exists():
            out.rmdir()  # an empty folder (checked by the caller) is replaced
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return copied


def register(main: click.Group) -> None:
    """Attach this module's commands to the edge-server group (after cli_packs and cli_ai)."""
    pack = main.commands["pack"]
    assert isinstance(pack, click.Group)

    @pack.command("author")
    @click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
    @click.option("--out", "out", type=path_arg, required=True, help="The pack source folder to write (new or empty).")
    @click.option("--media", "media_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
                  help="Where the `media` paths of lessons.csv are found (default: FOLDER).")
    @click.option("--channel", "channel_id", help="Channel id (overrides channel.csv).")
    @click.option("--title", help="Channel title (overrides channel.csv).")
    @click.option("--language", help="Channel language: en, fr or zh (overrides channel.csv).")
    @click.option("--level", help="Channel level, e.g. primary (overrides channel.csv).")
    def pack_author(folder: Path, out: Path, media_dir: Path | None, channel_id: str | None, title: str | None,
                    language: str | None, level: str | None) -> None:
        """Write a pack source (catalog.json + media) from FOLDER's spreadsheets saved as CSV UTF-8.

        FOLDER holds knowledge_points.csv, lessons.csv, exercises.csv, channel.csv (or --channel/--title) and the
        media and notes they name; see docs/pack-authoring.md. Nothing is written while any row has a problem.
        """
        from edge_server.domain.pack_author import TABLES, AuthorError, author

        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            fail(f"{out} exists and is not an empty folder: choose a new --out folder")
        media_root = media_dir or folder
        tables = {name: (folder / name).read_bytes() for name in TABLES if (folder / name).is_file()}
        try:
            authored = author(tables, _regular_files(media_root), _reader(folder),
                              {"id": channel_id, "title": title, "language": language, "level": level})
        except AuthorError as exc:
            problems = exc.problems
            for problem in problems[:MAX_PROBLEMS_SHOWN]:
                info(f"  {problem}")
            more = len(problems) - MAX_PROBLEMS_SHOWN
            if more > 0:
                info(f"  ... and {more} more")
            count = f"{len(problems)} problems" if len(problems) > 1 else "1 problem"
            fail(f"nothing written: {count} in {folder}, first: {problems[0]}")
        try:
            copied = write_source(authored, media_root, out)
        except OSError as exc:
            fail(f"nothing written: {exc}")
        c = authored.counts
        info(f"wrote {out}: channel {authored.catalog['channel']['id']}, {c['courses']} courses, {c['lessons']} "
             f"lessons, {c['exercises']} exercises, {c['media']} media files; next: edge-server pack build {out} "
             "OUT --key signing.key --version N")
        emit_json({"out": str(out), "channel": authored.catalog["channel"]["id"], **c, "bytes": copied})

    ai = main.commands["ai"]
    assert isinstance(ai, click.Group)

    @ai.command("precompute")
    @click.argument("src", type=click.Path(exists=True, file_okay=False, path_type=Path))
    @click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
                  help="cuda: refuse unless CTranslate2 sees a CUDA device; auto: CUDA when there is one.")
    @click.option("--models", "models_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
                  help="A models folder with models.json (bigger models; default: those installed with the package).")
    @click.option("--threads", type=click.IntRange(min=1), default=None,
                  help="CPU threads for the models (default: every core of this machine).")
    @click.option("--llm/--no-llm", "use_llm", default=True, show_default=True,
                  help="Let the text model phrase chapter titles and summaries (else extractive, as a box without it).")
    @click.option("--force", is_flag=True, help="Recompute media whose outputs are already up to date.")
    def ai_precompute(src: Path, device: str, models_dir: Path | None, threads: int | None, use_llm: bool,
                      force: bool) -> None:
        """Run the box's lesson AI on every medium of a pack source SRC and write MEDIUM.ai.json beside each.

        A box importing the pack built from SRC uses these outputs and queues no AI job for those media.
        """
        from tqdm import tqdm

        from edge_server.precompute import PrecomputeError, cuda_problem, llama_has_cuda, precompute
        from models.registry import ModelError
        from models.selftest import Options
        from models.worker import ModelsUnavailable, RemoteError, RemoteGenerator, RemoteTranscriber, private_models

        problem = cuda_problem(device)
        if problem:
            fail(problem)
        if device == "cuda" and use_llm and not llama_has_cuda():
            info("note: this llama-cpp-python wheel has no CUDA backend, so the text model runs on the CPU "
                 "(LLAMA_WHEEL_CUDA=1 make llama-wheel builds one with it)")
        threads = threads or os.cpu_count() or 2
        # disable=None: a bar on a terminal only, so logs and the one-line refusal stay clean when piped
        bar = tqdm(total=100, unit="%", desc="precomputing", file=sys.stderr, disable=None,
                   bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix}")

        def show(index: int, total: int, fraction: float, message: str) -> None:
            bar.n = round(100 * (index + fraction) / max(total, 1))
            bar.set_postfix_str(f"medium {index + 1}/{total}: {message}")
            bar.refresh()

        try:
            with private_models(Options(models_dir=models_dir, device=device, threads=threads)) as client:
                transcriber = RemoteTranscriber(client, models_dir, device, threads)
                generator = RemoteGenerator(client, models_dir, device, threads) if use_llm else None
                try:
                    transcriber.model  # noqa: B018 - resolve both models before any work starts
                    if generator is not None:
                        generator.model  # noqa: B018
                except ModelError as exc:
                    fail(str(exc))
                result = precompute(src, transcriber, generator, force=force, progress=show,
                                    embed=client.embed)
        except PrecomputeError as exc:
            fail(str(exc))
        except ModelsUnavailable as exc:
            fail(f"{exc}: the outputs written so far are kept (a rerun continues); run `edge-server models selftest "
                 "--json`, or pass --no-llm")
        except RemoteError as exc:
            fail(f"a medium could not be processed: {exc}")
        finally:
            bar.close()
        info(f"{result['computed']} media computed, {result['up_to_date']} already up to date, in "
             f"{result['seconds']:.1f} s; next: edge-server pack build {src} OUT --key signing.key --version N")
        emit_json({**result, "device": device, "threads": threads})

    @main.command("report")
    @click.option("--lrs", "lrs_url", required=True, help="The LRS's xAPI base URL, e.g. https://lrs.example:8100/xAPI.")
    @click.option("--lrs-user", default="", help="An LRS account that may read statements.")
    @click.option("--lrs-password", default="", envvar="EDGE_SERVER_REPORT_LRS_PASSWORD",
                  help="Its password (or EDGE_SERVER_REPORT_LRS_PASSWORD).")
    @click.option("--lrs-ca-file", type=click.Path(dir_okay=False), help="The CA bundle the LRS certificate chains to.")
    @click.option("--allow-insecure-http", is_flag=True, help="Read over plain http:// from another host.")
    @click.option("--since", help="Only statements stored after this ISO-8601 time (default: all).")
    @click.option("--json", "as_json", is_flag=True, help="JSON on stdout (the default output too).")
    def report(lrs_url: str, lrs_user: str, lrs_password: str, lrs_ca_file: str | None, allow_insecure_http: bool,
               since: str | None, as_json: bool) -> None:
        """Per box: last contact, statements, pupils active, lessons used, stuck rates per knowledge point."""
        from tqdm import tqdm

        from edge_server import clock
        from edge_server.domain.fleet_report import ACTIVE_DAYS, summarise
        from sync.lrs_push import LrsConfig
        from sync.lrs_query import LrsQueryError, fetch_statements

        lrs = LrsConfig(url=lrs_url, user=lrs_user, password=lrs_password, ca_file=lrs_ca_file,
                        allow_insecure_http=allow_insecure_http)
        bar = tqdm(unit=" statements", desc="reading the LRS", file=sys.stderr, disable=None)
        try:
            statements = list(fetch_statements(lrs, since=since, on_page=bar.update))
        except LrsQueryError as exc:
            fail(str(exc))
        finally:
            bar.close()
        result = {"lrs": lrs_url, "since": since, **summarise(statements, clock.now())}
        if not as_json:
            for box in result["boxes"]:
                stuck = ", ".join(f"{k['knowledge_point']} {k['stuck']}/{k['pupils']}"
                                  for k in box["knowledge_points"] if k["stuck"])[:200]
                info(f"{box['box_id']}  last contact {box['last_contact'] or '-'}  {box['statements']} statements  "
                     f"{box['pupils_active']} pupils ({box[f'pupils_active_{ACTIVE_DAYS}_days']} in {ACTIVE_DAYS} "
                     f"days)  {box['lessons_used']} lessons" + (f"  stuck: {stuck}" if stuck else ""))
        info(f"{len(result['boxes'])} boxes, {result['statements']} statements")
        emit_json(result)
