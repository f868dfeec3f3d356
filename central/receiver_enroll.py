"""``POST /enroll`` on the receiver (formats 5.7): a one-time token registers a device key.

The one request nobody has authenticated that makes the receiver write, so
its failures are rate-limited (per client address and overall), recorded in
one bounded row per address and logged at most once a minute.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3

from aiohttp import ClientError, web

from sync.canon import DEVICE_ID_RE, unb64
from sync.keys import ed25519_public
from central.backend_errors import BackendUnavailable
from central.receiver import ReceiverOptions
from central.receiver_core import ReceiverCore
from central.receiver_limits import FailureLimiter, ThrottledLog, client_address
from sync.tus_protocol import ProtocolError

log = logging.getLogger("sohoa.receiver")
MAX_BODY = 4096


class EnrollHandler:
    def __init__(self, core: ReceiverCore, opts: ReceiverOptions):
        self.core, self.opts = core, opts
        self.limiter = FailureLimiter(opts.enroll_per_address, opts.enroll_overall)
        self.refusal_log = ThrottledLog(log)

    async def enroll(self, request: web.Request) -> web.Response:
        """``POST /enroll`` (formats 5.7): failures are rate-limited per client address and overall."""
        address = client_address(request.remote, request.headers.get("X-Forwarded-For"),
                                 self.opts.trusted_proxies)
        wait_s = self.limiter.admit(address)
        if wait_s:
            self.core.counters["enroll_limited"] += 1
            return web.Response(status=429, text=f"too many failed enrollments, retry after {wait_s} s\n",
                                headers={"Retry-After": str(wait_s), "Sohoa-Reason": "too many failed enrollments"})
        body: dict = {}
        try:
            body = await self._enroll_body(request)
            device_id, public_key, token = body["device"], body["public_key"], body["token"]
            if not isinstance(token, str) or not self.core.state.enroll(device_id, public_key, token):
                raise ProtocolError(403, "token invalid, used, expired or for another device")
        except ProtocolError as exc:
            self._enroll_refused(address, body.get("device"), exc)
            raise
        self.limiter.succeeded(address)
        log.info("enrolled device %s", device_id)
        dev = self.core.state.device(device_id)
        return web.json_response({"device": device_id, "archive_public_key": self.core.archive_public_b64,
                                  "log_public_key": self.core.log_public_b64, "log_origin": self.core.origin,
                                  "next_seq": dev.last_seq + 1}, status=201)

    async def _enroll_body(self, request: web.Request) -> dict:
        """The checked enrollment object; :class:`ProtocolError` 400 or 408 otherwise."""
        if request.content_length is None or request.content_length > MAX_BODY:
            raise ProtocolError(400, "enrollment body missing or too large")
        try:
            raw = await asyncio.wait_for(request.read(), self.opts.body_idle_timeout_s)
        except asyncio.TimeoutError:
            self.core.counters["body_timeouts"] += 1
            raise ProtocolError(408, "enrollment body not received in time") from None
        except (ConnectionError, ClientError):
            raise ProtocolError(400, "connection lost during the body") from None
        try:
            body = json.loads(raw)
            device_id, public_key, _ = body["device"], body["public_key"], body["token"]
            if not (isinstance(device_id, str) and DEVICE_ID_RE.fullmatch(device_id)):
                raise ValueError("bad device id")
            if len(unb64(public_key)) != 32:
                raise ValueError("public key must be 32 bytes")
            ed25519_public(public_key)
        except (ValueError, KeyError, TypeError):
            raise ProtocolError(400, "enrollment needs device, public_key (b64) and token") from None
        return body

    def _enroll_refused(self, address: str, device_id: object, exc: ProtocolError) -> None:
        """Count, record (one bounded row per address) and log, at most once a minute, a refused enrollment."""
        self.core.counters["enroll_refused"] += 1
        try:
            self.core.state.enroll_refused(address, device_id, exc.reason)
        except (sqlite3.Error, BackendUnavailable) as err:  # answered whether or not it could be recorded
            self.core.counters["rejections_unrecorded"] += 1
            log.error("enrollment refusal from %s not recorded: %s", address, err)
        device = device_id if isinstance(device_id, str) and DEVICE_ID_RE.fullmatch(device_id) else "?"
        self.refusal_log.warning("enrollment refused from %s for device %s: %s %s", address, device,
                                exc.status, exc.reason)
