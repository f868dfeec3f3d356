"""``POST /heartbeat`` on the device-facing listener (design §5.15, H1-H6).

Authenticated like every device request (5.6), then the body's own signature,
device, clock window and seq are checked; a refusal at H3-H6 is kept as a
station event for the overview.
"""

from __future__ import annotations

import time

from aiohttp import web

from central.receiver import TusHandler
from central.web import heartbeats
from sync.heartbeat import MAX_BODY, SIGNATURE_HEADER, HeartbeatError, check_heartbeat
from sync.keys import ed25519_public
from sync.limiter import client_key


class HeartbeatHandler:
    def __init__(self, tus: TusHandler):
        self.tus = tus
        self.state = tus.core.state

    async def post(self, request: web.Request) -> web.Response:
        device_id = self.tus.authenticate(request)  # H1 (AuthError -> 401/403 by the app's middleware)
        if request.content_length is not None and request.content_length > MAX_BODY:
            return self._refused(HeartbeatError(413, "bad_heartbeat", "heartbeat too large"))
        body = await request.content.read(MAX_BODY + 1)
        device = self.state.device(device_id)
        try:
            hb = check_heartbeat(body, request.headers.get(SIGNATURE_HEADER), device_id,
                                 ed25519_public(device.public_key), now=time.time())
            heartbeats.record(self.state, hb)  # H6 under the row's lock
        except HeartbeatError as exc:
            if exc.kind != "bad_heartbeat":
                heartbeats.add_event(self.state, device_id, exc.kind, client_key(request.remote))
            return self._refused(exc)
        return web.Response(status=204)

    @staticmethod
    def _refused(exc: HeartbeatError) -> web.Response:
        return web.Response(status=exc.status, text=exc.reason + "\n",
                            headers={"Sohoa-Reason": exc.kind})
