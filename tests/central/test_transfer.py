"""End-to-end delivery over real loopback sockets, through a proxy that cuts and stalls."""

from __future__ import annotations

import asyncio
import random

from central.local import start_local_receiver
from central.receiver import ReceiverOptions

CHUNK = 128 * 1024


def _archived_bytes(receiver, batch) -> bytes:
    name = f"{batch.device_id}/{batch.seq:010d}-{batch.batch_hash}.sohoa"
    with receiver.core.store.open_archived(name) as f:
        return f.read()


def test_happy_path_receipt_and_idempotent_creation(tmp_path, kit, central_backend):
    appliance = kit.Appliance(tmp_path / "appliance")
    async def body():
        rx = await start_local_receiver(tmp_path / "rx", backends=central_backend.open)
        try:
            await appliance.enroll(rx)
            b = appliance.seal((200_000, 50_000))
            async with appliance.client(rx.url, chunk_size=CHUNK) as c:
                receipt, tries = await kit.deliver_retrying(c, b, appliance.log_public)
                assert tries == 1
                assert receipt["leaf"]["batch"] == b.batch_hash and receipt["index"] == 0
                # Creating the same batch again gives back the accepted upload and its receipt.
                url, offset, rpath = await c.create(b.size, b.metadata())
                assert offset == b.size and rpath == f"/receipts/{b.device_id}/1"
                assert await c.receipt(rpath) == receipt
            assert _archived_bytes(rx, b) == b.path.read_bytes()
            assert rx.core.state.counts()["accepted"] == 1
        finally:
            await rx.close()
    kit.run(body())


def test_fifty_random_cuts_exactly_once_and_at_most_one_chunk_resent(tmp_path, kit, central_backend):
    appliance = kit.Appliance(tmp_path / "appliance")
    async def body():
        rx = await start_local_receiver(tmp_path / "rx", backends=central_backend.open)
        rng = random.Random(4)
        try:
            await appliance.enroll(rx)
            batches = [appliance.seal((rng.randrange(500_000, 900_000),)) for _ in range(4)]
            total = sum(b.size for b in batches)
            cuts = sorted(rng.sample(range(1, total), 56))
            proxy = await kit.CuttingProxy(int(rx.url.rsplit(":", 1)[1].strip("/")), cut_at=cuts).start()
            try:
                async with appliance.client(proxy.url, chunk_size=CHUNK, read_timeout_s=5) as c:
                    for b in batches:
                        await kit.deliver_retrying(c, b, appliance.log_public, attempts=500)
                    requests = proxy.responses
            finally:
                await proxy.close()
            assert proxy.cuts >= 50
            # Batches were checked as they arrived, across the cuts, not re-read at the end; on S3 a
            # check voided by a cut cannot read committed parts back, so it runs after completion.
            checked = rx.core.counters["verified_while_uploading"]
            if central_backend.shared:
                checked += rx.core.counters["verified_after_upload"]
            assert checked == len(batches)
            for b in batches:
                assert _archived_bytes(rx, b) == b.path.read_bytes()
            rows = rx.core.state._all("SELECT device_id, seq FROM log ORDER BY idx")
            assert [(r["device_id"], r["seq"]) for r in rows] == [(b.device_id, b.seq) for b in batches]
            # Every byte beyond the batches themselves is request headers or one
            # chunk lost to a cut; never more than a chunk per cut.
            overhead = proxy.sent - total
            assert overhead <= proxy.cuts * CHUNK + (requests + proxy.cuts) * 1024, (overhead, proxy.cuts)
        finally:
            await rx.close()
    kit.run(body(), timeout=150)


def test_lost_creation_and_lost_final_responses(tmp_path, kit, central_backend):
    appliance = kit.Appliance(tmp_path / "appliance")
    async def body():
        rx = await start_local_receiver(tmp_path / "rx", backends=central_backend.open)
        try:
            await appliance.enroll(rx)
            b = appliance.seal((3 * CHUNK - 1000,))
            # Responses: 1 = POST (lost), 2 = POST again, 3,4,5 = PATCHes (5 is the final one, lost),
            # then HEAD shows the upload complete and accepted.
            proxy = await kit.CuttingProxy(int(rx.url.rsplit(":", 1)[1].strip("/")), lose_responses={1, 5}).start()
            try:
                async with appliance.client(proxy.url, chunk_size=CHUNK) as c:
                    receipt, tries = await kit.deliver_retrying(c, b, appliance.log_public)
            finally:
                await proxy.close()
            assert tries == 3
            assert receipt["leaf"]["sha256"] == b.file_sha256
            assert rx.core.state._one("SELECT COUNT(*) AS n FROM uploads")["n"] == 1
            assert rx.core.state.counts()["accepted"] == 1
            assert central_backend.leftovers(tmp_path / "rx") == []
        finally:
            await rx.close()
    kit.run(body())


