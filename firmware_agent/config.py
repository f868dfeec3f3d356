"""One TOML config, one schema, validated at start.

The schema is a tree of frozen dataclasses. Every field carries a ``doc`` in
its metadata (shown by ``sohoa config --explain``) and a default that suits the
demo. Unknown keys and wrong types are rejected with a message that names the
dotted key and says what is expected, so a technician can fix the line.

A subsystem keeps its settings dataclass next to its code (built from
``settings_base.setting``) and the root ``Config`` below composes them; the
loader knows nothing about any of them.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from firmware_agent.climate.settings import ClimateSettings
from firmware_agent.config_checks import check_values
from firmware_agent.config_lines import key_lines, line_of
from firmware_agent.imaging_settings import ImagingSettings
from firmware_agent.messages import CATALOGUE
from firmware_agent.records.settings import RecordsSettings
from firmware_agent.settings_base import ConfigError, setting
from firmware_agent.sync_settings import SyncSettings
from firmware_agent.web.settings import WebSettings

# The names a caller of the loader needs, whichever module defines them.
__all__ = ["Config", "ConfigError", "explain", "load_config", "setting"]


# --------------------------------------------------------------------------- sections

@dataclass(frozen=True)
class AgentSettings:
    device_id: str = setting("demo-commune-0001", doc="Stable id of this appliance (commune code + station number).")
    state_dir: str = setting("/var/lib/sohoa", doc="Where the journal, page images and outbox live.")
    log_level: str = setting("info", doc="Log verbosity.", choices=("debug", "info", "warning", "error"))
    min_free_mb: int = setting(500, doc="Stop scanning when free space in state_dir falls below this (MiB).", minimum=10)


@dataclass(frozen=True)
class ScanProfile:
    source: str = setting("adf", doc="Paper source.", choices=("adf", "duplex", "flatbed"))
    mode: str = setting("color", doc="Colour mode. TT 05/2025 asks for colour as the original.", choices=("color", "gray"))
    resolution: int = setting(300, doc="Dots per inch; TT 05/2025 asks at least 200 (300 for maps).", minimum=200, maximum=1200)
    depth: int = setting(8, doc="Bits per sample.", choices=(8, 16))


@dataclass(frozen=True)
class ScannerSettings:
    device: str = setting("", doc="SANE device name (e.g. 'fujitsu:fi-8170:123'); empty = first one found.")
    poll_ms: int = setting(500, doc="How often the scanner's button options are read (ms).", minimum=50, maximum=10000)
    reopen_s: float = setting(3.0, doc="Seconds between attempts to reopen a vanished scanner.", minimum=0.1)
    hang_s: float = setting(90.0, doc="A scanner busy this long without delivering a page is reset (USB).",
                            minimum=1.0)
    default_profile: str = setting("default", doc="Profile used by the status page's Scan action and the GPIO key.")
    buttons: dict = setting(factory=dict, doc="Map of SANE button option name -> profile name, e.g. {scan = 'default'}.")
    profiles: dict = setting(factory=lambda: {"default": ScanProfile()}, doc="Named scan profiles ([scanner.profiles.NAME]).")
    width_mm: float = setting(210.0, doc="Scan area width (mm); clipped to what the device offers.", minimum=10)
    height_mm: float = setting(297.0, doc="Scan area height (mm); clipped to what the device offers.", minimum=10)
    test_picture: str = setting("", doc="Only for SANE's virtual test scanner (the demo): which picture it draws; empty for real scanners.")


@dataclass(frozen=True)
class InputKeySettings:
    device: str = setting("", doc="Linux input event device of a GPIO scan key (e.g. /dev/input/event0); empty = none.")
    key_code: int = setting(28, doc="Key code that starts a scan (28 = KEY_ENTER; gpio-keys often uses 257).", minimum=1)


@dataclass(frozen=True)
class HotFolderSettings:
    path: str = setting("", doc="Folder a network copier scans into; empty = hot folder off.")
    settle_s: float = setting(2.0, doc="A file is taken once size and mtime stayed unchanged this long (s).", minimum=0.1)
    dpi: int = setting(300, doc="Resolution assumed for images that do not say.", minimum=50)


@dataclass(frozen=True)
class ProcessingSettings:
    workers: int = setting(0, doc="Processing threads; 0 = one per CPU core.", minimum=0, maximum=64)
    jpeg_quality: int = setting(90, doc="JPEG quality of the archival colour page.", minimum=50, maximum=100)


@dataclass(frozen=True)
class BatchSettings:
    max_pages: int = setting(200, doc="Close a batch once it holds this many pages.", minimum=1)
    max_age_s: float = setting(60.0, doc="Close a non-empty batch this long after its first page (s).", minimum=0.0)
    keep_local_days: float = setting(7.0, doc="Days the appliance keeps its own copy of a page after the archive's "
                                              "receipt (the second copy while the archive makes its own).",
                                     minimum=0.0)


@dataclass(frozen=True)
class Config:
    agent: AgentSettings = setting(factory=AgentSettings, doc="The appliance itself.")
    scanner: ScannerSettings = setting(factory=ScannerSettings, doc="The SANE scanner and its triggers.")
    input_key: InputKeySettings = setting(factory=InputKeySettings, doc="A hardware scan key on a GPIO pin.")
    hotfolder: HotFolderSettings = setting(factory=HotFolderSettings, doc="Scan-to-folder intake.")
    processing: ProcessingSettings = setting(factory=ProcessingSettings, doc="Page clean-up.")
    batch: BatchSettings = setting(factory=BatchSettings, doc="Grouping of processed work into upload batches.")
    web: WebSettings = setting(factory=WebSettings, doc="Local status page.")
    imaging: ImagingSettings = setting(factory=ImagingSettings, doc="Page clean-up (deskew, crop, blank pages, "
                                       "binarization).")
    records: RecordsSettings = setting(factory=RecordsSettings, doc="Record files, OCR, PDF/A and SIP_hoso packages.")
    sync: SyncSettings = setting(factory=SyncSettings, doc="Sealing and uploading batches to the central receiver.")
    climate: ClimateSettings = setting(factory=ClimateSettings, doc="Storage-room climate: sensors, target band, "
                                       "alerts.")

    @property
    def state_path(self) -> Path:
        return Path(self.agent.state_dir)


# --------------------------------------------------------------------------- loading

_NESTED_MAPS = {("scanner", "profiles"): ScanProfile}


class _Problems(list):
    """Every problem found in one file, as ``"dotted.key: what is wrong"`` strings, in the order found."""

    def add(self, exc: ConfigError) -> None:
        self.extend(exc.problems)


# A field's type -> the problem of a value of another type (each a literal lookup, design §1.1 M5).
_EXPECTED = types.MappingProxyType({
    int: CATALOGUE["config.problem.expected_int"],
    float: CATALOGUE["config.problem.expected_number"],
    str: CATALOGUE["config.problem.expected_string"],
    bool: CATALOGUE["config.problem.expected_bool"],
    dict: CATALOGUE["config.problem.expected_table"],
})


def _problem(key: str, message) -> ConfigError:
    """``KEY: vi / en`` as one problem (the message filled with the values as written)."""
    return ConfigError(f"{key}: {message.text}")


def _coerce(key: str, value: Any, tp: Any, meta: typing.Mapping, out: _Problems) -> Any:
    """*value* checked against *tp* and *meta*; raises ConfigError (a nested table adds its problems to *out*)."""
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise _problem(key, CATALOGUE["config.problem.expected_section"].format(key=key, got=type(value).__name__))
        return _build(tp, value, key, out)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if tp is bool and not isinstance(value, bool):
        raise _problem(key, _EXPECTED[bool].format(got=repr(value)))
    if tp in (int, float) and (isinstance(value, bool) or not isinstance(value, tp)):
        raise _problem(key, _EXPECTED[tp].format(got=repr(value)))
    if tp in (str, dict) and not isinstance(value, tp):
        raise _problem(key, _EXPECTED[tp].format(got=repr(value)))
    if tp is float and not math.isfinite(value):
        raise _problem(key, CATALOGUE["config.problem.expected_finite"].format(got=repr(value)))
    choices = meta.get("choices")
    if choices and value not in choices:
        raise _problem(key, CATALOGUE["config.problem.expected_choice"].format(
            choices=", ".join(map(repr, choices)), got=repr(value)))
    if meta.get("min") is not None and value < meta["min"]:
        raise _problem(key, CATALOGUE["config.problem.at_least"].format(minimum=meta["min"], got=repr(value)))
    if meta.get("max") is not None and value > meta["max"]:
        raise _problem(key, CATALOGUE["config.problem.at_most"].format(maximum=meta["max"], got=repr(value)))
    return value


def _item_dataclass(tp: Any) -> Any:
    """The element type of ``tuple[X, ...]`` or ``list[X]`` when X is a settings dataclass, else None."""
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (list, tuple) and args and dataclasses.is_dataclass(args[0]):
        return args[0]
    return None


def _field(key: str, value: Any, tp: Any, meta: typing.Mapping, out: _Problems) -> Any:
    item = _item_dataclass(tp)
    if item is not None:
        if not isinstance(value, list):
            raise _problem(key, CATALOGUE["config.problem.expected_array_of_tables"].format(key=key))
        return tuple(_coerce(f"{key}[{i}]", v, item, {}, out) for i, v in enumerate(value))
    if isinstance(tp, types.GenericAlias):
        tp = typing.get_origin(tp)
    nested = _NESTED_MAPS.get(tuple(key.split(".")))
    if nested is not None:
        if not isinstance(value, dict):
            raise _problem(key, CATALOGUE["config.problem.expected_table_of_tables"])
        return {k: _coerce(f"{key}.{k}", v, nested, {}, out) for k, v in value.items()}
    return _coerce(key, value, tp, meta, out)


def _build(cls: type, data: dict, prefix: str, out: _Problems) -> Any:
    """*cls* from *data*; every problem goes to *out* and its field keeps its default, so all are found."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for name in sorted(set(data) - set(fields)):
        known = ", ".join(sorted(fields))
        if prefix:
            out.append(f"{prefix}.{name}: "
                       f"{CATALOGUE['config.problem.unknown_key'].format(section=prefix, known=known).text}")
        else:
            out.append(f"{name}: {CATALOGUE['config.problem.unknown_top_key'].format(known=known).text}")
    kwargs = {}
    for name, value in data.items():
        if name not in fields:
            continue
        key = f"{prefix}.{name}" if prefix else name
        try:
            kwargs[name] = _field(key, value, hints[name], fields[name].metadata, out)
        except ConfigError as exc:
            out.add(exc)
    try:
        return cls(**kwargs)
    except ConfigError as exc:  # a section's own checks (__post_init__): report them, and go on
        out.add(exc)           # with the fields they did not name, so later checks still see those
        named = {p.split(":", 1)[0] for p in exc.problems}
        try:
            return cls(**{k: v for k, v in kwargs.items() if f"{prefix}.{k}" not in named})
        except ConfigError:
            return cls()


