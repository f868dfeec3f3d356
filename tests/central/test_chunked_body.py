"""PATCH bodies sent with chunked transfer encoding: every piece counted, the checksum still checked."""

from __future__ import annotations

import base64
import contextlib
import hashlib

import aiohttp

from sync.auth import make_auth_header
from central.local import start_local_receiver
from sync.tus_protocol import encode_metadata


async def _chunked(data: bytes, sizes=(1, 70_000, 5, 300_000)):
    """*data* as HTTP/1.1 chunks of irregular sizes (aiohttp sends a generator without Content-Length)."""
    i, k = 0, 0
    while i < len(data):
        n = sizes[k % len(sizes)]
        yield data[i:i + n]
        i, k = i + n, k + 1


async def _call(s: aiohttp.ClientSession, method: str, url: str, **kw):
    async with s.request(method, url, **kw) as r:
        await r.read()
        return r.status, r.headers


async def _create(s: aiohttp.ClientSession, rx, base: dict, batch) -> str:
    """A new upload of *batch* on the receiver: its URL."""
    status, h = await _call(s, "POST", rx.url + "files/", headers={
        **base, "Upload-Length": str(batch.size), "Upload-Metadata": encode_metadata(batch.metadata())})
    assert status == 201
    return rx.url.rstrip("/") + h["Location"]


def _patch_headers(base: dict, offset: int, digest_of: bytes) -> dict:
    """A PATCH at *offset* whose Upload-Checksum is the SHA-256 of *digest_of*."""
    digest = base64.b64encode(hashlib.sha256(digest_of).digest()).decode()
    return {**base, "Content-Type": "application/offset+octet-stream", "Upload-Offset": str(offset),
            "Upload-Checksum": f"sha256 {digest}"}


@contextlib.asynccontextmanager
async def _enrolled(tmp_path, app, size: int):
    """A local receiver with *app* enrolled and a sealed batch of *size* bytes: (receiver, batch, headers)."""
    rx = await start_local_receiver(tmp_path / "rx")
    try:
        await app.enroll(rx)
        yield rx, app.seal((size,)), {"Tus-Resumable": "1.0.0",
                                       "Authorization": make_auth_header(app.device_id, app.key)}
    finally:
        await rx.close()


def test_a_chunked_patch_body_is_received_whole_and_checked(tmp_path, kit):
    app = kit.Appliance(tmp_path / "appliance")

    async def body():
        async with _enrolled(tmp_path, app, 900_000) as (rx, b, base), aiohttp.ClientSession() as s:
            data = b.path.read_bytes()
            url = await _create(s, rx, base, b)
            half = len(data) // 2
            # A wrong checksum over a chunked body: 460 and nothing kept.
            status, _ = await _call(s, "PATCH", url, headers=_patch_headers(base, 0, b"other"),
                                    data=_chunked(data[:half]))
            assert status == 460
            assert (await _call(s, "HEAD", url, headers=base))[1]["Upload-Offset"] == "0"
            status, h = await _call(s, "PATCH", url, headers=_patch_headers(base, 0, data[:half]),
                                    data=_chunked(data[:half]))
            assert status == 204 and h["Upload-Offset"] == str(half)
            status, h = await _call(s, "PATCH", url, headers=_patch_headers(base, half, data[half:]),
                                    data=_chunked(data[half:]))
            assert status == 204 and h["Upload-Offset"] == str(len(data)) and "Sohoa-Receipt" in h
            archived = list((tmp_path / "rx" / "archive").rglob("*.sohoa"))
            assert len(archived) == 1 and archived[0].read_bytes() == data
            # the refused chunk's pieces were taken back from the check (which was replaced if it had
            # read them); the accepted batch was still checked as it arrived, not read again
            assert rx.core.counters["verified_while_uploading"] == 1
            assert rx.core.counters["verified_after_upload"] == 0
    kit.run(body())


