"""Receiving one PATCH body: hashing and writing off the event loop, and a stall watchdog."""

from __future__ import annotations

import asyncio
import hashlib
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait


class BodySink:
    """Hashes and writes a PATCH body in a worker thread while the next piece is received.

    Pieces are gathered, without copying, into blocks of about ``BLOCK``
    bytes; one block at a time is in the pool, in order, so the event loop
    keeps reading the socket while the previous block is hashed and written
    (both release the GIL). The pieces are kept in :attr:`pieces` until the
    PATCH ends, so that once the chunk is committed the stream verifier can
    read them from memory instead of from the disk.
    """

    BLOCK = 2 << 20

    def __init__(self, writer, pool: ThreadPoolExecutor, file_hash=None):
        """*file_hash*: the upload's running SHA-256 up to this PATCH's offset (a copy), or None.

        When given it is updated with the same pieces while they are hot in
        the cache, so the whole-file hash costs no pass of its own.
        """
        self.writer, self.pool = writer, pool
        self.h = hashlib.sha256()
        self.file_hash = file_hash
        self.block: list[bytes] = []
        self.size = 0
        self.pieces: list[bytes] = []
        self.pending: Future | None = None

    def _put(self, block: list[bytes]) -> None:
        fh = self.file_hash
        for piece in block:
            self.h.update(piece)
            if fh is not None:
                fh.update(piece)
            self.writer.write(piece)
        # Writeback starts while the rest of the chunk arrives, so the fsync
        # before the acknowledgement has (almost) nothing left to flush.
        start = getattr(self.writer, "start_writeback", None)
        if start is not None:
            start()

    async def _flush(self) -> None:
        if self.pending is not None:
            await asyncio.wrap_future(self.pending)
        block, self.block, self.size = self.block, [], 0
        self.pending = self.pool.submit(self._put, block)

    async def feed(self, piece: bytes) -> None:
        self.block.append(piece)
        self.pieces.append(piece)
        self.size += len(piece)
        if self.size >= self.BLOCK:
            await self._flush()

    async def finish(self) -> bytes:
        if self.block:
            await self._flush()
        if self.pending is not None:
            await asyncio.wrap_future(self.pending)
        return self.h.digest()

    def drain(self) -> None:
        if self.pending is not None:
            wait([self.pending])


class IdleWatchdog:
    """Cancels a PATCH whose body stopped arriving, without a timer per read.

    ``asyncio.wait_for`` around every read costs a task per piece, which
    halved throughput; one timer re-armed from the last progress time is
    enough to free the upload of a client that went silent.
    """

    def __init__(self, busy, timeout: float):
        """*busy* has ``task`` (to cancel) and ``last`` (monotonic time of the last piece)."""
        self.busy, self.timeout, self.fired = busy, timeout, False
        self.loop = asyncio.get_running_loop()
        self.handle = self.loop.call_later(timeout, self._check)

    def _check(self) -> None:
        idle = time.monotonic() - self.busy.last
        if idle >= self.timeout:
            self.fired = True
            self.busy.task.cancel()
        else:
            self.handle = self.loop.call_later(self.timeout - idle, self._check)

    def stop(self) -> None:
        self.handle.cancel()
