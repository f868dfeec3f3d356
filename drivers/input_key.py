"""A scan key on a Linux input-event device (gpio-keys button or any keyboard key).

The kernel delivers ``struct input_event`` records on ``/dev/input/eventN``; the
layout is in docs/design.md section 3. Reading needs no library: the record is
two C ``long`` (the timestamp) then ``u16 type, u16 code, s32 value``, in native
byte order, so ``struct`` with native sizes decodes it on 64-bit (24 bytes) and
32-bit (16 bytes) systems alike.

The kernel debounces gpio-keys (``debounce-interval``), and autorepeat comes as
value 2, so a press is exactly one record with value 1.
"""

from __future__ import annotations

import errno
import fcntl
import os
import select
import struct
import time

EVENT_FORMAT = "llHHi"
EVENT_SIZE = struct.calcsize(EVENT_FORMAT)
EV_KEY = 0x01
KEY_PRESSED = 1
# _IOW('E', 0x90, int): exclusive access, so a keyboard key does not also type into a console.
_EVIOCGRAB = 0x40044590
_READ_RECORDS = 64


class InputKeyUnavailable(Exception):
    """The key's input device cannot be opened or read (missing, unplugged, no permission).

    Attributes
    ----------
    path : str
        The event device.
    code : str
        Stable machine name of the failure, like the scanner driver's errors.
    """

    code = "input_key_unavailable"

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"Scan key {path} unavailable: {reason}")


def decode_events(data: bytes) -> list[tuple[int, int, int, int, int]]:
    """Decode whole ``input_event`` records.

    Parameters
    ----------
    data : bytes
        A multiple of :data:`EVENT_SIZE` bytes.

    Returns
    -------
    list of (sec, usec, type, code, value)

    Raises
    ------
    ValueError
        If ``data`` is not a whole number of records.
    """
    if len(data) % EVENT_SIZE:
        raise ValueError(f"{len(data)} bytes is not a whole number of {EVENT_SIZE}-byte input events")
    return list(struct.iter_unpack(EVENT_FORMAT, data))


class InputKey:
    """Waits for presses of one key on an input-event device.

    Parameters
    ----------
    path : str or os.PathLike
        The event device, e.g. ``/dev/input/event0`` or a
        ``/dev/input/by-path/...-event`` link.
    key_code : int
        The key code to react to (``linux/input-event-codes.h``; 28 = KEY_ENTER).
    grab : bool
        Take exclusive access (EVIOCGRAB) so the key reaches no one else.

    Raises
    ------
    InputKeyUnavailable
        If the device cannot be opened (or grabbed).
    """

    def __init__(self, path: str | os.PathLike, key_code: int, *, grab: bool = False) -> None:
        self.path = os.fspath(path)
        self.key_code = int(key_code)
        self._buf = b""
        try:
            # Non-blocking: select decides when to read, and a read never hangs the thread.
            self._fd: int | None = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as exc:
            raise InputKeyUnavailable(self.path, exc.strerror or str(exc)) from exc
        if grab:
            try:
                fcntl.ioctl(self._fd, _EVIOCGRAB, 1)
            except OSError as exc:
                self.close()
                raise InputKeyUnavailable(self.path, f"cannot grab: {exc.strerror}") from exc

    def _fileno(self) -> int:
        if self._fd is None:
            raise InputKeyUnavailable(self.path, "closed")
        return self._fd

    def _read(self) -> bool:
        """Read what is there into the buffer; False if nothing was ready."""
        try:
            chunk = os.read(self._fileno(), EVENT_SIZE * _READ_RECORDS)
        except BlockingIOError:
            return False
        except OSError as exc:
            # ENODEV is what an unplugged evdev device answers.
            raise InputKeyUnavailable(self.path, exc.strerror or errno.errorcode.get(exc.errno, str(exc))) from exc
        if not chunk:
            raise InputKeyUnavailable(self.path, "device closed (end of file)")
        self._buf += chunk
        return True

    def _take_press(self) -> bool:
        """Consume buffered records up to and including the first press."""
        whole = len(self._buf) - len(self._buf) % EVENT_SIZE
        for i in range(0, whole, EVENT_SIZE):
            _sec, _usec, etype, code, value = struct.unpack_from(EVENT_FORMAT, self._buf, i)
            if etype == EV_KEY and code == self.key_code and value == KEY_PRESSED:
                self._buf = self._buf[i + EVENT_SIZE:]
                return True
        self._buf = self._buf[whole:]
        return False

    def wait_press(self, timeout: float) -> bool:
        """Block until the key is pressed or ``timeout`` seconds pass.

        Presses that came while nobody waited are still in the kernel's queue
        and count; call :meth:`drain` first to ignore them.

        Returns
        -------
        bool
            True on a press, False on timeout.

        Raises
        ------
        InputKeyUnavailable
            If the device went away or cannot be read.
        """
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            if self._take_press():
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            try:
                ready, _, _ = select.select([self._fileno()], [], [], remaining)
            except (OSError, ValueError) as exc:
                raise InputKeyUnavailable(self.path, str(exc)) from exc
            if ready:
                self._read()

    def drain(self) -> None:
        """Forget every queued event (e.g. presses made during a running scan)."""
        while self._read():
            pass
        self._buf = b""

    def close(self) -> None:
        """Close the device; safe to call twice."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> InputKey:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