def test_stalled_connection_is_taken_over(tmp_path, kit, central_backend):
    appliance = kit.Appliance(tmp_path / "appliance")
    async def body():
        opts = ReceiverOptions(takeover_idle_s=0.3, body_idle_timeout_s=30)
        rx = await start_local_receiver(tmp_path / "rx", opts=opts, backends=central_backend.open)
        try:
            await appliance.enroll(rx)
            b = appliance.seal((4 * CHUNK,))
            proxy = await kit.CuttingProxy(int(rx.url.rsplit(":", 1)[1].strip("/"))).start()
            try:
                async with appliance.client(proxy.url, chunk_size=CHUNK, read_timeout_s=1.0) as c:
                    url, _, _ = await c.create(b.size, b.metadata())
                    proxy.stall_at = proxy.sent + 400 + CHUNK // 2  # PATCH headers and half its body
                    with open(b.path, "rb") as f:
                        first = f.read(CHUNK)
                    # The stalled PATCH times out on the client; the server still holds it.
                    try:
                        await c.patch(url, 0, first)
                        raise AssertionError("stalled request returned")
                    except Exception as exc:  # TransientError
                        assert "Timeout" in str(exc) or "timeout" in str(exc).lower()
                    await asyncio.sleep(0.4)
                    receipt, _ = await kit.deliver_retrying(c, b, appliance.log_public)
            finally:
                await proxy.close()
            assert proxy.stalled == 1
            assert rx.core.counters["takeovers"] == 1  # the silent PATCH was cancelled, not waited for
            assert receipt["leaf"]["size"] == b.size
            assert _archived_bytes(rx, b) == b.path.read_bytes()
        finally:
            await rx.close()
    kit.run(body())


def test_concurrent_duplicate_uploads_give_one_log_entry(tmp_path, kit, central_backend):
    appliance = kit.Appliance(tmp_path / "appliance")
    async def body():
        rx = await start_local_receiver(tmp_path / "rx", opts=ReceiverOptions(takeover_idle_s=5),
                                        backends=central_backend.open)
        try:
            await appliance.enroll(rx)
            b = appliance.seal((6 * CHUNK,))
            clients = [appliance.client(rx.url, chunk_size=CHUNK) for _ in range(3)]
            results = await asyncio.gather(*(kit.deliver_retrying(c, b, appliance.log_public, pause=0.05)
                                             for c in clients))
            for c in clients:
                await c.close()
            receipts = [r for r, _ in results]
            assert all(r == receipts[0] for r in receipts)
            assert rx.core.state.counts()["accepted"] == 1
            assert rx.core.tree.size == 1
            assert _archived_bytes(rx, b) == b.path.read_bytes()
        finally:
            await rx.close()
    kit.run(body())


def test_bit_flipped_in_transit_gets_460_and_the_chunk_is_sent_again(tmp_path, kit, central_backend):
    appliance = kit.Appliance(tmp_path / "appliance")

    async def body():
        rx = await start_local_receiver(tmp_path / "rx", backends=central_backend.open)
        try:
            await appliance.enroll(rx)
            b = appliance.seal((3 * CHUNK,))
            # Well inside the first PATCH body (the POST and the PATCH headers are < 2 KiB).
            proxy = await kit.CuttingProxy(int(rx.url.rsplit(":", 1)[1].strip("/")), flip_at=60_000).start()
            try:
                async with appliance.client(proxy.url, chunk_size=CHUNK) as c:
                    receipt, tries = await kit.deliver_retrying(c, b, appliance.log_public)
            finally:
                await proxy.close()
            assert proxy.flip_at is None and tries == 1
            assert rx.core.counters["checksum_mismatch"] == 1
            assert receipt["leaf"]["sha256"] == b.file_sha256
            assert _archived_bytes(rx, b) == b.path.read_bytes()
        finally:
            await rx.close()
    kit.run(body())
