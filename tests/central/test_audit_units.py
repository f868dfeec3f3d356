"""The replicator's and the audit's systemd units (design 5.14): `systemd-analyze verify` and real command lines."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from central.cli import build_parser

SYSTEMD = Path(__file__).resolve().parents[2] / "systemd"
UNITS = ("sohoa-central-audit.service", "sohoa-central-replicate.service")


def _exec_start(name: str) -> str:
    (line,) = [raw for raw in (SYSTEMD / name).read_text().splitlines() if raw.startswith("ExecStart=")]
    return line.partition("=")[2]


def test_audit_and_replicate_units_run_real_commands():
    audit = build_parser().parse_args(shlex.split(_exec_start(UNITS[0]))[1:])
    assert audit.func.__name__ == "cmd_audit" and audit.rate == 5 and not audit.continuous
    assert str(audit.config) == "/etc/sohoa-central/central.toml"
    replicate = build_parser().parse_args(shlex.split(_exec_start(UNITS[1]))[1:])
    assert replicate.func.__name__ == "cmd_replicate" and not replicate.once
    timer = (SYSTEMD / "sohoa-central-audit.timer").read_text()
    assert "Unit=sohoa-central-audit.service" in timer and "Persistent=true" in timer


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_audit_units_verify_clean(tmp_path):
    python = str(Path(sys.executable).resolve())
    for name in (*UNITS, "sohoa-central-audit.timer"):
        text = (SYSTEMD / name).read_text()
        if name.endswith(".service"):
            text = text.replace(_exec_start(name).split()[0], python)
        (tmp_path / name).write_text(text)
    for name in (*UNITS, "sohoa-central-audit.timer"):
        r = subprocess.run(["systemd-analyze", "verify", "--man=no", str(tmp_path / name)], capture_output=True,
                           text=True, timeout=60)
        noise = [line for line in (r.stdout + r.stderr).splitlines() if line.strip()]
        assert r.returncode == 0 and noise == [], (name, noise)
