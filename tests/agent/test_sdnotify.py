"""sd_notify over a real unix datagram socket, and the loop-aware watchdog."""

from __future__ import annotations

import os
import socket
import uuid

import pytest

from firmware_agent.sdnotify import Notifier, Watchdog, watchdog_period


@pytest.fixture
def listener(tmp_path):
    """A bound datagram socket standing where systemd's notify socket would be."""
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(2.0)
    yield str(path), sock
    sock.close()


def _pending(sock: socket.socket) -> list[bytes]:
    out = []
    sock.settimeout(0.05)
    try:
        while True:
            out.append(sock.recv(4096))
    except (TimeoutError, socket.timeout):
        return out


def test_ready_status_watchdog_stopping_reach_the_socket(listener):
    path, sock = listener
    n = Notifier(path)
    assert n.enabled
    assert n.ready("Đang chạy / Running")
    assert sock.recv(4096) == "READY=1\nSTATUS=Đang chạy / Running".encode()
    assert n.status("queue:\n 3 pages")
    assert sock.recv(4096) == b"STATUS=queue: 3 pages"
    assert n.watchdog()
    assert sock.recv(4096) == b"WATCHDOG=1"
    assert n.stopping()
    assert sock.recv(4096) == b"STOPPING=1"
    n.close()


def test_abstract_namespace_socket():
    name = f"sohoa-test-{uuid.uuid4().hex}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(b"\0" + name.encode())
    sock.settimeout(2.0)
    try:
        assert Notifier("@" + name).send("READY=1")
        assert sock.recv(64) == b"READY=1"
    finally:
        sock.close()


def test_environment_is_read_and_absent_socket_is_a_no_op(listener, monkeypatch):
    path, sock = listener
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    assert Notifier().watchdog()
    assert sock.recv(64) == b"WATCHDOG=1"
    monkeypatch.delenv("NOTIFY_SOCKET")
    quiet = Notifier()
    assert not quiet.enabled
    assert quiet.ready() is False


def test_send_failure_is_reported_not_raised(tmp_path):
    n = Notifier(str(tmp_path / "nobody-listens.sock"))
    assert n.send("READY=1") is False


def test_malformed_line_is_refused(listener):
    path, _ = listener
    with pytest.raises(ValueError):
        Notifier(path).send("READY")
    with pytest.raises(ValueError):
        Notifier(path).send("STATUS=a\nb")


def test_watchdog_period_from_environment():
    assert watchdog_period({"WATCHDOG_USEC": "30000000"}) == 30.0
    assert watchdog_period({}) is None
    assert watchdog_period({"WATCHDOG_USEC": "0"}) is None
    assert watchdog_period({"WATCHDOG_USEC": "abc"}) is None
    assert watchdog_period({"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": str(os.getpid())}) == 2.0
    # A child that inherited the environment must not ping for its parent.
    assert watchdog_period({"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "1"}, pid=4242) is None


def test_watchdog_pings_only_while_every_loop_beats(listener):
    path, sock = listener
    wd = Watchdog(Notifier(path), period_s=10.0, loops=["scan", "process"])
    assert wd.active and wd.interval_s == 5.0
    # Registered loops get one interval of grace.
    assert wd.tick() is True
    assert sock.recv(64) == b"WATCHDOG=1"
    # Only one loop beat since: the ping is withheld and the stuck loop named.
    wd.heartbeat("scan")
    assert wd.stalled() == ["process"]
    assert wd.tick() is False
    assert _pending(sock) == []
    wd.heartbeat("process")
    assert wd.tick() is True
    assert sock.recv(64) == b"WATCHDOG=1"
    # A loop that ends on purpose no longer holds the ping back.
    wd.heartbeat("scan")
    wd.unregister("process")
    assert wd.tick() is True


def test_watchdog_thread_pings_at_half_the_period(listener):
    path, sock = listener
    wd = Watchdog(Notifier(path), period_s=0.2)
    wd.start()
    try:
        sock.settimeout(2.0)
        assert sock.recv(64) == b"WATCHDOG=1"
        assert sock.recv(64) == b"WATCHDOG=1"
    finally:
        wd.stop()
    _pending(sock)
    assert _pending(sock) == []


def test_watchdog_without_systemd_does_nothing(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    wd = Watchdog(Notifier())
    assert not wd.active
    wd.heartbeat("scan")
    wd.start()
    assert wd.tick() is False
    wd.stop()
