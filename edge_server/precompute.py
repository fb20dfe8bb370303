"""AI outputs computed centrally, written into a pack source next to each medium (`edge-server ai precompute`).

The same pipeline a box runs as a job (models.pipeline.run_pipeline: transcript, captions, chapters aligned to the
lesson's knowledge points, chapters track, summary; the transcript index is built from them on the box) runs once
per medium here, on the province's machine and its models (a GPU and bigger models when it has them), and its
outputs go to `<medium without extension>.ai.json` beside the medium, in the format models.pipeline documents. The
pack is then built and signed as usual: the `.ai.json` files are listed and signed like any other file, and a box
importing the pack stores them (source "pack", with the model id and sha256 that made each output) and queues no
pipeline job for those media.

A medium whose `.ai.json` already holds outputs of this medium (same sha256), by the same models and pipeline
version, is skipped (`--force` recomputes): an interrupted run resumes where it stopped. Each file is written to a
temporary name and renamed, so a pack source never holds half a file.
"""

from __future__ import annotations

import ctypes
import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sync import packs

ProgressFn = Callable[[int, int, float, str], None]  # (medium index, media count, fraction of that medium, message)


class PrecomputeError(Exception):
    """The pack source cannot be precomputed; one line says why."""


@dataclass(frozen=True)
class Task:
    """One medium to compute: its path in the source, sha256, the knowledge points of the first lesson using it,
    and every lesson using it."""

    media: str
    sha256: str
    knowledge_points: tuple[dict[str, str], ...]
    lessons: tuple[str, ...]
    language: str = "en"  # the lesson's own, else its channel's (what a box's job would use)

    @property
    def output(self) -> str:
        """Where its outputs go: `<medium without extension>.ai.json`, the name a box looks for first."""
        return str(Path(self.media).with_suffix(".ai.json"))


def plan(catalog: dict[str, Any], sha256s: dict[str, str]) -> list[Task]:
    """One task per distinct medium of a parsed catalog, in catalog order (pure).

    A medium shared by several lessons is computed once, with the knowledge points of the first lesson that uses
    it (the box, too, keeps one set of outputs per medium). Two media whose outputs would have the same name are
    refused.
    """
    from models.languages import lesson_language

    kps = {kp["id"]: kp for kp in catalog["knowledge_points"]}
    channel_language = (catalog.get("channel") or {}).get("language")
    tasks: dict[str, Task] = {}
    for course in catalog["courses"]:
        for lesson in course["lessons"]:
            media = lesson.get("media")
            if not media:
                continue
            path = media["path"]
            if path in tasks:
                tasks[path] = replace(tasks[path], lessons=(*tasks[path].lessons, lesson["id"]))
                continue
            lesson_kps = tuple({"id": k, "name": kps[k]["name"], "description": kps[k]["description"] or ""}
                               for k in lesson["knowledge_points"])
            tasks[path] = Task(path, sha256s[path], lesson_kps, (lesson["id"],),
                               lesson_language(lesson.get("language"), channel_language))
    outputs: dict[str, str] = {}
    for task in tasks.values():
        other = outputs.get(task.output)
        if other is not None:
            raise PrecomputeError(f"{other} and {task.media} would both write {task.output}: rename one of them")
        outputs[task.output] = task.media
    return list(tasks.values())


def up_to_date(document: dict[str, Any] | None, task: Task, computed_with: dict[str, Any]) -> bool:
    """Does an existing `.ai.json` already hold this medium's outputs, made the way this run would (pure)?"""
    return (isinstance(document, dict) and document.get("media_sha256") == task.sha256
            and document.get("computed_with") == {**computed_with, "language": task.language})


