"""The catalogue's rows (design 5.13): written in the batch's one commit (Q4), read by export and search.

Table and column names are those of migration 0003; the EAD columns come from
:data:`central.catalogue_read.FILE_COLUMNS` and ``DOC_COLUMNS``, the element
names in snake case.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass, field

from central.catalogue_objects import package_name, pdf_name
from central.catalogue_read import DOC_COLUMNS, FILE_COLUMNS, Package
from central.state_sql import Db
from records.confidence_sidecar import Confidences
from sync.canon import canonical


@dataclass
class BatchRows:
    """Everything one batch adds to the catalogue, gathered while it is unpacked (Q3)."""

    device_id: str
    seq: int
    batch: str
    log_idx: int
    manifest: dict
    received: int
    packages: list[Package] = field(default_factory=list)
    warnings: list[tuple[str | None, str, str]] = field(default_factory=list)  # (member, code, detail)
    confidences: list[tuple[str, Confidences]] = field(default_factory=list)  # (member, sidecar of formats 6.7)


def batch_warnings(manifest: dict, packages: list[Package]) -> list[tuple[str | None, str, str]]:
    """Batch-wide warnings: the climate summary's alerts and out-of-band sensors, counts that differ."""
    out: list[tuple[str | None, str, str]] = []
    climate = manifest.get("climate")
    if isinstance(climate, dict):
        for a in climate.get("alerts") or []:
            if isinstance(a, dict):
                out.append((None, "climate_alert", f"{a.get('kind')} {a.get('sensor')}: {a.get('message')}"))
        for s in climate.get("sensors") or []:
            pct = s.get("out_of_band_pct") if isinstance(s, dict) else None
            try:
                value = float(pct) if pct is not None else 0.0
            except (TypeError, ValueError):
                value = 0.0
            if value > 0:
                out.append((None, "climate_out_of_band", f"{s.get('id')}: {pct} % of the period"))
    if packages:
        pages = sum(p.pages for p in packages)
        docs = sum(p.documents for p in packages)
        if (pages, docs) != (manifest.get("pages"), manifest.get("documents")):
            out.append((None, "counts_differ", f"manifest {manifest.get('pages')} pages, "
                                               f"{manifest.get('documents')} documents; packages {pages} pages, "
                                               f"{docs} documents"))
    return out


def insert_batch(db: Db, rows: BatchRows) -> None:
    """Every catalogue row of one batch, in the caller's transaction (Q4)."""
    m = rows.manifest
    climate = m.get("climate")
    d, s = rows.device_id, rows.seq
    db.execute("INSERT INTO cat_batches(device_id, seq, batch, log_idx, version, created, received, pages, "
               "documents, packages, climate, ingested_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
               (d, s, rows.batch, rows.log_idx, m["v"], m["created"], rows.received, m["pages"], m["documents"],
                len(rows.packages), None if climate is None else canonical(climate).decode("utf-8"),
                time.time()))
    file_cols = ("device_id", "seq", "member", "objid", "secret", "agency", "package_key", "package_sha256",
                 "package_size", "documents", "pages") + FILE_COLUMNS
    doc_cols = ("device_id", "seq", "member", "objid", "pdf_key", "pdf_sha256", "pdf_size", "pages") + DOC_COLUMNS
    file_sql = f"INSERT INTO cat_files({', '.join(file_cols)}) VALUES ({','.join('?' * len(file_cols))})"
    doc_sql = f"INSERT INTO cat_documents({', '.join(doc_cols)}) VALUES ({','.join('?' * len(doc_cols))})"
    for p in rows.packages:
        db.execute(file_sql, (d, s, p.member, p.objid, int(p.secret), p.agency, package_name(d, s, p.member),
                              p.sha256, p.size, p.documents, p.pages) + tuple(p.file[c] for c in FILE_COLUMNS))
        for doc in p.docs:
            db.execute(doc_sql, (d, s, p.member, p.objid, pdf_name(d, s, p.objid, doc.doc_id), doc.sha256,
                                 doc.size, doc.pages) + tuple(doc.fields[c] for c in DOC_COLUMNS))
            for n, text in enumerate(doc.texts, 1):
                db.execute("INSERT INTO cat_text(device_id, seq, member, doc_id, page, text) VALUES (?,?,?,?,?,?)",
                           (d, s, p.member, doc.doc_id, n, text))
    for member, conf in rows.confidences:
        for doc_id, values in conf.documents.items():
            for name, (c, t) in values.items():
                db.execute("INSERT INTO cat_confidences(device_id, seq, member, objid, doc_id, field, confidence, "
                           "threshold, reviewed) VALUES (?,?,?,?,?,?,?,?,?)",
                           (d, s, member, conf.objid, doc_id, name, c, t, int(conf.reviewed.get(doc_id, False))))
    for n, (member, code, detail) in enumerate(rows.warnings, 1):
        db.execute("INSERT INTO cat_warnings(device_id, seq, n, member, code, detail) VALUES (?,?,?,?,?,?)",
                   (d, s, n, member, code, detail[:2000]))


# ------------------------------------------------------------------ reading (export, tests, search)
def select_files(state, *, file_code: str | None = None, batch: tuple[str, int] | None = None,
                 since: dt.date | None = None) -> list:
    """Catalogued packages of one record file, one batch, or the batches received since a day (UTC)."""
    base = ("SELECT f.device_id, f.seq, f.member, f.objid, f.secret, f.file_code, f.package_key, "
            "f.package_sha256, f.package_size, f.documents, f.pages FROM cat_files f "
            "JOIN cat_batches b ON b.device_id = f.device_id AND b.seq = f.seq WHERE ")
    order = " ORDER BY f.device_id, f.seq, f.member"
    if file_code is not None:
        return state._all(base + "f.file_code = ?" + order, (file_code,))
    if batch is not None:
        return state._all(base + "f.device_id = ? AND f.seq = ?" + order, batch)
    if since is not None:
        start = int(dt.datetime.combine(since, dt.time(0), dt.timezone.utc).timestamp())
        return state._all(base + "b.received >= ?" + order, (start,))
    raise ValueError("choose a record file, a batch or a day")


def table_counts(state) -> dict[str, int]:
    """Rows per catalogue table."""
    return {t: state._all(f"SELECT COUNT(*) AS n FROM {t}")[0]["n"]
            for t in ("cat_batches", "cat_files", "cat_documents", "cat_text", "cat_warnings", "cat_confidences")}


def log_received(state, log_idx: int) -> int:
    """The ``received`` time of a log leaf (5.9), from the receipt stored with it."""
    row = state._all("SELECT receipt FROM log WHERE idx=?", (log_idx,))[0]
    return int(json.loads(row["receipt"])["leaf"]["received"])