def test_a_check_lagging_past_its_memory_reads_the_committed_bytes_from_the_file(tmp_path, kit, monkeypatch):
    """Pieces beyond the verifier's memory cap are dropped and read back from the file once committed."""
    from sync.deliver import deliver
    from central.verifier import _UploadReader

    monkeypatch.setattr(_UploadReader, "MEMORY_CAP", 100_000)
    app = kit.Appliance(tmp_path / "appliance")

    async def body():
        async with _enrolled(tmp_path, app, 7_000_000) as (rx, b, _base):
            async with app.client(rx.url, chunk_size=3_000_000) as c:  # three PATCHes, each past the cap
                receipt, _ = await deliver(c, b, app.log_public)
            assert receipt["leaf"]["sha256"] == b.file_sha256
            assert rx.core.counters["verified_while_uploading"] == 1
            archived = list((tmp_path / "rx" / "archive").rglob("*.sohoa"))
            assert len(archived) == 1 and archived[0].read_bytes() == b.path.read_bytes()
    kit.run(body())


def test_a_refused_chunk_the_check_has_read_restarts_the_check(tmp_path, kit):
    """Bytes of a PATCH the check read before its checksum failed void that check; a new one starts."""
    import asyncio

    app = kit.Appliance(tmp_path / "appliance")

    async def body():
        async with _enrolled(tmp_path, app, 2_500_000) as (rx, b, base):
            data = b.path.read_bytes()
            async with aiohttp.ClientSession() as s:
                url = await _create(s, rx, base, b)
                part = data[:1_500_000]
                spoiled = bytes([part[0] ^ 0xFF]) + part[1:]  # a bit flipped on the way

                async def held_open():
                    yield spoiled
                    # keep the body open until the check has read into its first block
                    for _ in range(1000):
                        if any(v.reader.pos > 0 for v in rx.core._verifiers.values()):
                            break
                        await asyncio.sleep(0.01)
                    else:
                        raise AssertionError("the check never read the PATCH in progress")

                async with s.patch(url, headers=_patch_headers(base, 0, part), data=held_open()) as r:
                    assert r.status == 460
                assert rx.core.counters["checks_restarted"] == 1 and not rx.core._verifiers
                for offset, chunk in ((0, part), (len(part), data[len(part):])):
                    async with s.patch(url, headers=_patch_headers(base, offset, chunk), data=chunk) as r:
                        assert r.status == 204
            assert rx.core.counters["verified_while_uploading"] == 1  # the new check saw every byte
            assert rx.core.counters["verified_after_upload"] == 0
            archived = list((tmp_path / "rx" / "archive").rglob("*.sohoa"))
            assert len(archived) == 1 and archived[0].read_bytes() == data
    kit.run(body())


def test_empty_patches_are_answered_and_do_not_stall_the_node(tmp_path, kit):
    """A PATCH without a body, twice (any client may send one): answered at once, the offset unchanged.

    aiohttp hands every bodiless request the same empty stream reader, which says "end of an HTTP
    chunk" for ever once it has been read; the node's body loop spun on it and stopped serving.
    """
    app = kit.Appliance(tmp_path / "appliance")

    async def body():
        async with _enrolled(tmp_path, app, 200_000) as (rx, b, base), \
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as s:
            data = b.path.read_bytes()
            url = await _create(s, rx, base, b)
            empty = {**base, "Content-Type": "application/offset+octet-stream", "Upload-Offset": "0",
                     "Content-Length": "0"}
            for _ in range(3):
                status, h = await _call(s, "PATCH", url, headers=empty, data=b"")
                assert status == 204 and h["Upload-Offset"] == "0"
            # the node still serves, and the upload completes
            status, h = await _call(s, "PATCH", url, headers={**empty, "Content-Length": str(len(data))}, data=data)
            assert status == 204 and h["Upload-Offset"] == str(len(data)) and "Sohoa-Receipt" in h
    kit.run(body(), timeout=60)
