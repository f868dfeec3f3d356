"""The central archive's systemd units (receiver, replicator, audit, ingest), checked with systemd's tools.

Every long-running or timed ``sohoa-central`` unit carries the receiver's
sandbox line for line and points at the central documentation; each one passes
``systemd-analyze verify`` (on a copy whose ExecStart is this test's Python, the
rest as shipped) and keeps a low ``systemd-analyze security`` exposure; the
command line each one runs is one the real ``sohoa-central`` parser accepts.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.systemd.unit_files import one, parse_unit, values

ROOT = Path(__file__).resolve().parents[2]
SYSTEMD = ROOT / "systemd"
RECEIVER = SYSTEMD / "sohoa-central.service"
CENTRAL_SERVICES = ["sohoa-central.service", "sohoa-central-replicate.service", "sohoa-central-audit.service",
                    "sohoa-central-ingest.service", "sohoa-central-sweep.service"]
# The hardening every central unit shares (what sohoa-central.service sets).
SANDBOX_KEYS = ("DynamicUser", "UMask", "ProtectSystem", "ProtectHome", "PrivateTmp", "PrivateDevices",
                "ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups",
                "ProtectClock", "ProtectHostname", "RestrictAddressFamilies", "RestrictNamespaces",
                "RestrictRealtime", "RestrictSUIDSGID", "LockPersonality", "NoNewPrivileges",
                "MemoryDenyWriteExecute", "SystemCallArchitectures", "SystemCallFilter", "CapabilityBoundingSet",
                "StateDirectory", "StateDirectoryMode")


def _runnable(tmp_path: Path, name: str, text: str) -> Path:
    exe = Path(sys.executable).resolve()
    copy = tmp_path / name
    copy.write_text(re.sub(r"^ExecStart=\S+", f"ExecStart={exe}", text, count=1, flags=re.M))
    return copy


def _verify(path: Path) -> list[str]:
    done = subprocess.run(["systemd-analyze", "verify", "--man=no", str(path)], capture_output=True, text=True,
                          timeout=60, cwd=path.parent)
    problems = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    if done.returncode != 0:
        problems.append(f"exit status {done.returncode}")
    return problems


def _exposure(path: Path) -> float:
    done = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--no-pager", str(path)],
                          capture_output=True, text=True, timeout=60, cwd=path.parent)
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", done.stdout + done.stderr)
    assert m, done.stdout[-500:] + done.stderr[-500:]
    return float(m.group(1))


@pytest.mark.parametrize("name", CENTRAL_SERVICES)
def test_systemd_analyze_verify_is_clean(tmp_path, name):
    assert _verify(_runnable(tmp_path, name, (SYSTEMD / name).read_text())) == []


def test_verify_catches_a_broken_ingest_unit(tmp_path):
    text = (SYSTEMD / "sohoa-central-ingest.service").read_text()
    broken = text.replace("ProtectSystem=strict", "ProtectSystem=strcit").replace("RestartSec=5", "RestartSec=5\n"
                                                                                   "RestartSecs=5")
    problems = _verify(_runnable(tmp_path, "sohoa-central-ingest.service", broken))
    assert any("strcit" in p for p in problems) and any("RestartSecs" in p for p in problems)


@pytest.mark.parametrize("name", CENTRAL_SERVICES[1:])
def test_the_same_hardening_and_documentation_as_the_receiver(name):
    receiver, unit = parse_unit(RECEIVER.read_text()), parse_unit((SYSTEMD / name).read_text())
    for key in SANDBOX_KEYS:
        assert values(unit, "Service", key) == values(receiver, "Service", key), f"{name}: {key}"
    docs = one(unit, "Unit", "Documentation").split()
    assert "file:/opt/sohoa/docs/central.md" in docs
    for doc in docs:  # every page it names is shipped
        assert (ROOT / doc.removeprefix("file:/opt/sohoa/")).is_file(), doc


@pytest.mark.parametrize("name", CENTRAL_SERVICES)
def test_security_exposure_stays_low(tmp_path, name):
    assert _exposure(_runnable(tmp_path, name, (SYSTEMD / name).read_text())) <= 2.5


@pytest.mark.parametrize("name", ["sohoa-central-audit.timer", "sohoa-central-sweep.timer"])
def test_timers_verify_and_start_their_service(tmp_path, name):
    timer = parse_unit((SYSTEMD / name).read_text())
    service = one(timer, "Timer", "Unit")
    assert (SYSTEMD / service).is_file() and one(timer, "Timer", "Persistent") == "true"
    (tmp_path / service).write_text(_runnable(tmp_path, service, (SYSTEMD / service).read_text()).read_text())
    (tmp_path / name).write_text((SYSTEMD / name).read_text())
    assert _verify(tmp_path / name) == []


def test_the_sweep_unit_runs_a_command_the_cli_accepts():
    from central.cli import build_parser, cmd_sweep
    unit = parse_unit((SYSTEMD / "sohoa-central-sweep.service").read_text())
    argv = shlex.split(one(unit, "Service", "ExecStart"))
    args = build_parser().parse_args(argv[1:])
    assert args.func is cmd_sweep and not args.dry_run and args.older_than_hours == 24
    assert str(args.config) == "/etc/sohoa-central/central.toml" and one(unit, "Service", "Type") == "oneshot"


def test_the_ingest_unit_runs_a_worker_the_cli_accepts_with_metrics_on_loopback():
    from central.cli import build_parser, cmd_ingest
    unit = parse_unit((SYSTEMD / "sohoa-central-ingest.service").read_text())
    argv = shlex.split(one(unit, "Service", "ExecStart"))
    assert argv[0] == "/opt/sohoa/.venv/bin/sohoa-central" and argv[1] == "ingest"
    args = build_parser().parse_args(argv[1:])
    assert args.func is cmd_ingest and not args.once and not args.status
    assert str(args.config) == "/etc/sohoa-central/central.toml" and str(args.root) == "/var/lib/sohoa-central"
    assert args.metrics_host == "127.0.0.1" and args.metrics_port == 8473
    # Not the receiver's ports (8470, 8471) nor the staff web's (8472).
    receiver = shlex.split(one(parse_unit(RECEIVER.read_text()), "Service", "ExecStart"))
    assert str(args.metrics_port) not in receiver and args.metrics_port != 8472
    assert one(unit, "Service", "Restart") == "on-failure" and one(unit, "Service", "Type") == "exec"
    assert one(unit, "Install", "WantedBy") == "multi-user.target"
