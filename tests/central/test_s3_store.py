"""The S3 store's own rules (design 5.12 S1-S4, R4, R5) on SeaweedFS and PostgreSQL."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys

import aiohttp
import pytest

from central.backend_errors import BackendUnavailable, Conflict
from central.local import start_local_receiver
from sync.auth import make_auth_header
from sync.tus_protocol import encode_metadata

MIB = 1 << 20


async def _create(rx, app, b) -> str:
    headers = {"Tus-Resumable": "1.0.0", "Authorization": make_auth_header(app.device_id, app.key),
               "Upload-Length": str(b.size), "Upload-Metadata": encode_metadata(b.metadata())}
    async with aiohttp.ClientSession() as s:
        async with s.post(rx.url + "files/", headers=headers) as r:
            assert r.status == 201
            return rx.url.rstrip("/") + r.headers["Location"]


async def _patch(url, app, offset: int, data: bytes):
    headers = {"Tus-Resumable": "1.0.0", "Authorization": make_auth_header(app.device_id, app.key),
               "Content-Type": "application/offset+octet-stream", "Upload-Offset": str(offset),
               "Upload-Checksum": "sha256 " + base64.b64encode(hashlib.sha256(data).digest()).decode()}
    async with aiohttp.ClientSession() as s:
        async with s.patch(url, headers=headers, data=data) as r:
            await r.read()
            return r.status, r.headers


def test_small_chunks_become_incomplete_parts_then_parts(tmp_path, kit, s3_backend):
    be, app = s3_backend, kit.Appliance(tmp_path / "appliance")

    async def body():
        rx = await start_local_receiver(tmp_path / "rx", backends=be.open)  # 5 MiB parts
        try:
            await app.enroll(rx)
            b = app.seal((11 * MIB + 300_000,))
            data = b.path.read_bytes()
            url = await _create(rx, app, b)
            upload_id = url.rsplit("/", 1)[1]
            seen = []
            state, client = rx.core.state, be.seaweed.client()
            for offset in range(0, len(data), MIB):
                status, h = await _patch(url, app, offset, data[offset:offset + MIB])
                assert status == 204, status
                row = state.obj_get(upload_id)
                if row is None:  # accepted: the bookkeeping is gone
                    seen.append(("accepted",))
                    break
                parts = [p["size"] for p in state.obj_parts(upload_id)]
                pending = client.list_objects_v2(Bucket=be.bucket, Prefix=f"sohoa/uploads/{upload_id}/")
                keys = [o["Key"] for o in pending.get("Contents", [])]
                # One incomplete part at most exists, the one the row names, of the size it says.
                assert keys == ([row["pending_key"]] if row["pending_key"] else [])
                assert be.stored(tmp_path / "rx", upload_id) == int(h["Upload-Offset"]) == row["offset"]
                seen.append((parts, row["pending_size"] // MIB))
            return seen, data, b
        finally:
            await rx.close()
    seen, data, b = kit.run(body())
    five = 5 * MIB
    assert seen[:5] == [([], 1), ([], 2), ([], 3), ([], 4), ([five], 0)]
    assert seen[5:10] == [([five], 1), ([five], 2), ([five], 3), ([five], 4), ([five, five], 0)]
    assert seen[-1] == ("accepted",) and len(seen) == 12
    name = f"{b.device_id}/{b.seq:010d}-{b.batch_hash}.sohoa"
    assert be.archived(tmp_path / "rx") == [name] and be.archived_bytes(tmp_path / "rx", name) == data
    assert be.leftovers(tmp_path / "rx") == []


def test_a_writer_that_lost_the_upload_cannot_commit_nor_clash(tmp_path, kit, s3_backend):
    be, app = s3_backend, kit.Appliance(tmp_path / "appliance")

    async def body():
        rx = await start_local_receiver(tmp_path / "rx", backends=be.open)
        try:
            await app.enroll(rx)
            b = app.seal((12 * MIB,))
            data = b.path.read_bytes()
            url = await _create(rx, app, b)
            upload = rx.core.store.get_upload(url.rsplit("/", 1)[1])
            old = upload.chunk_writer(0)
            old.write(data[:6 * MIB])  # uploads part 1 (5 MiB) and keeps 1 MiB
            new = upload.chunk_writer(0)  # a PATCH on another node takes the upload over
            new.write(data[:6 * MIB])
            assert new.commit() == 6 * MIB
            try:
                old.commit()
                raise AssertionError("the fenced writer committed")
            except Conflict:
                old.abort()
            parts = rx.core.state.obj_parts(upload.id)
            assert [p["part_number"] for p in parts] == [2] and parts[0]["size"] == 5 * MIB
            # The rest through the ordinary path: the batch is whole and byte for byte.
            async with app.client(rx.url, chunk_size=4 * MIB) as c:
                receipt, _ = await kit.deliver_retrying(c, b, app.log_public)
            assert receipt["leaf"]["sha256"] == b.file_sha256
            return data, b
        finally:
            await rx.close()
    data, b = kit.run(body())
    assert be.archived_bytes(tmp_path / "rx", f"{b.device_id}/{b.seq:010d}-{b.batch_hash}.sohoa") == data
    assert be.leftovers(tmp_path / "rx") == []


# Set in the child process that runs the test below on servers of its own.
ALONE = "SOHOA_TEST_ALONE"


def test_completed_but_not_logged_in_a_process_of_its_own():
    """Runs the next test in a fresh pytest process, with PostgreSQL and SeaweedFS of its own.

    In a long session sharing those servers with the other central tests it stalled past
    the suite's timeout (three full runs out of three, in the same place), while alone it
    passes every time; until that interaction is understood it runs alone, still against
    real servers.
    """
    test = f"{__file__}::test_completed_but_not_logged_is_accepted_by_the_next_empty_patch"
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", test],
                          env={**os.environ, ALONE: "1"}, capture_output=True, text=True, timeout=280)
    assert done.returncode == 0 and "1 passed" in done.stdout, done.stdout[-4000:] + done.stderr[-2000:]


@pytest.mark.skipif(not os.environ.get(ALONE),
                    reason="run alone by test_completed_but_not_logged_in_a_process_of_its_own")
def test_completed_but_not_logged_is_accepted_by_the_next_empty_patch(tmp_path, kit, s3_backend, monkeypatch):
    """The database fails at the log append, after completion (R5): 503, then the client's retry accepts."""
    be, app = s3_backend, kit.Appliance(tmp_path / "appliance")

    async def body():
        rx = await start_local_receiver(tmp_path / "rx", backends=be.open)
        try:
            await app.enroll(rx)
            b = app.seal((3 * MIB,))
            real = rx.core._commit
            calls = []

            def failing_once(row, opened):
                calls.append(row["id"])
                if len(calls) == 1:
                    raise BackendUnavailable("state", "down at the log append")
                return real(row, opened)
            monkeypatch.setattr(rx.core, "_commit", failing_once)
            url = await _create(rx, app, b)
            status, h = await _patch(url, app, 0, b.path.read_bytes())
            assert status == 503 and h["Retry-After"] == "5"
            row = rx.core.state.obj_get(url.rsplit("/", 1)[1])
            assert row["completed"] == 1 and rx.core.state.log_size() == 0
            async with app.client(rx.url) as c:
                receipt, _ = await kit.deliver_retrying(c, b, app.log_public)
            assert len(calls) == 2 and receipt["index"] == 0 and rx.core.state.log_size() == 1
            return b
        finally:
            await rx.close()
    b = kit.run(body())
    assert be.archived_bytes(tmp_path / "rx", f"{b.device_id}/{b.seq:010d}-{b.batch_hash}.sohoa") == \
        b.path.read_bytes()
    assert be.leftovers(tmp_path / "rx") == []
