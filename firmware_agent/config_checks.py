"""The checks of config values that types and bounds cannot express.

Run by the loader for every file, so `sohoa config check` and `sohoa run` see
exactly the same problems: a value that passes here must not fail when the
agent starts (an hours window, a URL, a file the records stage reads). Every
problem is added to *out* as ``"dotted.key: what is wrong"``; none is raised.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from firmware_agent.messages import CATALOGUE
from firmware_agent.records.settings import RecordsSettings
from firmware_agent.settings_base import ConfigError
from records.classify import RulesError, load_rules
from sync.canon import DEVICE_ID_RE

# The demo's identity (`sohoa demo`, the defaults): never in a station's own file.
DEMO_DEVICE_ID = "demo-commune-0001"
DEMO_AGENCY = "H49.64.33"
_LANGS_RE = re.compile(r"[A-Za-z_]+(\+[A-Za-z_]+)*")


def check_values(cfg, out: list[str], *, installed: bool) -> None:
    """Add every problem of *cfg* to *out*; *installed* also refuses the demo's identity."""
    _check_agent(cfg, out)
    _check_sync(cfg.sync, out)
    _check_records(cfg, out)
    _check_climate(cfg.climate, out)
    if cfg.hotfolder.path:
        _expect_path("hotfolder.path", cfg.hotfolder.path, "dir", out)
    if installed:
        _refuse_demo(cfg, out)


def _check_agent(cfg, out: list[str]) -> None:
    if not DEVICE_ID_RE.fullmatch(cfg.agent.device_id):
        got = repr(cfg.agent.device_id)
        out.append(f"agent.device_id: {CATALOGUE['config.problem.device_id'].format(got=got).text}")
    if not cfg.agent.state_dir.strip():
        out.append(f"agent.state_dir: {CATALOGUE['config.problem.state_dir_empty'].text}")
    else:
        _expect_path("agent.state_dir", cfg.agent.state_dir, "dir", out)


def _check_sync(sync, out: list[str]) -> None:
    try:
        sync.hours()
    except ConfigError as exc:
        out.append(str(exc))
    if sync.endpoint:
        problem = _url_problem(sync.endpoint)
        if problem:
            out.append(f"sync.endpoint: {problem}")
    if sync.backoff_min_s > sync.backoff_max_s:
        backoff = CATALOGUE["config.problem.backoff"].format(maximum=sync.backoff_max_s, got=sync.backoff_min_s)
        out.append(f"sync.backoff_min_s: {backoff.text}")
    for key in ("device_key", "archive_public_key", "log_public_key"):
        value = getattr(sync, key)
        if value:
            _expect_path(f"sync.{key}", value, "file", out)


def _expect_path(key: str, value: str, kind: str, out: list[str]) -> bool:
    """False (and a problem) when *value* cannot name a path, or names one of the other kind."""
    try:
        path = Path(value)
        exists = path.exists()
        wrong = exists and (not path.is_dir() if kind == "dir" else path.is_dir())
    except (OSError, ValueError) as exc:  # too long, a NUL byte, a folder it may not look into
        detail = f"{exc.__class__.__name__}: {getattr(exc, 'strerror', None) or exc}"
        out.append(f"{key}: {CATALOGUE['config.problem.path_unusable'].text}: {detail}")
        return False
    if wrong:
        wrong_kind = (CATALOGUE["config.problem.path_not_dir"] if kind == "dir"
                      else CATALOGUE["config.problem.path_not_file"])
        out.append(f"{key}: {wrong_kind.format(value=repr(value)).text}")
        return False
    return True


def _url_problem(url: str) -> str:
    """What is wrong with the receiver's URL *url* as ``vi / en`` (with the library's detail), or ''."""
    got = repr(url)
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError on a port out of range or not a number
    except ValueError as exc:
        return f"{CATALOGUE['config.problem.url_invalid'].format(got=got).text}: {exc}"
    if parts.scheme not in ("http", "https"):
        return CATALOGUE["config.problem.url_scheme"].format(got=got).text
    if not parts.hostname:
        return CATALOGUE["config.problem.url_host"].format(got=got).text
    if parts.username or parts.password or parts.query or parts.fragment:
        return CATALOGUE["config.problem.url_extra"].format(got=got).text
    return ""


def _check_records(cfg, out: list[str]) -> None:
    r = cfg.records
    if not _LANGS_RE.fullmatch(r.ocr_languages):
        got = repr(r.ocr_languages)
        out.append(f"records.ocr_languages: {CATALOGUE['config.problem.ocr_languages'].format(got=got).text}")
    for name, value in r.thresholds.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            out.append(f"records.thresholds.{name}: "
                       f"{CATALOGUE['config.problem.threshold'].format(got=repr(value)).text}")
    if r.rules_file and _expect_path("records.rules_file", r.rules_file, "file", out):
        try:
            load_rules(r.rules_file)
        except RulesError as exc:
            out.append(f"records.rules_file: {CATALOGUE['config.problem.rules_invalid'].text}: {exc}")
    if r.secret_recipient_key and _expect_path("records.secret_recipient_key", r.secret_recipient_key, "file", out):
        if not Path(r.secret_recipient_key).is_file():
            missing = CATALOGUE["config.problem.no_such_file"].format(value=repr(r.secret_recipient_key))
            out.append(f"records.secret_recipient_key: {missing.text}")
    if r.enabled and not r.agency.strip():
        out.append(f"records.agency: {CATALOGUE['config.problem.agency_missing'].text}")


def _check_climate(c, out: list[str]) -> None:
    a = c.alerts
    if a.t_low_c >= a.t_high_c:
        t_low = CATALOGUE["config.problem.t_low"].format(high=a.t_high_c, got=a.t_low_c)
        out.append(f"climate.alerts.t_low_c: {t_low.text}")
    if a.rh_low_pct >= a.rh_high_pct:
        rh_low = CATALOGUE["config.problem.rh_low"].format(high=a.rh_high_pct, got=a.rh_low_pct)
        out.append(f"climate.alerts.rh_low_pct: {rh_low.text}")
    seen = set()
    for i, sensor in enumerate(c.sensors):
        if not sensor.id:
            out.append(f"climate.sensors[{i}].id: {CATALOGUE['config.problem.sensor_id_missing'].text}")
        elif sensor.id in seen:
            out.append(f"climate.sensors[{i}].id: "
                       f"{CATALOGUE['config.problem.sensor_twice'].format(id=repr(sensor.id)).text}")
        seen.add(sensor.id)


def _refuse_demo(cfg, out: list[str]) -> None:
    if cfg.agent.device_id == DEMO_DEVICE_ID:
        out.append(f"agent.device_id: {CATALOGUE['config.demo_value'].format(value=DEMO_DEVICE_ID).text}")
    if cfg.records.enabled:
        if cfg.records.agency == DEMO_AGENCY:
            out.append(f"records.agency: {CATALOGUE['config.demo_value'].format(value=DEMO_AGENCY).text}")
        demo_name = RecordsSettings().agency_name
        if cfg.records.agency_name == demo_name:
            out.append(f"records.agency_name: {CATALOGUE['config.demo_value'].format(value=demo_name).text}")
