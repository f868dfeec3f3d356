"""Per-connection time limits of the receiver: the request head and the idle wait (formats 5.8).

aiohttp hands a request to the application only once its head is complete,
and keeps a single keep-alive timer, which releases older than the change
that also starts it when a connection opens (aiohttp pull request 13681)
start only after the first answer. A client that opens a connection and
trickles a request head a byte at a time (slowloris) holds its connection for
ever there, and with newer releases the one timer still cannot tell a slow
head from a quiet connection. So the limits are kept here, between the socket and
aiohttp's protocol: :class:`ConnectionWatch` wraps each connection's protocol
in a thin one that forwards every event and watches the time, and its
middleware tells it when a head has been parsed and when the answer is done.

Per connection, one state at a time:

- ``idle``: no request in progress and no byte of a new one (just opened, or
  answered). Closed after ``idle_timeout_s``.
- ``head``: bytes of a new request have arrived, its head is not parsed yet.
  After ``header_timeout_s`` from the first byte the receiver writes ``408``
  and closes.
- ``request``: the application has the request; the body has its own rule
  (the PATCH stall watchdog, the enrollment body timeout).
"""

from __future__ import annotations

import asyncio
from typing import Callable

from aiohttp import web

IDLE, HEAD, REQUEST = "idle", "head", "request"
_TIMEOUT_408 = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


class ConnectionWatch:
    """The header and idle limits of every connection of one or more listeners.

    *counters* (the receiver's) gets ``header_timeouts`` and ``idle_closed``
    incremented.
    """

    def __init__(self, header_timeout_s: float, idle_timeout_s: float, counters: dict[str, int]):
        if header_timeout_s <= 0 or idle_timeout_s <= 0:
            raise ValueError("header and idle timeouts must be positive")
        self.header_timeout_s, self.idle_timeout_s = header_timeout_s, idle_timeout_s
        self.counters = counters
        self.guards: dict[object, _Guard] = {}  # aiohttp's protocol of a connection -> its guard

    def protocol_factory(self, make_protocol: Callable[[], asyncio.Protocol]) -> Callable[[], asyncio.Protocol]:
        """A factory for ``loop.create_server`` wrapping each of *make_protocol*'s protocols."""
        return lambda: _Guard(self, make_protocol())

    def middleware(self):
        """The middleware that moves a connection to ``request`` and back to ``idle``; put it first."""
        @web.middleware
        async def watch(request: web.Request, handler):
            guard = self.guards.get(request.protocol)
            if guard is None:  # served by a listener without a watch
                return await handler(request)
            guard.head_done()
            try:
                return await handler(request)
            finally:
                guard.answered()
        return watch


class _Guard(asyncio.Protocol):
    """Forwards a connection's events to aiohttp's protocol and enforces the state's deadline."""

    def __init__(self, watch: ConnectionWatch, inner: asyncio.Protocol):
        self.watch, self.inner = watch, inner
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.state = IDLE
        self.timer: asyncio.TimerHandle | None = None

    def _arm(self, state: str, timeout: float | None) -> None:
        self.state = state
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if timeout is not None:
            self.timer = self.loop.call_later(timeout, self._expired)

    def _expired(self) -> None:
        self.timer = None
        if self.transport is None or self.transport.is_closing():
            return
        if self.state == HEAD:
            self.watch.counters["header_timeouts"] += 1
            self.transport.write(_TIMEOUT_408)
        elif self.state == IDLE:
            self.watch.counters["idle_closed"] += 1
        else:
            return
        self.transport.close()

    def head_done(self) -> None:
        self._arm(REQUEST, None)

    def answered(self) -> None:
        self._arm(IDLE, self.watch.idle_timeout_s)

    # ------------------------------------------------------------ asyncio.Protocol, forwarded
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.watch.guards[self.inner] = self
        self.inner.connection_made(transport)
        self._arm(IDLE, self.watch.idle_timeout_s)

    def data_received(self, data: bytes) -> None:
        if self.state == IDLE:
            self._arm(HEAD, self.watch.header_timeout_s)
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._arm(self.state, None)
        self.watch.guards.pop(self.inner, None)
        self.transport = None
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()


class GuardedSite(web.BaseSite):
    """A TCP listener whose connections are kept by a :class:`ConnectionWatch`."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, watch: ConnectionWatch, *,
                 backlog: int = 128):
        super().__init__(runner, backlog=backlog)
        self._host, self._port, self._watch = host, port, watch

    @property
    def port(self) -> int:
        """The bound port (the real one when 0 was asked for) once started."""
        if self._server is not None and self._server.sockets:
            return self._server.sockets[0].getsockname()[1]
        return self._port

    @property
    def name(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        if server is None:
            raise RuntimeError("the runner is not set up")
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._watch.protocol_factory(server), self._host, self._port,
                                                backlog=self._backlog, reuse_address=True)
