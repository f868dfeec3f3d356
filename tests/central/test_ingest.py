"""Ingest (design 5.13): accepted batches of real packages into objects and catalogue rows, once.

Real receivers (SQLite + files, PostgreSQL + SeaweedFS S3) accept real batches
from two stations (``ingest_site``); the worker opens them with the archive key.
"""

from __future__ import annotations

import hashlib
import io
import zipfile

from central import ingest_queue
from central.catalogue import table_counts
from central.catalogue_objects import objects_for, package_name, pdf_name
from central.ingest import IngestWorker
from sync.age import MAGIC as AGE_MAGIC


def _rows(state, sql, params=()):
    return [dict(r) for r in state._all(sql, params)]


def test_every_package_is_catalogued_and_stored_once(ingest_site):
    site = ingest_site
    state, store = site.open()
    try:
        worker = IngestWorker(state, store, site.key, lease_s=30)
        totals = worker.run(until_idle=True)
        clear = [p for s in site.sent for n, p in site.packages.items() if n in s.members and not p.secret]
        secret = [p for p in site.packages.values() if p.secret]
        assert totals["done"] == len(site.sent) == 4 and totals["failed"] == 0
        assert totals["packages"] == len(clear) + len(secret) == 6
        assert ingest_queue.counts(state) == {"queued": 0, "claimed": 0, "done": 4, "failed": 0}

        # one row per batch, per package, per document, per PDF page; keyed by the batch that carried it
        files = _rows(state, "SELECT * FROM cat_files ORDER BY device_id, seq, member")
        assert sorted((f["device_id"], f["seq"], f["member"]) for f in files) == sorted(
            (s.device_id, s.seq, n) for s in site.sent for n in s.members if n in site.packages)
        docs = _rows(state, "SELECT * FROM cat_documents")
        assert len(docs) == sum(p.documents for p in clear)
        counts = table_counts(state)
        assert counts["cat_batches"] == 4 and counts["cat_text"] == sum(p.pages for p in clear)

        objects = objects_for(store)
        for f in files:
            pkg = site.packages[f["member"]]
            assert (f["file_code"], f["documents"], f["pages"], bool(f["secret"])) == (
                pkg.file_code, pkg.documents, pkg.pages, pkg.secret)
            with objects.open(f["package_key"]) as o:
                stored = o.read()
            assert stored == pkg.data  # the package as the station built it, byte for byte
            assert f["package_sha256"] == hashlib.sha256(pkg.data).hexdigest() and f["package_size"] == len(pkg.data)
            assert f["package_key"] == package_name(f["device_id"], f["seq"], f["member"])
            if pkg.secret:
                continue
            assert f["agency"] == "H49.64.33" and f["mode"] == "01" and f["title"].startswith("Hồ sơ mẫu số")
            assert f["total_doc"] == str(pkg.documents) and f["number_of_page"] == str(pkg.pages)
            with zipfile.ZipFile(io.BytesIO(pkg.data)) as zf:
                pdfs = {n.rsplit("/", 1)[1][:-4]: zf.read(n) for n in zf.namelist() if n.endswith(".pdf")}
            mine = [d for d in docs if (d["device_id"], d["seq"], d["member"]) == (f["device_id"], f["seq"],
                                                                                     f["member"])]
            assert sorted(d["doc_id"] for d in mine) == sorted(pdfs)
            for d in mine:
                assert d["doc_code"].startswith(pkg.file_code + ".") and d["mode"] == "01"
                assert d["pdf_key"] == pdf_name(f["device_id"], f["seq"], f["objid"], d["doc_id"])
                with objects.open(d["pdf_key"]) as o:
                    assert o.read() == pdfs[d["doc_id"]]
                assert d["pdf_sha256"] == hashlib.sha256(pdfs[d["doc_id"]]).hexdigest()
            text = " ".join(r["text"] for r in _rows(state, "SELECT text FROM cat_text WHERE member=? AND seq=? "
                                                            "ORDER BY doc_id, page", (f["member"], f["seq"])))
            assert text.split() == list(pkg.words)  # the OCR words of the text layer, Vietnamese intact

        # the secret package: ids and counts only, its zip still encrypted, no PDF of it stored
        (s_row,) = [f for f in files if f["secret"]]
        assert s_row["member"].endswith(".zip.enc") and s_row["mode"] == "03"
        assert all(s_row[c] is None for c in ("title", "agency", "start_date", "description", "keyword"))
        with objects.open(s_row["package_key"]) as o:
            assert o.read().startswith(AGE_MAGIC)
        assert _rows(state, "SELECT * FROM cat_documents WHERE member=?", (s_row["member"],)) == []
        assert _rows(state, "SELECT * FROM cat_text WHERE member=?", (s_row["member"],)) == []
        title = "Hồ sơ mẫu số 5"
        for table in ("cat_files", "cat_documents", "cat_text", "cat_warnings", "cat_batches"):
            for r in _rows(state, f"SELECT * FROM {table}"):
                assert title not in " ".join(str(v) for v in r.values())

        # batch-wide facts: the climate summary and its warnings, a member that is not a package
        b1 = _rows(state, "SELECT * FROM cat_batches WHERE device_id=? AND seq=1", (site.sent[0].device_id,))[0]
        assert '"kind":"t_high"' in b1["climate"] and b1["version"] == 2 and b1["packages"] == 2
        codes = {(w["device_id"], w["seq"], w["code"]) for w in _rows(state, "SELECT * FROM cat_warnings")}
        assert codes == {(site.sent[0].device_id, 1, "climate_alert"), (site.sent[0].device_id, 1, "climate_out_of_band"),
                         (site.sent[1].device_id, 1, "not_a_package")}

        # nothing left: another pass claims nothing and adds nothing
        assert worker.step() is None
        assert table_counts(state) == counts
    finally:
        state.close()


