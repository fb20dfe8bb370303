"""A thin wrapper around the rsync binary: build its arguments, run it, parse its --stats.

Origins: rsync://HOST[:PORT]/MODULE[/PATH] or HOST::MODULE (an rsync daemon); [USER@]HOST:PATH (SSH, port 22);
ssh://[USER@]HOST[:PORT]/PATH (SSH on any port: rsync has no such syntax, so it becomes USER@HOST:/PATH with
`ssh -p PORT`).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

PARTIAL_DIR = ".rsync-partial"
DISK_FULL_CODES = {11, 23}  # file I/O error; partial transfer due to error (ENOSPC shows up as either)
LINK_CODES = {5, 10, 12, 30, 35}  # protocol start, socket I/O, data stream, timeout, daemon connect timeout
SSH_FAILED = 255  # the remote shell failed before rsync could speak; ssh's own line says why
SSH_LINK_WORDS = ("Connection refused", "Connection timed out", "No route to host", "Could not resolve hostname",
                  "Network is unreachable", "Connection closed by", "Connection reset")
SSH_REFUSED_WORDS = ("Permission denied", "Host key verification failed")
_TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.[A-Za-z0-9]{6}$")
_STAT_LINE = re.compile(r"^(?P<label>[A-Za-z ]+): (?P<value>[\d,.]+)")
_LIST_LINE = re.compile(r"^(?P<mode>[dl-][rwxsStT-]{9})\s+[\d,.]+\s+\S+\s+\S+\s+(?P<name>.+)$")


class RsyncError(Exception):
    """rsync failed; `code` is its exit status and `stderr` its last words."""

    def __init__(self, code: int, stderr: str, via_ssh: bool = False) -> None:
        self.code = code
        self.stderr = stderr.strip()
        self.via_ssh = via_ssh
        super().__init__(self.reason())

    @property
    def disk_full(self) -> bool:
        """True when the receiving disk ran out of space."""
        return "No space left on device" in self.stderr or "Disk quota exceeded" in self.stderr

    def _line(self, words: tuple[str, ...]) -> str | None:
        # Connection failures read the same from ssh or the daemon client; refusals are ssh's only over ssh
        # (rsync exits 255, or 12 when it notices the closed pipe before ssh has exited).
        if words is SSH_REFUSED_WORDS and not (self.via_ssh or self.code == SSH_FAILED):
            return None
        return next((line.strip() for line in self.stderr.splitlines() if any(w in line for w in words)), None)

    @property
    def link_down(self) -> bool:
        """True when the origin could not be reached or the link dropped (not when it refused the box)."""
        if self._line(SSH_REFUSED_WORDS):
            return False
        return self.code in LINK_CODES or self._line(SSH_LINK_WORDS) is not None

    def reason(self) -> str:
        """One line: what went wrong, with rsync's (or ssh's) own error line."""
        lines = [line.strip() for line in self.stderr.splitlines() if line.strip()]
        last = lines[-1] if lines else ""
        if self.disk_full:
            cause = next((line for line in lines if "No space left" in line or "quota" in line), last)
            return f"disk full while pulling (rsync exit {self.code}): {cause}"
        refused = self._line(SSH_REFUSED_WORDS)
        if refused and "Host key verification failed" in refused:
            return (f"ssh to the origin failed (rsync exit {self.code}): {refused} (its host key is not the one "
                    "the box pinned in keys/known_hosts; if the origin really changed keys, remove its line there)")
        if refused:
            return f"ssh to the origin failed (rsync exit {self.code}): {refused}"
        link_line = self._line(SSH_LINK_WORDS)
        if link_line:
            return f"link to the origin failed (rsync exit {self.code}): {link_line}"
        if self.link_down:
            return f"link to the origin failed (rsync exit {self.code}): {last}"
        return f"rsync exit {self.code}: {last}"


@dataclass(frozen=True)
class RsyncOptions:
    """How to reach the origin and how hard to pull."""

    timeout_s: int = 60
    contimeout_s: int = 20
    bwlimit_kbps: int = 0
    ssh_key: Path | None = None
    known_hosts: Path | None = None  # the box's own record of origin host keys (first use trusted, then pinned)
    ssh_options: tuple[str, ...] = ("BatchMode=yes", "StrictHostKeyChecking=accept-new", "ConnectTimeout=20")
    delete: bool = True
    checksum: bool = False  # compare whole-file checksums instead of size and mtime (reads every file)
    rsync_bin: str = "rsync"
    extra: tuple[str, ...] = ()


@dataclass(frozen=True)
class RsyncStats:
    """What one rsync run moved, from its --stats output (bytes)."""

    files_transferred: int = 0
    total_file_size: int = 0
    transferred_file_size: int = 0
    literal_data: int = 0
    matched_data: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0


@dataclass(frozen=True)
class RsyncResult:
    """A finished rsync run."""

    args: list[str]
    stats: RsyncStats
    stdout: str = ""
    stderr: str = ""
    salvaged: list[str] = field(default_factory=list)


def is_daemon(origin: str) -> bool:
    """True for rsync://HOST[:PORT]/MODULE origins."""
    return origin.startswith("rsync://") or "::" in origin


