"""Verifying a batch while it is still arriving.

A :class:`StreamVerifier` runs :func:`sync.batch.open_batch` in its own thread
over a reader that only ever sees bytes the receiver has already committed
(acknowledged, fsynced) and waits for more. Bytes below the committed offset
never change (rule R1), so what it has checked stays checked; at the last byte
acceptance only waits for the final chunk instead of reading the whole batch
again. If anything goes wrong with it (a restart, a stall) acceptance simply
verifies from the start.
"""

from __future__ import annotations

import io
import threading
from typing import Callable

from sync.batch import OpenedBatch

IDLE_GIVE_UP_S = 600.0


class _Stopped(Exception):
    pass


class _CommittedReader(io.RawIOBase):
    """Reads an upload's bytes up to the committed offset, blocking for more."""

    def __init__(self, fileobj, length: int):
        super().__init__()
        self.f, self.length = fileobj, length
        self.pos = 0
        self.committed = 0
        self.stopped = False
        self.cond = threading.Condition()

    def readable(self) -> bool:
        return True

    def advance(self, offset: int) -> None:
        with self.cond:
            self.committed = max(self.committed, min(offset, self.length))
            self.cond.notify_all()

    def stop(self) -> None:
        with self.cond:
            self.stopped = True
            self.cond.notify_all()

    def readinto(self, b) -> int:
        with self.cond:
            while self.pos >= self.committed and self.pos < self.length:
                if self.stopped or not self.cond.wait(IDLE_GIVE_UP_S):
                    raise _Stopped()
            if self.stopped:
                raise _Stopped()
            n = min(len(b), self.committed - self.pos)
        if n <= 0:
            return 0  # the end of the upload
        self.f.seek(self.pos)
        data = self.f.read(n)
        b[:len(data)] = data
        self.pos += len(data)
        return len(data)


class StreamVerifier:
    """Runs *check(reader)* in a thread while the upload grows; see :meth:`result`."""

    def __init__(self, fileobj, length: int, check: Callable[[io.RawIOBase], OpenedBatch]):
        self.reader = _CommittedReader(fileobj, length)
        self.fileobj = fileobj
        self.done = threading.Event()
        self.outcome: OpenedBatch | BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(check,), name="batch-verify", daemon=True)
        self.thread.start()

    def _run(self, check) -> None:
        try:
            self.outcome = check(io.BufferedReader(self.reader, 1 << 20))
        except BaseException as exc:  # handed to whoever asks for the result
            self.outcome = exc
        finally:
            self.fileobj.close()
            self.done.set()

    def advance(self, offset: int) -> None:
        self.reader.advance(offset)

    def stop(self) -> None:
        self.reader.stop()

    def result(self) -> OpenedBatch | None:
        """Block until done: the opened batch, or raise its BatchError; None when it gave up."""
        self.done.wait()
        if isinstance(self.outcome, _Stopped):
            return None
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome
