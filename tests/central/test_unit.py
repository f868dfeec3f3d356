"""systemd/sohoa-central.service passes `systemd-analyze verify` and runs a real command line."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from central.cli import build_parser

UNIT = Path(__file__).resolve().parents[2] / "systemd" / "sohoa-central.service"


def _exec_start() -> str:
    (line,) = [raw for raw in UNIT.read_text().splitlines() if raw.startswith("ExecStart=")]
    return line.partition("=")[2]


def test_exec_start_is_a_valid_sohoa_central_command():
    argv = shlex.split(_exec_start())
    assert argv[0].endswith("/sohoa-central")
    args = build_parser().parse_args(argv[1:])
    assert args.func.__name__ == "cmd_serve" and args.host == "127.0.0.1" and args.port == 8470
    assert str(args.root) == "/var/lib/sohoa-central"
    # /metrics has no credentials: only ever on loopback, on a port of its own.
    assert (args.metrics_host, args.metrics_port) == ("127.0.0.1", 8471)
    assert args.trusted_proxy == ["127.0.0.1"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_analyze_verify_is_clean(tmp_path):
    # verify wants ExecStart's binary to exist: point it at this Python, keep every other line.
    text = UNIT.read_text().replace(_exec_start().split()[0], str(Path(sys.executable).resolve()))
    copy = tmp_path / "sohoa-central.service"
    copy.write_text(text)
    r = subprocess.run(["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, timeout=60)
    noise = [line for line in (r.stdout + r.stderr).splitlines() if line.strip()]
    assert r.returncode == 0 and noise == [], noise
    broken = tmp_path / "broken" / "sohoa-central.service"
    broken.parent.mkdir()
    broken.write_text(text.replace("ProtectSystem=strict", "ProtectSystem=sideways"))
    r = subprocess.run(["systemd-analyze", "verify", str(broken)], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 or (r.stdout + r.stderr).strip()
