"""Many stations at once through HAProxy to two nodes on PostgreSQL and SeaweedFS (design 5.12, B1-B6).

The national fleet's failure, at a size a test can afford: 64 stations send
one batch each at the same moment, in several chunks, through
``docs/haproxy-central.cfg`` to two ``sohoa-central serve`` nodes that serve
only two PATCHes at once each, so most PATCHes wait for a slot. A node that is
merely busy must stay in the balancer (it used to be marked down, its sessions
cut, and the other node fell in turn); every batch is accepted exactly once,
byte for byte, with a receipt that verifies against the one log.
"""

from __future__ import annotations

import asyncio
import json
import re
import urllib.request

import aiohttp
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from bench.central_services import ReceiverNode, write_node_config
from bench.sync_servers import seal_chain
from central.state_pg import PgState
from sync.auth import HeaderSource, make_auth_header
from sync.canon import canonical
from sync.client import TransientError, TusClient
from sync.deliver import deliver
from sync.keys import ed25519_public, load_or_create, public_b64
from sync.merkle import MerkleTree, leaf_hash, verify_inclusion
from sync.receipt import check_receipt_for, verify_receipt
from sync.tus_protocol import encode_metadata

PREFIX = "sohoa"
STATIONS = 64
SIZE = 200_000  # bytes of payload per batch: four 64 KiB chunks and a bit on the wire
CHUNK = 64 * 1024


@pytest.fixture
def fleet_cluster(tmp_path, pg_url, seaweed, s3_bucket, haproxy_factory):
    keys = tmp_path / "keys"
    log_key = load_or_create(keys / "log_ed25519.pem", Ed25519PrivateKey)
    archive = load_or_create(keys / "archive_x25519.pem", X25519PrivateKey)
    cfg = write_node_config(tmp_path / "central.toml", state_url=pg_url, bucket=s3_bucket, endpoint=seaweed.endpoint,
                            keys_dir=keys, prefix=PREFIX, part_size_mib=5,
                            extra="sip_check = false\npatches_in_flight = 2")
    nodes = [ReceiverNode(cfg, tmp_path / f"node{i}").start() for i in (1, 2)]
    state = PgState(pg_url, pool_max=4)
    try:
        lb = haproxy_factory(nodes[0].address, nodes[1].address)
        yield {"nodes": nodes, "lb": lb, "state": state, "archive": archive,
               "log_pub": ed25519_public(public_b64(log_key)), "tmp": tmp_path, "seaweed": seaweed,
               "bucket": s3_bucket}
    finally:
        for n in nodes:
            n.stop()
        state.close()


def _stations(c, n: int, name: str = "fleet") -> list:
    out = []
    work = c["tmp"] / "sealed"
    work.mkdir(exist_ok=True)
    for i in range(n):
        key = Ed25519PrivateKey.generate()
        device = f"{name}-{i:03d}"
        c["state"].register(device, public_b64(key))
        (b,) = seal_chain(work, device, key, c["archive"].public_key(), 1, SIZE)
        out.append((key, b))
    return out


async def _send(url: str, key, b, log_pub, errors: list) -> dict:
    """What the station's uploader does: deliver, and after a transient error resume its own upload."""
    upload_url = None

    def created(u: str) -> None:
        nonlocal upload_url
        upload_url = u
    async with TusClient(url, HeaderSource(b.device_id, key), chunk_size=CHUNK, read_timeout_s=120) as client:
        for _ in range(200):
            try:
                receipt, _ = await deliver(client, b, log_pub, url=upload_url, on_created=created)
                return receipt
            except TransientError as exc:
                errors.append(str(exc))
                await asyncio.sleep(0.2)
    raise AssertionError(f"{b.device_id} never delivered: {errors[-3:]}")


def _metric(node, name: str) -> float:
    with urllib.request.urlopen(node.metrics_url, timeout=10) as r:
        text = r.read().decode()
    return float(re.search(rf"^{name} (\S+)$", text, re.M).group(1))