def test_a_package_that_fails_the_sip_check_fails_its_batch_and_nothing_of_it_is_catalogued(
        tmp_path, central_backend, sip_packages):
    import asyncio

    from bench.central_ingest import Station
    from central.local import start_local_receiver
    from sync.keys import save_private

    key, pkgs = sip_packages
    good, bad_src = pkgs[0], pkgs[1]
    # the package without its EAD.xml: a receiver with the SIP check off accepts it
    src, buf = zipfile.ZipFile(io.BytesIO(bad_src.data)), io.BytesIO()
    with zipfile.ZipFile(buf, "w") as out:
        for info in src.infolist():
            if not info.filename.endswith("descriptive/EAD.xml"):
                out.writestr(info, src.read(info))
    root = tmp_path / "rx"
    (root / "keys").mkdir(parents=True)
    save_private(root / "keys" / "archive_x25519.pem", key)
    be = central_backend

    async def deliver():
        rx = await start_local_receiver(root, backends=be.open)
        try:
            st = Station(tmp_path / "st", "xa-hoa-binh-1")
            await st.enroll(rx.url, rx.core.state.mint_token(st.device_id, ttl_s=600))
            await st.send_members(rx.url, [(good.member, good.data), (bad_src.member, buf.getvalue())],
                                  pages=good.pages + bad_src.pages, documents=good.documents + bad_src.documents)
            await st.send_members(rx.url, [(good.member, good.data)], pages=good.pages, documents=good.documents)
        finally:
            await rx.close()
    asyncio.run(deliver())
    site_open = _opener(root, be)
    state, store = site_open()
    try:
        worker = IngestWorker(state, store, key, lease_s=30, spool=tmp_path / "spool")
        totals = worker.run(until_idle=True)
        assert (totals["done"], totals["failed"]) == (1, 1)
        # the refused batch's member and PDFs went from the spool with the done one's (design 5.13)
        assert [p.name for p in worker.spool.dir.rglob("*")] == [".lock"]
        worker.close()
        (failed,) = ingest_queue.failures(state)
        assert failed["seq"] == 1 and failed["error"].startswith("sip_check: ") and "EAD.xml" in failed["error"]
        assert _rows(state, "SELECT seq FROM cat_batches") == [{"seq": 2}]
        assert [r["seq"] for r in _rows(state, "SELECT seq FROM cat_files")] == [2]
        assert ingest_queue.retry_failed(state) == 1
        totals = IngestWorker(state, store, key, lease_s=30).run(until_idle=True)
        assert totals["failed"] == 1
        assert _rows(state, "SELECT attempts, state FROM ingest_batches WHERE seq=1") == [
            {"attempts": 2, "state": "failed"}]
    finally:
        state.close()


