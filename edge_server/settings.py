"""Typed settings of a box, loaded once from the data directory's config.toml."""

from __future__ import annotations

import logging
import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

DEFAULT_DATA = Path("var")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    """Everything a box needs to know, passed down explicitly."""

    data_dir: Path = DEFAULT_DATA
    box_name: str = "classroom-box"
    host: str = "0.0.0.0"
    port: int = 8080
    # web workers: as many as cores, since models live in one model process however many workers there are
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    threads: int = 32
    heap_report_s: float = 0.0  # > 0: each worker logs its C heap (in use, free, mmap'd, SQLite) this often
    secret_key: str = ""
    session_hours: float = 10.0  # a login lasts one school day at most, then the teacher or pupil logs in again
    # local AI
    device: str = "auto"  # auto | cpu | cuda
    ai_threads: int = 2
    models_dir: Path | None = None
    ai_jobs_enabled: bool = True
    companion_timeout_s: float = 30.0
    companion_show_questions_to_teacher: bool = False
    # the model's rephrasing must arrive this long after the question, or the extractive answer is given
    companion_rephrase_budget_s: float = 2.5
    # the companion's search by meaning too (sentence embeddings, edge_server.domain.fusion); false: by words alone
    retrieval_by_meaning: bool = True
    # request bodies: a teacher's recording upload may reach max_upload_mb; every other request max_request_kb
    max_upload_mb: int = 512
    max_request_kb: int = 64
    min_free_disk_mb: int = 200
    # reverse proxies in front of the box (the edge_box role's nginx: 1). 0 = X-Forwarded-* headers are ignored;
    # N = trust the last N hops of X-Forwarded-For / -Proto, and only when the peer is on this machine (loopback)
    trusted_proxy: int = 0
    # the box's own nginx in front of the app (edge_server/web/front.py): auto = when nginx is installed, nginx, none
    front: str = "auto"
    front_token: str = ""  # set by `edge-server serve` at each start, never in config.toml
    # https on the front (edge_server/tls.py; browsers give offline pages to https only): -1 = 443 when serve runs
    # as root, else 8443; 0 = no https. The http port then sends pupils' pages to https.
    https_port: int = -1
    # the province's CA (PEM certificate and key, relative to the data directory) signs the box's certificate;
    # "" = the box's own CA, made once in keys/tls/
    tls_ca_cert: str = ""
    tls_ca_key: str = ""
    # pupils' PIN tries (edge_server.pin_guard): tries per window in seconds, per pupil, tablet, class and box; the
    # pupil's growing lockouts (seconds; the last one repeats), forgotten this long after the last one
    pin_pupil_tries: int = 5
    pin_pupil_window_s: int = 60
    pin_tablet_tries: int = 20
    pin_tablet_window_s: int = 60
    pin_class_tries: int = 40
    pin_class_window_s: int = 300
    pin_box_tries: int = 120
    pin_box_window_s: int = 300
    pin_lockouts_s: tuple[int, ...] = (60, 300, 900, 3600)
    pin_forget_lockouts_s: int = 24 * 3600
    # tablets that work offline (edge_server.tablets): a tablet's sync token, renewed at each contact while its
    # pupil is logged in, still sends that pupil's queued answers this many days later (take-home lessons)
    tablet_token_days: int = 30
    # sync
    lrs_url: str = ""
    lrs_user: str = ""
    lrs_password: str = ""
    # the province's CA bundle (PEM) the LRS's certificate must chain to; relative to the data directory
    # (the edge_box role writes keys/lrs-ca.pem). "" = the system's CA store
    lrs_ca_file: str = ""
    # allow an http:// lrs_url to a host other than this machine (credentials and records travel in clear)
    lrs_allow_insecure_http: bool = False
    pack_origin: str = ""
    push_interval_s: int = 300
    pull_interval_s: int = 3600
    push_batch_size: int = 200
    outbox_keep_days: int = 30  # acknowledged statements are kept this long for the teacher's sync page, then go
    rsync_timeout_s: int = 60
    rsync_bwlimit_kbps: int = 0
    # channels this box follows (ids, or prefixes ending in "."); empty = every channel the pack origin offers
    channels: tuple[str, ...] = ()
    # scheduled backups (edge_server.backup): into this folder (a USB stick; "" = off) once every backup_every_h
    # hours, keeping the newest backup_keep; the packs' media only with backup_with_media
    backup_dir: str = ""
    backup_keep: int = 7
    backup_every_h: float = 24.0
    backup_with_media: bool = False
    # discovery
    announce: bool = False
    mdns_interfaces: tuple[str, ...] = ()
    # scheduler: the heartbeat file's period, and how often the push and pull ticks look for work
    scheduler_enabled: bool = True
    scheduler_heartbeat_s: int = 60
    sync_tick_s: int = 30

    @property
    def db_path(self) -> Path:
        return self.data_dir / "box.db"

    @property
    def content_dir(self) -> Path:
        return self.data_dir / "content"

    @property
    def staging_dir(self) -> Path:
        return self.data_dir / "content" / ".staging"

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def trusted_dir(self) -> Path:
        return self.data_dir / "keys" / "trusted"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def config_path(self) -> Path:
        return self.data_dir / "config.toml"

    @property
    def lrs_ca_path(self) -> Path | None:
        """lrs_ca_file as a path (a relative one lies in the data directory), or None when none is set."""
        if not self.lrs_ca_file:
            return None
        path = Path(self.lrs_ca_file).expanduser()
        return path if path.is_absolute() else self.data_dir / path

    @property
    def box_models_dir(self) -> Path:
        return self.models_dir or (self.data_dir / "models")

    @property
    def installed_models_dir(self) -> Path | None:
        """The box's models folder when it has models.json (or was set), else None: the packages' own models."""
        folder = self.box_models_dir
        return folder if self.models_dir is not None or (folder / "models.json").exists() else None

    @property
    def models_address(self) -> str:
        """The socket of this box's model process."""
        from models.worker import address_for

        return address_for(self.data_dir)

    @property
    def selftest_path(self) -> Path:
        """The last model self-test: what /api/v1/health shows, and which llama.cpp CPU variant is safe here."""
        return self.data_dir / "selftest.json"

    @property
    def run_dir(self) -> Path:
        """Facts about the running box (process ids), rewritten by `edge-server serve`."""
        return self.data_dir / "run"

    def model_options(self) -> Any:
        """The model process's options for this box."""
        from models.selftest import Options

        return Options(models_dir=self.installed_models_dir, device=self.device, threads=self.ai_threads)

    def with_overrides(self, **overrides: Any) -> Settings:
        """Return a copy with the given non-None fields replaced."""
        known = {f.name for f in fields(self)}
        clean = {k: v for k, v in overrides.items() if v is not None and k in known}
        return replace(self, **clean)


