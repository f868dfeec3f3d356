"""``GET /healthz``: can this node reach its state and its store? (design 5.12; the load balancer asks).

Cheap on purpose: the answer is cached for a second, so a health check every
second from each load balancer costs at most one round trip to each backend.
The probes run on a thread of their own, never queued behind the node's
uploads, and the state probe uses a connection of its own (``ping``): a node
busy with uploads is up, and only an unreachable backend makes it answer 503
(design 5.12, "Connection budget").
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web

from central.backend_errors import BackendUnavailable

CACHE_S = 1.0
PROBE_TIMEOUT_S = 2.0


class Health:
    def __init__(self, core):
        self.core = core
        self.checked_at = -1e9
        self.up = {"state": True, "objects": True}
        self.lock = asyncio.Lock()
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="health")

    def _probe(self, name: str, ping) -> bool:
        try:
            ping()
            return True
        except BackendUnavailable:
            return False
        except Exception:  # any failure to answer is "down" for the balancer
            return False

    async def refresh(self) -> dict[str, bool]:
        async with self.lock:
            if time.monotonic() - self.checked_at < CACHE_S:
                return self.up
            loop = asyncio.get_running_loop()
            pings = {"state": self.core.state.ping, "objects": getattr(self.core.store, "ping", lambda: None)}
            results = {}
            for name, ping in pings.items():
                try:
                    results[name] = await asyncio.wait_for(loop.run_in_executor(self.pool, self._probe, name, ping),
                                                           PROBE_TIMEOUT_S)
                except asyncio.TimeoutError:
                    results[name] = False
            self.up = results
            self.checked_at = time.monotonic()
            return results

    async def handle(self, _request: web.Request) -> web.Response:
        up = await self.refresh()
        down = [name for name, ok in up.items() if not ok]
        if down:
            return web.Response(status=503, text=f"down: {', '.join(down)}\n",
                                headers={"Cache-Control": "no-store", "Retry-After": "1"})
        return web.Response(text="ok\n", headers={"Cache-Control": "no-store"})
