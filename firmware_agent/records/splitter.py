"""Assign processed pages to record files and documents (rules S1-S6, design §6.2).

One decision per page, written in one transaction with the record file it
changes; the journal's page state moves to ``documented`` afterwards, and a
page already in ``rec_pages`` is never assigned twice (a crash between the two
writes only repeats the state change).
"""

from __future__ import annotations

import datetime as dt
import json
import time

from records.coversheet import SheetDetection
from firmware_agent.messages import CATALOGUE
from firmware_agent.records.store import HOLD_MESSAGES, RecordStore


def _pending(code: str, detail: str = "") -> tuple[str, str]:
    return code, HOLD_MESSAGES[code] + (f": {detail}" if detail else "")


def _page(page_id: int) -> str:
    return CATALOGUE["records.hold.page"].format(page=page_id).text


class Splitter:
    def __init__(self, store: RecordStore, *, separator: str, pages_per_document: int, documents_per_file: int,
                 agency: str, min_dpi: int):
        self.store = store
        self.separator = separator
        self.pages_per_document = pages_per_document
        self.documents_per_file = documents_per_file
        self.agency = agency
        self.min_dpi = min_dpi

    # ------------------------------------------------------------------ helpers (inside a transaction)
    @staticmethod
    def _open(db):
        return db.execute("SELECT * FROM rec_files WHERE state='open' ORDER BY id DESC LIMIT 1").fetchone()

    @staticmethod
    def _new_file(db, cover: dict, file_code: str | None, hold: tuple[str, str] = ("", ""),
                  cover_page: int | None = None, hold_pages: tuple[int, ...] = ()) -> int:
        now = time.time()
        cur = db.execute(
            "INSERT INTO rec_files(file_code, cover, state, hold_code, hold_message, cover_page_id, new_doc,"
            " created_at, updated_at, hold_pages) VALUES (?,?,?,?,?,?,1,?,?,?)",
            (file_code, json.dumps(cover, ensure_ascii=False), "open", hold[0], hold[1], cover_page, now, now,
             json.dumps(list(hold_pages))))
        return int(cur.lastrowid)

    @staticmethod
    def _hold_page(db, file_id: int, code: str, detail: str, page_id: int) -> None:
        """Hold an open record file for *page_id* (its first reason stays; the page is always listed)."""
        r = db.execute("SELECT hold_code, hold_pages FROM rec_files WHERE id=?", (file_id,)).fetchone()
        pages = json.loads(r["hold_pages"] or "[]") + [page_id]
        if not r["hold_code"]:
            db.execute("UPDATE rec_files SET hold_code=?, hold_message=? WHERE id=?",
                       (code, _pending(code, detail)[1], file_id))
        db.execute("UPDATE rec_files SET hold_pages=? WHERE id=?", (json.dumps(pages), file_id))

    @staticmethod
    def close_in(db, file_id: int) -> str:
        """open -> closed (or empty when it holds no content page)."""
        has_content = db.execute("SELECT 1 FROM rec_pages WHERE file_id=? AND role='content' LIMIT 1",
                                 (file_id,)).fetchone()
        state = "closed" if has_content else "empty"
        db.execute("UPDATE rec_files SET state=?, updated_at=? WHERE id=? AND state='open'",
                   (state, time.time(), file_id))
        return state

    def _generated_file(self, db) -> int:
        # page-count / blank-sheet modes: agency + year + running number
        n = int(db.execute("SELECT COUNT(*) FROM rec_files").fetchone()[0]) + 1
        year = dt.date.today().year
        code = f"{self.agency}.{year}.{n}"
        while db.execute("SELECT 1 FROM rec_files WHERE file_code=?", (code,)).fetchone():
            n += 1
            code = f"{self.agency}.{year}.{n}"
        cover = {"file_code": code, "paper_file_code": code, "title": "", "maintenance": "01", "mode": "01",
                 "note": f"separator={self.separator}"}
        return self._new_file(db, cover, code)

    # ------------------------------------------------------------------ the decision
    def assign(self, page_id: int, dpi: int, det: SheetDetection, blank: bool) -> str:
        """Record where page *page_id* goes; returns its role. Idempotent per page."""
        existing = self.store.page_role(page_id)
        if existing is not None:
            return existing
        with self.store.tx() as db:
            if db.execute("SELECT 1 FROM rec_pages WHERE page_id=?", (page_id,)).fetchone():
                return "content"
            role = det.kind if det.kind in ("cover", "damaged", "damaged_patch", "patch") else \
                ("blank" if blank else "content")
            cur = self._open(db)
            doc_seq = 0
            if role == "cover":
                sheet = det.sheet.to_dict()
                code = sheet["file_code"]
                twice = cur is not None and not db.execute(
                    "SELECT 1 FROM rec_pages WHERE file_id=? AND role IN ('content') LIMIT 1", (cur["id"],)).fetchone()
                if cur is not None:
                    self.close_in(db, cur["id"])
                used = db.execute("SELECT 1 FROM rec_files WHERE file_code=? AND state!='empty'", (code,)).fetchone()
                if used:
                    file_id = self._new_file(db, sheet, None, _pending("filecode_used", code), page_id)
                elif twice and cur["cover_page_id"] is not None:
                    file_id = self._new_file(db, sheet, code, _pending("coversheet_twice"), page_id)
                else:
                    file_id = self._new_file(db, sheet, code, cover_page=page_id)
            elif role == "damaged":
                # S1: a cover look-alike opens a record file of its own, held; never content of the last one
                if cur is not None:
                    self.close_in(db, cur["id"])
                file_id = self._new_file(db, {}, None,
                                         _pending("coversheet_damaged", f"{_page(page_id)}, {det.reason}"),
                                         page_id, hold_pages=(page_id,))
            else:
                if cur is None:
                    if self.separator == "coversheet":
                        file_id = self._new_file(db, {}, None, _pending("no_coversheet"))
                    else:
                        file_id = self._generated_file(db)
                    cur = db.execute("SELECT * FROM rec_files WHERE id=?", (file_id,)).fetchone()
                file_id = cur["id"]
                new_doc = bool(cur["new_doc"])
                if role == "damaged_patch":
                    # S5: a PATCHT look-alike ends the document as a PATCHT would, and holds the file
                    self._hold_page(db, file_id, "separator_damaged", f"{_page(page_id)}, {det.reason}", page_id)
                if role in ("patch", "damaged_patch") or (role == "blank" and self.separator == "blank-sheet"):
                    new_doc = True
                elif role == "content":
                    last = db.execute("SELECT COALESCE(MAX(doc_seq),0) FROM rec_pages WHERE file_id=?",
                                      (file_id,)).fetchone()[0]
                    if self.separator == "page-count" and last:
                        in_doc = db.execute("SELECT COUNT(*) FROM rec_pages WHERE file_id=? AND doc_seq=?",
                                            (file_id, last)).fetchone()[0]
                        new_doc = new_doc or in_doc >= self.pages_per_document
                    if (new_doc or not last) and last >= self.documents_per_file and self.separator != "coversheet":
                        self.close_in(db, file_id)
                        file_id = self._generated_file(db)
                        last = 0
                    doc_seq = last + 1 if (new_doc or not last) else last
                    new_doc = False
                    if dpi < self.min_dpi:
                        db.execute("UPDATE rec_files SET hold_code='low_dpi', hold_message=? WHERE id=? AND "
                                   "hold_code=''", (_pending("low_dpi", f"{dpi} dpi < {self.min_dpi}")[1], file_id))
                db.execute("UPDATE rec_files SET new_doc=?, updated_at=? WHERE id=?",
                           (int(new_doc), time.time(), file_id))
            db.execute("INSERT INTO rec_pages(page_id, role, file_id, doc_seq, detail) VALUES (?,?,?,?,?)",
                       (page_id, role, file_id, doc_seq, det.reason))
        return role

    def close_open(self, idle_s: float | None = None) -> list[int]:
        """Close the open record file (if it has been idle *idle_s* seconds, when given)."""
        closed = []
        with self.store.tx() as db:
            # S6: never while a page is captured or processed but not yet assigned: it may be the
            # open record file's. Checked in the transaction that closes, so no page slips in between.
            if db.execute("SELECT 1 FROM pages WHERE state IN ('captured', 'processed') LIMIT 1").fetchone():
                return closed
            cur = self._open(db)
            if cur is not None and (idle_s is None or time.time() - cur["updated_at"] >= idle_s):
                self.close_in(db, cur["id"])
                closed.append(cur["id"])
        return closed