def _coerce(name: str, value: Any) -> Any:
    if name in ("data_dir", "models_dir") and value is not None:
        return Path(value)
    if name in ("mdns_interfaces", "channels"):
        return tuple(value.split(",") if isinstance(value, str) else value)
    if name == "pin_lockouts_s":
        return tuple(int(v) for v in (value.split(",") if isinstance(value, str) else value) if str(v).strip())
    return value


def load_settings(data_dir: Path | str = DEFAULT_DATA, **overrides: Any) -> Settings:
    """Read DATA/config.toml (if present) and EDGE_SERVER_* environment overrides."""
    data = Path(data_dir)
    values: dict[str, Any] = {"data_dir": data}
    config = data / "config.toml"
    known = {f.name for f in fields(Settings)}
    if config.exists():
        with config.open("rb") as fh:
            raw = tomllib.load(fh)
        flat: dict[str, Any] = {}
        for key, value in raw.items():
            if isinstance(value, dict):
                for sub, subvalue in value.items():
                    flat[f"{key}_{sub}" if f"{key}_{sub}" in known else sub] = subvalue
            else:
                flat[key] = value
        unknown = sorted(k for k in flat if k not in known)
        if unknown:  # a misspelt setting must not pass silently
            log.warning("%s: unknown settings ignored: %s", config, ", ".join(unknown))
        values.update({k: _coerce(k, v) for k, v in flat.items() if k in known})
    for f in fields(Settings):
        env = os.environ.get(f"EDGE_SERVER_{f.name.upper()}")
        if env is None:
            continue
        if f.type in ("int",):
            values[f.name] = int(env)
        elif f.type in ("float",):
            values[f.name] = float(env)
        elif f.type in ("bool",):
            values[f.name] = env.lower() in ("1", "true", "yes", "on")
        elif f.name in ("mdns_interfaces", "channels"):
            values[f.name] = tuple(x for x in env.split(",") if x)
        else:
            values[f.name] = _coerce(f.name, env)
    settings = Settings(**values)
    return settings.with_overrides(**overrides)
