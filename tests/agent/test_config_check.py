"""`sohoa config check` and `sohoa run` on broken config files: every problem at once, each with its key
and line, the demo's identity refused, and never a traceback.

Ten files, each with several mistakes a technician makes; the expected problems are
listed beside each file as (line, key, words of the message). The check must name all
of them, and only them.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from firmware_agent import exit_codes
from firmware_agent.cli import main
from firmware_agent.config import Config, ConfigError, load_config

ROOT = Path(__file__).resolve().parents[2]

GOOD_IDENTITY = """[agent]
device_id = "h49-xa-tan-an-01"
state_dir = "{state}"
[records]
agency = "H49.01.02"
agency_name = "Ủy ban nhân dân xã Tân An"
"""

BROKEN = {
    "hours_and_url": ("""[agent]
device_id = "h49-xa-01"
state_dir = "{state}"
[records]
enabled = false
[sync]
allowed_hours = "25-7"
endpoint = "ftp://x"
chunk_kib = 1
""", [(7, "sync.allowed_hours", "START-END"), (8, "sync.endpoint", "http:// or https://"),
      (9, "sync.chunk_kib", "at least 64")]),
    "demo_identity": ("""[agent]
device_id = "demo-commune-0001"
state_dir = "{state}"
[records]
agency = "H49.64.33"
agency_name = "Ủy ban nhân dân xã (demo)"
""", [(2, "agent.device_id", "demo"), (5, "records.agency", "demo"), (6, "records.agency_name", "demo")]),
    "demo_by_omission": ("""[agent]
state_dir = "{state}"
""", [  # a key not written is placed at its section's line, or at none when the section is not there either
        (1, "agent.device_id", "demo-commune-0001"), (None, "records.agency", "H49.64.33"),
        (None, "records.agency_name", "demo")]),
    "types": (GOOD_IDENTITY + """[scanner]
poll_ms = "fast"
hang_s = true
[web]
allow_lan = "yes"
port = 70000
""", [(8, "scanner.poll_ms", "an integer"), (9, "scanner.hang_s", "a number"),
      (11, "web.allow_lan", "true or false"), (12, "web.port", "at most 65535")]),
    "unknown_keys": (GOOD_IDENTITY + """[scaner]
device = "x"
[scanner]
polms = 500
[[climate.sensors]]
id = "usb-1"
locaton = "Kho"
""", [(7, "scaner", "unknown key in the top level"), (10, "scanner.polms", "unknown key in [scanner]"),
      (13, "climate.sensors[0].locaton", "unknown key")]),
    "profiles": (GOOD_IDENTITY + """[scanner]
default_profile = "fast"
buttons = {{ scan = "nope" }}
[scanner.profiles.default]
resolution = 150
source = "tray"
""", [(8, "scanner.default_profile", "no profile named 'fast'"), (9, "scanner.buttons.scan", "no profile"),
      (11, "scanner.profiles.default.resolution", "at least 200"),
      (12, "scanner.profiles.default.source", "expected one of")]),
    "web": (GOOD_IDENTITY + """[web]
bind = "0.0.0.0"
hostnames = ["station.local:8080"]
password_hash = "hunter2"
""", [(8, "web.bind", "allow_lan"), (9, "web.hostnames", "host names"), (10, "web.password_hash", "not a hash")]),
    "records": (GOOD_IDENTITY.replace('agency = "H49.01.02"', 'agency = ""') + """ocr_languages = "vie eng"
thresholds = {{ subject = 7, codeNumber = "high" }}
rules_file = "{state}/no-such-rules.tsv"
separator = "magic"
""", [(5, "records.agency", "must be set"), (7, "records.ocr_languages", "tesseract languages"),
      (8, "records.thresholds.subject", "0 to 1"), (8, "records.thresholds.codeNumber", "0 to 1"),
      (9, "records.rules_file", "cannot read"), (10, "records.separator", "expected one of")]),
    "climate": (GOOD_IDENTITY + """[climate]
