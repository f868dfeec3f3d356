"""Two copies and fixity (design 5.14) on two real SeaweedFS servers and real SQLite / PostgreSQL.

Batches reach the primary bucket through a real receiver and real station
uploads; the replicator copies them to the second server; the audit is the
``sohoa-central audit`` command run as its own process.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from bench.central_services import ROOT, S3_ACCESS_KEY, S3_SECRET_KEY, SeaweedS3
from central.local import start_local_receiver

PREFIX = "sohoa"


@pytest.fixture(scope="module")
def replica_server():
    server = SeaweedS3()
    yield server
    server.close()


class Archive:
    """A receiver's state (SQLite or PostgreSQL) with its primary bucket on one server, a replica on another."""

    def __init__(self, tmp_path: Path, state_kind: str, pg_url: str | None, primary: SeaweedS3,
                 replica: SeaweedS3):
        self.root, self.kind, self.pg_url = tmp_path / "central", state_kind, pg_url
        self.primary, self.replica = primary, replica
        self.bucket, self.replica_bucket = primary.new_bucket("prim"), replica.new_bucket("repl")
        self.root.mkdir(parents=True)
        self.config = self.root / "central.toml"
        state_url = pg_url if state_kind == "postgresql" else f"sqlite:///{self.root / 'receiver.sqlite3'}"
        self.config.write_text(f"""version = 1
[state]
url = "{state_url}"
[objects]
url = "s3://{self.bucket}/{PREFIX}"
endpoint = "{primary.endpoint}"
access_key_id = "{S3_ACCESS_KEY}"
secret_access_key = "{S3_SECRET_KEY}"
part_size_mib = 5
[replica]
url = "s3://{self.replica_bucket}/{PREFIX}"
endpoint = "{replica.endpoint}"
access_key_id = "{S3_ACCESS_KEY}"
secret_access_key = "{S3_SECRET_KEY}"
""")

    def state(self):
        if self.kind == "postgresql":
            from central.state_pg import PgState
            return PgState(self.pg_url, pool_min=1, pool_max=4)
        from central.receiver_state import ReceiverState
        return ReceiverState(self.root / "receiver.sqlite3")

    def backends(self, root: Path):
        from central.s3store import S3Store
        state = self.state()
        return state, S3Store(self.primary.client(), self.bucket, PREFIX, state, part_size=5 << 20)

    def stores(self):
        from central.objects import S3Objects
        return (S3Objects(self.primary.client(), self.bucket, PREFIX),
                S3Objects(self.replica.client(), self.replica_bucket, PREFIX))

    def get(self, which: str, name: str) -> bytes | None:
        server, bucket = (self.primary, self.bucket) if which == "primary" else (self.replica, self.replica_bucket)
        try:
            return server.client().get_object(Bucket=bucket, Key=f"{PREFIX}/{name}")["Body"].read()
        except Exception as exc:
            if "NoSuchKey" in str(exc) or "404" in str(exc):
                return None
            raise

    def put(self, which: str, name: str, data: bytes) -> None:
        server, bucket = (self.primary, self.bucket) if which == "primary" else (self.replica, self.replica_bucket)
        server.client().put_object(Bucket=bucket, Key=f"{PREFIX}/{name}", Body=data)

    def delete(self, which: str, name: str) -> None:
        server, bucket = (self.primary, self.bucket) if which == "primary" else (self.replica, self.replica_bucket)
        server.client().delete_object(Bucket=bucket, Key=f"{PREFIX}/{name}")

    def cli(self, *args: str) -> tuple[int, dict | None, str]:
        r = subprocess.run([sys.executable, "-m", "central.cli", *args, "--root", str(self.root), "--config",
                            str(self.config)], cwd=ROOT, capture_output=True, text=True, timeout=300)
        lines = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
        return r.returncode, (json.loads(lines[-1]) if lines else None), r.stderr


@pytest.fixture(params=["sqlite", "postgresql"])
def archive(request, tmp_path, seaweed, replica_server):
    pg_url = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    return Archive(tmp_path, request.param, pg_url, seaweed, replica_server)


