"""systemd service notifications (sd_notify) and a loop-aware watchdog.

The unit runs with ``Type=notify`` and ``WatchdogSec=``: systemd hands the agent
a unix datagram socket in ``NOTIFY_SOCKET`` and the watchdog period in
``WATCHDOG_USEC``. Everything here is a no-op when those are absent (tests, the
demo, a shell), so callers never have to ask whether they run under systemd.

The protocol is a datagram of newline-separated ``KEY=value`` lines; see
sd_notify(3). A socket path starting with ``@`` lives in the abstract namespace.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Iterable, Mapping

log = logging.getLogger(__name__)


def _socket_address(path: str) -> str | bytes:
    # '@' marks Linux's abstract namespace, written as a leading NUL byte.
    if path.startswith("@"):
        return b"\0" + path[1:].encode()
    return path


class Notifier:
    """Sends sd_notify messages to the service manager.

    Parameters
    ----------
    socket_path : str or None
        The notification socket. ``None`` reads ``NOTIFY_SOCKET`` from the
        environment; an empty value disables notifications.

    Notes
    -----
    A failed send is logged and reported as ``False``, never raised: losing a
    status line must not stop the scanner.
    """

    def __init__(self, socket_path: str | None = None) -> None:
        if socket_path is None:
            socket_path = os.environ.get("NOTIFY_SOCKET", "")
        self._path = socket_path
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None

    @property
    def enabled(self) -> bool:
        """True when a notification socket is configured."""
        return bool(self._path)

    def send(self, *lines: str) -> bool:
        """Send one datagram made of ``KEY=value`` lines.

        Returns
        -------
        bool
            True if the datagram was sent, False when disabled or on error.
        """
        if not self._path or not lines:
            return False
        for line in lines:
            if "=" not in line or "\n" in line:
                raise ValueError(f"not a single KEY=value line: {line!r}")
        payload = "\n".join(lines).encode()
        with self._lock:
            try:
                if self._sock is None:
                    self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                self._sock.sendto(payload, _socket_address(self._path))
            except OSError as exc:
                log.warning("sd_notify to %s failed: %s", self._path, exc)
                return False
        return True

    def ready(self, status: str | None = None) -> bool:
        """Tell systemd start-up is complete (``READY=1``)."""
        return self.send("READY=1", *([f"STATUS={status}"] if status else []))

    def status(self, text: str) -> bool:
        """Set the one-line status shown by ``systemctl status``."""
        return self.send(f"STATUS={_one_line(text)}")

    def watchdog(self) -> bool:
        """Ping the service watchdog (``WATCHDOG=1``)."""
        return self.send("WATCHDOG=1")

    def stopping(self, status: str | None = None) -> bool:
        """Tell systemd the agent is shutting down (``STOPPING=1``)."""
        return self.send("STOPPING=1", *([f"STATUS={_one_line(status)}"] if status else []))

    def close(self) -> None:
        """Close the socket; a later send opens a new one."""
        with self._lock:
            if self._sock is not None:
                self._sock.close()
                self._sock = None


def _one_line(text: str) -> str:
    return " ".join(text.split())


def watchdog_period(environ: Mapping[str, str] | None = None, pid: int | None = None) -> float | None:
    """The watchdog period systemd asks for, in seconds.

    Parameters
    ----------
    environ : mapping, optional
        Where to read ``WATCHDOG_USEC`` and ``WATCHDOG_PID`` (default: ``os.environ``).
    pid : int, optional
        This process's id (default: ``os.getpid()``).

    Returns
    -------
    float or None
        The period, or None when no watchdog is set, the value is not a positive
        integer, or ``WATCHDOG_PID`` names another process (a child inherited
        the environment).
    """
    env = os.environ if environ is None else environ
    raw = env.get("WATCHDOG_USEC", "")
    if not raw:
        return None
    owner = env.get("WATCHDOG_PID", "")
    if owner:
        me = os.getpid() if pid is None else pid
        if not owner.isdigit() or int(owner) != me:
            return None
    if not raw.isdigit() or int(raw) <= 0:
        log.warning("ignoring WATCHDOG_USEC=%r: not a positive integer", raw)
        return None
    return int(raw) / 1_000_000


class Watchdog:
    """Pings systemd's watchdog only while every registered loop is alive.

    Each long-lived loop of the agent calls :meth:`heartbeat` with its name at
    least once per :attr:`interval_s`. A ping is sent every ``interval_s`` (half
    the watchdog period) only if every registered loop has beaten since the
    previous ping; otherwise the ping is withheld and the stalled loops are
    logged, so systemd restarts an agent with a stuck loop.

    Parameters
    ----------
    notifier : Notifier
        Where pings go.
    period_s : float or None
        The watchdog period; None reads it with :func:`watchdog_period`. With no
        period, or a disabled notifier, the watchdog does nothing.
    loops : iterable of str
        Loop names to register at once.
    """

    def __init__(self, notifier: Notifier, period_s: float | None = None, loops: Iterable[str] = ()) -> None:
        if period_s is None:
            period_s = watchdog_period()
        self._notifier = notifier
        self.interval_s: float | None = period_s / 2 if (period_s and notifier.enabled) else None
        self._lock = threading.Lock()
        self._beaten: dict[str, bool] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        for name in loops:
            self.register(name)

    @property
    def active(self) -> bool:
        """True when pings are being sent (under systemd with ``WatchdogSec=``)."""
        return self.interval_s is not None

    def register(self, name: str) -> None:
        """Add a loop that must beat; it counts as alive until the next ping."""
        with self._lock:
            self._beaten[name] = True

    def unregister(self, name: str) -> None:
        """Remove a loop that ended on purpose."""
        with self._lock:
            self._beaten.pop(name, None)

    def heartbeat(self, name: str) -> None:
        """Record that loop ``name`` is alive. Unknown names are registered."""
        with self._lock:
            self._beaten[name] = True

    def stalled(self) -> list[str]:
        """Names of the loops that have not beaten since the last ping."""
        with self._lock:
            return sorted(name for name, ok in self._beaten.items() if not ok)

    def tick(self) -> bool:
        """Ping if every loop has beaten since the last ping, then reset.

        Returns
        -------
        bool
            True if a ping was sent.
        """
        if not self.active:
            return False
        with self._lock:
            stalled = sorted(name for name, ok in self._beaten.items() if not ok)
            if not stalled:
                for name in self._beaten:
                    self._beaten[name] = False
        if stalled:
            log.warning("watchdog ping withheld: no heartbeat from %s", ", ".join(stalled))
            return False
        return self._notifier.watchdog()

    def start(self) -> None:
        """Ping from a background thread every :attr:`interval_s` seconds."""
        if not self.active or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="sd-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the background thread (no further pings)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        interval = self.interval_s or 1.0
        next_at = time.monotonic()
        while not self._stop.is_set():
            self.tick()
            next_at += interval
            self._stop.wait(max(0.0, next_at - time.monotonic()))
