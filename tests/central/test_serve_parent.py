"""`sohoa-central serve --parent-pid`: a receiver started by the station's demo dies with it, even by -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PARENT = """
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-m", "central", "serve", "--root", sys.argv[1], "--port", "0",
                          "--metrics-port", "0", "--parent-pid", str(os.getpid())],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(child.pid, flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_a_receiver_whose_parent_was_killed_while_it_started_stops(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(tmp_path / "rx")], stdout=subprocess.PIPE,
                              text=True, env=env, cwd=ROOT)
    child = int(parent.stdout.readline())
    parent.send_signal(signal.SIGKILL)  # before the receiver has even finished importing
    parent.wait(10)
    deadline = time.monotonic() + 60
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(child), "the receiver outlived the process that started it"