def deliver(kit, tmp_path, archive: Archive, n: int, *, metrics: bool = False, then=None) -> dict[str, bytes]:
    """*n* batches from one station through a real receiver; {object name: the sealed bytes sent}."""
    app = kit.Appliance(tmp_path / "station", device_id="xa-0001")
    sent = {}

    async def body():
        rx = await start_local_receiver(archive.root, backends=archive.backends, metrics_port=0 if metrics else None)
        try:
            await app.enroll(rx)
            for i in range(n):
                b = app.seal((200_000 + 1000 * i,), seed=i)
                await kit.deliver_retrying(app.client(rx.url), b, app.log_public)
                sent[f"archive/{b.device_id}/{b.seq:010d}-{b.batch_hash}.sohoa"] = b.path.read_bytes()
            if then is not None:
                return await then(rx)
        finally:
            await rx.close()
    out = kit.run(body())
    return (sent, out) if then is not None else sent


def preserved(archive: Archive) -> dict[str, float | None]:
    state = archive.state()
    try:
        return {r["name"]: r["preserved_at"] for r in state._all("SELECT name, preserved_at FROM fixity")}
    finally:
        state.close()


def test_replica_down_during_acceptance_is_caught_up_and_nothing_counts_before_both_copies(tmp_path, kit, archive):
    archive.replica.stop()
    try:
        sent = deliver(kit, tmp_path, archive, 3)  # accepted (receipts verified) with the replica down
        # One primary object goes bad before it was ever copied: it must not be replicated nor preserved.
        bad = sorted(sent)[1]
        archive.put("primary", bad, b"not the batch")
        rc, out, err = archive.cli("replicate", "--once")
        assert rc == 75, err
        assert out["registered"] == 3 and out["copied"] == 0 and out["preserved"] == 0
        assert set(preserved(archive).values()) == {None}
    finally:
        archive.replica.start()
    deadline = time.monotonic() + 120
    while True:  # the replicator retries after its back-off pause (F3)
        rc, out, err = archive.cli("replicate", "--once")
        if out is not None and out["preserved"] == 2 or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert out["preserved"] == 2 and out["unpreserved"] == 1, err
    flags = preserved(archive)
    assert flags[bad] is None and all(flags[n] for n in sent if n != bad)
    for name, data in sent.items():
        assert archive.get("replica", name) == (None if name == bad else data)
    state = archive.state()
    try:
        findings = [(f["name"], f["copy"], f["problem"]) for f in state.fixity_findings()]
    finally:
        state.close()
    assert findings == [(bad, "primary", "mismatch")]  # reported once, not at every retry


