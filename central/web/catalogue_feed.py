"""Feed the web's record files from the ingest catalogue (design 5.13 -> 5.15).

Each catalogued package (a ``cat_files`` row) becomes one ``web_records`` row
with its EAD fields, its documents' fields and PDF object names, and its OCR
text unaccented for search. A secret package (``secret = 1``) carries its file
code, mode and counts only: the catalogue has nothing more of it, and nothing
more is written here (A03). Fed rows remember their catalogue key
(``source``), so a pass only reads what is new; a record file sent again in a
later batch is replaced by the later one.
"""

from __future__ import annotations

from central.catalogue_read import snake
from central.web.records import Document, add_record

FILE_FIELDS = ("file_code", "title", "maintenance", "mode", "language", "start_date", "end_date", "keyword",
               "total_doc", "number_of_paper", "number_of_page", "format", "infor_sign", "confidence_level",
               "paper_file_code", "risk_recovery", "risk_recovery_status", "description")
DOC_FIELDS = ("doc_id", "doc_code", "maintenance", "type_name", "code_number", "code_notation", "issued_date",
              "organ_name", "subject", "language", "number_of_page", "infor_sign", "keyword", "mode",
              "confidence_level", "autograph", "format", "risk_recovery", "risk_recovery_status", "process",
              "description")
BATCH = 200


def _source(row) -> str:
    return f"{row['device_id']}/{row['seq']}/{row['member']}"


def feed(state, *, limit: int = 100_000) -> int:
    """Copy catalogue rows not yet fed, oldest batch first; returns how many record files were written."""
    done, late_seen = 0, set()
    while done < limit:
        with state.tx() as db:
            rows = db.execute(
                "SELECT f.* FROM cat_files f WHERE NOT EXISTS (SELECT 1 FROM web_records w "
                "WHERE w.source = f.device_id || '/' || CAST(f.seq AS TEXT) || '/' || f.member) "
                "ORDER BY f.seq, f.device_id, f.member LIMIT ?", (BATCH,)).fetchall()
        if not rows:
            rows = [f for f in _confidences_late(state) if _source(f) not in late_seen]
            late_seen.update(_source(f) for f in rows)
        if not rows:
            return done
        for f in rows:
            _feed_one(state, f)
            done += 1
    return done


def _confidences_late(state) -> list:
    # A record file fed before its confidences were catalogued (their sidecar in a batch ingested after its
    # package's, formats 6.7): fed again, once, now that they are here.
    with state.tx() as db:
        return db.execute(
            "SELECT f.* FROM cat_files f JOIN web_records w "
            "ON w.source = f.device_id || '/' || CAST(f.seq AS TEXT) || '/' || f.member "
            "WHERE f.secret = 0 AND EXISTS (SELECT 1 FROM cat_confidences c JOIN cat_documents d "
            "ON d.objid = c.objid AND d.doc_id = c.doc_id WHERE c.objid = f.objid AND d.device_id = f.device_id "
            "AND d.seq = f.seq AND d.member = f.member) "
            "AND NOT EXISTS (SELECT 1 FROM web_documents d WHERE d.file_code = w.file_code "
            "AND d.fields LIKE ?) ORDER BY f.seq, f.device_id, f.member LIMIT ?",
            ('%"threshold"%', BATCH)).fetchall()


def _confidences(db, objid: str) -> dict:
    """``{doc_id: {column: (confidence, threshold, reviewed)}}`` of a package, the latest sidecar winning."""
    out: dict = {}
    for r in db.execute("SELECT doc_id, field, confidence, threshold, reviewed FROM cat_confidences "
                        "WHERE objid=? ORDER BY seq, device_id", (objid,)).fetchall():
        out.setdefault(r["doc_id"], {})[snake(r["field"])] = (r["confidence"] / 1000, r["threshold"] / 1000,
                                                               bool(r["reviewed"]))
    return out


def _value(value, conf: tuple | None) -> dict:
    if conf is None:
        return {"value": value, "confidence": None}
    return {"value": value, "confidence": conf[0], "threshold": conf[1], "reviewed": conf[2]}


def _feed_one(state, f) -> None:
    key = (f["device_id"], f["seq"], f["member"])
    if f["secret"]:
        add_record(state, file_code=f["file_code"], device_id=f["device_id"], mode="03", title="", fields={},
                   documents=[Document(n, {}) for n in range(1, int(f["documents"]) + 1)], pages=int(f["pages"]),
                   source=_source(f))
        return
    with state.tx() as db:
        docs = db.execute("SELECT * FROM cat_documents WHERE device_id=? AND seq=? AND member=? ORDER BY doc_id",
                          key).fetchall()
        conf = _confidences(db, f["objid"])
        text = db.execute("SELECT text FROM cat_text WHERE device_id=? AND seq=? AND member=? ORDER BY doc_id, page",
                          key).fetchall()
    fields = {name: f[name] for name in FILE_FIELDS if f[name] not in (None, "")}
    fields["agency"] = f["agency"] or ""
    # a field is shown when it has a value, or a confidence (an empty value the station was sure or unsure of)
    documents = [Document(n, {name: _value(d[name] or "", conf.get(d["doc_id"], {}).get(name)) for name in DOC_FIELDS
                              if d[name] not in (None, "") or name in conf.get(d["doc_id"], {})},
                          pdf_key=d["pdf_key"])
                 for n, d in enumerate(docs, 1)]
    first = docs[0] if docs else None
    fields.setdefault("doc_type", (first["type_name"] if first else "") or "")
    fields.setdefault("issuer", (first["organ_name"] if first else "") or "")
    add_record(state, file_code=f["file_code"], device_id=f["device_id"], mode=f["mode"] or "01",
               title=f["title"] or "", fields=fields, documents=documents, pages=int(f["pages"]),
               ocr_text=" ".join(t["text"] for t in text), source=_source(f))
