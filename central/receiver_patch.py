"""``PATCH /files/{id}`` on the receiver (formats 5.8, design 5.12): writing one upload's bytes.

One PATCH at a time per upload across the nodes (the state's lock) and at most
``patches_in_flight`` per node (more wait up to ``patch_wait_s``, then 503); a
new PATCH takes over from one whose client went silent; the body is streamed to
the store and to the batch check (rule R2a), committed, and the batch accepted
once its last byte is in. The other tus requests, and the helpers this shares
with them, are :class:`central.receiver.TusHandler`.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import Future, wait

from aiohttp import ClientError, web

from sync.batch import BatchError
from central.backend_errors import Conflict
from central.receiver import TusHandler
from central.s3store import TooManyParts
from central.state_sql import LOCK_UPLOAD
from central.tus_body import BodySink, Busy, IdleWatchdog
from sync.tus_protocol import CHECKSUM_MISMATCH, ProtocolError, parse_checksum, parse_nonneg


class PatchHandler:
    def __init__(self, tus: TusHandler):
        self.tus = tus
        self.core, self.opts = tus.core, tus.opts
        self.slots = asyncio.Semaphore(tus.opts.patches_in_flight)

    async def patch(self, request: web.Request) -> web.Response:
        device_id = self.tus.tus_request(request)
        if request.headers.get("Content-Type") != "application/offset+octet-stream":
            raise ProtocolError(415, "Content-Type must be application/offset+octet-stream")
        offset = parse_nonneg(request.headers.get("Upload-Offset"), "Upload-Offset")
        checksum = parse_checksum(request.headers.get("Upload-Checksum"), self.tus.caps.checksum_algorithms)
        upload_id, row = self.tus.own_upload(request, device_id)
        if row["state"] == "accepted":
            if offset != row["length"]:
                raise ProtocolError(409, f"offset is {row['length']}")
            self.tus.ensure_archived(self.core.state.log_entry(device_id, row["seq"]))
            return web.Response(status=204, headers={"Upload-Offset": str(row["length"]),
                                                     **self.tus.receipt_header(device_id, row["seq"])})
        await self._take_over(upload_id)
        if not await self._slot():
            self.core.counters["patches_refused_busy"] += 1
            return web.Response(status=503, text="node busy\n", headers={
                "Retry-After": str(self.opts.retry_after_s), "Sohoa-Reason": "node busy"})
        try:
            # One PATCH at a time per upload across the nodes too (design 5.12 L1).
            held = self.core.state.try_lock(LOCK_UPLOAD, upload_id)
            if held is None:
                self.core.counters["lock_busy"] += 1
                raise ProtocolError(423, "another PATCH on this upload is in progress on another node")
            busy = Busy(asyncio.current_task(), time.monotonic())
            self.tus.busy[upload_id] = busy
            try:
                return await self._write(request, upload_id, row, offset, checksum, busy)
            finally:
                self.tus.busy.pop(upload_id, None)
                busy.done.set()
                held.release()
        finally:
            self.slots.release()

    async def _slot(self) -> bool:
        """One of the node's PATCH slots, waited for up to ``patch_wait_s`` (design 5.12, connection budget)."""
        if self.slots.locked():
            self.core.counters["patch_waits"] += 1
        try:
            async with asyncio.timeout(self.opts.patch_wait_s):
                await self.slots.acquire()
        except TimeoutError:
            return False
        return True

    async def _take_over(self, upload_id: str) -> None:
        """A new PATCH replaces one whose client went silent (a cut the server did not see)."""
        old = self.tus.busy.get(upload_id)
        if old is None:
            return
        if old.accepting or time.monotonic() - old.last < self.opts.takeover_idle_s:
            raise ProtocolError(423, "another PATCH on this upload is in progress")
        old.task.cancel()
        self.core.counters["takeovers"] += 1
        waiter = asyncio.ensure_future(old.done.wait())
        try:
            done, _ = await asyncio.wait({waiter}, timeout=10.0)
        finally:
            waiter.cancel()
        if not done or upload_id in self.tus.busy:
            raise ProtocolError(423, "another PATCH on this upload is in progress")

    async def _write(self, request, upload_id, row, offset, checksum, busy) -> web.Response:
        upload, info = self.tus.live_upload(upload_id)
        if offset != info.offset:
            raise ProtocolError(409, f"Upload-Offset {offset} differs from {info.offset}")
        room = info.length - offset
        if request.content_length is not None and request.content_length > room:
            raise ProtocolError(413, "body goes past Upload-Length")
        try:
            writer = await self.tus.run_io(upload.chunk_writer, offset)
        except OSError as exc:
            raise self.tus.os_error(exc) from None
        except Conflict as exc:
            raise ProtocolError(409, f"offset moved: {exc}") from None
        file_hash = self.core.file_hash_base(upload_id, offset)
        # The batch check reads this chunk's blocks as they arrive (rule R2a).
        verifier = self.core.verifier(upload_id, hash_file=file_hash is None, offset=offset)
        offer = None if verifier is None else (lambda at, block: verifier.offer(offset + at, block))
        sink = BodySink(writer, self.tus.pool, file_hash, offer)
        n = 0
        committed = False
        commit: Future | None = None
        watchdog = IdleWatchdog(busy, self.opts.body_idle_timeout_s)
        t_body = time.perf_counter()
        try:
            while True:
                # One received piece at a time, as the parser produced it:
                # readany() joins (copies) whatever has piled up meanwhile.
                piece, chunk_end = await request.content.readchunk()
                if not piece:
                    # The end of an HTTP/1.1 chunk, not of the body, unless the stream is at its
                    # end: aiohttp gives every bodiless request one shared empty reader, which
                    # answers (b"", True) for ever once any request has read it, so testing
                    # chunk_end alone spun the event loop on a second empty PATCH.
                    if chunk_end and not request.content.at_eof():
                        continue
                    break
                busy.last = time.monotonic()
                n += len(piece)
                if n > room:
                    raise ProtocolError(413, "body goes past Upload-Length")
                if sink.feed(piece):
                    await sink.catch_up()
            digest = await sink.finish()
            if request.content_length is not None and n != request.content_length:
                raise ProtocolError(400, "body shorter than Content-Length")
            if checksum is not None and digest != checksum[1]:
                self.core.counters["checksum_mismatch"] += 1
                raise ProtocolError(CHECKSUM_MISMATCH, "Checksum Mismatch")
            t_commit = time.perf_counter()
            commit = self.tus.pool.submit(writer.commit)
            new_offset = await asyncio.wrap_future(commit)
            committed = True
        except asyncio.CancelledError:
            if commit is not None:
                # The commit runs on in its thread; it must not be cut back under it.
                wait([commit])
                committed = commit.exception() is None
                if committed:  # durable and counted: final for the check too
                    self.core.committed(upload_id, commit.result(), file_hash=sink.file_hash)
            if watchdog.fired:
                self.core.counters["body_timeouts"] += 1
                raise ProtocolError(408, "body stalled") from None
            raise
        except (ConnectionError, ClientError):
            raise ProtocolError(400, "connection lost during the body") from None
        except OSError as exc:
            raise self.tus.os_error(exc) from None
        except Conflict as exc:
            raise ProtocolError(409, f"offset moved: {exc}") from None
        except TooManyParts as exc:
            await self.tus.run_io(upload.terminate)
            self.core.state.drop_upload(upload_id)
            raise ProtocolError(413, str(exc)) from None
        finally:
            watchdog.stop()
            if not committed:
                sink.drain()  # a write still running in the pool must land before the cut-back
                writer.abort()
                self.core.retract(upload_id)
        self.core.counters["bytes_received"] += n
        t_done = time.perf_counter()
        timing = f"body;dur={(t_commit - t_body) * 1000:.1f}, commit;dur={(t_done - t_commit) * 1000:.1f}"
        headers = {"Upload-Offset": str(new_offset), "Server-Timing": timing, **self.tus.expires(time.time())}
        self.core.committed(upload_id, new_offset, file_hash=sink.file_hash)
        if new_offset < info.length:
            return web.Response(status=204, headers=headers)
        t0 = time.perf_counter()
        busy.accepting = True
        try:
            await self.core.accept(upload_id)
        except BatchError as exc:
            return web.json_response({"error": exc.code, "detail": exc.detail}, status=422,
                                     headers={"Sohoa-Reason": exc.code})
        timing += f", accept;dur={(time.perf_counter() - t0) * 1000:.1f}"
        return web.Response(status=204, headers={"Upload-Offset": str(new_offset), "Server-Timing": timing,
                                                 **self.tus.receipt_header(row["device_id"], row["seq"])})
