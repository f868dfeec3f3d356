"""The SANE driver in a child process (design 2.2), against SANE's real `test` backend.

A crash or a hang of the backend is brought about in the child the way the kernel
would end it (a signal to that process); the parent, its thread and its caller
must live on and say what happened.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from drivers.sane_process import SaneProcess
from drivers.sane_scanner import SaneScanner
from drivers.scanner import DeviceUnavailable, DriverFailed, FeederEmpty, PaperJam, ScanSettings

SMALL = ScanSettings(source="adf", mode="gray", resolution=50, width_mm=60.0, height_mm=80.0,
                     extra={"read-return-value": "Default", "test-picture": "Grid"})


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0): count it as gone
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(") ", 1)[1][0] != "Z"


def wait_gone(pid: int, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while alive(pid):
        assert time.monotonic() < end, f"driver process {pid} is still there"
        time.sleep(0.05)


@pytest.fixture
def device():
    d = SaneProcess("test:0")
    yield d
    d.close()
    wait_gone(d.pid)


def test_pages_cross_unchanged_and_the_feeder_runs_empty(device):
    local = SaneScanner("test:1")
    try:
        local.configure(SMALL)
        expected = local.scan_one(True)
        local.end_batch()
    finally:
        local.close()
    device.configure(SMALL)
    images = []
    with pytest.raises(FeederEmpty):
        while len(images) < 20:
            images.append(device.scan_one(not images))
    device.end_batch()
    assert len(images) == 10
    assert images[0].dpi == expected.dpi == 50
    assert np.array_equal(images[0].pixels, expected.pixels)
    assert device.capabilities().name == "test:0"


def test_a_driver_error_arrives_as_its_own_error_and_the_driver_lives_on(device):
    device.configure(ScanSettings(**{**SMALL.__dict__, "extra": {**SMALL.extra,
                                                                  "read-return-value": "SANE_STATUS_JAMMED"}}))
    with pytest.raises(PaperJam):
        device.scan_one(True)
    device.end_batch()
    device.configure(SMALL)
    assert device.scan_one(True).pixels.shape[0] > 0
    assert alive(device.pid)


def test_a_crash_in_the_driver_is_contained_and_named(device):
    device.configure(SMALL)
    device.scan_one(True)
    os.kill(device.pid, signal.SIGSEGV)  # what a fault in the backend's C code does to its process
    with pytest.raises(DriverFailed, match=r"signal 11 \(SIGSEGV\)"):
        device.scan_one(False)
    with pytest.raises(DriverFailed, match="SIGSEGV"):
        device.read_buttons()  # every later call says the same, at once
    device.end_batch()  # what runs after a fault never raises
    wait_gone(device.pid)
    again = SaneProcess("test:0")  # a new driver process serves the device again
    try:
        again.configure(SMALL)
        assert again.scan_one(True).dpi == 50
    finally:
        again.close()


def test_a_driver_that_stops_answering_is_stopped_at_its_deadline():
    d = SaneProcess("test:0", answer_s=1.0)
    os.kill(d.pid, signal.SIGSTOP)  # stuck as a backend waiting on a lock for ever is
    started = time.monotonic()
    with pytest.raises(DriverFailed, match=r"did not answer in 1 s \(read_buttons\)"):
        d.read_buttons()
    assert time.monotonic() - started < 5
    wait_gone(d.pid)
    d.close()


def test_an_unknown_device_is_unavailable_and_leaves_no_process():
    before = set(_children())
    with pytest.raises(DeviceUnavailable, match="test:9"):
        SaneProcess("test:9")
    assert set(_children()) <= before


def test_no_name_opens_the_first_device_and_a_closed_one_says_so():
    d = SaneProcess("")
    try:
        assert d.name == "test:0"
    finally:
        d.close()
    wait_gone(d.pid)
    with pytest.raises(DeviceUnavailable, match="closed") as closed:
        d.read_buttons()
    assert not isinstance(closed.value, DriverFailed)  # closed on purpose is not a failure


def test_the_driver_process_ends_with_its_parent(tmp_path):
    # The parent is killed without a chance to close anything (power cut, kill -9).
    code = ("import sys; from drivers.sane_process import SaneProcess; d = SaneProcess('test:0'); "
            "print(d.pid, flush=True); sys.stdin.read()")
    parent = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, env=os.environ)
    try:
        child = int(parent.stdout.readline())
        assert alive(child)
        parent.kill()
        parent.wait(10)
        wait_gone(child)
    finally:
        parent.kill()
        parent.wait()


def _children() -> list[int]:
    me = str(os.getpid())
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().split(") ", 1)[1].split()
            except OSError:
                continue
            if fields[1] == me and fields[0] != "Z":
                out.append(int(pid))
    return out


def test_a_driver_of_another_version_is_refused(monkeypatch):
    # files upgraded under a running agent: its next driver process is the new one
    import drivers.sane_process as sp

    monkeypatch.setattr(sp, "PROTOCOL", sp.PROTOCOL + 1)
    before = set(_children())
    with pytest.raises(DriverFailed, match="restart the agent"):
        sp.SaneProcess("test:0")
    assert set(_children()) <= before
