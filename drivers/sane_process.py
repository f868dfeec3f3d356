"""A SANE scanner driven through a child process (docs/design.md section 2.2).

:class:`SaneProcess` is a :class:`drivers.scanner.Scanner`: each call becomes a
request to the child (``drivers/sane_child.py``) that holds the device, with a
deadline. A child that crashes or stops answering is killed and reaped, and the
call raises :class:`DriverFailed` (a :class:`DeviceUnavailable`) saying so: the
caller's thread, and the agent around it, carry on, and the device is opened
again in a new child.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
from multiprocessing.connection import Connection

import numpy as np

from drivers.sane_child import PROTOCOL
from drivers.sane_scanner import usb_address
from drivers.scanner import Capabilities, DeviceUnavailable, DriverFailed, ScannedImage, ScannerError, ScanSettings

ANSWER_S = 15.0   # deadline of a call that does not scan
OPEN_S = 60.0     # opening a device (some backends upload firmware first)
SCAN_S = 90.0     # one image (the agent passes scanner.hang_s)
REAP_S = 5.0      # a child told to close, or killed, must be gone by then


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return "unknown"


class SaneProcess:
    """One SANE device held by a child process. Use it from one thread at a time."""

    def __init__(self, name: str, *, scan_s: float = SCAN_S, answer_s: float = ANSWER_S,
                 open_s: float = OPEN_S):
        self.name = name
        self._scan_s = float(scan_s)
        self._answer_s = float(answer_s)
        self._lock = threading.Lock()
        self._dead: str | None = None   # why the child is gone, once it is
        self._closed = False            # gone because close() was called
        ours, theirs = socket.socketpair()
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "drivers.sane_child", str(theirs.fileno()), name],
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL)
        finally:
            theirs.close()
        self._conn = Connection(ours.detach())
        kind, value = self._receive(open_s, "open the device")
        if kind != "ready":
            self._reap()
            raise value
        self.name, protocol = value
        if protocol != PROTOCOL:
            self._proc.kill()
            self._dead = (f"the scanner driver speaks protocol {protocol}, this agent {PROTOCOL}: "
                          "restart the agent after an upgrade")
            self._reap()
            raise DriverFailed(self._dead)

    @property
    def pid(self) -> int:
        return self._proc.pid

    # ------------------------------------------------------------------ the Scanner interface
    def capabilities(self) -> Capabilities:
        return self._call("capabilities", ())

    def configure(self, settings: ScanSettings) -> None:
        self._call("configure", (settings,))

    def scan_one(self, first: bool) -> ScannedImage:
        return self._call("scan_one", (first,), self._scan_s)

    def read_buttons(self) -> dict[str, int]:
        return self._call("read_buttons", ())

    def add_button(self, name: str) -> None:
        self._call("add_button", (name,))

    def set_option(self, name: str, value) -> None:
        self._call("set_option", (name, value))

    def usb_address(self) -> tuple[int, int] | None:
        return usb_address(self.name)

    def end_batch(self) -> None:
        # What runs after a fault must not raise: a dead or hung child is already reported
        # by the call that found it, and the next call reports it again.
        try:
            self._call("end_batch", ())
        except ScannerError:
            pass

    def close(self) -> None:
        with self._lock:
            self._closed = self._dead is None
            if self._dead is None:
                try:
                    self._conn.send(("close", ()))
                    self._receive(self._answer_s, "close the device")
                except (ScannerError, OSError):
                    pass
            self._reap()

    # ------------------------------------------------------------------ the wire
    def _call(self, method: str, args: tuple, deadline: float | None = None):
        with self._lock:
            if self._dead is not None:
                raise (DeviceUnavailable if self._closed else DriverFailed)(self._dead)
            try:
                self._conn.send((method, args))
            except OSError:
                self._ended()
            limit = self._answer_s if deadline is None else deadline
            kind, value = self._receive(limit, method)
            if kind == "image":
                return self._receive_image(value, limit)
        if kind == "error":
            raise value
        return value

    def _receive_image(self, header: tuple, deadline: float) -> ScannedImage:
        # D4: the pixels follow their header as raw bytes, read straight into the array
        shape, dtype, dpi, side, depth = header
        pixels = np.empty(shape, np.dtype(dtype))
        try:
            self._wait(deadline, "scan_one")
            self._conn.recv_bytes_into(memoryview(pixels).cast("B"))
        except (EOFError, OSError):
            self._ended()
        return ScannedImage(pixels=pixels, dpi=dpi, side=side, source_depth=depth)

    def _receive(self, deadline: float, what: str):
        try:
            self._wait(deadline, what)
            return self._conn.recv()
        except (EOFError, OSError):
            self._ended()

    def _wait(self, deadline: float, what: str) -> None:
        if not self._conn.poll(deadline):
            self._dead = f"the scanner driver did not answer in {deadline:g} s ({what}); it was stopped"
            self._proc.kill()
            self._reap()
            raise DriverFailed(self._dead)

    def _ended(self):
        # The child closed its end: it ended (a crash in the backend, or killed).
        try:
            code = self._proc.wait(REAP_S)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            code = self._proc.wait()
        how = f"by signal {-code} ({_signal_name(-code)})" if code < 0 else f"with exit status {code}"
        self._dead = f"the scanner driver ended {how}"
        self._reap()
        raise DriverFailed(self._dead)

    def _reap(self) -> None:
        if self._dead is None:
            self._dead = "the scanner was closed"
        self._conn.close()
        try:
            self._proc.wait(REAP_S)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
