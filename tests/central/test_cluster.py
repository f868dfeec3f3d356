"""Receiver nodes sharing one PostgreSQL and one bucket behind HAProxy (design 5.12).

Real processes throughout: two ``sohoa-central serve`` nodes, HAProxy with
``docs/haproxy-central.cfg``, PostgreSQL and SeaweedFS from the session
fixtures. What is counted is what the stations would see: every batch archived
exactly once and byte for byte, every receipt verifying, one consistent log.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import types

import aiohttp
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from bench.central_services import ReceiverNode, write_node_config
from central.state_pg import PgState, lock_key
from sync.auth import make_auth_header
from sync.canon import canonical
from sync.keys import ed25519_public, load_or_create, public_b64
from sync.merkle import MerkleTree, leaf_hash, verify_inclusion
from sync.receipt import check_receipt_for, verify_receipt

PREFIX = "sohoa"


class Cluster:
    def __init__(self, tmp_path, pg_url, seaweed, bucket, haproxy_factory, *, part_size_mib=5, node_args=()):
        self.tmp, self.pg_url, self.seaweed, self.bucket = tmp_path, pg_url, seaweed, bucket
        keys = tmp_path / "keys"
        self.log_key = load_or_create(keys / "log_ed25519.pem", Ed25519PrivateKey)
        load_or_create(keys / "archive_x25519.pem", X25519PrivateKey)
        cfg = write_node_config(tmp_path / "central.toml", state_url=pg_url, bucket=bucket,
                                endpoint=seaweed.endpoint, keys_dir=keys, prefix=PREFIX, part_size_mib=part_size_mib)
        self.nodes = [ReceiverNode(cfg, tmp_path / f"node{i}", args=node_args).start() for i in (1, 2)]
        for n in self.nodes:
            wait_healthy(n.url)
        self.lb = haproxy_factory(self.nodes[0].address, self.nodes[1].address)
        self.state = PgState(pg_url, pool_max=4)
        # What kit.Appliance.enroll needs of a receiver: a URL and a way to mint a token.
        self.as_receiver = types.SimpleNamespace(url=self.lb.url, core=types.SimpleNamespace(state=self.state))

    def close(self):
        for n in self.nodes:
            n.stop()
        self.state.close()

    @property
    def log_public(self):
        return ed25519_public(public_b64(self.log_key))

    def archived(self) -> dict[str, bytes]:
        c = self.seaweed.client()
        keys = [o["Key"] for o in c.list_objects_v2(Bucket=self.bucket, Prefix=f"{PREFIX}/archive/").get("Contents", [])]
        return {k[len(PREFIX) + 9:]: c.get_object(Bucket=self.bucket, Key=k)["Body"].read() for k in keys}

    def leftovers(self) -> list:
        c = self.seaweed.client()
        return (self.state.obj_ids()
                + [o["Key"] for o in c.list_objects_v2(Bucket=self.bucket, Prefix=f"{PREFIX}/uploads/")
                   .get("Contents", [])]
                + [u["Key"] for u in c.list_multipart_uploads(Bucket=self.bucket).get("Uploads", [])])

    def check_log(self, receipts: list[dict]) -> None:
        """One gapless log; every receipt verifies, and its leaf is in the latest tree under its checkpoint."""
        rows = self.state._all("SELECT idx, leaf_hash, device_id, seq, receipt FROM log ORDER BY idx")
        assert [r["idx"] for r in rows] == list(range(len(rows)))
        assert len({(r["device_id"], r["seq"]) for r in rows}) == len(rows)
        tree = MerkleTree([bytes(r["leaf_hash"]) for r in rows])
        latest = max((json.loads(r["receipt"])["checkpoint"] for r in rows), key=lambda cp: cp["size"])
        assert latest["size"] == len(rows) and latest["root"] == tree.root().hex()
        for receipt in receipts:
            v = verify_receipt(receipt, self.log_public)
            lh = leaf_hash(canonical(receipt["leaf"]))
            assert bytes(rows[v.index]["leaf_hash"]) == lh
            assert tree.root(v.tree_size).hex() == v.root  # its checkpoint is a prefix of the one log
            assert verify_inclusion(lh, v.index, tree.size, tree.inclusion_proof(v.index),
                                    bytes.fromhex(latest["root"]))


def wait_healthy(url: str, timeout: float = 30.0) -> None:
    import urllib.request
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(url + "healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} never became healthy")


@pytest.fixture
def cluster(tmp_path, pg_url, seaweed, s3_bucket, haproxy_factory):
    c = Cluster(tmp_path, pg_url, seaweed, s3_bucket, haproxy_factory)
    yield c
    c.close()


async def _enrolled(kit, cluster, n: int):
    apps = [kit.Appliance(cluster.tmp / f"dev{i}", device_id=f"dev-{i:04d}") for i in range(n)]
    for app in apps:
        await app.enroll(cluster.as_receiver)
    return apps


async def _send_all(kit, url, app, batches, log_public, chunk, receipts):
    async with app.client(url, chunk_size=chunk) as c:
        for b in batches:
            receipt, _ = await kit.deliver_retrying(c, b, log_public, attempts=600, pause=0.1)
            check_receipt_for(receipt, log_public, device=b.device_id, seq=b.seq, batch=b.batch_hash,
                              sha256=b.file_sha256, size=b.size)
            receipts.append(receipt)


def _check_archive(cluster, sent, receipts):
    archived = cluster.archived()
    assert len(archived) == len(sent) == len(receipts)  # exactly once each
    for b in sent:
        assert archived[f"{b.device_id}/{b.seq:010d}-{b.batch_hash}.sohoa"] == b.path.read_bytes()
    assert cluster.leftovers() == []
    cluster.check_log(receipts)


def test_node_killed_mid_upload_the_client_resumes_through_the_other(cluster, kit):
    async def body():
        apps = await _enrolled(kit, cluster, 3)
        batches = {a.device_id: [a.seal((6_000_000,), seed=1), a.seal((300_000,), seed=2)] for a in apps}
        receipts: list[dict] = []
        sends = [asyncio.create_task(_send_all(kit, cluster.lb.url, a, batches[a.device_id], cluster.log_public,
                                               512 * 1024, receipts)) for a in apps]
        # Kill the node writing a PATCH (it holds the upload's lock, L1) of an upload that already has
        # bytes in: the rest of that upload can only come through the other node.
        victim = None
        for _ in range(1500):
            locks = cluster.state._all(
                "SELECT l.objid, a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.classid = 1 AND l.granted")
            started = {lock_key(r["id"]) & 0xFFFFFFFF for r in cluster.state._all(
                'SELECT id FROM obj_uploads WHERE "offset" > 0 AND "offset" < length')}
            pids = {int(r["application_name"].rsplit("/", 1)[1]) for r in locks if int(r["objid"]) in started}
            victim = next((n for n in cluster.nodes if n.proc.pid in pids), None)
            if victim is not None:
                break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError("no upload got under way")
        victim.kill9()
        await asyncio.wait_for(asyncio.gather(*sends), 240)
        survivor = next(n for n in cluster.nodes if n is not victim)
        return [b for a in apps for b in batches[a.device_id]], receipts, survivor
    sent, receipts, survivor = kit.run(body(), timeout=300)
    _check_archive(cluster, sent, receipts)
    # The survivor continued at least one upload the killed node had begun: it checked that batch by
    # reading it back from S3, having not received its first bytes.
    import urllib.request
    with urllib.request.urlopen(survivor.metrics_url, timeout=10) as r:
        text = r.read().decode()
    after = float(re.search(r"^sohoa_receiver_verified_after_upload_total (\S+)$", text, re.M).group(1))
    assert after >= 1


def test_two_nodes_appending_at_once_keep_one_log(cluster, kit):
    async def body():
        apps = await _enrolled(kit, cluster, 8)
        receipts: list[dict] = []
        sends = []
        sent = []
        for i, a in enumerate(apps):
            bs = [a.seal((40_000,), seed=1), a.seal((40_000,), seed=2)]
            sent += bs
            node = cluster.nodes[i % 2]  # each node directly: both append, interleaved
            sends.append(_send_all(kit, node.url, a, bs, cluster.log_public, 1 << 20, receipts))
        await asyncio.gather(*sends)
        return sent, receipts
    sent, receipts = kit.run(body(), timeout=240)
    _check_archive(cluster, sent, receipts)
    nodes = {r["leaf"]["device"] for r in receipts}
    assert len(nodes) == 8


async def _probe(url: str, app, upload_url: str | None, data: bytes | None, offset: int):
    """One raw tus request (HEAD, or PATCH of *data* at *offset*): (status, headers)."""
    headers = {"Tus-Resumable": "1.0.0", "Authorization": make_auth_header(app.device_id, app.key)}
    async with aiohttp.ClientSession() as s:
        if data is None:
            async with s.head(upload_url, headers=headers) as r:
                return r.status, r.headers
        headers.update({"Content-Type": "application/offset+octet-stream", "Upload-Offset": str(offset)})
        async with s.patch(upload_url, headers=headers, data=data) as r:
            await r.read()
            return r.status, r.headers


async def _create(url: str, app, batch) -> str:
    from sync.tus_protocol import encode_metadata
    headers = {"Tus-Resumable": "1.0.0", "Authorization": make_auth_header(app.device_id, app.key),
               "Upload-Length": str(batch.size), "Upload-Metadata": encode_metadata(batch.metadata())}
    async with aiohttp.ClientSession() as s:
        async with s.post(url + "files/", headers=headers) as r:
            assert r.status == 201, r.status
            return url.rstrip("/") + r.headers["Location"]


def _outage_test(cluster, kit, stop, start, backend_reason):
    """Uploads under way; *stop* a backend: 503 + Retry-After and nothing acknowledged; *start*: all complete."""
    async def body():
        apps = await _enrolled(kit, cluster, 3)
        probe_app, movers = apps[0], apps[1:]
        probe_batch = probe_app.seal((3_000_000,), seed=7)
        upload = await _create(cluster.lb.url, probe_app, probe_batch)
        data = probe_batch.path.read_bytes()
        status, h = await _probe(cluster.lb.url, probe_app, upload, data[:1 << 20], 0)
        assert status == 204 and h["Upload-Offset"] == str(1 << 20)
        batches = {a.device_id: [a.seal((2_000_000,), seed=1), a.seal((2_000_000,), seed=2)] for a in movers}
        receipts: list[dict] = []
        sends = [asyncio.create_task(_send_all(kit, cluster.lb.url, a, batches[a.device_id], cluster.log_public,
                                               256 * 1024, receipts)) for a in movers]
        await asyncio.sleep(0.3)
        await asyncio.get_running_loop().run_in_executor(None, stop)
        try:
            # Down: a chunk is refused with 503 and Retry-After, whichever node answers.
            for node in cluster.nodes:
                status, h = await _probe(node.url, probe_app, upload.replace(cluster.lb.url, node.url),
                                         data[1 << 20:2 << 20], 1 << 20)
                assert status == 503, status
                assert h["Retry-After"] == "1" and h["Sohoa-Reason"] == backend_reason
        finally:
            await asyncio.get_running_loop().run_in_executor(None, start)
        # Back: nothing of the refused chunk counts; the offset is where the last 204 left it.
        for _ in range(300):
            status, h = await _probe(cluster.lb.url, probe_app, upload, None, 0)
            if status == 200:
                break
            await asyncio.sleep(0.1)
        assert status == 200 and h["Upload-Offset"] == str(1 << 20)
        await asyncio.wait_for(asyncio.gather(*sends), 240)
        async with probe_app.client(cluster.lb.url, chunk_size=1 << 20) as c:
            receipt, _ = await kit.deliver_retrying(c, probe_batch, cluster.log_public, attempts=600, pause=0.1)
            receipts.append(receipt)
        return [probe_batch] + [b for a in movers for b in batches[a.device_id]], receipts
    sent, receipts = kit.run(body(), timeout=300)
    _check_archive(cluster, sent, receipts)


def test_postgresql_stopped_and_restarted_during_uploads(cluster, kit, pg_cluster):
    _outage_test(cluster, kit, pg_cluster.stop, pg_cluster.start, "state backend unavailable")


def test_s3_stopped_and_restarted_during_uploads(cluster, kit, seaweed):
    _outage_test(cluster, kit, seaweed.stop, seaweed.start, "object store unavailable")