def load_config(path: str | os.PathLike | None, overrides: dict | None = None, *, installed: bool = False) -> Config:
    """Read and validate a TOML file (or only defaults when *path* is None).

    *overrides* is a nested dict applied on top (used by the demo and tests).
    *installed* is for a station's own file (`sohoa run`, `sohoa config check`): the
    demo's identity (device id, agency code and name) is refused there.
    Raises :class:`ConfigError` naming every offending key, each with its line
    (``ConfigError.problems``, ``ConfigError.lines``).
    """
    data: dict = {}
    text = ""
    if path is not None:
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
        try:
            text = raw.decode("utf-8")
            data = tomllib.loads(text)
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    for section, values in (overrides or {}).items():
        data.setdefault(section, {}).update(values)
    out = _Problems()
    cfg = _build(Config, data, "", out)
    _check_cross_fields(cfg, out)
    check_values(cfg, out, installed=installed)
    if out:
        lines = key_lines(text)
        located = sorted(((line_of(p.split(":", 1)[0], lines), p) for p in out),
                         key=lambda item: (item[0] is None, item[0] or 0))
        raise ConfigError("\n".join(f"line {n}: {p}" if n else p for n, p in located),
                          problems=[p for _n, p in located], lines=[n for n, _p in located])
    return cfg


