"""PATCH bodies sent with chunked transfer encoding: every piece counted, the checksum still checked."""

from __future__ import annotations

import base64
import hashlib

import aiohttp

from sync.auth import make_auth_header
from sync.local import start_local_receiver
from sync.tus_protocol import encode_metadata


async def _chunked(data: bytes, sizes=(1, 70_000, 5, 300_000)):
    """*data* as HTTP/1.1 chunks of irregular sizes (aiohttp sends a generator without Content-Length)."""
    i, k = 0, 0
    while i < len(data):
        n = sizes[k % len(sizes)]
        yield data[i:i + n]
        i, k = i + n, k + 1


def test_a_chunked_patch_body_is_received_whole_and_checked(tmp_path, kit):
    app = kit.Appliance(tmp_path / "appliance")

    async def body():
        rx = await start_local_receiver(tmp_path / "rx")
        try:
            await app.enroll(rx)
            b = app.seal((900_000,))
            data = b.path.read_bytes()
            base = {"Tus-Resumable": "1.0.0", "Authorization": make_auth_header(app.device_id, app.key)}
            async with aiohttp.ClientSession() as s:
                async def st(method, url, **kw):
                    async with s.request(method, url, **kw) as r:
                        await r.read()
                        return r.status, r.headers
                status, h = await st("POST", rx.url + "files/", headers={
                    **base, "Upload-Length": str(b.size), "Upload-Metadata": encode_metadata(b.metadata())})
                assert status == 201
                url = rx.url.rstrip("/") + h["Location"]
                half = len(data) // 2

                def patch(offset: int, part: bytes, digest_of: bytes) -> dict:
                    digest = base64.b64encode(hashlib.sha256(digest_of).digest()).decode()
                    return {**base, "Content-Type": "application/offset+octet-stream",
                            "Upload-Offset": str(offset), "Upload-Checksum": f"sha256 {digest}"}
                # A wrong checksum over a chunked body: 460 and nothing kept.
                status, _ = await st("PATCH", url, headers=patch(0, data[:half], b"other"),
                                     data=_chunked(data[:half]))
                assert status == 460
                assert (await st("HEAD", url, headers=base))[1]["Upload-Offset"] == "0"
                status, h = await st("PATCH", url, headers=patch(0, data[:half], data[:half]),
                                     data=_chunked(data[:half]))
                assert status == 204 and h["Upload-Offset"] == str(half)
                status, h = await st("PATCH", url, headers=patch(half, data[half:], data[half:]),
                                     data=_chunked(data[half:]))
                assert status == 204 and h["Upload-Offset"] == str(len(data)) and "Sohoa-Receipt" in h
            archived = list((tmp_path / "rx" / "archive").rglob("*.sohoa"))
            assert len(archived) == 1 and archived[0].read_bytes() == data
        finally:
            await rx.close()
    kit.run(body())


def test_chunks_longer_than_the_kept_pieces_are_verified_from_the_file(tmp_path, kit, monkeypatch):
    """A PATCH body longer than BodySink.KEEP is not held for the verifier, which reads it from the file."""
    from sync.deliver import deliver
    from sync.tus_body import BodySink

    monkeypatch.setattr(BodySink, "KEEP", 100_000)
    monkeypatch.setattr(BodySink, "MAX_LAG", 3 * BodySink.BLOCK)
    app = kit.Appliance(tmp_path / "appliance")

    async def body():
        rx = await start_local_receiver(tmp_path / "rx")
        try:
            await app.enroll(rx)
            b = app.seal((7_000_000,))
            async with app.client(rx.url, chunk_size=3_000_000) as c:  # three PATCHes, none held
                receipt, _ = await deliver(c, b, app.log_public)
            assert receipt["leaf"]["sha256"] == b.file_sha256
            assert rx.core.counters["verified_while_uploading"] == 1
            archived = list((tmp_path / "rx" / "archive").rglob("*.sohoa"))
            assert len(archived) == 1 and archived[0].read_bytes() == b.path.read_bytes()
        finally:
            await rx.close()
    kit.run(body())
