"""`sohoa demo --once` when the scanner's driver process dies mid-job.

SANE's test backend now and then crashes or hangs as it cancels its reader thread
(drivers/sane_scanner.py). The agent stops such a driver, pauses the job with every
page kept and opens the device in a new driver; the demo, standing in for the
operator, presses again. Here the driver is killed for real after its third page:
the demo must still scan every page it was asked for, process each once and say
that the driver was restarted, without calling the run failed.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _driver_pids(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and b"drivers.sane_child" in cmdline:
            found.append(int(entry.name))
    return found


def _captured(state: Path) -> int:
    try:
        db = sqlite3.connect(f"file:{state / 'journal.sqlite3'}?mode=ro", uri=True, timeout=0.2)
        try:
            return db.execute("SELECT COUNT(*) FROM pages").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return 0


def test_a_driver_killed_mid_job_is_restarted_and_the_demo_scans_every_page(tmp_path):
    state = tmp_path / "state"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "firmware_agent", "demo", "--once", "--no-records",
                             "--pages", "14", "--state-dir", str(state), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 120
        while _captured(state) < 3:
            assert proc.poll() is None and time.monotonic() < deadline, "the demo did not start scanning"
            time.sleep(0.02)
        drivers = _driver_pids(proc.pid)
        assert len(drivers) == 1, drivers
        os.kill(drivers[0], signal.SIGSEGV)  # as a fault in the backend's C code would
        out, err = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log = err.decode("utf-8", "replace")
    assert proc.returncode == 0, log[-3000:]
    summary = json.loads(out.decode().strip().splitlines()[-1])
    assert summary["driver_restarts"] == 1, summary
    assert summary["errors"] == 0, summary
    assert summary["pages_scanned"] >= 14
    assert summary["pages_processed"] == _captured(state) == summary["pages_scanned"]
    assert "pressing again" in log
