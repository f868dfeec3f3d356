"""Receiving one PATCH body: hashing and writing off the event loop, and a stall watchdog."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable


class _Lane:
    """Runs jobs one at a time, in the order given, on a shared pool, without holding a thread while idle.

    A lane with work has one drain job in the pool; an empty lane has none,
    so many uploads can share a small pool. After a job fails the lane skips
    the rest and :meth:`barrier` reports the failure.
    """

    def __init__(self, pool: ThreadPoolExecutor):
        self.pool = pool
        self.lock = threading.Lock()
        self.queue: deque = deque()
        self.running = False
        self.idle = threading.Event()
        self.idle.set()
        self.error: BaseException | None = None
        self.dropped = False

    def put(self, job) -> None:
        with self.lock:
            self.queue.append(job)
            if self.running:
                return
            self.running = True
            self.idle.clear()
        self.pool.submit(self._drain)

    def _drain(self) -> None:
        while True:
            with self.lock:
                if not self.queue:
                    self.running = False
                    self.idle.set()
                    return
                job = self.queue.popleft()
            if isinstance(job, Future):  # a barrier: everything before it has run
                if job.set_running_or_notify_cancel():  # False: its waiter was cancelled
                    if self.error is not None:
                        job.set_exception(self.error)
                    else:
                        job.set_result(None)
            elif self.error is None and not self.dropped:
                try:
                    job()
                except BaseException as exc:  # kept for the barrier; the lane skips the rest
                    self.error = exc

    def barrier(self) -> Future:
        """A future done once every job put before it has run (or failed: then with that error)."""
        done: Future = Future()
        self.put(done)
        return done

    def drop(self) -> None:
        """Skip jobs not started yet and wait until the running one (if any) is over."""
        self.dropped = True
        self.idle.wait()


class BodySink:
    """Hashes and writes a PATCH body in worker threads while the rest is still being received.

    Pieces are gathered, without copying, into blocks of about ``BLOCK``
    bytes. Each block goes to two lanes that run beside each other and
    beside the event loop: one updates the chunk checksum and the running
    whole-file hash, the other writes (both release the GIL). Each lane
    keeps the order of the blocks; the event loop never waits for them
    until the body has ended (:meth:`finish`), so receiving, hashing and
    writing overlap instead of taking turns, except when the lanes fall
    ``MAX_LAG`` bytes behind (:meth:`feed` says so, :meth:`catch_up` waits).

    Each block is also handed, as it is, to *offer* (the batch check reads
    it from memory while the rest arrives; see :mod:`central.verifier`).
    """

    BLOCK = 1 << 20
    MAX_LAG = 16 << 20

    def __init__(self, writer, pool: ThreadPoolExecutor, file_hash=None,
                 offer: Callable[[int, list[bytes]], None] | None = None):
        """*file_hash*: the upload's running SHA-256 up to this PATCH's offset (a copy), or None.

        When given it is updated with the same pieces right after the chunk
        checksum, while they are in the CPU cache, so the whole-file hash
        costs no pass of its own. *offer(at, block)*, if given, gets every
        block with its offset in the body.
        """
        self.writer, self.pool = writer, pool
        self.h = hashlib.sha256()
        self.file_hash = file_hash
        self.offer = offer
        self.block: list[bytes] = []
        self.size = 0
        self.flushed = 0  # body bytes handed to the lanes
        self.lag = 0  # bytes handed to the lanes since they were last waited for
        self.hashing = _Lane(pool)
        self.writing = _Lane(pool)

    def _hash(self, block: list[bytes]) -> None:
        fh = self.file_hash
        for piece in block:
            self.h.update(piece)
            if fh is not None:
                fh.update(piece)

    def _write(self, block: list[bytes]) -> None:
        for piece in block:
            self.writer.write(piece)
        # Page-cache writes start their writeback while the rest of the chunk
        # arrives, so the fsync before the acknowledgement has little left to flush.
        start = getattr(self.writer, "start_writeback", None)
        if start is not None:
            start()

    def _flush(self) -> None:
        block, self.block = self.block, []
        if self.offer is not None:
            self.offer(self.flushed, block)
        self.flushed += self.size
        self.lag += self.size
        self.size = 0
        self.hashing.put(functools.partial(self._hash, block))
        self.writing.put(functools.partial(self._write, block))

    def feed(self, piece: bytes) -> bool:
        """Take the next piece; True when the lanes are ``MAX_LAG`` behind: await :meth:`catch_up`."""
        self.block.append(piece)
        self.size += len(piece)
        if self.size >= self.BLOCK:
            self._flush()
        return self.lag >= self.MAX_LAG

    async def catch_up(self) -> None:
        """Wait until both lanes have done every full block; raises the first error of either."""
        await asyncio.gather(asyncio.wrap_future(self.hashing.barrier()),
                             asyncio.wrap_future(self.writing.barrier()))
        self.lag = 0

    async def finish(self) -> bytes:
        """Wait for both lanes; the chunk's SHA-256, or the first error of a hash or a write."""
        if self.block:
            self._flush()
        await self.catch_up()
        return self.h.digest()

    def drain(self) -> None:
        """Stop: queued blocks are skipped, a write still running is waited for (before any cut-back)."""
        self.hashing.drop()
        self.writing.drop()


@dataclass
class Busy:
    """A PATCH in progress on one upload: its task, when its last piece came, and when it ended."""

    task: asyncio.Task
    last: float  # monotonic time of the last piece
    done: asyncio.Event = field(default_factory=asyncio.Event)
    accepting: bool = False  # all bytes are in: never cancel it, the verdict is on its way


class IdleWatchdog:
    """Cancels a PATCH whose body stopped arriving, without a timer per read.

    ``asyncio.wait_for`` around every read costs a task per piece, which
    halved throughput; one timer re-armed from the last progress time is
    enough to free the upload of a client that went silent.
    """

    def __init__(self, busy: Busy, timeout: float):
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
