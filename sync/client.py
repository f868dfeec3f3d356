"""tus 1.0.0 client over aiohttp, with the receiver's extras (formats section 5.8).

One upload at a time; every PATCH carries ``Upload-Checksum: sha256``; each
answer tells the caller whether to go on, resume from the server's offset,
retry later (:class:`TransientError`) or stop and call a person
(:class:`PermanentError`).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from urllib.parse import urljoin, urlsplit

import aiohttp

from sync.tus_protocol import CHECKSUM_MISMATCH, TUS_VERSION, encode_metadata

DEFAULT_CHUNK = 4 * 1024 * 1024
_SLICE = 256 * 1024  # a PATCH body goes to the socket in slices of this size (see TusClient._body)
_RATE_SLICE = 64 * 1024  # under a bandwidth cap: smaller, so the cap is smooth


class TransientError(Exception):
    """Try again later: network down, server busy or failing, disk full there."""


class PermanentError(Exception):
    """The receiver refused for a reason retrying will not fix; ``code`` says which."""

    def __init__(self, code: str, detail: str, status: int = 0):
        super().__init__(f"{code}: {detail}")
        self.code, self.detail, self.status = code, detail, status


class UploadGone(Exception):
    """The upload URL is unknown or expired: create it again."""


@dataclass(frozen=True)
class UploadResult:
    url: str
    receipt_path: str | None


class RateLimiter:
    """Token bucket in bytes per second, shared by every request of one client."""

    def __init__(self, bytes_per_s: float):
        self.rate = float(bytes_per_s)
        self.tokens = 0.0
        self.t = time.monotonic()

    async def take(self, n: int) -> None:
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.t) * self.rate)
        self.t = now
        self.tokens -= n
        if self.tokens < 0:
            await asyncio.sleep(-self.tokens / self.rate)


class TusClient:
    """Talks to one receiver.

    Parameters
    ----------
    endpoint : str
        Base URL of the receiver, e.g. ``https://archive.example/`` (``/files/`` is appended).
    auth : callable or None
        Returns the ``Authorization`` header value for each request.
    chunk_size : int
        Bytes per PATCH; a cut costs at most one chunk.
    rate_limit_bps : float or None
        Upload bandwidth cap in bytes per second.
    """

    def __init__(self, endpoint: str, auth: Callable[[], str] | None = None, *, chunk_size: int = DEFAULT_CHUNK,
                 rate_limit_bps: float | None = None, connect_timeout_s: float = 10.0,
                 read_timeout_s: float = 60.0):
        self.base = endpoint.rstrip("/") + "/"
        self.files = urljoin(self.base, "files/")
        self.auth = auth
        self.chunk_size = chunk_size
        self.limiter = RateLimiter(rate_limit_bps) if rate_limit_bps else None
        self.timeout = aiohttp.ClientTimeout(total=None, connect=connect_timeout_s, sock_connect=connect_timeout_s,
                                             sock_read=read_timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self.bytes_sent = 0
        self.server_timing = ""  # of the last PATCH, e.g. "accept;dur=210.5" on the final one

    async def __aenter__(self) -> "TusClient":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout,
                                                  connector=aiohttp.TCPConnector(limit=4, force_close=False))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _headers(self, **extra: str) -> dict[str, str]:
        h = {"Tus-Resumable": TUS_VERSION, **extra}
        if self.auth is not None:
            h["Authorization"] = self.auth()
        return h

    async def _request(self, method: str, url: str, **kw) -> tuple[int, dict, bytes]:
        try:
            async with self.session().request(method, url, **kw) as resp:
                body = await resp.read()
                return resp.status, resp.headers.copy(), body
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            raise TransientError(f"{method} {url}: {type(exc).__name__}: {exc}") from None

    @staticmethod
    def _fail(what: str, status: int, headers: dict, body: bytes) -> Exception:
        reason = headers.get("Sohoa-Reason") or body[:200].decode("utf-8", "replace").strip()
        if status in (401, 403):
            return PermanentError("auth", f"{what}: {reason}", status)
        if status == 409 and reason.split(":")[0] in ("fork", "replay"):
            return PermanentError(reason.split(":")[0], reason, status)
        if status == 422:
            return PermanentError(reason or "rejected", body.decode("utf-8", "replace"), status)
        if status in (400, 412, 413, 415):
            return PermanentError("protocol", f"{what}: {status} {reason}", status)
        return TransientError(f"{what}: {status} {reason}")

    def serves(self, url: str) -> bool:
        """True when *url* is on this client's endpoint (same scheme, host and port)."""
        def origin(u: str) -> tuple:
            p = urlsplit(u)
            return p.scheme, p.hostname, p.port or {"http": 80, "https": 443}.get(p.scheme)
        return origin(url) == origin(self.files)

    async def probe(self) -> bool:
        """True when the receiver answers ``OPTIONS /files/`` like a tus server."""
        try:
            status, headers, _ = await self._request("OPTIONS", self.files)
        except TransientError:
            return False
        return status in (200, 204) and headers.get("Tus-Version", "").startswith("1.0.0")

    async def create(self, length: int, meta: dict[str, str]) -> tuple[str, int, str | None]:
        """POST: returns (upload URL, offset, receipt path if already accepted)."""
        status, headers, body = await self._request("POST", self.files, headers=self._headers(
            **{"Upload-Length": str(length), "Upload-Metadata": encode_metadata(meta)}))
        if status != 201 or "Location" not in headers:
            raise self._fail("create", status, headers, body)
        return (urljoin(self.files, headers["Location"]), int(headers.get("Upload-Offset", "0")),
                headers.get("Sohoa-Receipt"))

    async def head(self, url: str) -> tuple[int, str | None]:
        status, headers, body = await self._request("HEAD", url, headers=self._headers())
        if status in (404, 410):
            raise UploadGone(url)
        if status != 200:
            raise self._fail("head", status, headers, body)
        return int(headers["Upload-Offset"]), headers.get("Sohoa-Receipt")

    async def _body(self, data: bytes):
        """The chunk as views of slices, never copied here.

        Handed over as one object, a chunk is copied whole before it
        reaches the socket: aiohttp joins the request headers with the first
        body write (on Python before 3.12.9), and the transport copies what
        the socket does not take at once into its own buffer. In slices
        both copies shrink to one slice, which matters on a Raspberry Pi
        (and on a receiver that shares its cores with the client).
        """
        view = memoryview(data)
        step = _RATE_SLICE if self.limiter else _SLICE
        for i in range(0, len(view), step):
            piece = view[i:i + step]
            if self.limiter:
                await self.limiter.take(len(piece))
            yield piece

    async def patch(self, url: str, offset: int, data: bytes, sha256: bytes | None = None) -> tuple[int, str | None, int]:
        """PATCH one chunk (*sha256*: its digest if already known); returns (new offset, receipt path, status)."""
        digest = base64.b64encode(sha256 or hashlib.sha256(data).digest()).decode("ascii")
        headers = self._headers(**{"Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream",
                                   "Upload-Checksum": f"sha256 {digest}", "Content-Length": str(len(data))})
        status, rh, rb = await self._request("PATCH", url, headers=headers, data=self._body(data))
        if status == 204:
            self.bytes_sent += len(data)
            self.server_timing = rh.get("Server-Timing", "")
            return int(rh["Upload-Offset"]), rh.get("Sohoa-Receipt"), status
        if status in (404, 410):
            raise UploadGone(url)
        if status in (409, CHECKSUM_MISMATCH, 423):
            return offset, None, status
        raise self._fail("patch", status, rh, rb)

    async def receipt(self, path: str) -> dict | None:
        status, headers, body = await self._request("GET", urljoin(self.base, path.lstrip("/")),
                                                    headers=self._headers())
        if status == 404:
            return None
        if status != 200:
            raise self._fail("receipt", status, headers, body)
        return json.loads(body)

    async def upload(self, path: Path, length: int, meta: dict[str, str], *, url: str | None = None,
                     on_created: Callable[[str], None] | None = None,
                     on_progress: Callable[[int, int], None] | None = None,
                     expect_receipt: bool = True) -> UploadResult:
        """Send *path* (exactly *length* bytes) until the receiver has all of it.

        Resumes *url* when given (HEAD), creates the upload otherwise and
        reports its URL through *on_created* before the first byte is sent.
        With *expect_receipt* false (a plain tus server) it stops at the last byte.
        """
        loop = asyncio.get_running_loop()
        receipt_path = None
        retries = 0
        with open(path, "rb") as f:
            fd = f.fileno()
            ahead = None  # (offset, future) of the next chunk, read and hashed while a request is in flight
            try:
                if url is not None and not self.serves(url):
                    url = None  # made on an endpoint since replaced (design A2): ask this one afresh
                if url is not None:
                    try:
                        offset, receipt_path = await self.head(url)
                    except UploadGone:
                        url = None
                if url is None:
                    # A new upload starts at 0 (unless the receiver already has it): read and
                    # hash the first chunk while the creation request is in flight.
                    ahead = (0, loop.run_in_executor(None, _read_at, fd, 0, min(self.chunk_size, length)))
                    url, offset, receipt_path = await self.create(length, meta)
                    if on_created is not None:
                        on_created(url)
                while receipt_path is None and (expect_receipt or offset < length):
                    if on_progress is not None:
                        on_progress(offset, length)
                    # An empty PATCH at the end asks the receiver to finish an
                    # acceptance that a crash interrupted.
                    n = min(self.chunk_size, length - offset)
                    if ahead is not None and ahead[0] == offset:
                        data, digest = await ahead[1]
                    else:
                        if ahead is not None:  # read for an offset the server did not confirm
                            await asyncio.gather(ahead[1], return_exceptions=True)
                        data, digest = await loop.run_in_executor(None, _read_at, fd, offset, n)
                    nxt = offset + n
                    ahead = None
                    if nxt < length:
                        size = min(self.chunk_size, length - nxt)
                        ahead = (nxt, loop.run_in_executor(None, _read_at, fd, nxt, size))
                    new_offset, receipt_path, status = await self.patch(url, offset, data, digest)
                    if status == 204 and (n > 0 or receipt_path is not None):
                        offset, retries = new_offset, 0
                        continue
                    retries += 1
                    if retries > 5:
                        raise TransientError(f"patch keeps failing with {status}")
                    if status == 423:
                        await asyncio.sleep(min(0.2 * 2 ** retries, 5.0))
                    offset, receipt_path = await self.head(url)
            finally:
                # The read-ahead must finish before the file (and its descriptor) is closed.
                if ahead is not None:
                    await asyncio.gather(ahead[1], return_exceptions=True)
        if on_progress is not None:
            on_progress(length, length)
        return UploadResult(url, receipt_path)


def _read_at(fd: int, offset: int, n: int) -> tuple[bytes, bytes]:
    """Read *n* bytes at *offset* and hash them (runs in a thread; pread is position-free)."""
    parts, got = [], 0
    while got < n:
        part = os.pread(fd, n - got, offset + got)
        if not part:
            raise PermanentError("local_file", f"sealed file shorter than expected at {offset + got}")
        parts.append(part)
        got += len(part)
    data = b"".join(parts) if len(parts) != 1 else parts[0]
    return data, hashlib.sha256(data).digest()
