"""The central configuration file (TOML, version 1; design 5.12): every key, its type and default.

Unknown tables or keys and values of the wrong type are refused with their
name (:class:`ConfigError`). Defaults are the single box: SQLite and files
under ``--root``. Command-line options given explicitly win over the file
(:func:`merge_cli`).
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

VERSION = 1


class ConfigError(ValueError):
    """A configuration the receiver refuses; the message names the key."""


@dataclass
class ReceiverSection:
    host: str = "127.0.0.1"
    port: int = 8470
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 8471
    max_size_mib: int = 4096
    origin: str = ""
    sip_check: bool = True
    header_timeout_s: float = 20.0
    idle_timeout_s: float = 75.0
    body_idle_timeout_s: float = 60.0
    trusted_proxies: list = field(default_factory=list)
    retry_after_s: int = 5
    patches_in_flight: int = 12


@dataclass
class KeysSection:
    dir: str = ""


@dataclass
class StateSection:
    url: str = ""
    pool_min: int = 1
    pool_max: int = 40
    connect_timeout_s: float = 3.0


@dataclass
class ObjectsSection:
    url: str = ""
    endpoint: str = ""
    region: str = "us-east-1"
    access_key_id: str = ""
    secret_access_key: str = ""
    part_size_mib: int = 8


@dataclass
class ReplicaSection:
    """The second copy's store (design 5.14): an independent endpoint; "" = no replica."""

    url: str = ""
    endpoint: str = ""
    region: str = "us-east-1"
    access_key_id: str = ""
    secret_access_key: str = ""


@dataclass
class AuditSection:
    rate_objects_per_s: float = 2.0


@dataclass
class CentralConfig:
    version: int = VERSION
    receiver: ReceiverSection = field(default_factory=ReceiverSection)
    keys: KeysSection = field(default_factory=KeysSection)
    state: StateSection = field(default_factory=StateSection)
    objects: ObjectsSection = field(default_factory=ObjectsSection)
    replica: ReplicaSection = field(default_factory=ReplicaSection)
    audit: AuditSection = field(default_factory=AuditSection)

    # ------------------------------------------------------------------ resolved values
    def keys_dir(self, root: Path) -> Path:
        return Path(self.keys.dir) if self.keys.dir else Path(root) / "keys"

    def state_url(self, root: Path) -> str:
        return self.state.url or f"sqlite:///{(Path(root) / 'receiver.sqlite3').resolve()}"

    def objects_url(self, root: Path) -> str:
        return self.objects.url or f"file://{Path(root).resolve()}"


_SECTIONS = {"receiver": ReceiverSection, "keys": KeysSection, "state": StateSection, "objects": ObjectsSection,
             "replica": ReplicaSection, "audit": AuditSection}


def _check_type(where: str, value, default):
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, list):
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    else:
        ok = isinstance(value, str)
    if not ok:
        raise ConfigError(f"{where}: expected {type(default).__name__}, got {type(value).__name__}")
    return value


def parse(data: dict) -> CentralConfig:
    """A :class:`CentralConfig` from parsed TOML; raises :class:`ConfigError`."""
    cfg = CentralConfig()
    if data.get("version") != VERSION:
        raise ConfigError(f"version: this receiver reads version {VERSION}, the file says {data.get('version')!r}")
    for name, value in data.items():
        if name == "version":
            continue
        if name not in _SECTIONS:
            raise ConfigError(f"{name}: unknown table (known: {', '.join(_SECTIONS)})")
        if not isinstance(value, dict):
            raise ConfigError(f"{name}: must be a table")
        section = getattr(cfg, name)
        known = {f.name for f in dataclasses.fields(section)}
        for key, v in value.items():
            if key not in known:
                raise ConfigError(f"{name}.{key}: unknown key (known: {', '.join(sorted(known))})")
            setattr(section, key, _check_type(f"{name}.{key}", v, getattr(section, key)))
    validate(cfg)
    return cfg