def source_catalog(src: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """The parsed catalog.json of a pack source and the sha256 of each medium it names."""
    from models.registry import sha256_of

    if not (src / packs.CATALOG).is_file():
        raise PrecomputeError(f"{src} has no catalog.json: give a pack source folder (what `pack build` reads)")
    data = (src / packs.CATALOG).read_bytes()
    media = {lesson["media"]["path"] for course in _courses(data) for lesson in course.get("lessons") or []
             if isinstance(lesson, dict) and isinstance(lesson.get("media"), dict)
             and isinstance(lesson["media"].get("path"), str)}
    present = {p for p in media if (src / p).is_file() and not (src / p).is_symlink()}
    try:
        catalog = packs.parse_catalog(data, {packs.CATALOG, *present})
    except packs.PackError as exc:
        raise PrecomputeError(f"{src}/catalog.json: {exc}") from exc
    return catalog, {p: sha256_of([src / p])[0] for p in sorted(present)}


def _courses(data: bytes) -> list[dict[str, Any]]:
    try:
        raw = json.loads(data)
    except ValueError:
        return []
    courses = raw.get("courses") if isinstance(raw, dict) else None
    return [c for c in courses if isinstance(c, dict)] if isinstance(courses, list) else []


def read_document(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_document(path: Path, document: dict[str, Any]) -> None:
    """Write an `.ai.json` atomically (a hidden temp file, which `pack build` never lists, then a rename)."""
    tmp = path.with_name(f".{path.name}.tmp-{secrets.token_hex(4)}")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(document, fh, ensure_ascii=False, indent=1)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def precompute(src: Path, transcriber: Any, generator: Any | None, *, force: bool = False,
               progress: ProgressFn | None = None, clock: Callable[[], float] | None = None,
               embed: Callable[[Any], Any] | None = None) -> dict[str, Any]:
    """Run the pipeline on every medium of the pack source that lacks current outputs; return what was done.

    transcriber / generator: runners with model_id, sha256, params (models.worker's Remote ones in the CLI);
    embed: sentence vectors that align chapters to knowledge points by meaning too, as the box's jobs do.
    """
    import time

    from models.pipeline import PIPELINE_VERSION, outputs_document, run_pipeline
    from models.types import KnowledgePoint

    clock = clock or time.perf_counter
    catalog, sha256s = source_catalog(src)
    tasks = plan(catalog, sha256s)
    models = {"asr": {"id": transcriber.model_id, "sha256": transcriber.sha256},
              "llm": {"id": generator.model_id, "sha256": generator.sha256} if generator is not None else None}
    # what an `.ai.json` records of how it was made, beyond the per-output model ids the box stores
    computed_with = {**models, "pipeline_version": PIPELINE_VERSION}
    done: list[dict[str, Any]] = []
    started = clock()
    for index, task in enumerate(tasks):
        target = src / task.output
        if not force and up_to_date(read_document(target), task, computed_with):
            done.append({"media": task.media, "output": task.output, "status": "up to date"})
            continue
        began = clock()
        kps = [KnowledgePoint(k["id"], k["name"], k["description"]) for k in task.knowledge_points]

        def report(fraction: float, message: str, index: int = index) -> None:
            if progress:
                progress(index, len(tasks), fraction, message)

        outputs = run_pipeline(src / task.media, kps, transcriber, generator, report, language=task.language,
                               embed=embed)
        document = outputs_document(outputs, task.sha256)
        document["lessons"] = list(task.lessons)
        document["computed_with"] = {**computed_with, "language": task.language}
        write_document(target, document)
        transcript = json.loads(outputs["transcript"].content)
        summary = json.loads(outputs["summary"].content)
        done.append({"media": task.media, "output": task.output, "status": "computed", "language": task.language,
                     "seconds": round(clock() - began, 2), "duration": transcript.get("duration"),
                     "chapters": len(json.loads(outputs["chapters"].content)), "summary": summary.get("method")})
    return {"src": str(src), "pipeline_version": PIPELINE_VERSION, "models": models,
            "computed": sum(d["status"] == "computed" for d in done), "up_to_date": sum(
                d["status"] == "up to date" for d in done), "seconds": round(clock() - started, 2), "media": done}


def cuda_problem(device: str) -> str | None:
    """Why `--device cuda` cannot run here (no CUDA device CTranslate2 can use), or None."""
    if device != "cuda":
        return None
    try:
        import ctranslate2

        count = ctranslate2.get_cuda_device_count()
    except Exception as exc:  # noqa: BLE001 - a CTranslate2 built without CUDA raises here
        return f"--device cuda: CTranslate2 cannot use CUDA here ({exc}): use --device cpu, or run on the GPU machine"
    if count < 1:
        return ("--device cuda: no CUDA device here (CTranslate2 sees none: no NVIDIA GPU, driver or CUDA runtime): "
                "use --device cpu or auto, or run on the province's GPU machine")
    return cublas_problem(ctranslate2.__version__)


# The CUDA major version the pinned CTranslate2 wheels are built for: they link the CUDA runtime statically but open
# cuBLAS at the first matrix product. Seen on an H200 with only CUDA 13: the device is found, every run then fails.
CUBLAS = "libcublas.so.12"


def cublas_problem(ct2_version: str, load: Callable[[str], Any] = ctypes.CDLL) -> str | None:
    """Why CTranslate2 would find the GPU but fail at its first product (no cuBLAS of its CUDA major), or None."""
    try:
        load(CUBLAS)
    except OSError:
        return (f"--device cuda: CTranslate2 {ct2_version} needs the CUDA 12 cuBLAS ({CUBLAS}), which this machine "
                "lacks (a newer CUDA alone does not do): install it (pip install nvidia-cublas-cu12 nvidia-cudnn-cu12 "
                "and put their lib folders on LD_LIBRARY_PATH, or the CUDA 12 toolkit), or use --device cpu")
    return None


def llama_has_cuda() -> bool:
    """Does the installed llama-cpp-python carry a CUDA backend (a wheel built with LLAMA_WHEEL_CUDA=1)?"""
    try:
        from models import llama_backend

        folder = llama_backend.lib_dir()
    except Exception:  # noqa: BLE001 - no llama.cpp at all: no CUDA backend either
        return False
    return any(folder.glob("libggml-cuda*.so")) or any(folder.glob("libggml-cuda*"))