def is_ssh(origin: str) -> bool:
    """True for [USER@]HOST:PATH origins (a colon before any slash, and not a daemon URL) and ssh:// URLs."""
    if origin.startswith("ssh://"):
        return True
    if is_daemon(origin):
        return False
    head = origin.split("/", 1)[0]
    return ":" in head


def ssh_target(origin: str) -> tuple[str, int | None]:
    """An SSH origin as rsync takes it ([USER@]HOST:PATH) and the port to give ssh (None: ssh's default)."""
    if not origin.startswith("ssh://"):
        return origin, None
    parts = urlsplit(origin)
    if not parts.hostname:
        raise ValueError(f"no host in SSH origin {origin!r}: use ssh://USER@HOST:PORT/PATH")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    user = f"{unquote(parts.username)}@" if parts.username else ""
    return f"{user}{host}:{unquote(parts.path) or '/'}", parts.port


def join(origin: str, *parts: str) -> str:
    """Append path parts to an origin, whatever its form."""
    base = origin.rstrip("/")
    return "/".join([base, *[p.strip("/") for p in parts if p]])


def ssh_command(opts: RsyncOptions, port: int | None = None) -> str:
    """The -e argument that makes rsync use the box's own key (and port, and known-hosts file)."""
    words = ["ssh"]
    if port is not None:
        words += ["-p", str(port)]
    if opts.ssh_key is not None:
        words += ["-i", str(opts.ssh_key), "-o", "IdentitiesOnly=yes"]
    if opts.known_hosts is not None:
        words += ["-o", f"UserKnownHostsFile={opts.known_hosts}"]
    for option in opts.ssh_options:
        words += ["-o", option]
    return shlex.join(words)


def _remote(source: str, opts: RsyncOptions) -> tuple[str, list[str]]:
    """The source as rsync takes it, and the transport arguments its kind needs."""
    if is_daemon(source):
        return source, [f"--contimeout={int(opts.contimeout_s)}"]
    if is_ssh(source):
        target, port = ssh_target(source)
        return target, ["-e", ssh_command(opts, port)]
    return source, []


def build_args(source: str, dest: str | Path, opts: RsyncOptions, *, copy_dest: Path | None = None,
               dry_run: bool = False) -> list[str]:
    """The full rsync argument list for pulling source (a folder, trailing slash added) into dest."""
    # --modify-window=-1: compare mtimes to the nanosecond, so two builds within one second still differ.
    args = [opts.rsync_bin, "-a", f"--partial-dir={PARTIAL_DIR}", f"--timeout={int(opts.timeout_s)}", "--stats",
            "--no-human-readable", "--modify-window=-1"]
    if opts.checksum:
        args.append("--checksum")
    if opts.delete:
        args.append("--delete")
    if opts.bwlimit_kbps > 0:
        args.append(f"--bwlimit={int(opts.bwlimit_kbps)}")
    source, transport = _remote(source, opts)
    args += transport
    if copy_dest is not None:
        # An absolute basis so unchanged files are copied locally rather than pulled again.
        args.append(f"--copy-dest={Path(copy_dest).resolve()}")
    if dry_run:
        args.append("--dry-run")
    args += list(opts.extra)
    args += [source.rstrip("/") + "/", str(dest).rstrip("/") + "/"]
    return args


def _number(text: str) -> int:
    digits = re.sub(r"[^\d]", "", text.split(" ")[0])
    return int(digits) if digits else 0


