"""One agent per state folder: a second one is refused with a message, and a killed one leaves no stale lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from firmware_agent.state_lock import StateInUse, StateLock

ROOT = Path(__file__).resolve().parents[2]


def env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def test_a_second_lock_is_refused_until_the_first_is_released(tmp_path):
    first = StateLock(tmp_path / "state")
    first.acquire()
    with pytest.raises(StateInUse) as err:
        StateLock(tmp_path / "state").acquire()
    assert f"pid {os.getpid()}" in str(err.value)
    assert "đang được một tiến trình sohoa khác dùng" in str(err.value) and "in use" in str(err.value)
    first.release()
    again = StateLock(tmp_path / "state")
    again.acquire()
    again.release()


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    state = tmp_path / "state"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from firmware_agent.state_lock import StateLock; "
        f"StateLock({str(state)!r}).acquire(); print('held', flush=True); time.sleep(60)")],
        stdout=subprocess.PIPE, text=True, env=env())
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(StateInUse, match=f"pid {holder.pid}"):
            StateLock(state).acquire()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
    lock = StateLock(state)
    lock.acquire()  # the kernel dropped the dead process's lock
    lock.release()


def test_a_second_demo_on_the_same_state_folder_is_refused(tmp_path):
    state = tmp_path / "state"
    cmd = [sys.executable, "-m", "firmware_agent", "demo", "--once", "--no-records", "--state-dir", str(state),
           "--port", "0", "--pages"]
    first = subprocess.Popen(cmd + ["30"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env(),
                             cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while not (state / "journal.sqlite3").exists() and time.monotonic() < deadline and first.poll() is None:
            time.sleep(0.02)
        assert first.poll() is None, "the first demo ended before the test could start the second"
        second = subprocess.run(cmd + ["0"], capture_output=True, text=True, env=env(), cwd=tmp_path, timeout=60)
        assert second.returncode == 4  # exit_codes.STATE_IN_USE
        assert f"pid {first.pid}" in second.stderr and "run only one" in second.stderr
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(30)
