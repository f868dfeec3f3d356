"""Record files as the web lists, searches and shows them (design §5.15, A03).

Rows of ``web_records``/``web_documents`` are written by :func:`add_record`
(from the ingest catalogue by :mod:`central.web.catalogue_feed`, or directly). A secret (mode 03) record file
keeps its code, mode, device and counts only: no title, fields or text is
stored here, so no search or page can show them.

Search (:mod:`central.web.search`) runs on the unaccented, lower-cased text
(:func:`unaccent`): SQLite's FTS5 table ``web_records_fts``, PostgreSQL's stored
``to_tsvector('simple', …)`` with a GIN index, and a trigram index for partial file codes.
"""

from __future__ import annotations

import json
import time
import unicodedata
from dataclasses import dataclass

SECRET = "03"
MODES = ("01", "02", "03")
_D_BAR = chr(0x111)  # the one Vietnamese letter NFD does not split into a base and a mark


def unaccent(text: str) -> str:
    """Lower case without Vietnamese marks: 'Quyết định' -> 'quyet dinh' (đ -> d)."""
    text = text.lower().replace(_D_BAR, "d")
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


@dataclass(frozen=True)
class Document:
    n: int
    fields: dict           # name -> {"value": ..., "confidence": float|None}
    pdf_key: str = ""


def add_record(state, *, file_code: str, device_id: str, mode: str, title: str, fields: dict,
               documents: list[Document], pages: int = 0, ocr_text: str = "", source: str = "",
               now: float | None = None) -> None:
    """Insert or replace one record file (idempotent by file code)."""
    if mode not in MODES:
        raise ValueError(f"mode {mode!r} is not 01, 02 or 03")
    secret = mode == SECRET
    # A secret record file is indexed by its code alone: the code is listed anyway (A03), its words never.
    text = unaccent(file_code) if secret else unaccent(" ".join([file_code, title, *_values(fields),
                                                                  *(v for d in documents for v in _values(d.fields)),
                                                                  ocr_text]))
    row = (file_code, device_id, mode, "" if secret else title,
           "" if secret else str(fields.get("doc_type", "")), "" if secret else str(fields.get("issuer", "")),
           "" if secret else str(fields.get("start_date", "")), "" if secret else str(fields.get("end_date", "")),
           len(documents), pages, "{}" if secret else json.dumps(fields, ensure_ascii=False), text, source,
           time.time() if now is None else now)
    with state.tx() as db:
        db.execute("DELETE FROM web_records WHERE file_code=?", (file_code,))
        db.execute("DELETE FROM web_documents WHERE file_code=?", (file_code,))
        db.execute("INSERT INTO web_records(file_code, device_id, mode, title, doc_type, issuer, start_date, "
                   "end_date, documents, pages, fields, search_text, source, added_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                   row)
        for d in documents:
            db.execute("INSERT INTO web_documents(file_code, n, fields, pdf_key) VALUES (?,?,?,?)",
                       (file_code, d.n, "{}" if secret else json.dumps(d.fields, ensure_ascii=False),
                        "" if secret else d.pdf_key))
        if state.backend == "sqlite":
            db.execute("DELETE FROM web_records_fts WHERE file_code=?", (file_code,))
            db.execute("INSERT INTO web_records_fts(file_code, body) VALUES (?,?)", (file_code, text))


def _values(fields: dict) -> list[str]:
    """The values of *fields* as the index takes them: a document's field is ``{"value", "confidence", …}``,
    and neither the keys nor the figures are words of the record file."""
    out = []
    for value in fields.values():
        if isinstance(value, dict):
            value = value.get("value", "")
        if value not in (None, ""):
            out.append(str(value))
    return out


def get_record(state, file_code: str) -> dict | None:
    with state.tx() as db:
        row = db.execute("SELECT r.*, s.commune, s.district, s.province FROM web_records r "
                         "LEFT JOIN stations s ON s.device_id=r.device_id WHERE r.file_code=?",
                         (file_code,)).fetchone()
        if row is None:
            return None
        docs = db.execute("SELECT n, fields, pdf_key FROM web_documents WHERE file_code=? ORDER BY n",
                          (file_code,)).fetchall()
    rec = dict(row)
    rec.pop("search_text", None)
    rec["fields"] = json.loads(rec["fields"])
    rec["document_list"] = [{"n": d["n"], "fields": json.loads(d["fields"]), "pdf_key": d["pdf_key"]} for d in docs]
    return rec


def counts_by_mode(state) -> dict[str, int]:
    with state.tx() as db:
        rows = db.execute("SELECT mode, COUNT(*) AS n FROM web_records GROUP BY mode").fetchall()
    return {r["mode"]: r["n"] for r in rows}
