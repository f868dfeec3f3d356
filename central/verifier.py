"""Verifying a batch while it is still arriving.

A :class:`StreamVerifier` runs :func:`sync.batch.open_batch` in its own thread
over a reader that sees the bytes of an upload as the receiver gets them and
waits for more (formats 5.8, rule R2a). Two limits bound what it may read:

- the *committed* offset: acknowledged and fsynced bytes, which never change
  (rule R1); below it the reader may also go to the file;
- the pieces *offered* by the PATCH still arriving: in memory only, not yet
  checked against the chunk checksum nor durable.

Reading a chunk while it arrives, instead of after its acknowledgement, keeps
the check close behind the last byte, so acceptance does not wait for a
whole chunk to be decrypted and hashed after it. If that PATCH then fails
(checksum, cut, full disk), :meth:`StreamVerifier.retract` takes its pieces
back; when the check has already read some of them its work is void and the
receiver stops it and starts a new one from the file. Whatever goes wrong
with a verifier (a restart, a stall), acceptance simply verifies from the
start.
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


class _UploadReader(io.RawIOBase):
    """Reads an upload's bytes as they arrive, blocking for more.

    Held pieces (offered, contiguous, in order) are read from memory, whether
    committed or not; anything else only once it is committed, from the
    file. Pieces are dropped once read, and the oldest ones when more than
    ``MEMORY_CAP`` bytes are held (the check lags): those are read from the
    file after their commit.
    """

    MEMORY_CAP = 16 << 20  # per upload; two 8 MiB chunks of lag

    def __init__(self, fileobj, length: int):
        super().__init__()
        # Unbuffered: a buffered reader reads ahead past what it is asked for,
        # that is past the committed offset, where the file is still being
        # written, and would later serve those stale bytes from its buffer.
        self.f, self.length = getattr(fileobj, "raw", fileobj), length
        self.pos = 0  # bytes handed to the check; changed under the lock
        self.committed = 0
        self.stopped = False
        self.cond = threading.Condition()
        self.held: deque[tuple[int, bytes | memoryview]] = deque()  # (offset, piece)
        self.held_bytes = 0

    def readable(self) -> bool:
        return True

    # ------------------------------------------------------------- the receiver's side
    def offer(self, start: int, pieces: list[bytes]) -> None:
        """Pieces of a PATCH in progress, the first at offset *start*, readable from now on."""
        with self.cond:
            if self.stopped:
                return
            if self.held and self.held[-1][0] + len(self.held[-1][1]) != start:
                self._drop_held()  # not contiguous with what is held: keep only the new pieces
            for piece in pieces:
                self.held.append((start, piece))  # pieces the check has passed are dropped by _wait
                self.held_bytes += len(piece)
                start += len(piece)
            while self.held_bytes > self.MEMORY_CAP:
                self.held_bytes -= len(self.held.popleft()[1])
            self.cond.notify_all()

    def advance(self, offset: int) -> None:
        """Bytes up to *offset* are committed."""
        with self.cond:
            self.committed = max(self.committed, min(offset, self.length))
            self.cond.notify_all()

    def retract(self) -> bool:
        """The PATCH in progress failed: forget its pieces; False if the check already read some."""
        with self.cond:
            while self.held and self.held[-1][0] + len(self.held[-1][1]) > self.committed:
                start, piece = self.held.pop()
                self.held_bytes -= len(piece)
                if start < self.committed:  # a piece across the committed offset keeps its committed part
                    keep = memoryview(piece)[:self.committed - start]
                    self.held.append((start, keep))
                    self.held_bytes += len(keep)
            return self.pos <= self.committed

    def stop(self) -> None:
        with self.cond:
            self.stopped = True
            self._drop_held()
            self.cond.notify_all()

    def _drop_held(self) -> None:
        self.held.clear()
        self.held_bytes = 0

    # ------------------------------------------------------------- the check's side
    def _wait(self) -> None:
        """Until there is something to read at ``pos`` (or the end); under the lock."""
        while True:
            if self.stopped:
                raise _Stopped()
            while self.held and self.held[0][0] + len(self.held[0][1]) <= self.pos:
                self.held_bytes -= len(self.held.popleft()[1])
            if self.pos >= self.length or self.pos < self.committed or (self.held and self.held[0][0] <= self.pos):
                return
            if not self.cond.wait(IDLE_GIVE_UP_S):
                raise _Stopped()

    def _file_span(self, size: int) -> int:
        """Bytes at ``pos`` to read from the file: committed ones, up to the first held piece."""
        end = self.committed if not self.held else min(self.committed, self.held[0][0])
        return max(0, min(size, end - self.pos))

    def read(self, size: int = -1) -> bytes | memoryview:
        """Up to *size* bytes: a held piece or a view into one when one holds them (no copy)."""
        if size is None or size < 0:
            return super().read(size)
        with self.cond:
            self._wait()
            if self.held and self.held[0][0] <= self.pos:
                start, held = self.held[0]
                skip = self.pos - start
                n = min(size, len(held) - skip)
                piece = held if skip == 0 and n == len(held) else memoryview(held)[skip:skip + n]
                self.pos += n
                return piece
            n = self._file_span(size)
        return self._from_file(n)

    def readinto(self, b) -> int:
        out = memoryview(b)
        with self.cond:
            self._wait()
            got = self._from_memory(out)
            n = self._file_span(len(out)) if not got else 0
        if got:
            return got
        data = self._from_file(n)
        out[:len(data)] = data
        return len(data)

    def _from_file(self, n: int) -> bytes:
        """*n* committed bytes at ``pos`` from the file (0: the end of the upload)."""
        if n <= 0:
            return b""
        self.f.seek(self.pos)
        data = self.f.read(n)
        with self.cond:
            self.pos += len(data)
        return data

    def _from_memory(self, out: memoryview) -> int:
        """Copy held pieces from ``pos`` into *out* (under the lock); 0 when ``pos`` is not held."""
        got, pos = 0, self.pos
        for start, piece in self.held:
            if got == len(out) or start > pos:
                break
            skip = pos - start
            n = min(len(out) - got, len(piece) - skip)
            out[got:got + n] = memoryview(piece)[skip:skip + n]
            got += n
            pos += n
        self.pos = pos
        return got


class StreamVerifier:
    """Runs *check(reader)* in a thread while the upload grows; see :meth:`result`."""

    def __init__(self, fileobj, length: int, check: Callable[[io.RawIOBase], OpenedBatch]):
        self.reader = _UploadReader(fileobj, length)
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

    def offer(self, start: int, pieces: list[bytes]) -> None:
        """Pieces of the PATCH in progress, from offset *start*: the check may read them now."""
        self.reader.offer(start, pieces)

    def advance(self, offset: int) -> None:
        """Bytes up to *offset* are committed (the check may read them from the file too)."""
        self.reader.advance(offset)

    def retract(self) -> bool:
        """The PATCH in progress failed; False when the check read some of it (stop this verifier)."""
        return self.reader.retract()

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
