"""The receiver's aiohttp application: routes, error replies and start-up (design section 5.8).

:class:`sync.receiver.TusHandler` answers the requests; this module decides,
once, which routes exist (from one :class:`sync.tus_protocol.Capabilities`
record), turns protocol and authentication errors into replies, and ties the
receiver's state (:class:`sync.receiver_core.ReceiverCore`) to the app's life.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from aiohttp import web

from sync.auth import AuthError
from sync.proc_tune import keep_large_buffers
from sync.receiver import CORE, ReceiverOptions, TusHandler
from sync.receiver_core import MemberCheck, ReceiverCore
from sync.store import Store
from sync.tus_protocol import TUS_VERSION, Capabilities, ProtocolError

log = logging.getLogger("sohoa.receiver")


@web.middleware
async def _errors(request: web.Request, handler):
    try:
        resp = await handler(request)
    except (ProtocolError, AuthError) as exc:
        resp = web.Response(status=exc.status, text=exc.reason + "\n",
                            headers={"Sohoa-Reason": exc.reason[:200]})
    except ValueError as exc:  # e.g. a seq in a path that is not a number
        resp = web.Response(status=400, text=f"{exc}\n")
    resp.headers["Tus-Resumable"] = TUS_VERSION
    return resp


def make_app(core: ReceiverCore, opts: ReceiverOptions | None = None) -> web.Application:
    """The aiohttp application serving *core*; capabilities are decided here, once."""
    opts = opts or ReceiverOptions()
    caps = Capabilities(max_size=opts.max_size,
                        termination=opts.termination and core.store.supports_termination,
                        expiration_s=opts.expiration_s)
    h = TusHandler(core, caps, opts)
    # A larger read buffer lets a PATCH body arrive in big pieces: fewer
    # wake-ups, writes and hash updates per chunk.
    app = web.Application(middlewares=[_errors], client_max_size=64 * 1024,
                          handler_args={"read_bufsize": 4 * 1024 * 1024})
    app[CORE] = core
    app.router.add_route("OPTIONS", "/files/", h.options)
    app.router.add_route("OPTIONS", "/files/{upload_id}", h.options)
    app.router.add_post("/files/", h.create)
    app.router.add_post("/files", h.create)
    actions = {"HEAD": h.head, "PATCH": h.patch, "DELETE": h.terminate}
    for method in caps.methods():
        app.router.add_route(method, "/files/{upload_id}", actions[method])
    app.router.add_get("/receipts/{device}/{seq:[0-9]{1,18}}", h.receipt)
    app.router.add_post("/enroll", h.enroll)
    app.router.add_get("/metrics", h.metrics)

    async def sweeper(app: web.Application):
        async def loop():
            while True:
                n = core.sweep_expired(opts.expiration_s)
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
                       own_process: bool = True) -> web.Application:
    """A ready receiver app for *root* (state and keys there; the file store too unless *store* is given).

    With *own_process* (a receiver server) the process's allocator keeps freed
    body buffers for reuse (:func:`sync.proc_tune.keep_large_buffers`); a
    receiver inside another program (the demo, tests) leaves it alone.
    """
    core = ReceiverCore(Path(root), origin=origin, member_check=member_check, store=store)
    app = make_app(core, opts)
    if own_process:
        keep_large_buffers()

    async def close_core(app: web.Application):
        yield
        core.close()
    app.cleanup_ctx.append(close_core)
    return app
