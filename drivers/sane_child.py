"""The child process that holds one SANE device (docs/design.md section 2.2).

Run as ``python -m drivers.sane_child FD NAME`` by :class:`drivers.sane_process.SaneProcess`:
FD is this process's end of a socket pair, NAME the SANE device (empty: the
first one SANE lists). It answers one request at a time until it is told to
close or its parent goes away. Nothing else runs here, so a backend that faults
or hangs takes only this process with it.
"""

from __future__ import annotations

import ctypes
import signal
import sys
from multiprocessing.connection import Connection

import numpy as np

from drivers.scanner import DeviceUnavailable, ScannedImage, ScannerError

# prctl(2) option: the signal this process gets when its parent ends.
_PR_SET_PDEATHSIG = 1

# The version of the messages below; the parent refuses a child that speaks another (design 2.2
# D1: after an upgrade of the files, an agent still running must not talk to a newer driver).
PROTOCOL = 2

# The calls a parent may make, and only these (a request names one of them).
CALLS = frozenset({"capabilities", "configure", "scan_one", "end_batch", "read_buttons", "add_button",
                   "set_option"})


def _die_with_parent() -> None:
    # D3: never outlive the agent, not even after its kill -9.
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: the closed socket still ends the loop at the next request


def _as_scanner_error(exc: BaseException) -> ScannerError:
    if isinstance(exc, ScannerError):
        return exc
    return ScannerError(f"{type(exc).__name__}: {exc}")


def _open(name: str):
    from drivers.sane_scanner import SaneScanner, list_devices

    if not name:
        devices = list_devices()
        if not devices:
            raise DeviceUnavailable("no SANE scanner found")
        name = devices[0]["name"]
    return SaneScanner(name)


def _send_image(conn: Connection, image: ScannedImage) -> None:
    # The pixels go as raw bytes after a small header, not inside a pickle: a 300 dpi colour
    # page is tens of MB, and a pickle would copy it twice more on each side (D4).
    pixels = np.ascontiguousarray(image.pixels)
    conn.send(("image", (pixels.shape, pixels.dtype.str, image.dpi, image.side, image.source_depth)))
    conn.send_bytes(memoryview(pixels).cast("B"))


def serve(conn: Connection, name: str) -> int:
    """Open *name*, then answer requests on *conn* until ``close`` or end of file."""
    try:
        scanner = _open(name)
    except BaseException as exc:  # every failure to open is an answer, not a crash
        conn.send(("error", _as_scanner_error(exc)))
        return 1
    conn.send(("ready", (scanner.name, PROTOCOL)))
    try:
        while True:
            try:
                method, args = conn.recv()
            except EOFError:
                return 0  # the parent went away
            if method == "close":
                break
            if method not in CALLS:
                conn.send(("error", ScannerError(f"unknown call {method!r}")))
                continue
            try:
                value = getattr(scanner, method)(*args)
            except Exception as exc:
                conn.send(("error", _as_scanner_error(exc)))
            else:
                if isinstance(value, ScannedImage):
                    _send_image(conn, value)
                else:
                    conn.send(("ok", value))
    finally:
        scanner.close()
    conn.send(("ok", None))
    return 0


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle (D3)
    _die_with_parent()
    fd, name = int(argv[0]), argv[1] if len(argv) > 1 else ""
    return serve(Connection(fd), name)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