def _opener(root, be):
    def open_():
        if not be.shared:
            from central.receiver_state import ReceiverState
            from central.store import FileStore
            return ReceiverState(root / "receiver.sqlite3"), FileStore(root)
        from central.s3store import S3Store
        from central.state_pg import PgState
        state = PgState(be.pg_url, pool_min=1, pool_max=4)
        return state, S3Store(be.seaweed.client(), be.bucket, be.prefix, state, part_size=5 << 20)
    return open_


def test_a_lease_taken_over_fences_the_first_worker(ingest_site):
    """Two workers on one job: the one whose lease expired commits nothing (Q4)."""
    site = ingest_site
    state, store = site.open()
    try:
        ingest_queue.enqueue(state)
        first = ingest_queue.claim(state, lease_s=0.001)
        import time
        time.sleep(0.01)
        second = ingest_queue.claim(state, lease_s=30)
        assert first.log_idx == second.log_idx and first.worker != second.worker and second.attempts == 2
        assert not ingest_queue.renew(state, first, 30)
        with state.tx() as db:
            assert not ingest_queue.mark_done(db, first)
        with state.tx() as db:
            assert ingest_queue.mark_done(db, second)
        assert not ingest_queue.fail(state, first, "late")
        assert _rows(state, "SELECT state, error FROM ingest_batches WHERE log_idx=?", (first.log_idx,)) == [
            {"state": "done", "error": None}]
    finally:
        state.close()


def test_a_claimed_batch_is_not_claimed_again_while_its_lease_holds(ingest_site):
    """Q2: a second worker gets the next batch; on PostgreSQL a row another transaction has locked is skipped
    (SKIP LOCKED) rather than waited for."""
    site = ingest_site
    state, store = site.open()
    try:
        assert ingest_queue.enqueue(state) == 4 and ingest_queue.enqueue(state) == 0
        a = ingest_queue.claim(state, lease_s=30)
        b = ingest_queue.claim(state, lease_s=30)
        assert (a.log_idx, b.log_idx) == (0, 1) and a.worker != b.worker
        if site.backend.shared:
            import psycopg
            with psycopg.connect(site.backend.pg_url) as other:
                with other.transaction():
                    other.execute("SELECT * FROM ingest_batches WHERE log_idx = 2 FOR UPDATE")
                    c = ingest_queue.claim(state, lease_s=30)  # would block on row 2 without SKIP LOCKED
                    assert c.log_idx == 3
            assert ingest_queue.claim(state, lease_s=30).log_idx == 2
        else:
            assert [ingest_queue.claim(state, lease_s=30).log_idx for _ in range(2)] == [2, 3]
        assert ingest_queue.claim(state, lease_s=30) is None
        assert ingest_queue.counts(state) == {"queued": 0, "claimed": 4, "done": 0, "failed": 0}
        ingest_queue.release(state, a)
        assert ingest_queue.claim(state, lease_s=30).log_idx == 0
    finally:
        state.close()


def test_an_unexpected_error_is_retried_then_the_batch_fails_without_stopping_the_others(ingest_site):
    """Q6: a device row whose key cannot be read (a fault, not a refusal) is retried, failed at the fifth
    claim, and the other device's batches are ingested meanwhile."""
    from central.ingest import MAX_ATTEMPTS

    site = ingest_site
    broken = site.sent[0].device_id
    state, store = site.open()
    try:
        with state.tx() as db:
            db.execute("UPDATE devices SET public_key='not base64!' WHERE device_id=?", (broken,))
        totals = IngestWorker(state, store, site.key, lease_s=30).run(until_idle=True, poll_s=0.01)
        mine = [s for s in site.sent if s.device_id == broken]
        assert totals["failed"] == len(mine) and totals["done"] == len(site.sent) - len(mine)
        assert totals["released"] == len(mine) * (MAX_ATTEMPTS - 1)
        rows = _rows(state, "SELECT state, attempts, error FROM ingest_batches WHERE device_id=?", (broken,))
        assert all(r["state"] == "failed" and r["attempts"] == MAX_ATTEMPTS and r["error"].startswith("internal: ")
                   for r in rows)
        assert _rows(state, "SELECT * FROM cat_files WHERE device_id=?", (broken,)) == []
    finally:
        state.close()