def test_audit_finds_bit_rot_and_a_lost_object_and_repairs_from_the_good_copy(tmp_path, kit, archive):
    sent = deliver(kit, tmp_path, archive, 4)
    rc, out, err = archive.cli("replicate", "--once")
    assert rc == 0 and out["preserved"] == 4, err
    names = sorted(sent)
    changed, deleted, lost_replica = names[0], names[1], names[2]
    rotten = bytearray(sent[changed])
    rotten[len(rotten) // 2] ^= 0x01  # one bit
    archive.put("primary", changed, bytes(rotten))
    archive.delete("primary", deleted)
    archive.delete("replica", lost_replica)

    rc, out, err = archive.cli("audit", "--rate", "50")
    assert rc == 0, err
    assert (out["checked"], out["mismatches"], out["missing"], out["repaired"], out["unrepairable"]) == (4, 1, 2, 3, 0)
    assert out["finished"] is True
    assert "bị thay đổi" in err and "has changed" in err and "Đã khôi phục" in err  # the operator's words, vi first
    for name, data in sent.items():
        assert archive.get("primary", name) == data
        assert archive.get("replica", name) == data
    state = archive.state()
    try:
        found = sorted((f["name"], f["copy"], f["problem"], f["action"]) for f in state.fixity_findings())
    finally:
        state.close()
    assert found == sorted([(changed, "primary", "mismatch", "repaired"), (deleted, "primary", "missing", "repaired"),
                            (lost_replica, "replica", "missing", "repaired")])

    rc, out, err = archive.cli("audit")  # the next pass finds everything whole
    assert rc == 0 and (out["checked"], out["mismatches"], out["missing"], out["repaired"]) == (4, 0, 0, 0), err


def test_both_copies_bad_is_reported_and_nothing_is_overwritten(tmp_path, kit, archive):
    sent = deliver(kit, tmp_path, archive, 2)
    assert archive.cli("replicate", "--once")[0] == 0
    name = sorted(sent)[0]
    archive.put("primary", name, b"rot one")
    archive.put("replica", name, b"rot two")
    rc, out, err = archive.cli("audit")
    assert rc == 1 and out["unrepairable"] == 2 and out["mismatches"] == 2 and out["repaired"] == 0
    assert "Không còn bản tốt nào" in err
    assert archive.get("primary", name) == b"rot one" and archive.get("replica", name) == b"rot two"
    other = sorted(sent)[1]
    assert archive.get("primary", other) == sent[other] == archive.get("replica", other)


def test_an_interrupted_pass_continues_where_it_stopped_and_metrics_report_it(tmp_path, kit, archive):
    sent = deliver(kit, tmp_path, archive, 3)
    assert archive.cli("replicate", "--once")[0] == 0
    archive.delete("replica", sorted(sent)[0])
    rc, out, _ = archive.cli("audit", "--limit", "1")
    assert rc == 0 and out["checked"] == 1 and out["finished"] is False and out["total"] == 3
    first_pass = out["id"]
    rc, out, _ = archive.cli("audit")
    assert out["id"] == first_pass and out["checked"] == 3 and out["finished"] is True
    assert out["missing"] == 1 and out["repaired"] == 1

    async def scrape(rx):  # the metrics listener runs on this event loop: ask it without blocking
        async with aiohttp.ClientSession() as s:
            async with s.get(rx.metrics_url) as r:
                return await r.text()
    _, text = deliver(kit, tmp_path / "again", archive, 0, metrics=True, then=scrape)
    lines = set(text.splitlines())
    assert "sohoa_fixity_preserved 3.0" in lines and "sohoa_fixity_unpreserved 0.0" in lines
    assert "sohoa_audit_checked_total 3.0" in lines
    assert 'sohoa_audit_missing_total{copy="replica"} 1.0' in lines
    assert 'sohoa_audit_repaired_total{copy="replica"} 1.0' in lines
    assert 'sohoa_audit_mismatches_total{copy="primary"} 0.0' in lines
    assert "sohoa_audit_pass_progress 1.0" in lines


def test_ingested_packages_and_pdfs_are_copied_and_audited_against_the_catalogue(ingest_site, replica_server):
    """Every package and PDF ingest stored (design 5.13) is registered from the catalogue, copied and verified;
    the audit trusts the copy matching the catalogue's hash (SQLite + files, and PostgreSQL + S3 primaries)."""
    from central.audit import Auditor
    from central.fixity import Replicator
    from central.ingest import IngestWorker
    from central.objects import FileObjects, S3Objects

    site = ingest_site
    bucket = replica_server.new_bucket("repl")
    replica = S3Objects(replica_server.client(), bucket, PREFIX)
    state, store = site.open()
    try:
        assert IngestWorker(state, store, site.key, lease_s=30).run(until_idle=True)["done"] == len(site.sent)
        primary = (S3Objects(site.backend.seaweed.client(), site.backend.bucket, site.backend.prefix)
                   if site.backend.shared else FileObjects(site.root))
        rep = Replicator(state, primary, replica)
        rep.run_once()
        files = state._all("SELECT package_key, package_sha256 FROM cat_files")
        docs = state._all("SELECT pdf_key, pdf_sha256 FROM cat_documents")
        rows = {r["name"]: r for r in state._all("SELECT * FROM fixity")}
        assert len(rows) == len(site.sent) + len(files) + len(docs)
        assert all(r["preserved_at"] is not None for r in rows.values())
        for key, sha in [(f["package_key"], f["package_sha256"]) for f in files] + \
                        [(d["pdf_key"], d["pdf_sha256"]) for d in docs]:
            data = b"".join(replica.read("objects/" + key))
            assert hashlib.sha256(data).hexdigest() == sha == rows["objects/" + key]["sha256"]
            assert data == b"".join(primary.read("objects/" + key))

        pdf = "objects/" + docs[0]["pdf_key"]
        package = "objects/" + files[0]["package_key"]
        good_pdf = b"".join(primary.read(pdf))
        good_package = b"".join(replica.read(package))
        primary.delete(pdf)
        replica.write(package, io.BytesIO(b"PK not the package"), 18)
        done = Auditor(state, primary, replica, rate=100).run_pass()
        assert (done["checked"], done["missing"], done["mismatches"], done["repaired"]) == (len(rows), 1, 1, 2)
        assert b"".join(primary.read(pdf)) == good_pdf and b"".join(replica.read(package)) == good_package
    finally:
        state.close()


def test_replica_configuration_is_refused_when_it_is_the_primary_or_malformed():
    from central.config import ConfigError, parse

    base = {"version": 1, "objects": {"url": "s3://archive/p", "endpoint": "http://s3-a:8333"}}
    ok = parse({**base, "replica": {"url": "s3://archive/p", "endpoint": "http://s3-b:8333"}, "audit": {
        "rate_objects_per_s": 5}})
    assert (ok.replica.endpoint, ok.audit.rate_objects_per_s) == ("http://s3-b:8333", 5.0)
    for replica, audit, words in (
            ({"url": "s3://archive/p/", "endpoint": "http://s3-a:8333"}, {}, "another store"),
            ({"url": "ftp://elsewhere/p"}, {}, "replica.url"),
            ({"url": "s3:///p", "endpoint": "http://s3-b:8333"}, {}, "replica.url"),
            ({"url": "s3://b/p", "bucket": "x"}, {}, "replica.bucket: unknown key"),
            ({}, {"rate_objects_per_s": 0}, "audit.rate_objects_per_s")):
        with pytest.raises(ConfigError, match=words):
            parse({**base, "replica": replica, "audit": audit})


def test_an_unreachable_replica_is_no_finding_and_the_objects_are_audited_when_it_is_back(tmp_path, kit, archive):
    sent = deliver(kit, tmp_path, archive, 2)
    assert archive.cli("replicate", "--once")[0] == 0
    archive.replica.stop()
    try:
        rc, out, err = archive.cli("audit")
        assert rc == 75, err  # nothing could be read whole: the timer tries again
        assert (out["checked"], out["unavailable"], out["mismatches"], out["missing"]) == (0, 2, 0, 0)
        state = archive.state()
        try:
            assert state.fixity_findings() == []
            assert {r["audited_at"] for r in state._all("SELECT audited_at FROM fixity")} == {0}
        finally:
            state.close()
    finally:
        archive.replica.start()
    rc, out, err = archive.cli("audit")
    assert rc == 0 and (out["checked"], out["unavailable"], out["mismatches"]) == (2, 0, 0), err
    for name, data in sent.items():
        assert archive.get("primary", name) == data == archive.get("replica", name)


def test_an_audit_run_gives_up_after_a_streak_of_unreadable_objects_and_the_next_run_finishes_the_pass(
        tmp_path, replica_server):
    from central.audit import UNREACHABLE_STREAK, Auditor
    from central.objects import FileObjects, S3Objects
    from central.receiver_state import ReceiverState

    state = ReceiverState(tmp_path / "receiver.sqlite3")
    primary = FileObjects(tmp_path / "primary")
    replica = S3Objects(replica_server.client(), replica_server.new_bucket("repl"), PREFIX)
    count = UNREACHABLE_STREAK + 5
    try:
        for i in range(count):
            data = f"object {i}".encode() * 100
            name = f"objects/xa-0001/{i:010d}/doc.pdf"
            primary.write(name, io.BytesIO(data), len(data))
            state.fixity_register(name, "pdf", hashlib.sha256(data).hexdigest(), len(data))
            state.fixity_replicated(name)  # as if copied: its replica must be read (and is not there)
        replica_server.stop()
        try:
            cut = Auditor(state, primary, replica, rate=1000).run_pass()
        finally:
            replica_server.start()
        assert cut["finished_at"] is None and (cut["checked"], cut["unavailable"]) == (0, UNREACHABLE_STREAK)
        done = Auditor(state, primary, replica, rate=1000).run_pass()
        assert done["id"] == cut["id"] and done["finished_at"] is not None
        assert (done["checked"], done["missing"], done["repaired"]) == (count, count, count)
        assert state.fixity_findings(limit=1000)[0]["action"] == "repaired"
    finally:
        state.close()