def _check_cross_fields(cfg: Config, out: _Problems) -> None:
    profiles = cfg.scanner.profiles
    if cfg.scanner.default_profile not in profiles:
        no_profile = CATALOGUE["config.problem.no_profile"].format(
            name=repr(cfg.scanner.default_profile), defined=", ".join(sorted(profiles)) or "—")
        out.append(f"scanner.default_profile: {no_profile.text}")
    for button, prof in cfg.scanner.buttons.items():
        if not isinstance(prof, str):
            out.append(f"scanner.buttons.{button}: "
                       f"{CATALOGUE['config.problem.button_profile'].format(got=repr(prof)).text}")
        elif prof not in profiles:
            no_profile = CATALOGUE["config.problem.no_profile"].format(
                name=repr(prof), defined=", ".join(sorted(profiles)) or "—")
            out.append(f"scanner.buttons.{button}: {no_profile.text}")
    bind = cfg.web.bind
    if bind not in ("127.0.0.1", "::1", "localhost") and not cfg.web.allow_lan:
        out.append(f"web.bind: {CATALOGUE['config.problem.bind_not_loopback'].format(bind=repr(bind)).text}")


def explain(cls: type = Config, prefix: str = "") -> list[str]:
    """Lines documenting every setting: dotted key, default, description."""
    lines = []
    for f in dataclasses.fields(cls):
        key = f"{prefix}.{f.name}" if prefix else f.name
        tp = typing.get_type_hints(cls)[f.name]
        if dataclasses.is_dataclass(tp):
            lines.append(f"[{key}]  {f.metadata.get('doc', '')}")
            lines.extend(explain(tp, key))
            continue
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        if isinstance(default, dict):
            default = {k: (dataclasses.asdict(v) if dataclasses.is_dataclass(v) else v) for k, v in default.items()}
        lines.append(f"  {key} = {default!r}  # {f.metadata.get('doc', '')}")
    return lines


