"""A loopback TCP proxy that cuts, stalls and corrupts connections on purpose.

Used by the sync tests and by bench_sync. It counts the bytes going from client
to server across all connections. ``cut_at`` is a sorted list of such byte
counts: when the counter reaches the next one, both sides of that connection are
aborted (an RST-like close) after forwarding exactly up to it. ``lose_responses``
holds response numbers (1-based, counted as each switch from request to response
bytes on a connection): that response is swallowed and the connection aborted,
so the server did the work and the client never hears of it. ``stall_at`` is a
byte count after which the connection carrying it forwards nothing more (the
server keeps waiting for the rest of the body, the client times out).
``flip_at`` flips the lowest bit of one client-to-server byte, once.
"""

from __future__ import annotations

import asyncio


class CuttingProxy:
    def __init__(self, upstream_port: int, *, cut_at: list[int] | None = None,
                 lose_responses: set[int] | None = None, flip_at: int | None = None):
        self.upstream_port = upstream_port
        self.flip_at = flip_at  # client-to-server byte index whose lowest bit is flipped once
        self.cut_at = sorted(cut_at or [])
        self.lose_responses = set(lose_responses or ())
        self.sent = 0          # client -> server bytes forwarded
        self.cuts = 0
        self.responses = 0
        self.stall_at: int | None = None
        self.stalled = 0
        self.server: asyncio.AbstractServer | None = None
        self.port = 0
        self._conns: set[asyncio.Task] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> "CuttingProxy":
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    async def close(self) -> None:
        self.server.close()
        for w in list(self._writers):
            _abort(w)
        for t in list(self._conns):
            t.cancel()
        await asyncio.gather(*self._conns, return_exceptions=True)

    async def _handle(self, cr: asyncio.StreamReader, cw: asyncio.StreamWriter) -> None:
        try:
            ur, uw = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            _abort(cw)
            return
        self._writers.update((cw, uw))
        state = {"last": "none", "dead": False}
        tasks = [asyncio.create_task(self._up(cr, uw, cw, state)),
                 asyncio.create_task(self._down(ur, cw, uw, state))]
        self._conns.update(tasks)
        await asyncio.gather(*tasks, return_exceptions=True)
        self._conns.difference_update(tasks)
        self._writers.difference_update((cw, uw))

    def _kill(self, a, b, state) -> None:
        state["dead"] = True
        _abort(a)
        _abort(b)

    async def _up(self, cr, uw, cw, state) -> None:
        while not state["dead"]:
            data = await cr.read(65536)
            if not data:
                uw.close()
                return
            state["last"] = "req"
            if self.stall_at is not None and self.sent + len(data) > self.stall_at:
                keep = max(0, self.stall_at - self.sent)
                uw.write(data[:keep])
                self.sent += keep
                self.stall_at = None
                self.stalled += 1
                await asyncio.sleep(3600)  # cancelled when the proxy closes
            if self.cut_at and self.sent + len(data) >= self.cut_at[0]:
                keep = self.cut_at.pop(0) - self.sent
                while self.cut_at and self.cut_at[0] <= self.sent + keep:
                    self.cut_at.pop(0)
                uw.write(data[:keep])
                self.sent += keep
                try:
                    await uw.drain()
                except OSError:
                    pass
                self.cuts += 1
                self._kill(cw, uw, state)
                return
            if self.flip_at is not None and self.sent <= self.flip_at < self.sent + len(data):
                i = self.flip_at - self.sent
                data = data[:i] + bytes([data[i] ^ 1]) + data[i + 1:]
                self.flip_at = None
            self.sent += len(data)
            uw.write(data)
            try:
                await uw.drain()
            except OSError:
                self._kill(cw, uw, state)
                return

    async def _down(self, ur, cw, uw, state) -> None:
        while not state["dead"]:
            data = await ur.read(65536)
            if not data:
                cw.close()
                return
            if state["last"] == "req":
                state["last"] = "resp"
                self.responses += 1
                if self.responses in self.lose_responses:
                    self._kill(cw, uw, state)
                    return
            cw.write(data)
            try:
                await cw.drain()
            except OSError:
                self._kill(cw, uw, state)
                return


def _abort(w: asyncio.StreamWriter) -> None:
    try:
        w.transport.abort()
    except Exception:  # already gone
        pass