period_s = 0
[climate.alerts]
t_low_c = 30.0
t_high_c = 25.0
rh_low_pct = 70
rh_high_pct = 60
[[climate.sensors]]
id = "usb-1"
[[climate.sensors]]
id = "usb-1"
""", [(8, "climate.period_s", "at least 2"), (10, "climate.alerts.t_low_c", "below"),
      (12, "climate.alerts.rh_low_pct", "below"), (17, "climate.sensors[1].id", "listed twice")]),
    "agent_and_sync": ("""[agent]
device_id = "xã 01"
state_dir = "{state}"
log_level = "loud"
min_free_mb = 1
[records]
enabled = false
[sync]
endpoint = "https://user:secret@luutru.example/"
backoff_min_s = 900
backoff_max_s = 60
bandwidth_kib_s = -1
""", [(2, "agent.device_id", "letters, digits"), (4, "agent.log_level", "expected one of"),
      (5, "agent.min_free_mb", "at least 10"), (9, "sync.endpoint", "without user"),
      (10, "sync.backoff_min_s", "must not be above"), (12, "sync.bandwidth_kib_s", "at least 0")]),
}


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sohoa.toml"
    path.write_text(text.format(state=tmp_path / "state"), encoding="utf-8")
    return path


def test_ten_broken_files():
    assert len(BROKEN) == 10


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_every_problem_is_reported_with_its_key_and_line(name, tmp_path, capsys):
    text, expected = BROKEN[name]
    path = _write(tmp_path, text)
    assert main(["config", "check", str(path)]) == exit_codes.CONFIG
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert lines[0] == (f"Lỗi cấu hình / Config error: {len(expected)} lỗi trong {path} / "
                        f"{len(expected)} problems in {path}"), err
    problems = lines[1:]
    assert len(problems) == len(expected), err
    for line, key, words in expected:
        prefix = f"  line {line}: {key}: " if line else f"  {key}: "
        assert any(p.startswith(prefix) and words in p for p in problems), (prefix, words, err)
    # `sohoa run` reads the file through the same check: the same problems, the same status
    assert main(["run", "--config", str(path)]) == exit_codes.CONFIG
    assert capsys.readouterr().err == err


def test_a_good_file_passes_both(tmp_path, capsys):
    path = _write(tmp_path, GOOD_IDENTITY)
    assert main(["config", "check", str(path)]) == exit_codes.OK
    assert capsys.readouterr().out.strip().endswith(f": {path}")
    assert load_config(path, installed=True).agent.device_id == "h49-xa-tan-an-01"
    # the demo and the tests build their config without a file: the demo identity is theirs
    assert load_config(None).agent.device_id == "demo-commune-0001"


def test_the_run_command_ends_without_a_traceback(tmp_path):
    """As systemd starts it: a separate process, exit status 3 (RestartPreventExitStatus), no traceback."""
    path = _write(tmp_path, BROKEN["hours_and_url"][0])
    done = subprocess.run([sys.executable, "-m", "firmware_agent", "run", "--config", str(path)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == exit_codes.CONFIG
    assert "Traceback" not in done.stderr and "line 7: sync.allowed_hours" in done.stderr


def _leaves(cls: type, prefix: tuple[str, ...] = ()):
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if dataclasses.is_dataclass(hints[f.name]):
            yield from _leaves(hints[f.name], (*prefix, f.name))
        else:
            yield (*prefix, f.name)


ODD_VALUES = ("25-7", "ftp://x", "", " ", -1, 0, 10**30, 1e308, float("inf"), float("nan"), True, [], [1, "a"],
              {}, {"a": {"b": 1}}, "http://[::1", "ÿ" * 300)


def test_no_value_of_any_setting_raises_anything_but_a_config_error():
    """Every setting, set to values of every kind: a Config or a ConfigError, never another exception."""
    keys = list(_leaves(Config))
    assert len(keys) > 60
    for key in keys:
        for value in ODD_VALUES:
            tree: dict = {}
            node = tree
            for part in key[1:-1]:
                node = node.setdefault(part, {})
            node[key[-1]] = value
            overrides = {key[0]: tree} if len(key) > 1 else {}
            try:
                load_config(None, overrides, installed=True)
            except ConfigError as exc:
                assert exc.problems and all(":" in p for p in exc.problems), (key, value, exc.problems)