def test_64_stations_at_once_through_two_busy_nodes_each_accepted_once(fleet_cluster):
    c = fleet_cluster
    stations = _stations(c, STATIONS)
    errors: list[str] = []

    async def all_at_once():
        return await asyncio.gather(*(_send(c["lb"].url, key, b, c["log_pub"], errors) for key, b in stations))
    receipts = asyncio.run(asyncio.wait_for(all_at_once(), 240))

    # Every receipt verifies for its own batch, against the log key.
    for (_, b), receipt in zip(stations, receipts):
        check_receipt_for(receipt, c["log_pub"], device=b.device_id, seq=b.seq, batch=b.batch_hash,
                          sha256=b.file_sha256, size=b.size)
    # Exactly once: one archive object per batch, byte for byte; no upload, part or multipart left over.
    s3 = c["seaweed"].client()
    listed = s3.list_objects_v2(Bucket=c["bucket"], Prefix=f"{PREFIX}/archive/").get("Contents", [])
    assert len(listed) == STATIONS
    for _, b in stations:
        key = f"{PREFIX}/archive/{b.device_id}/{b.seq:010d}-{b.batch_hash}.sohoa"
        assert s3.get_object(Bucket=c["bucket"], Key=key)["Body"].read() == b.path.read_bytes()
    assert c["state"].obj_ids() == []
    assert s3.list_objects_v2(Bucket=c["bucket"], Prefix=f"{PREFIX}/uploads/").get("KeyCount", 0) == 0
    assert s3.list_multipart_uploads(Bucket=c["bucket"]).get("Uploads", []) == []
    # One gapless log, one leaf per station; every receipt's leaf is in the latest tree.
    rows = c["state"]._all("SELECT idx, leaf_hash, device_id, seq, receipt FROM log ORDER BY idx")
    assert [r["idx"] for r in rows] == list(range(STATIONS))
    assert sorted(r["device_id"] for r in rows) == sorted(b.device_id for _, b in stations)
    tree = MerkleTree([bytes(r["leaf_hash"]) for r in rows])
    latest = max((json.loads(r["receipt"])["checkpoint"] for r in rows), key=lambda cp: cp["size"])
    assert latest["size"] == STATIONS and latest["root"] == tree.root().hex()
    for receipt in receipts:
        v = verify_receipt(receipt, c["log_pub"])
        lh = leaf_hash(canonical(receipt["leaf"]))
        assert verify_inclusion(lh, v.index, tree.size, tree.inclusion_proof(v.index), bytes.fromhex(latest["root"]))
    # The nodes were busy (PATCHes waited for one of their two slots) and yet never taken out of the
    # balancer: no cut sessions, no "no server available".
    assert sum(_metric(n, "sohoa_receiver_patch_waits_total") for n in c["nodes"]) > 0
    assert sum(_metric(n, "sohoa_receiver_state_pool_timeouts_total") for n in c["nodes"]) == 0
    lb_log = (c["lb"].dir / "haproxy.log").read_text()
    assert " is DOWN" not in lb_log and "no server available" not in lb_log
    assert not [e for e in errors if "No server is available" in e or "Disconnected" in e], errors[:5]


def test_the_same_creation_on_both_nodes_at_once_makes_one_upload(fleet_cluster):
    """A creation raced by its retry on the other node (B6): one upload, every answer names it."""
    c = fleet_cluster
    ((key, b),) = _stations(c, 1, name="race")
    headers = {"Tus-Resumable": "1.0.0", "Upload-Length": str(b.size),
               "Upload-Metadata": encode_metadata(b.metadata())}

    async def create(node):
        async with aiohttp.ClientSession() as s:
            async with s.post(node.url + "files/", headers={**headers, "Authorization":
                                                          make_auth_header(b.device_id, key)}) as r:
                return r.status, r.headers.get("Location")
    for _ in range(5):
        async def burst():
            return await asyncio.gather(*(create(c["nodes"][i % 2]) for i in range(8)))
        answers = asyncio.run(burst())
        assert {status for status, _ in answers} == {201}, answers
        assert len({loc for _, loc in answers}) == 1, answers
    rows = c["state"]._all("SELECT id FROM uploads WHERE device_id = ?", (b.device_id,))
    assert [r["id"] for r in rows] == [answers[0][1].rsplit("/", 1)[1]]
    # The losers' store uploads were deleted: one multipart upload, one bookkeeping row.
    assert len(c["seaweed"].client().list_multipart_uploads(Bucket=c["bucket"]).get("Uploads", [])) == 1
