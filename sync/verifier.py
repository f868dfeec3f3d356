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
import os
import threading
from collections import deque
from typing import Callable

from sync.batch import OpenedBatch

IDLE_GIVE_UP_S = 600.0


# The check runs a niceness step below the threads that receive, hash and
# write: those decide when the client may send its next chunk, the check
# only has to be done by the last byte. On a busy machine it then fills the
# gaps instead of taking turns with them (measured: 4 % more throughput on
# 2 cores shared with the client). Lagging more than MEMORY_CAP bytes behind
# only means reading from the file instead of the received pieces.
VERIFY_NICE = 5


def _lower_priority() -> None:
    """Raise this thread's nice value by VERIFY_NICE (Linux: per thread); elsewhere nothing."""
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + VERIFY_NICE))
    except (AttributeError, OSError):  # no per-thread priority here: run at the process's
        pass


class _Stopped(Exception):
    pass


class _CommittedReader(io.RawIOBase):
    """Reads an upload's bytes up to the committed offset, blocking for more.

    Committed chunks handed over with :meth:`advance` are read from memory;
    bytes not (or no longer) held there, e.g. after a restart or when the
    verifier lags by more than ``MEMORY_CAP``, are read from the file.
    """

    MEMORY_CAP = 16 << 20  # per upload; two 8 MiB chunks of lag

    def __init__(self, fileobj, length: int):
        super().__init__()
        self.f, self.length = fileobj, length
        self.pos = 0
        self.committed = 0
        self.stopped = False
        self.cond = threading.Condition()
        self.held: deque[tuple[int, bytes]] = deque()  # (offset, piece), contiguous, in order
        self.held_bytes = 0

    def readable(self) -> bool:
        return True

    def advance(self, offset: int, start: int | None = None, pieces: list[bytes] | None = None) -> None:
        """Bytes up to *offset* are committed; *pieces*, if given, are those from *start* on."""
        with self.cond:
            if pieces and start is not None and start >= self.pos:
                if self.held and self.held[-1][0] + len(self.held[-1][1]) != start:
                    self._drop_held()
                for piece in pieces:
                    self.held.append((start, piece))
                    start += len(piece)
                    self.held_bytes += len(piece)
                while self.held_bytes > self.MEMORY_CAP:
                    self.held_bytes -= len(self.held.popleft()[1])
            self.committed = max(self.committed, min(offset, self.length))
            self.cond.notify_all()

    def _drop_held(self) -> None:
        self.held.clear()
        self.held_bytes = 0

    def stop(self) -> None:
        with self.cond:
            self.stopped = True
            self._drop_held()
            self.cond.notify_all()

    def read(self, size: int = -1) -> bytes | memoryview:
        """Up to *size* bytes: a held piece or a view into one when one holds them (no copy)."""
        if size is None or size < 0:
            return super().read(size)
        with self.cond:
            self._wait()
            n = min(size, self.committed - self.pos)
            while self.held and self.held[0][0] + len(self.held[0][1]) <= self.pos:
                self.held_bytes -= len(self.held.popleft()[1])
            piece = None
            if n > 0 and self.held and self.held[0][0] <= self.pos:
                start, held = self.held[0]
                skip = self.pos - start
                piece = held if skip == 0 and len(held) <= n else memoryview(held)[skip:skip + n]
        if piece is None:
            out = bytearray(max(n, 0))
            got = self.readinto(out) if n > 0 else 0
            return bytes(out[:got]) if got != len(out) else bytes(out)
        self.pos += len(piece)
        return piece

    def _wait(self) -> None:
        while self.pos >= self.committed and self.pos < self.length:
            if self.stopped or not self.cond.wait(IDLE_GIVE_UP_S):
                raise _Stopped()
        if self.stopped:
            raise _Stopped()

    def readinto(self, b) -> int:
        with self.cond:
            self._wait()
            n = min(len(b), self.committed - self.pos)
            got = self._from_memory(memoryview(b)[:n]) if n > 0 else 0
            if not got and self.held:
                n = min(n, self.held[0][0] - self.pos)  # from the disk only up to what memory holds
        if n <= 0:
            return 0  # the end of the upload
        if not got:
            self.f.seek(self.pos)
            data = self.f.read(n)
            got = len(data)
            b[:got] = data
        self.pos += got
        return got

    def _from_memory(self, out: memoryview) -> int:
        """Copy held pieces from ``pos`` into *out* (under the lock); 0 when ``pos`` is not held."""
        while self.held and self.held[0][0] + len(self.held[0][1]) <= self.pos:
            self.held_bytes -= len(self.held.popleft()[1])
        got, pos = 0, self.pos
        for start, piece in self.held:
            if got == len(out) or start > pos:
                break
            skip = pos - start
            n = min(len(out) - got, len(piece) - skip)
            out[got:got + n] = memoryview(piece)[skip:skip + n]
            got += n
            pos += n
        return got


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
        _lower_priority()
        try:
            self.outcome = check(self.reader)  # open_batch buffers it
        except BaseException as exc:  # handed to whoever asks for the result
            self.outcome = exc
        finally:
            self.fileobj.close()
            self.done.set()

    def advance(self, offset: int, start: int | None = None, pieces: list[bytes] | None = None) -> None:
        """Let the check read up to *offset*; *pieces* (optional) are the committed bytes from *start*."""
        self.reader.advance(offset, start, pieces)

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