def validate(cfg: CentralConfig) -> None:
    state = cfg.state.url
    if state and urlparse(state).scheme not in ("sqlite", "postgresql", "postgres"):
        raise ConfigError("state.url: sqlite:///PATH or postgresql://...")
    objects = cfg.objects.url
    if objects:
        u = urlparse(objects)
        if u.scheme not in ("file", "s3"):
            raise ConfigError("objects.url: file:///PATH or s3://BUCKET/PREFIX")
        if u.scheme == "s3" and not u.netloc:
            raise ConfigError("objects.url: s3://BUCKET/PREFIX needs a bucket")
    replica = cfg.replica.url
    if replica:
        u = urlparse(replica)
        if u.scheme not in ("file", "s3") or (u.scheme == "s3" and not u.netloc):
            raise ConfigError("replica.url: file:///PATH or s3://BUCKET/PREFIX")
        if (replica.rstrip("/") == (objects or "").rstrip("/")
                and cfg.replica.endpoint == cfg.objects.endpoint):
            raise ConfigError("replica.url: the replica must be another store than [objects] (design 5.14)")
    if not cfg.audit.rate_objects_per_s > 0:
        raise ConfigError("audit.rate_objects_per_s: must be positive")
    if not 5 <= cfg.objects.part_size_mib <= 5120:
        raise ConfigError("objects.part_size_mib: between 5 and 5120")
    if cfg.state.pool_min < 1 or cfg.state.pool_max < max(2, cfg.state.pool_min):
        raise ConfigError("state.pool_min ≥ 1 and state.pool_max ≥ max(2, pool_min)")
    for name in ("header_timeout_s", "idle_timeout_s", "body_idle_timeout_s"):
        if getattr(cfg.receiver, name) <= 0:
            raise ConfigError(f"receiver.{name}: must be positive")
    if cfg.receiver.retry_after_s < 1:
        raise ConfigError("receiver.retry_after_s: at least 1")
    if cfg.receiver.patches_in_flight < 1:
        raise ConfigError("receiver.patches_in_flight: at least 1")
    if state and urlparse(state).scheme != "sqlite" and cfg.state.pool_max < pool_needed(1):
        raise ConfigError(f"state.pool_max: a receiver node needs at least {pool_needed(1)} connections "
                          "(design 5.12, connection budget)")


# The threads of a node (design 5.12, "Connection budget"): the I/O lane that writes bodies and
# their S3 bookkeeping (central.receiver), and the acceptance lane that checks, completes and
# appends (the event loop's default executor, set by central.receiver_app.serve_forever).
IO_THREADS, ACCEPT_THREADS = 8, 6


def pool_needed(patches_in_flight: int) -> int:
    """PostgreSQL connections one node may hold at once with *patches_in_flight* PATCHes (design 5.12).

    Each PATCH holds its upload lock, and at its end its device lock too; each thread of the two
    lanes holds at most one more; the event loop's short queries one.
    """
    return 2 * patches_in_flight + IO_THREADS + ACCEPT_THREADS + 1


def patch_slots(cfg: CentralConfig) -> int:
    """The PATCHes a node serves at once: ``receiver.patches_in_flight``, fewer if ``state.pool_max``
    cannot hold them (PostgreSQL; the node says so when it starts)."""
    if urlparse(cfg.state.url).scheme in ("postgresql", "postgres"):
        fits = (cfg.state.pool_max - pool_needed(0)) // 2
        return max(1, min(cfg.receiver.patches_in_flight, fits))
    return cfg.receiver.patches_in_flight


def load(path: Path | None) -> CentralConfig:
    """The file at *path* (None: the defaults); raises :class:`ConfigError` naming what is wrong."""
    if path is None:
        return CentralConfig()
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return parse(data)


def merge_cli(cfg: CentralConfig, given: dict) -> CentralConfig:
    """*cfg* with the receiver options given explicitly on the command line (not None) put over it."""
    for key, value in given.items():
        if value is not None:
            setattr(cfg.receiver, key, value)
    validate(cfg)
    return cfg


def sqlite_path(url: str) -> Path:
    """``sqlite:///abs/path`` → the path (``sqlite:///`` plus a relative path is relative to the working folder)."""
    u = urlparse(url)
    return Path(os.path.expanduser(u.path if u.netloc in ("", "localhost") else u.netloc + u.path))
