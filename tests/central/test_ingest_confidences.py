"""Per-value confidences (formats 6.7): a sidecar beside a package, through a real receiver, ingest and the
web's record files, on both backends; packages without one are catalogued as before."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile

from central.catalogue import table_counts
from central.ingest import IngestWorker
from central.web.catalogue_feed import feed
from central.web.records import get_record
from records import confidence_sidecar
from sync.canon import canonical
from tests.central.test_ingest import _opener, _rows


def _doc_ids(pkg) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(pkg.data)) as zf:
        return sorted(n.rsplit("/", 1)[1][:-4] for n in zf.namelist() if n.endswith(".pdf"))


def _deliver(tmp_path, be, key, batches):
    from bench.central_ingest import Station
    from central.local import start_local_receiver
    from sync.keys import save_private

    root = tmp_path / "rx"
    (root / "keys").mkdir(parents=True)
    save_private(root / "keys" / "archive_x25519.pem", key)

    async def deliver():
        rx = await start_local_receiver(root, backends=be.open)
        try:
            st = Station(tmp_path / "st", "xa-an-binh-1")
            await st.enroll(rx.url, rx.core.state.mint_token(st.device_id, ttl_s=600))
            for members, pages, docs in batches:
                await st.send_members(rx.url, members, pages=pages, documents=docs)
        finally:
            await rx.close()
    asyncio.run(deliver())
    return root


def test_confidences_travel_beside_their_package_and_reach_the_record_page(tmp_path, central_backend,
                                                                           sip_packages):
    key, pkgs = sip_packages
    with_conf, without, late = pkgs[1], pkgs[2], pkgs[3]       # 2, 1 and 2 documents
    folder = with_conf.member[:-len(".zip")]
    ids = _doc_ids(with_conf)
    sidecar = confidence_sidecar.encode(folder, [
        (ids[0], {"typeName": 0.975, "subject": 0.41, "organName": 0.88}, {"typeName": 0.9, "subject": 0.6,
                                                                           "organName": 0.9}, False),
        (ids[1], {"typeName": 0.5}, {"typeName": 0.9}, True)])
    late_folder = late.member[:-len(".zip")]
    late_ids = _doc_ids(late)
    late_sidecar = confidence_sidecar.encode(late_folder, [(i, {"typeName": 0.7}, {"typeName": 0.9}, False)
                                                           for i in late_ids])
    # a sidecar of a later version, and one that is not JSON: warnings, never a refused batch
    v2 = canonical({"v": 2, "package": without.member, "documents": []})
    broken = b"\xff not json"
    broken_name = "uuid-00000000-0000-0000-0000-000000000000.confidence.json"
    root = _deliver(tmp_path, central_backend, key, [
        ([(with_conf.member, with_conf.data), (confidence_sidecar.member_name(folder), sidecar),
          (without.member, without.data), (confidence_sidecar.member_name(without.member[:-4]), v2),
          (broken_name, broken)],
         with_conf.pages + without.pages, with_conf.documents + without.documents),
        ([(late.member, late.data)], late.pages, late.documents),
        ([(confidence_sidecar.member_name(late_folder), late_sidecar)], 0, 0)])
    state, store = _opener(root, central_backend)()
    try:
        worker = IngestWorker(state, store, key, lease_s=30)
        outcomes = [worker.step(), worker.step()]
        assert [(o.seq, o.result, o.packages) for o in outcomes] == [(1, "done", 2), (2, "done", 1)]
        assert feed(state) == 3  # the late package is fed before its confidences arrive
        assert get_record(state, late.file_code)["document_list"][0]["fields"]["type_name"]["confidence"] is None
        assert (worker.step().result, worker.step()) == ("done", None)
        rows = _rows(state, "SELECT seq, objid, doc_id, field, confidence, threshold, reviewed FROM cat_confidences "
                            "ORDER BY seq, doc_id, field")
        assert [(r["seq"], r["doc_id"], r["field"], r["confidence"], r["threshold"], r["reviewed"])
                for r in rows if r["seq"] == 1] == [
            (1, ids[0], "organName", 880, 900, 0), (1, ids[0], "subject", 410, 600, 0),
            (1, ids[0], "typeName", 975, 900, 0), (1, ids[1], "typeName", 500, 900, 1)]
        assert {r["objid"] for r in rows if r["seq"] == 1} == {folder}
        assert table_counts(state)["cat_confidences"] == 4 + 2
        warned = sorted((w["member"], w["code"]) for w in _rows(state, "SELECT member, code FROM cat_warnings"))
        assert warned == sorted([(confidence_sidecar.member_name(without.member[:-4]), "bad_confidences"),
                                 (broken_name, "bad_confidences")])
        # the sidecars are not packages: nothing else of them in the catalogue
        assert sorted(r["member"] for r in _rows(state, "SELECT member FROM cat_files")) == sorted(
            [with_conf.member, without.member, late.member])

        assert feed(state) == 1  # the late one again, now with them
        rec = get_record(state, with_conf.file_code)
        first, second = rec["document_list"]
        assert first["fields"]["type_name"]["confidence"] == 0.975 and first["fields"]["type_name"]["threshold"] == 0.9
        assert first["fields"]["subject"]["confidence"] == 0.41 and first["fields"]["subject"]["reviewed"] is False
        assert second["fields"]["type_name"] | {"value": None} == {"value": None, "confidence": 0.5,
                                                                     "threshold": 0.9, "reviewed": True}
        assert first["fields"]["doc_code"]["confidence"] is None  # not an extracted value: no confidence
        plain = get_record(state, without.file_code)
        assert all(v["confidence"] is None and "threshold" not in v
                   for d in plain["document_list"] for v in d["fields"].values())
        # its sidecar came in the batch after its package's and still reached it
        late_rec = get_record(state, late.file_code)
        assert [d["fields"]["type_name"]["confidence"] for d in late_rec["document_list"]] == [0.7] * len(late_ids)
        assert feed(state) == 0  # nothing fed twice
        assert json.dumps(rec, ensure_ascii=False)  # what the page and the API read is plain JSON
    finally:
        state.close()
