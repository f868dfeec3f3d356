"""The receiver's aiohttp application: routes, error replies and start-up (formats section 5.8).

:class:`central.receiver.TusHandler` and :class:`central.receiver_patch.PatchHandler`
answer the requests; this module decides, once, which routes exist (from one
:class:`sync.tus_protocol.Capabilities` record), turns protocol and
authentication errors into replies, ties the receiver's state
(:class:`central.receiver_core.ReceiverCore`) to the app's life, and starts the
listeners: the public one and the loopback one for metrics, both with the
connection limits of :mod:`central.receiver_conn`.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from aiohttp import web

from sync.auth import AuthError
from central.proc_tune import keep_large_buffers
from central.backend_errors import BackendUnavailable, Conflict
from central.receiver import CORE, ReceiverOptions, TusHandler
from central.config import ACCEPT_THREADS
from central.health import Health
from central.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from central.metrics import exposition, registry_for
from central.receiver_conn import ConnectionWatch, GuardedSite
from central.receiver_core import MemberCheck, ReceiverCore
from central.receiver_enroll import EnrollHandler
from central.receiver_patch import PatchHandler
from central.web.heartbeat_route import HeartbeatHandler
from central.receiver_state import storage_full
from central.store import Store
from sync.tus_protocol import TUS_VERSION, Capabilities, ProtocolError

log = logging.getLogger("sohoa.receiver")
OPTS = web.AppKey("opts", ReceiverOptions)
HEALTH = web.AppKey("health", Health)
WATCH = web.AppKey("watch", ConnectionWatch)


def _errors(h: TusHandler):
    @web.middleware
    async def errors(request: web.Request, handler):
        try:
            try:
                resp = await handler(request)
            except (OSError, sqlite3.Error) as exc:
                if not storage_full(exc):
                    raise
                raise h.storage_full(exc) from None  # 507 wherever the room ran out (formats 5.8)
        except (ProtocolError, AuthError) as exc:
            resp = web.Response(status=exc.status, text=exc.reason + "\n",
                                headers={"Sohoa-Reason": exc.reason[:200]})
        except BackendUnavailable as exc:  # nothing acknowledged; the client retries after (design 5.12)
            h.core.backend_errors[exc.backend] = h.core.backend_errors.get(exc.backend, 0) + 1
            reason = "state backend unavailable" if exc.backend == "state" else "object store unavailable"
            resp = web.Response(status=503, text=f"{reason}\n",
                                headers={"Retry-After": str(h.opts.retry_after_s), "Sohoa-Reason": reason})
        except Conflict as exc:
            resp = web.Response(status=409, text=f"{exc}\n", headers={"Sohoa-Reason": str(exc)[:200]})
        except ValueError as exc:  # e.g. a seq in a path that is not a number
            resp = web.Response(status=400, text=f"{exc}\n")
        resp.headers["Tus-Resumable"] = TUS_VERSION
        return resp
    return errors


def make_app(core: ReceiverCore, opts: ReceiverOptions | None = None) -> web.Application:
    """The aiohttp application serving *core*; capabilities are decided here, once.

    ``GET /metrics`` is not among its routes: :func:`make_metrics_app` serves it
    on a listener of its own (formats 5.8).
    """
    opts = opts or ReceiverOptions()
    caps = Capabilities(max_size=opts.max_size,
                        termination=opts.termination and core.store.supports_termination,
                        expiration_s=opts.expiration_s)
    h = TusHandler(core, caps, opts)
    watch = ConnectionWatch(opts.header_timeout_s, opts.idle_timeout_s, core.counters)
    # A larger read buffer lets a PATCH body arrive in big pieces: fewer
    # wake-ups, writes and hash updates per chunk.
    app = web.Application(middlewares=[watch.middleware(), _errors(h)], client_max_size=64 * 1024,
                          handler_args={"read_bufsize": 4 * 1024 * 1024})
    app[CORE], app[OPTS], app[WATCH] = core, opts, watch
    app.router.add_route("OPTIONS", "/files/", h.options)
    app.router.add_route("OPTIONS", "/files/{upload_id}", h.options)
    app.router.add_post("/files/", h.create)
    app.router.add_post("/files", h.create)
    actions = {"HEAD": h.head, "PATCH": PatchHandler(h).patch, "DELETE": h.terminate}
    for method in caps.methods():
        app.router.add_route(method, "/files/{upload_id}", actions[method])
    app.router.add_get("/receipts/{device}/{seq:[0-9]{1,18}}", h.receipt)
    app.router.add_post("/enroll", EnrollHandler(core, opts).enroll)
    app.router.add_post("/heartbeat", HeartbeatHandler(h).post)  # design 5.15
    health = Health(core)
    app[HEALTH] = health
    app.router.add_get("/healthz", health.handle)

    async def sweeper(app: web.Application):
        async def loop():
            while True:
                try:  # S3 and database calls: off the event loop
                    n = await asyncio.get_running_loop().run_in_executor(None, core.sweep_expired, opts.expiration_s)
                except BackendUnavailable as exc:
                    log.warning("expired uploads not swept: %s", exc)
                    n = 0
                if n:
                    log.info("removed %d expired uploads", n)
                await asyncio.sleep(opts.sweep_every_s)
        task = asyncio.create_task(loop())
        yield
        task.cancel()
    if opts.expiration_s:
        app.cleanup_ctx.append(sweeper)
    return app


def build_receiver_app(root: Path, *, member_check: MemberCheck | None = None, origin: str | None = None,
                       opts: ReceiverOptions | None = None, store: Store | None = None,
                       own_process: bool = True, state=None, keys_dir: Path | None = None,
                       create_keys: bool = True) -> web.Application:
    """A ready receiver app for *root* (state and keys there; the file store too unless *store* is given).

    With *own_process* (a receiver server) the process's allocator keeps freed
    body buffers for reuse (:func:`central.proc_tune.keep_large_buffers`); a
    receiver inside another program (the demo, tests) leaves it alone.
    """
    core = ReceiverCore(Path(root), origin=origin, member_check=member_check, store=store, state=state,
                        keys_dir=keys_dir, create_keys=create_keys)
    app = make_app(core, opts)
    if own_process:
        keep_large_buffers()

    async def close_core(app: web.Application):
        yield
        core.close()
    app.cleanup_ctx.append(close_core)
    return app


def make_metrics_app(core: ReceiverCore, watch: ConnectionWatch, health: Health) -> web.Application:
    """``GET /metrics`` alone, for the loopback listener; it needs no credentials (formats 5.8).

    The exposition is Prometheus text format 0.0.4 from the client library (:mod:`central.metrics`);
    the backends' health is probed (at most once a second) before each scrape.
    """
    registry = registry_for(core, lambda: health.up)

    async def metrics(_request: web.Request) -> web.Response:
        await health.refresh()
        body = await asyncio.get_running_loop().run_in_executor(None, exposition, registry)
        return web.Response(body=body, headers={"Content-Type": METRICS_CONTENT_TYPE})
    app = web.Application(middlewares=[watch.middleware()])
    app.router.add_get("/metrics", metrics)
    return app


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


@dataclass
class Listening:
    """A started receiver: its public URL, its metrics URL (None without that listener), its runners."""

    url: str
    metrics_url: str | None
    runners: list[web.AppRunner] = field(default_factory=list)

    async def close(self) -> None:
        """Stop listening; the metrics listener goes first, the public one (which closes the state) last."""
        for runner in reversed(self.runners):
            await runner.cleanup()


async def start_listeners(app: web.Application, host: str, port: int, *, metrics_host: str = "127.0.0.1",
                          metrics_port: int | None = None) -> Listening:
    """Serve *app* (from :func:`make_app`) on *host*:*port*, and ``/metrics`` on *metrics_host*:*metrics_port*.

    Port 0 picks a free port (see the returned URLs). *metrics_port* None: no
    metrics listener. Both listeners keep the header and idle limits.
    """
    opts, watch = app[OPTS], app[WATCH]
    # aiohttp's own keep-alive timer only backs the watch up: it never fires first.
    keepalive = opts.idle_timeout_s + opts.header_timeout_s
    listening = Listening("", None)
    try:
        runner = web.AppRunner(app, access_log=None, keepalive_timeout=keepalive)
        await runner.setup()
        listening.runners.append(runner)
        site = GuardedSite(runner, host, port, watch)
        await site.start()
        listening.url = _url(host, site.port)
        if metrics_port is not None:
            mrunner = web.AppRunner(make_metrics_app(app[CORE], watch, app[HEALTH]), access_log=None,
                                    keepalive_timeout=keepalive)
            await mrunner.setup()
            listening.runners.append(mrunner)
            msite = GuardedSite(mrunner, metrics_host, metrics_port, watch)
            await msite.start()
            listening.metrics_url = _url(metrics_host, msite.port) + "metrics"
    except BaseException:
        await listening.close()
        raise
    return listening


def serve_forever(app: web.Application, host: str, port: int, *, metrics_host: str = "127.0.0.1",
                  metrics_port: int | None = None, on_ready: Callable[[Listening], None] | None = None) -> None:
    """Run the receiver until SIGINT or SIGTERM, then let running requests end (aiohttp's shutdown)."""
    async def main() -> None:
        # The acceptance lane (checks, completions, log appends) has a fixed size: the node's
        # database connections are budgeted by it (design 5.12, central.config.pool_needed).
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=ACCEPT_THREADS, thread_name_prefix="accept"))
        listening = await start_listeners(app, host, port, metrics_host=metrics_host, metrics_port=metrics_port)
        try:
            if on_ready is not None:
                on_ready(listening)
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await stop.wait()
        finally:
            await listening.close()
    asyncio.run(main())
