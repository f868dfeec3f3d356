"""The tus 1.0.0 request handlers of the receiver over aiohttp (formats section 5.8), all but PATCH.

Storage comes from a :class:`central.store.Store`, decisions from
:class:`ReceiverCore`; PATCH, which writes the bodies, is
:mod:`central.receiver_patch`, built on the helpers here; the application
around the handlers (routes, error replies, start-up) is :mod:`central.receiver_app`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.utils import formatdate

from aiohttp import web

from sync.auth import AuthError, check_signature, parse_auth_header
from sync.canon import HEX64_RE
from sync.keys import ed25519_public
from central.receiver_core import ReceiverCore
from central.config import IO_THREADS
from central.receiver_limits import BucketSpec, ThrottledLog
from central.receiver_state import storage_full
from central.tus_body import Busy
from sync.tus_protocol import (TUS_VERSION, Capabilities, ProtocolError, encode_metadata, parse_metadata,
                               parse_nonneg, safe_filename)

log = logging.getLogger("sohoa.receiver")
CORE = web.AppKey("core", ReceiverCore)
_READ = 1 << 20


@dataclass
class ReceiverOptions:
    """The receiver's settings; the limits and timeouts are those of formats 5.7 and 5.8."""

    max_size: int = 4 * 1024**3
    expiration_s: float = 24 * 3600.0
    body_idle_timeout_s: float = 60.0
    header_timeout_s: float = 20.0
    idle_timeout_s: float = 75.0
    takeover_idle_s: float = 10.0
    sweep_every_s: float = 600.0
    termination: bool = True
    # Failed enrollments: per client address, and for all addresses together.
    enroll_per_address: BucketSpec = BucketSpec(burst=10, refill_s=6.0)
    enroll_overall: BucketSpec = BucketSpec(burst=60, refill_s=1.0)
    # Peers whose X-Forwarded-For names the client (the TLS reverse proxy).
    trusted_proxies: tuple[str, ...] = ()
    # Retry-After of a 503 when the state or the object store cannot be reached (design 5.12).
    retry_after_s: int = 5
    # PATCHes served at once by this node; more wait for a slot up to patch_wait_s, then 503
    # (design 5.12, connection budget: each one holds up to two database connections).
    patches_in_flight: int = 12
    patch_wait_s: float = 30.0


