"""One agent per state folder: an exclusive lock held for the agent's life.

Two agents on one state folder would both mark the other's running job
interrupted, process the same pages and seal two batches under one
sequence number, which the receiver then refuses as a fork. The lock is an
``flock`` on ``agent.lock``: the kernel drops it when the process ends,
even by ``kill -9`` or a power cut, so a stale lock never blocks a restart.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from firmware_agent.messages import CATALOGUE
from sync.catalogue import Message


class StateInUse(RuntimeError):
    """Another live process holds the state folder (``message``: the catalogue's words, naming folder and pid)."""

    def __init__(self, message: Message) -> None:
        self.message = message
        self.code = message.code
        super().__init__(message.text)


class StateLock:
    def __init__(self, state_dir: str | os.PathLike):
        self.path = Path(state_dir) / "agent.lock"
        self.fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise :class:`StateInUse` naming the holder's process id."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
            os.close(fd)
            raise StateInUse(CATALOGUE["agent.state_in_use"].format(folder=self.path.parent, pid=holder)) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the descriptor drops the flock
            self.fd = None
