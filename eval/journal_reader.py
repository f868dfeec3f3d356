"""Everything the harness reads from the station's journal (SQLite), in one place.

The journal's schema belongs to the station and may change; this module is the
only one that knows it (tables ``jobs``, ``pages``, ``rec_files``, ``rec_pages``,
``rec_docs``, ``rec_ocr``, ``batches``, ``batch_members`` as of journal schema 3,
docs/design.md §2 and §6.7). It opens the file read-only after the station has
stopped and returns plain dicts.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path


def _rows(db: sqlite3.Connection, sql: str, args: tuple = ()) -> list[dict]:
    try:
        return [dict(r) for r in db.execute(sql, args)]
    except sqlite3.OperationalError:
        return []  # a table the station has not created (e.g. records disabled)


def _ocr_lines(result: str) -> list[str] | None:
    if not result:
        return None
    data = json.loads(result)
    lines: list[str] = []
    cur, cur_line = [], None
    for word in data.get("words", []):
        text, line = word[0], word[6]
        if cur_line is not None and line != cur_line:
            lines.append(" ".join(cur))
            cur = []
        cur.append(text)
        cur_line = line
    if cur:
        lines.append(" ".join(cur))
    return lines


def read(state_dir: Path) -> dict:
    """Pages (with their hot-folder file and analysis), record files, documents and OCR text."""
    path = Path(state_dir) / "journal.sqlite3"
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    try:
        jobs = {r["id"]: r for r in _rows(db, "SELECT id, source, state, message FROM jobs")}
        pages = []
        for r in _rows(db, "SELECT id, job_id, seq, state, width, height, dpi, channels, colour_path, analysis, "
                           "error, captured_at, processed_at FROM pages ORDER BY id"):
            source = jobs.get(r["job_id"], {}).get("source", "")
            name = source.partition(":")[2].rpartition("#")[0] if source.startswith("hotfolder:") else ""
            r["file"] = name
            r["analysis"] = json.loads(r["analysis"]) if r["analysis"] else None
            pages.append(r)
        documented = {r["page_id"]: r["at"] for r in _rows(
            db, "SELECT page_id, MIN(at) AS at FROM page_events WHERE state='documented' GROUP BY page_id")}
        for r in pages:
            r["documented_at"] = documented.get(r["id"])
        roles = {r["page_id"]: r for r in _rows(db, "SELECT page_id, role, file_id, doc_seq, detail FROM rec_pages")}
        files = []
        for r in _rows(db, "SELECT id, file_code, cover, state, hold_code, hold_message, package, cover_page_id "
                           "FROM rec_files ORDER BY id"):
            r["cover"] = json.loads(r["cover"] or "{}")
            r["docs"] = []
            for d in _rows(db, "SELECT seq, fields, confidence, needs FROM rec_docs WHERE file_id=? ORDER BY seq",
                           (r["id"],)):
                r["docs"].append({"seq": d["seq"], "fields": json.loads(d["fields"]),
                                  "confidence": json.loads(d["confidence"]), "needs": json.loads(d["needs"])})
            r["package_path"] = None
            if r["package"]:
                row = _rows(db, "SELECT b.dir AS dir FROM batch_members m JOIN batches b ON b.id=m.batch_id "
                                "WHERE m.name=?", (r["package"],))
                if row:
                    r["package_path"] = str(Path(state_dir) / row[0]["dir"] / r["package"])
            files.append(r)
        ocr = {r["page_id"]: {"lines": _ocr_lines(r["result"]), "error": r["error"], "seconds": r["seconds"]}
               for r in _rows(db, "SELECT page_id, result, error, seconds FROM rec_ocr")}
        events = _rows(db, "SELECT at, level, code, message, page_id FROM events WHERE level!='info' ORDER BY id")
        last_event = _rows(db, "SELECT MAX(at) AS last FROM page_events")
    finally:
        db.close()
    return {"pages": pages, "roles": roles, "files": files, "ocr": ocr, "events": events,
            "last_page_event": last_event[0]["last"] if last_event else None}