class TusHandler:
    def __init__(self, core: ReceiverCore, caps: Capabilities, opts: ReceiverOptions):
        self.core, self.caps, self.opts = core, caps, opts
        # The PATCHes in progress on this node, by upload (central.receiver_patch writes them).
        self.busy: dict[str, Busy] = {}
        # Body writes, hashes and fsyncs; apart from the default pool so batch
        # verification (long) never delays an acknowledgement (short).
        self.pool = ThreadPoolExecutor(max_workers=IO_THREADS, thread_name_prefix="tus-io")
        # Refused authentications: counted always, logged at most once a minute (formats 5.6).
        self.auth_log = ThrottledLog(log)

    # ----------------------------------------------------------------- helpers
    def authenticate(self, request: web.Request) -> str:
        try:
            creds = parse_auth_header(request.headers.get("Authorization"))
            device = self.core.state.device(creds.device_id)
            if device is None:
                raise AuthError(403, "unknown device")
            if device.revoked:
                raise AuthError(403, "device revoked")
            check_signature(creds, ed25519_public(device.public_key))
        except AuthError as exc:
            self.core.counters["auth_failures"] += 1
            self.auth_log.warning("auth refused from %s: %s", request.remote, exc.reason)
            raise
        return creds.device_id

    def tus_request(self, request: web.Request) -> str:
        if request.headers.get("Tus-Resumable") != TUS_VERSION:
            raise ProtocolError(412, "Tus-Resumable 1.0.0 required")
        return self.authenticate(request)

    def expires(self, updated_at: float) -> dict[str, str]:
        if not self.caps.expiration_s:
            return {}
        return {"Upload-Expires": formatdate(updated_at + self.caps.expiration_s, usegmt=True)}

    def receipt_header(self, device_id: str, seq: int) -> dict[str, str]:
        return {"Sohoa-Receipt": f"/receipts/{device_id}/{seq}"}

    def own_upload(self, request: web.Request, device_id: str):
        upload_id = request.match_info["upload_id"]
        row = self.core.state.upload(upload_id)
        if row is None or row["device_id"] != device_id:
            raise ProtocolError(404, "no such upload")
        return upload_id, row

    # ----------------------------------------------------------------- routes
    async def options(self, request: web.Request) -> web.Response:
        return web.Response(status=204, headers=self.caps.options_headers())

    async def create(self, request: web.Request) -> web.Response:
        device_id = self.tus_request(request)
        if "Upload-Defer-Length" in request.headers:
            raise ProtocolError(400, "deferred length is not supported")
        length = parse_nonneg(request.headers.get("Upload-Length"), "Upload-Length")
        if length > self.caps.max_size:
            raise ProtocolError(413, f"Upload-Length above Tus-Max-Size {self.caps.max_size}")
        if request.content_length:
            raise ProtocolError(400, "creation-with-upload is not supported")
        meta = parse_metadata(request.headers.get("Upload-Metadata"))
        seq_text, batch, sha = meta.get("seq", ""), meta.get("batch", ""), meta.get("sha256", "")
        if not re.fullmatch(r"[1-9][0-9]{0,17}", seq_text) or not HEX64_RE.fullmatch(batch) \
                or not HEX64_RE.fullmatch(sha):
            raise ProtocolError(400, "metadata needs seq (decimal), batch and sha256 (64 hex)")
        if "filename" in meta and not safe_filename(meta["filename"]):
            raise ProtocolError(400, "metadata filename must be a plain name")
        if meta.get("device", device_id) != device_id:
            raise ProtocolError(400, "metadata device differs from the authenticated device")
        seq = int(seq_text)
        state = self.core.state
        done = state.log_entry(device_id, seq)
        if done is not None:
            if done["batch"] != batch:
                self.core.reject(device_id, seq, "fork", "creation for an accepted seq with another batch hash")
                raise ProtocolError(409, "fork: this seq was accepted with another batch")
            self.ensure_archived(done)
            accepted = state.upload(done["upload_id"])
            return web.Response(status=201, headers={
                "Location": f"/files/{done['upload_id']}", "Upload-Offset": str(accepted["length"]),
                **self.receipt_header(device_id, seq)})
        device = state.device(device_id)
        if seq <= device.last_seq:
            self.core.reject(device_id, seq, "replay", f"seq {seq} is not after {device.last_seq}")
            raise ProtocolError(409, "replay: seq already used")
        if seq > device.last_seq + 1:
            raise ProtocolError(409, f"gap: next expected seq is {device.last_seq + 1}")
        for row in state.upload_for_batch(device_id, seq):
            if row["state"] != "open":
                continue
            upload = self.core.store.get_upload(row["id"])
            if row["batch"] == batch and row["sha256"] == sha and row["length"] == length and upload is not None:
                info = upload.info()
                return web.Response(status=201, headers={"Location": f"/files/{row['id']}",
                                                         "Upload-Offset": str(info.offset),
                                                         **self.expires(info.updated_at)})
            if row["id"] in self.busy:
                raise ProtocolError(423, "another upload of this seq is being written")
            self.core.forget(row["id"])
            if upload is not None:
                await self.run_io(upload.terminate)
            state.drop_upload(row["id"])  # re-sealed or replaced before acceptance
        upload_id = secrets.token_hex(16)
        store_meta = {"device": device_id, "seq": str(seq), "batch": batch, "sha256": sha}
        if "filename" in meta:
            store_meta["filename"] = meta["filename"]
        try:
            upload = await self.run_io(self.core.store.new_upload, upload_id, length, store_meta)
        except OSError as exc:
            raise self.os_error(exc) from None
        try:
            added = state.add_upload(upload_id, device_id, seq, batch, sha, length)
        except BaseException:
            await self.run_io(upload.terminate)  # no row, no files: the client creates it again later
            raise
        if not added:
            # The same creation was answered meanwhile (a client's retry on another node): that
            # upload is the one; this one is deleted and the client gets the other's URL.
            await self.run_io(upload.terminate)
            for row in state.upload_for_batch(device_id, seq):
                other = self.core.store.get_upload(row["id"])
                if row["state"] == "open" and row["batch"] == batch and row["sha256"] == sha \
                        and row["length"] == length and other is not None:
                    info = other.info()
                    return web.Response(status=201, headers={"Location": f"/files/{row['id']}",
                                                             "Upload-Offset": str(info.offset),
                                                             **self.expires(info.updated_at)})
            raise ProtocolError(423, "another upload of this seq is being created")
        return web.Response(status=201, headers={"Location": f"/files/{upload_id}", "Upload-Offset": "0",
                                                 **self.expires(upload.info().updated_at)})

    async def head(self, request: web.Request) -> web.Response:
        device_id = self.tus_request(request)
        upload_id, row = self.own_upload(request, device_id)
        headers = {"Cache-Control": "no-store", "Upload-Length": str(row["length"])}
        if row["state"] == "accepted":
            self.ensure_archived(self.core.state.log_entry(device_id, row["seq"]))
            meta = {"seq": str(row["seq"]), "batch": row["batch"], "sha256": row["sha256"]}
            return web.Response(status=200, headers={**headers, "Upload-Offset": str(row["length"]),
                                                     "Upload-Metadata": encode_metadata(meta),
                                                     **self.receipt_header(device_id, row["seq"])})
        upload, info = self.live_upload(upload_id)
        return web.Response(status=200, headers={**headers, "Upload-Offset": str(info.offset),
                                                 "Upload-Metadata": encode_metadata(info.meta),
                                                 **self.expires(info.updated_at)})

    def live_upload(self, upload_id: str):
        """(upload, its info) of an open upload that has not expired; the info is read once."""
        upload = self.core.store.get_upload(upload_id)
        if upload is None:
            raise ProtocolError(404, "no such upload")
        info = upload.info()
        if self.caps.expiration_s and info.updated_at + self.caps.expiration_s < time.time():
            raise ProtocolError(410, "upload expired")
        return upload, info

    async def terminate(self, request: web.Request) -> web.Response:
        device_id = self.tus_request(request)
        upload_id, row = self.own_upload(request, device_id)
        if row["state"] == "accepted":
            raise ProtocolError(403, "an accepted batch cannot be terminated")
        if upload_id in self.busy:
            raise ProtocolError(423, "upload is being written")
        self.core.forget(upload_id)
        upload = self.core.store.get_upload(upload_id)
        if upload is not None:
            await self.run_io(upload.terminate)
        self.core.state.drop_upload(upload_id)
        return web.Response(status=204)

    async def run_io(self, fn, *args):
        """*fn(*args)* in the I/O pool: a store call may wait on the network (S3)."""
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    def os_error(self, exc: OSError) -> ProtocolError:
        if storage_full(exc):
            return self.storage_full(exc)
        log.exception("store error")
        return ProtocolError(500, "store error")

    def storage_full(self, exc: BaseException) -> ProtocolError:
        """The one answer to a write refused for lack of room, wherever it happened (formats 5.8)."""
        self.core.counters["disk_full"] += 1
        log.error("storage full: %s: %s", type(exc).__name__, exc)
        return ProtocolError(507, "Insufficient Storage")

    def ensure_archived(self, entry) -> None:
        try:
            self.core.ensure_archived(entry)
        except OSError as exc:
            raise self.os_error(exc) from None

    async def receipt(self, request: web.Request) -> web.Response:
        device_id = self.authenticate(request)
        if request.match_info["device"] != device_id:
            raise ProtocolError(404, "no such receipt")
        entry = self.core.state.log_entry(device_id, int(request.match_info["seq"]))
        if entry is None:
            raise ProtocolError(404, "no such receipt")
        self.ensure_archived(entry)
        return web.json_response(json.loads(entry["receipt"]))
