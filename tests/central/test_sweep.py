"""The objects of batches that were never accepted (design 5.12, W2 and W3): found, deleted, and nothing else.

Both backends. A real receiver accepts one batch from a station and holds a
second one half uploaded; orphans are then planted the ways a killed node or a
failed delete leaves them (a multipart upload no row names, one even at the
accepted batch's own key, an incomplete part of a forgotten upload, a completed
object the log never named, upload files without a row). ``sohoa-central sweep``
must list exactly those, delete exactly those, never touch the accepted batch,
and leave the half-sent batch able to finish.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import time

from bench.central_ingest import Station
from bench.central_services import write_node_config
from central.local import start_local_receiver
from central.services import ROOT
from central.state_sql import LOCK_DEVICE
from central.sweep import sweep
from sync.auth import HeaderSource
from sync.client import TusClient

CHUNK = 64 * 1024


def _open(root, be):
    if not be.shared:
        from central.receiver_state import ReceiverState
        from central.store import FileStore
        return ReceiverState(root / "receiver.sqlite3"), FileStore(root)
    from central.s3store import S3Store
    from central.state_pg import PgState
    state = PgState(be.pg_url, pool_min=1, pool_max=4)
    return state, S3Store(be.seaweed.client(), be.bucket, be.prefix, state, part_size=5 << 20)


def _site(tmp_path, be):
    """A receiver that accepted one batch and holds a second one half sent; (root, station, accepted, half)."""
    root = tmp_path / "rx"
    st = Station(tmp_path / "st", "xa-an-binh-1")

    async def go():
        rx = await start_local_receiver(root, backends=be.open)
        try:
            await st.enroll(rx.url, rx.core.state.mint_token(st.device_id, ttl_s=600))
            accepted = st.seal([("a.bin", os.urandom(200_000))], pages=1, documents=1)
            await st.send(rx.url, accepted)
            half = st.seal([("b.bin", os.urandom(300_000))], pages=1, documents=1)
            async with TusClient(rx.url, HeaderSource(st.device_id, st.key), chunk_size=CHUNK) as c:
                url, _, _ = await c.create(half.size, half.metadata())
                with open(half.path, "rb") as f:
                    offset, _, status = await c.patch(url, 0, f.read(CHUNK))
                assert status == 204 and offset == CHUNK
            return accepted, half
        finally:
            await rx.close()
    accepted, half = asyncio.run(go())
    return root, st, accepted, half


def _name(b) -> str:
    return f"{b.device_id}/{b.seq:010d}-{b.batch_hash}.sohoa"


def _plant(root, be, store, st, accepted) -> dict:
    """Orphans as a killed node or a failed delete leaves them; kind -> how many."""
    if not be.shared:
        orphan = secrets.token_hex(16)
        store.new_upload(orphan, 10, {"device": st.device_id, "seq": "9", "batch": "c" * 64, "sha256": "d" * 64})
        return {"upload_files": len(list((root / "uploads").glob(f"{orphan}.*")))}
    stray = store.key(f"archive/{st.device_id}/0000000009-{'a' * 64}.sohoa")
    mpu = store.call("create_multipart_upload", Key=stray)["UploadId"]
    store.call("upload_part", Key=stray, UploadId=mpu, PartNumber=1, Body=b"x" * 1000)
    # A multipart upload left at the accepted batch's own key: aborting it must not touch the object.
    store.call("create_multipart_upload", Key=store.key(f"archive/{_name(accepted)}"))
    store.call("put_object", Key=store.key(f"uploads/{secrets.token_hex(16)}/pending-{secrets.token_hex(8)}"),
               Body=b"y" * 100)
    # Completed, then refused, and the delete failed: at an archive name the log does not name.
    store.call("put_object", Key=store.key(f"archive/{st.device_id}/0000000007-{'b' * 64}.sohoa"), Body=b"z" * 100)
    return {"multipart_uploads": 2, "incomplete_parts": 1, "unaccepted_archive_objects": 1}


def _snapshot(root, be, store) -> dict:
    """Everything the store holds, by kind of place."""
    if not be.shared:
        return {"uploads": sorted(p.name for p in (root / "uploads").iterdir()),
                "archive": sorted(p.relative_to(root / "archive").as_posix()
                                  for p in (root / "archive").rglob("*") if p.is_file())}
    mpus = store.call("list_multipart_uploads", Prefix=store.key("archive/")).get("Uploads", [])
    objects = store.call("list_objects_v2", Prefix=store.prefix).get("Contents", [])
    return {"multipart": sorted((u["Key"], u["UploadId"]) for u in mpus), "objects": sorted(o["Key"] for o in objects)}


def test_sweep_deletes_the_orphans_and_never_an_accepted_batch(tmp_path, central_backend):
    be = central_backend
    root, st, accepted, half = _site(tmp_path, be)
    state, store = _open(root, be)
    try:
        planted = _plant(root, be, store, st, accepted)
        before = _snapshot(root, be, store)
        accepted_bytes = be.archived_bytes(root, _name(accepted))
        assert accepted_bytes == accepted.path.read_bytes()

        # Within the grace period nothing is even found.
        young = sweep(state, store, older_than_s=3600)
        assert sum(young.found.values()) == 0 and _snapshot(root, be, store) == before
        # A dry run lists exactly the planted orphans and deletes nothing.
        later = time.time() + 5
        dry = sweep(state, store, older_than_s=0, dry_run=True, now=later)
        assert {k: v for k, v in dry.found.items() if v} == planted
        assert sum(dry.deleted.values()) == 0 and _snapshot(root, be, store) == before
        deleted = {k: 0 for k in planted}
        if be.shared:
            # An acceptance of the device under way elsewhere (its lock held): its archive object waits.
            from central.state_pg import PgState
            other = PgState(be.pg_url, pool_max=2)
            held = other.try_lock(LOCK_DEVICE, st.device_id)
            try:
                busy = sweep(state, store, older_than_s=0, now=later)
                assert busy.busy == 1 and busy.deleted["unaccepted_archive_objects"] == 0
                assert busy.found["unaccepted_archive_objects"] == 0  # not even looked at under the lock
            finally:
                held.release()
                other.close()
            deleted = {k: busy.deleted[k] for k in planted}
        done = sweep(state, store, older_than_s=0, now=later)
        assert {k: deleted[k] + done.deleted[k] for k in planted} == planted
        expect_left = {k: 0 for k in planted}
        again = sweep(state, store, older_than_s=0, now=later)
        assert {k: again.found[k] for k in planted} == expect_left
        # The accepted batch is whole and in place; the half-sent one kept all it had.
        assert be.archived(root) == [_name(accepted)]
        assert be.archived_bytes(root, _name(accepted)) == accepted_bytes
        assert be.stored(root, state.upload_for_batch(half.device_id, half.seq)[0]["id"]) == CHUNK
    finally:
        state.close()

    # The half-sent batch finishes through a new receiver as if nothing had happened.
    async def finish():
        rx = await start_local_receiver(root, backends=be.open)
        try:
            return await st.send(rx.url, half)
        finally:
            await rx.close()
    receipt = asyncio.run(finish())
    assert receipt["leaf"]["seq"] == half.seq
    assert be.archived(root) == sorted([_name(accepted), _name(half)])
    assert be.leftovers(root) == []


def test_the_sweep_command_reports_json_and_deletes_only_orphans(tmp_path, central_backend):
    be = central_backend
    root, st, accepted, _half = _site(tmp_path, be)
    state, store = _open(root, be)
    try:
        planted = _plant(root, be, store, st, accepted)
    finally:
        state.close()
    args = ["--root", str(root)]
    if be.shared:
        args += ["--config", str(write_node_config(tmp_path / "central.toml", state_url=be.pg_url, bucket=be.bucket,
                                                   endpoint=be.seaweed.endpoint, keys_dir=root / "keys",
                                                   prefix=be.prefix, part_size_mib=5))]
    time.sleep(1.0)  # older than the 0.36 s grace below

    def run(*extra):
        r = subprocess.run([sys.executable, "-m", "central.cli", "sweep", *args, "--older-than-hours", "0.0001",
                            *extra], cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout.splitlines()[-1])
    dry = run("--dry-run")
    assert dry["dry_run"] and {k: v for k, v in dry["found"].items() if v} == planted
    assert sum(dry["deleted"].values()) == 0
    done = run()
    assert {k: v for k, v in done["deleted"].items() if v} == planted
    assert sum(run()["found"].values()) == 0
    assert be.archived_bytes(root, _name(accepted)) == accepted.path.read_bytes()


def test_a_node_expires_an_upload_only_holding_its_upload_and_device_locks(tmp_path, s3_backend):
    """W2: while another node holds the upload's lock (a PATCH) or the device's (an acceptance), it stays."""
    from central.state_pg import PgState
    from central.state_sql import LOCK_UPLOAD
    be = s3_backend
    root, st, accepted, half = _site(tmp_path, be)
    other = PgState(be.pg_url, pool_max=4)

    async def go():
        rx = await start_local_receiver(root, backends=be.open)
        try:
            (row,) = rx.core.state.upload_for_batch(half.device_id, half.seq)
            for kind, key in ((LOCK_UPLOAD, row["id"]), (LOCK_DEVICE, st.device_id)):
                held = other.try_lock(kind, key)
                try:
                    assert rx.core.sweep_expired(0) == 0
                    assert be.stored(root, row["id"]) == CHUNK
                finally:
                    held.release()
            assert rx.core.sweep_expired(0) == 1
        finally:
            await rx.close()
    try:
        asyncio.run(go())
    finally:
        other.close()
    assert be.leftovers(root) == []
    assert be.archived(root) == [_name(accepted)]
    assert be.archived_bytes(root, _name(accepted)) == accepted.path.read_bytes()