def parse_stats(output: str) -> RsyncStats:
    """Parse the --stats block rsync prints (thousands separators and all)."""
    values: dict[str, int] = {}
    for line in output.splitlines():
        match = _STAT_LINE.match(line.strip())
        if match:
            values[match["label"].strip().lower()] = _number(match["value"])
    transferred = values.get("number of regular files transferred", values.get("number of files transferred", 0))
    return RsyncStats(
        files_transferred=transferred,
        total_file_size=values.get("total file size", 0),
        transferred_file_size=values.get("total transferred file size", 0),
        literal_data=values.get("literal data", 0),
        matched_data=values.get("matched data", 0),
        bytes_sent=values.get("total bytes sent", 0),
        bytes_received=values.get("total bytes received", 0),
    )


def salvage_temp_files(dest: Path) -> list[str]:
    """Move temp files left by a killed rsync into the partial dir, so the next run resumes from them.

    rsync moves an interrupted file into --partial-dir only when it gets the chance to clean up; after
    kill -9 or a power cut its `.NAME.XXXXXX` temp file is left behind and would be ignored (and resent).
    """
    moved: list[str] = []
    if not dest.is_dir():
        return moved
    for folder, dirs, files in os.walk(dest):
        dirs[:] = [d for d in dirs if d != PARTIAL_DIR]
        for name in files:
            match = _TEMP_NAME.match(name)
            if not match:
                continue
            temp = Path(folder) / name
            partial = Path(folder) / PARTIAL_DIR / match["name"]
            if temp.is_symlink() or not temp.is_file():
                continue
            if partial.exists() and partial.stat().st_size >= temp.stat().st_size:
                temp.unlink()
                continue
            partial.parent.mkdir(exist_ok=True)
            os.replace(temp, partial)
            moved.append(str(partial.relative_to(dest)))
    return moved


def drop_partials(dest: Path) -> None:
    """Delete partial and temp files under dest (after a full disk, space matters more than resuming)."""
    if not dest.is_dir():
        return
    for folder, _dirs, files in os.walk(dest, topdown=False):
        here = Path(folder)
        for name in files:
            if here.name == PARTIAL_DIR or _TEMP_NAME.match(name):
                (here / name).unlink(missing_ok=True)
        if here.name == PARTIAL_DIR:
            here.rmdir()


def _env() -> dict[str, str]:
    # C locale: stable --stats labels and number formats to parse.
    return {**os.environ, "LC_ALL": "C", "LANG": "C"}


def run(source: str, dest: Path, opts: RsyncOptions, *, copy_dest: Path | None = None, dry_run: bool = False,
        on_start: Callable[[subprocess.Popen], None] | None = None) -> RsyncResult:
    """Pull source into dest (created if needed); raise RsyncError on failure."""
    dest.mkdir(parents=True, exist_ok=True)
    salvaged = [] if dry_run else salvage_temp_files(dest)
    args = build_args(source, dest, opts, copy_dest=copy_dest, dry_run=dry_run)
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
                            stdin=subprocess.DEVNULL)
    if on_start is not None:
        on_start(proc)
    stdout, stderr = proc.communicate()
    if proc.returncode != 0:
        raise RsyncError(proc.returncode, stderr, via_ssh=is_ssh(source))
    return RsyncResult(args=args, stats=parse_stats(stdout), stdout=stdout, stderr=stderr, salvaged=salvaged)


def list_dirs(origin: str, opts: RsyncOptions) -> list[str]:
    """The names of the folders at the top of an origin (rsync --list-only)."""
    args = [opts.rsync_bin, "--list-only", "--no-human-readable", f"--timeout={int(opts.timeout_s)}"]
    origin, transport = _remote(origin, opts)
    args += transport
    args.append(origin.rstrip("/") + "/")
    proc = subprocess.run(args, capture_output=True, text=True, env=_env(), stdin=subprocess.DEVNULL, check=False)
    if proc.returncode != 0:
        raise RsyncError(proc.returncode, proc.stderr, via_ssh=is_ssh(origin))
    names = []
    for line in proc.stdout.splitlines():
        match = _LIST_LINE.match(line)
        if match and match["mode"].startswith("d") and match["name"] not in (".", ".."):
            names.append(match["name"])
    return sorted(names)
