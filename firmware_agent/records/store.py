"""The records tables in the journal's SQLite file (docs/design.md §6.7).

Each public method is one transaction, so every pipeline step writes its
result together with its state change and can be repeated after a crash.
A secret record file's text leaves these tables once its package is staged
(:meth:`RecordStore.scrub_secret`, design §6.6 C3).
"""

from __future__ import annotations

import json
import time
import types
from dataclasses import dataclass

from firmware_agent.journal import Journal, open_db
from firmware_agent.messages import CATALOGUE

SCHEMA = """
CREATE TABLE IF NOT EXISTS rec_files(
    id            INTEGER PRIMARY KEY,
    file_code     TEXT,                    -- NULL until known (damaged cover sheet)
    cover         TEXT NOT NULL,           -- JSON of the cover-sheet fields, '{}' without one
    state         TEXT NOT NULL,           -- open -> closed -> held|ready -> packaged (or empty)
    hold_code     TEXT NOT NULL DEFAULT '',
    hold_message  TEXT NOT NULL DEFAULT '',
    cover_page_id INTEGER,
    new_doc       INTEGER NOT NULL DEFAULT 1, -- the next content page starts a document
    package       TEXT,                    -- batch member name once staged
    created_at    REAL NOT NULL,
    updated_at    REAL NOT NULL,
    scrubbed_at   REAL,                    -- secret (mode 03): every clear trace removed (design §6.6)
    hold_pages    TEXT NOT NULL DEFAULT '[]' -- JSON list of the page ids a hold is about (design §6.7)
);
CREATE UNIQUE INDEX IF NOT EXISTS rec_files_code ON rec_files(file_code) WHERE state NOT IN ('empty');
CREATE TABLE IF NOT EXISTS rec_pages(
    page_id  INTEGER PRIMARY KEY,
    role     TEXT NOT NULL,                -- cover, damaged, damaged_patch, patch, blank, content
    file_id  INTEGER NOT NULL REFERENCES rec_files(id),
    doc_seq  INTEGER NOT NULL DEFAULT 0,   -- 1-based document in the file; 0 = not in a document
    detail   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS rec_pages_file ON rec_pages(file_id, doc_seq, page_id);
CREATE TABLE IF NOT EXISTS rec_ocr(
    page_id  INTEGER PRIMARY KEY,
    result   TEXT NOT NULL,                -- OcrResult JSON (words with boxes), or '' after failure
    error    TEXT NOT NULL DEFAULT '',
    seconds  REAL NOT NULL DEFAULT 0,
    rss_kb   INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS rec_docs(
    file_id    INTEGER NOT NULL REFERENCES rec_files(id),
    seq        INTEGER NOT NULL,
    fields     TEXT NOT NULL,              -- extracted values (EAD_DOC names)
    confidence TEXT NOT NULL,
    needs      TEXT NOT NULL,              -- JSON list of fields below threshold
    boxes      TEXT NOT NULL DEFAULT '{}', -- JSON: field -> [page id, x0, y0, x1, y1] of its words
    PRIMARY KEY (file_id, seq)
);
"""

# Hold code -> "vi / en" (the words are the catalogue's records.hold.* messages).
HOLD_MESSAGES = types.MappingProxyType({
    "coversheet_damaged": CATALOGUE["records.hold.coversheet_damaged"].text,
    "coversheet_twice": CATALOGUE["records.hold.coversheet_twice"].text,
    "separator_damaged": CATALOGUE["records.hold.separator_damaged"].text,
    "secret_stamp": CATALOGUE["records.hold.secret_stamp"].text,
    "filecode_used": CATALOGUE["records.hold.filecode_used"].text,
    "no_coversheet": CATALOGUE["records.hold.no_coversheet"].text,
    "needs_confirmation": CATALOGUE["records.hold.needs_confirmation"].text,
    "no_secret_key": CATALOGUE["records.hold.no_secret_key"].text,
    "low_dpi": CATALOGUE["records.hold.low_dpi"].text,
    "ocr_failed": CATALOGUE["records.hold.ocr_failed"].text,
    "build_failed": CATALOGUE["records.hold.build_failed"].text,
    "separator_moved": CATALOGUE["records.hold.separator_moved"].text,
})


@dataclass(frozen=True)
class FileRow:
    id: int
    file_code: str | None
    cover: dict
    state: str
    hold_code: str
    hold_message: str
    new_doc: bool
    package: str | None
    updated_at: float
    scrubbed_at: float | None = None
    hold_pages: tuple[int, ...] = ()


