"""Receiving a PATCH body: hash and write lanes keep the order, report the first failure, stop cleanly."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from central.tus_body import BodySink, _Lane


class _ListWriter:
    """Records what reaches it; can fail once it holds *fail_after* bytes, or wait on a gate."""

    def __init__(self, fail_after: int | None = None, gate: threading.Event | None = None):
        self.parts: list[bytes] = []
        self.fail_after, self.gate = fail_after, gate
        self.entered = threading.Event()

    def write(self, data: bytes) -> None:
        self.entered.set()
        if self.gate is not None:
            self.gate.wait(10)
        if self.fail_after is not None and sum(map(len, self.parts)) + len(data) > self.fail_after:
            raise OSError(errno.ENOSPC, "full")
        self.parts.append(bytes(data))


def test_blocks_are_hashed_and_written_in_order_beside_the_receiving_loop():
    data = os.urandom(5 * BodySink.BLOCK + 1234)
    pool = ThreadPoolExecutor(4)
    writer = _ListWriter()
    file_hash = hashlib.sha256(b"earlier chunks")

    offered: list[tuple[int, bytes]] = []

    async def go():
        sink = BodySink(writer, pool, file_hash, lambda at, block: offered.append((at, b"".join(block))))
        for i in range(0, len(data), 100_003):
            sink.feed(data[i:i + 100_003])
        return await sink.finish(), sink
    digest, sink = asyncio.run(go())
    assert digest == hashlib.sha256(data).digest()
    assert b"".join(writer.parts) == data
    assert sink.file_hash.digest() == hashlib.sha256(b"earlier chunks" + data).digest()
    # every block offered once, in order, with its offset in the body
    assert [at for at, _ in offered] == [sum(len(b) for _, b in offered[:i]) for i in range(len(offered))]
    assert b"".join(b for _, b in offered) == data and len(offered) > 1


def test_a_failed_write_is_reported_by_finish_and_later_blocks_are_skipped():
    pool = ThreadPoolExecutor(4)
    writer = _ListWriter(fail_after=BodySink.BLOCK)

    async def go():
        sink = BodySink(writer, pool)
        for _ in range(4):
            sink.feed(os.urandom(BodySink.BLOCK))
        with pytest.raises(OSError) as info:
            await sink.finish()
        return info.value
    assert asyncio.run(go()).errno == errno.ENOSPC
    assert len(writer.parts) == 1  # the blocks after the failing one never reached the writer


def test_drain_skips_queued_blocks_and_waits_for_the_running_write():
    pool = ThreadPoolExecutor(4)
    gate = threading.Event()
    writer = _ListWriter(gate=gate)
    sink = BodySink(writer, pool)
    for _ in range(3):
        sink.feed(bytes(BodySink.BLOCK))
    assert writer.entered.wait(10)  # the first write is running, held at the gate
    threading.Timer(0.2, gate.set).start()
    sink.drain()  # returns only once the running write is over
    assert len(writer.parts) == 1 and sink.writing.idle.is_set()


def test_a_lane_barrier_whose_waiter_gave_up_does_not_stop_the_lane():
    pool = ThreadPoolExecutor(2)
    lane = _Lane(pool)
    ran: list[int] = []
    gate = threading.Event()

    async def go():
        lane.put(lambda: gate.wait(10))
        waiter = asyncio.wrap_future(lane.barrier())
        waiter.cancel()  # e.g. the PATCH was cancelled while it waited
        gate.set()
        lane.put(lambda: ran.append(1))
        await asyncio.wrap_future(lane.barrier())
    asyncio.run(go())
    assert ran == [1] and lane.idle.wait(10)


class _SmallSink(BodySink):
    BLOCK = 1000
    MAX_LAG = 5000


def test_a_lagging_lane_makes_the_loop_wait():
    pool = ThreadPoolExecutor(4)
    gate = threading.Event()
    writer = _ListWriter(gate=gate)
    data = os.urandom(20_000)

    async def go():
        sink = _SmallSink(writer, pool)
        waits = 0
        for i in range(0, len(data), 500):
            if sink.feed(data[i:i + 500]):
                assert sink.lag >= _SmallSink.MAX_LAG
                if not gate.is_set():  # the write lane is held at the gate: nothing written yet
                    assert writer.parts == []
                    gate.set()
                await sink.catch_up()
                waits += 1
                assert sink.lag == 0 and b"".join(writer.parts) == data[:i + 500]
        return await sink.finish(), sink, waits
    digest, sink, waits = asyncio.run(go())
    assert digest == hashlib.sha256(data).digest() and b"".join(writer.parts) == data
    assert waits == 4
