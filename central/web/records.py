"""Record files as the web lists, searches and shows them (design §5.15, A03).

Rows of ``web_records``/``web_documents`` are written by :func:`add_record`
(from the ingest catalogue by :mod:`central.web.catalogue_feed`, or directly). A secret (mode 03) record file
keeps its code, mode, device and counts only: no title, fields or text is
stored here, so no search or page can show them.

Search runs on the unaccented, lower-cased text (:func:`unaccent`): SQLite's
FTS5 table ``web_records_fts``, PostgreSQL's stored ``to_tsvector('simple', …)``
with a GIN index, and a trigram index for partial file codes.
"""

from __future__ import annotations

import json
import re
import time
import unicodedata
from dataclasses import dataclass

SECRET = "03"
MODES = ("01", "02", "03")
_WORD = re.compile(r"[0-9a-z]+")
_CODE_LIKE = re.compile(r"[A-Za-z0-9._-]*[0-9][A-Za-z0-9._-]*")  # no space, a digit: maybe part of a file code
_DATE = re.compile(r"[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?")
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
    text = unaccent(file_code) if secret else unaccent(" ".join([file_code, title, json.dumps(fields, ensure_ascii=False),
                                                " ".join(json.dumps(d.fields, ensure_ascii=False)
                                                         for d in documents), ocr_text]))
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


def _fts_query(words: list[str]) -> str:
    # Each word a quoted term, the last one also a prefix (as typed so far): the user's text is never FTS5 syntax.
    return " ".join(f'"{w}"' for w in words[:-1]) + f' "{words[-1]}"*'


def _ts_query(words: list[str]) -> str:
    return " & ".join(words[:-1] + [f"{words[-1]}:*"])


def search(state, q: str, *, modes: tuple[str, ...] = MODES, commune: str = "", doc_type: str = "",
           since: str = "", until: str = "", limit: int = 50, offset: int = 0) -> tuple[int, list[dict]]:
    """``(total, rows)`` of record files matching every word of *q* (and the filters).

    A secret record file matches by its file code only (it has no text here). On
    SQLite a code matches by its parts (``2024.003`` finds ``H01.001.2024.003``);
    on PostgreSQL any part of it does (trigrams).
    """
    words = _WORD.findall(unaccent(q))[:12]
    where, params = ["r.mode IN (%s)" % ",".join("?" * len(modes))], list(modes)
    if commune:
        where.append("s.commune = ?")
        params.append(commune)
    if doc_type:
        where.append("r.doc_type = ?")
        params.append(doc_type)
    if _DATE.fullmatch(since):  # record files whose dates reach into [since, until]
        where.append("r.end_date <> '' AND r.end_date >= ? OR r.end_date = '' AND r.start_date >= ?")
        where[-1] = f"({where[-1]})"
        params += [since, since]
    if _DATE.fullmatch(until):
        where.append("r.start_date <> '' AND r.start_date <= ?")
        params.append(until + "~")  # a whole day: '2024-01-05T..' and '2024-01-05' both sort before it
    if words:
        if state.backend == "sqlite":
            # The file code is in the indexed text too (its parts are tokens), so one FTS5 match covers both.
            where.append("r.file_code IN (SELECT file_code FROM web_records_fts WHERE web_records_fts MATCH ?)")
            params.append(_fts_query(words))
        else:
            tsquery = _ts_query(words)
            if _CODE_LIKE.fullmatch(q.strip()):
                # A code, or part of one: the trigram index finds it anywhere in a file code. A UNION, so
                # each half uses its own index (an OR of the two makes the planner scan the table).
                code_like = "%" + q.strip().replace("_", "") + "%"
                where.append("r.file_code IN (SELECT file_code FROM web_records WHERE search_tsv @@ "
                             "to_tsquery('simple', ?) UNION SELECT file_code FROM web_records WHERE file_code ILIKE ?)")
                params += [tsquery, code_like]
            else:
                where.append("r.search_tsv @@ to_tsquery('simple', ?)")
                params.append(tsquery)
    base = ("FROM web_records r LEFT JOIN stations s ON s.device_id=r.device_id WHERE " + " AND ".join(where))
    with state.tx() as db:
        total = db.execute("SELECT COUNT(*) AS n " + base, tuple(params)).fetchone()["n"]
        rows = db.execute("SELECT r.file_code, r.title, r.mode, r.doc_type, r.issuer, r.start_date, r.end_date, "
                          "r.documents, r.pages, r.device_id, s.commune, s.province " + base +
                          " ORDER BY r.file_code LIMIT ? OFFSET ?", tuple(params) + (limit, offset)).fetchall()
    return total, [dict(r) for r in rows]


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