class RecordStore:
    def __init__(self, journal: Journal):
        self.journal = journal
        conn = open_db(journal.path)
        try:
            conn.executescript(SCHEMA)
            columns = {r["name"] for r in conn.execute("PRAGMA table_info(rec_files)")}
            if "scrubbed_at" not in columns:  # journals from before secret records were scrubbed
                conn.execute("ALTER TABLE rec_files ADD COLUMN scrubbed_at REAL")
            if "hold_pages" not in columns:  # journals from before holds named their pages
                conn.execute("ALTER TABLE rec_files ADD COLUMN hold_pages TEXT NOT NULL DEFAULT '[]'")
            if "boxes" not in {r["name"] for r in conn.execute("PRAGMA table_info(rec_docs)")}:
                conn.execute("ALTER TABLE rec_docs ADD COLUMN boxes TEXT NOT NULL DEFAULT '{}'")
        finally:
            conn.close()

    def tx(self):
        return self.journal.transaction()

    # ----------------------------------------------------------------- files
    @staticmethod
    def _file(r) -> FileRow:
        return FileRow(r["id"], r["file_code"], json.loads(r["cover"]), r["state"], r["hold_code"],
                       r["hold_message"], bool(r["new_doc"]), r["package"], r["updated_at"], r["scrubbed_at"],
                       tuple(json.loads(r["hold_pages"] or "[]")))

    def files(self, *states: str) -> list[FileRow]:
        with self.tx() as db:
            q = "SELECT * FROM rec_files" + (f" WHERE state IN ({','.join('?' * len(states))})" if states else "")
            return [self._file(r) for r in db.execute(q + " ORDER BY id", states)]

    def file(self, file_id: int) -> FileRow | None:
        with self.tx() as db:
            r = db.execute("SELECT * FROM rec_files WHERE id=?", (file_id,)).fetchone()
            return self._file(r) if r else None

    def set_state(self, file_id: int, state: str, hold_code: str = "", detail: str = "",
                  expect: tuple[str, ...] = (), pages: tuple[int, ...] | None = None) -> bool:
        """Move a record file to *state* (with a hold reason); *pages* replaces its ``hold_pages`` when given."""
        msg = ""
        if hold_code:
            msg = HOLD_MESSAGES.get(hold_code, hold_code) + (f": {detail}" if detail else "")
        with self.tx() as db:
            q = "UPDATE rec_files SET state=?, hold_code=?, hold_message=?, updated_at=?"
            args: tuple = (state, hold_code, msg, time.time())
            if pages is not None:
                q += ", hold_pages=?"
                args += (json.dumps(list(pages)),)
            q += " WHERE id=?"
            args += (file_id,)
            if expect:
                q += f" AND state IN ({','.join('?' * len(expect))})"
                args += expect
            return db.execute(q, args).rowcount > 0

    @staticmethod
    def mark_packaged(db, file_id: int, name: str) -> None:
        """ready -> packaged under member *name*, inside the caller's transaction (the batch member's)."""
        db.execute("UPDATE rec_files SET package=?, state='packaged', updated_at=? WHERE id=? AND state='ready'",
                   (name, time.time(), file_id))

    def update_cover(self, file_id: int, cover: dict) -> None:
        with self.tx() as db:
            db.execute("UPDATE rec_files SET cover=?, file_code=?, updated_at=? WHERE id=?",
                       (json.dumps(cover, ensure_ascii=False), cover["file_code"], time.time(), file_id))

    # ----------------------------------------------------------------- pages
    def page_role(self, page_id: int) -> str | None:
        with self.tx() as db:
            r = db.execute("SELECT role FROM rec_pages WHERE page_id=?", (page_id,)).fetchone()
            return r[0] if r else None

    def pages_of(self, file_id: int) -> list[tuple[int, str, int]]:
        """(page_id, role, doc_seq) of a record file in page order."""
        with self.tx() as db:
            return [(r[0], r[1], r[2]) for r in db.execute(
                "SELECT page_id, role, doc_seq FROM rec_pages WHERE file_id=? ORDER BY page_id", (file_id,))]

    def pages_needing_ocr(self, limit: int) -> list[int]:
        with self.tx() as db:
            return [r[0] for r in db.execute(
                "SELECT p.page_id FROM rec_pages p JOIN rec_files f ON f.id=p.file_id "
                "LEFT JOIN rec_ocr o ON o.page_id=p.page_id WHERE p.role='content' AND o.page_id IS NULL "
                "AND f.state NOT IN ('packaged','empty') ORDER BY p.page_id LIMIT ?", (limit,))]

    def ocr_backlog(self) -> int:
        with self.tx() as db:
            return int(db.execute(
                "SELECT COUNT(*) FROM rec_pages p JOIN rec_files f ON f.id=p.file_id LEFT JOIN rec_ocr o "
                "ON o.page_id=p.page_id WHERE p.role='content' AND o.page_id IS NULL "
                "AND f.state NOT IN ('packaged','empty')").fetchone()[0])

    def save_ocr(self, page_id: int, result: dict | None, error: str = "", seconds: float = 0.0,
                 rss_kb: int = 0) -> None:
        with self.tx() as db:
            db.execute("INSERT OR REPLACE INTO rec_ocr VALUES (?,?,?,?,?)",
                       (page_id, json.dumps(result, ensure_ascii=False) if result else "", error, seconds, rss_kb))

    def ocr(self, page_id: int) -> tuple[dict | None, str]:
        with self.tx() as db:
            r = db.execute("SELECT result, error FROM rec_ocr WHERE page_id=?", (page_id,)).fetchone()
        if r is None:
            return None, ""
        return (json.loads(r[0]) if r[0] else None), r[1]

    def ocr_stats(self) -> tuple[int, float, int]:
        with self.tx() as db:
            r = db.execute("SELECT COUNT(*), COALESCE(SUM(seconds),0), COALESCE(MAX(rss_kb),0) FROM rec_ocr "
                           "WHERE error=''").fetchone()
            return int(r[0]), float(r[1]), int(r[2])

    # ----------------------------------------------------------------- documents
    def save_doc(self, file_id: int, seq: int, fields: dict, confidence: dict, needs: list[str],
                 boxes: dict | None = None) -> None:
        with self.tx() as db:
            if boxes is None:  # a correction keeps the boxes the analysis found
                r = db.execute("SELECT boxes FROM rec_docs WHERE file_id=? AND seq=?", (file_id, seq)).fetchone()
                boxes = json.loads(r[0]) if r else {}
            db.execute("INSERT OR REPLACE INTO rec_docs(file_id, seq, fields, confidence, needs, boxes)"
                       " VALUES (?,?,?,?,?,?)",
                       (file_id, seq, json.dumps(fields, ensure_ascii=False), json.dumps(confidence),
                        json.dumps(needs), json.dumps(boxes)))

    def docs(self, file_id: int) -> list[dict]:
        with self.tx() as db:
            return [{"seq": r[0], "fields": json.loads(r[1]), "confidence": json.loads(r[2]),
                     "needs": json.loads(r[3]), "boxes": json.loads(r[4] or "{}")}
                    for r in db.execute("SELECT seq, fields, confidence, needs, boxes FROM rec_docs WHERE file_id=? "
                                        "ORDER BY seq", (file_id,))]

    # ----------------------------------------------------------------- secret record files (design §6.6)
    def secret_to_scrub(self) -> list[int]:
        """Packaged secret record files that may still have a clear trace somewhere (C5)."""
        with self.tx() as db:
            return [r[0] for r in db.execute(
                "SELECT id FROM rec_files WHERE state='packaged' AND scrubbed_at IS NULL"
                " AND json_extract(cover, '$.mode')='03' ORDER BY id")]

    def job_sources(self, page_ids: list[int]) -> list[str]:
        """The sources of the jobs that captured *page_ids* (``hotfolder:…`` or ``scanner:…``)."""
        if not page_ids:
            return []
        with self.tx() as db:
            marks = ",".join("?" * len(page_ids))
            return [r[0] for r in db.execute(
                f"SELECT DISTINCT j.source FROM jobs j JOIN pages p ON p.job_id=j.id WHERE p.id IN ({marks})"
                " ORDER BY j.id", tuple(page_ids))]

    def scrub_secret(self, file_id: int, page_ids: list[int], complete: bool) -> bool:
        """Remove a packaged secret record file's text from the journal (C3), in one transaction.

        Deletes the OCR of *page_ids* and the file's extracted fields, keeps of its
        cover only the fileCode and the mode, empties its hold reason, and sets
        ``scrubbed_at`` when *complete* (its page files and originals are gone too).
        Returns True when a row changed: the WAL then holds the old text until the
        next checkpoint (:meth:`checkpoint`).
        """
        changed = 0
        with self.tx() as db:
            r = db.execute("SELECT cover, hold_code, hold_message FROM rec_files WHERE id=?", (file_id,)).fetchone()
            if r is None:
                return False
            kept = json.dumps({"file_code": json.loads(r["cover"]).get("file_code"), "mode": "03"},
                              ensure_ascii=False)
            for pid in page_ids:
                changed += db.execute("DELETE FROM rec_ocr WHERE page_id=?", (pid,)).rowcount
            changed += db.execute("DELETE FROM rec_docs WHERE file_id=?", (file_id,)).rowcount
            if r["cover"] != kept or r["hold_code"] or r["hold_message"]:
                db.execute("UPDATE rec_files SET cover=?, hold_code='', hold_message='' WHERE id=?", (kept, file_id))
                changed += 1
            if complete:
                db.execute("UPDATE rec_files SET scrubbed_at=? WHERE id=? AND scrubbed_at IS NULL",
                           (time.time(), file_id))
        return changed > 0

    def checkpoint(self) -> bool:
        """Copy the WAL into the database file and cut it to zero bytes (C4); False if a reader kept it.

        With ``secure_delete`` on, the copied pages carry zeros where deleted text
        was, and the truncation drops the older WAL frames that still held it.
        """
        conn = open_db(self.journal.path)
        try:
            busy, _log, _done = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            conn.close()
        return busy == 0

    def counts(self) -> dict[str, int]:
        with self.tx() as db:
            return {r[0]: r[1] for r in db.execute("SELECT state, COUNT(*) FROM rec_files GROUP BY state")}
