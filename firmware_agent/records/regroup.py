"""Moving a separator from the page review: where documents and record files begin (design §3.2, R5-R8).

A technician says of a content page that it starts a new document, that it
does not (it continues the document before it), or that it starts a new
record file. The change is one journal transaction on ``rec_pages`` and
``rec_files``: the documents of each record file touched are renumbered from
their first pages, and a record file already analysed goes back to ``closed``
with its documents deleted, so the records task rebuilds them from the new
grouping (and holds it again for the reason it had). Only record files still
the station's to change (open, closed, held, empty) move; a ready or packaged
one is refused, since the package task may be building it at that moment.
"""

from __future__ import annotations

import json
import time

from firmware_agent.journal import Journal
from firmware_agent.messages import CATALOGUE
from firmware_agent.records.store import HOLD_MESSAGES

STARTS = ("document", "none", "file")
_CHANGEABLE = ("open", "closed", "held", "empty")


class SeparatorRefused(Exception):
    """A separator move that cannot take effect; carries the filled message and the HTTP status."""

    def __init__(self, message, status: int):
        super().__init__(message.text)
        self.message = message
        self.status = status


def _content(db, file_id: int) -> list[tuple[int, int]]:
    return [(r[0], r[1]) for r in db.execute(
        "SELECT page_id, doc_seq FROM rec_pages WHERE file_id=? AND role='content' ORDER BY page_id", (file_id,))]


def _firsts(content: list[tuple[int, int]]) -> set[int]:
    """The pages that begin a document: the first content page, and each whose document differs from the last."""
    return {pid for i, (pid, doc) in enumerate(content) if i == 0 or doc != content[i - 1][1]}


def _renumber(db, file_id: int, firsts: set[int]) -> None:
    n = 0
    for pid, _doc in _content(db, file_id):
        n += 1 if (pid in firsts or n == 0) else 0
        db.execute("UPDATE rec_pages SET doc_seq=? WHERE page_id=?", (n, pid))


def _rebuild(db, file_id: int) -> None:
    """An analysed record file goes back to ``closed`` without documents: the records task analyses it again."""
    state = db.execute("SELECT state FROM rec_files WHERE id=?", (file_id,)).fetchone()[0]
    db.execute("DELETE FROM rec_docs WHERE file_id=?", (file_id,))
    if state in ("closed", "held", "empty"):
        has = db.execute("SELECT 1 FROM rec_pages WHERE file_id=? AND role='content' LIMIT 1", (file_id,)).fetchone()
        db.execute("UPDATE rec_files SET state=?, updated_at=? WHERE id=?",
                   ("closed" if has else "empty", time.time(), file_id))
    else:
        db.execute("UPDATE rec_files SET updated_at=? WHERE id=?", (time.time(), file_id))


def move_separator(journal: Journal, page_id: int, starts: str) -> dict:
    """Make page *page_id* start a ``document``, a ``file``, or nothing (``none``); returns the filled message.

    Raises SeparatorRefused (400 bad value, 404 no page, 409 not placed yet, not a
    content page, record file ready or packaged, or a join that cannot be made).
    """
    if starts not in STARTS:
        raise SeparatorRefused(CATALOGUE["page.separator.bad_value"].format(starts=str(starts)[:40]), 400)
    rows = journal.read("SELECT job_id, seq FROM pages WHERE id=?", (page_id,))
    if not rows:
        raise SeparatorRefused(CATALOGUE["page.mark.no_page"].format(page=page_id), 404)
    job, seq = rows[0]["job_id"], rows[0]["seq"]
    with journal.transaction() as db:
        has_records = db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='rec_pages'").fetchone()
        rec = db.execute("SELECT role, file_id FROM rec_pages WHERE page_id=?", (page_id,)).fetchone() \
            if has_records else None
        if rec is None:
            raise SeparatorRefused(CATALOGUE["page.separator.not_placed"].format(seq=seq, job=job), 409)
        role, file_id = rec
        f = db.execute("SELECT * FROM rec_files WHERE id=?", (file_id,)).fetchone()
        if f["state"] not in _CHANGEABLE:
            raise SeparatorRefused(CATALOGUE["page.separator.too_late"].format(file=file_id), 409)
        if role != "content":
            raise SeparatorRefused(CATALOGUE["page.separator.not_content"].format(seq=seq, job=job), 409)
        content = _content(db, file_id)
        firsts = _firsts(content)
        first_of_file = content[0][0] == page_id
        if starts == "file" and first_of_file:
            msg = CATALOGUE["page.separator.already_first"].format(seq=seq, job=job, file=file_id)
        elif starts == "document":
            firsts.add(page_id)
            _renumber(db, file_id, firsts)
            _rebuild(db, file_id)
            msg = CATALOGUE["page.separator.document_started"].format(seq=seq, job=job, file=file_id)
        elif starts == "none" and not first_of_file:
            firsts.discard(page_id)
            _renumber(db, file_id, firsts)
            _rebuild(db, file_id)
            msg = CATALOGUE["page.separator.document_joined"].format(seq=seq, job=job, file=file_id)
        elif starts == "none":
            target = _join_previous(db, f, seq, job)
            msg = CATALOGUE["page.separator.file_joined"].format(seq=seq, job=job, file=target)
        else:
            new_id = _split(db, f, page_id, firsts)
            msg = CATALOGUE["page.separator.file_started"].format(seq=seq, job=job, file=new_id)
        db.execute("INSERT INTO page_events VALUES (?, ?, ?)", (page_id, f"separator_{starts}", time.time()))
    return msg.to_dict()


def _split(db, f, page_id: int, firsts: set[int]) -> int:
    """Move *page_id* and every later page of record file *f* into a new record file, held for its fields."""
    now = time.time()
    cover = json.loads(f["cover"] or "{}")
    # A part of a secret record file stays secret: only the mode goes over, never the file code.
    new_cover = {"mode": cover["mode"]} if cover.get("mode") else {}
    state = "open" if f["state"] == "open" else "closed"
    cur = db.execute(
        "INSERT INTO rec_files(file_code, cover, state, hold_code, hold_message, cover_page_id, new_doc,"
        " created_at, updated_at, hold_pages) VALUES (NULL,?,?,?,?,NULL,?,?,?,?)",
        (json.dumps(new_cover, ensure_ascii=False), state, "separator_moved", HOLD_MESSAGES["separator_moved"],
         f["new_doc"], now, now, json.dumps([page_id])))
    new_id = int(cur.lastrowid)
    db.execute("UPDATE rec_pages SET file_id=? WHERE file_id=? AND page_id>=?", (new_id, f["id"], page_id))
    if f["state"] == "open":
        # the new record file takes the pages still to come; the old one is complete
        db.execute("UPDATE rec_files SET state='closed', updated_at=? WHERE id=?", (now, f["id"]))
    _renumber(db, f["id"], firsts)
    _renumber(db, new_id, firsts | {page_id})
    _rebuild(db, f["id"])
    _rebuild(db, new_id)
    return new_id


def _join_previous(db, f, seq: int, job: int) -> int:
    """Record file *f* (no cover sheet of its own) joins the record file before it; *f* becomes empty."""
    prev = db.execute("SELECT * FROM rec_files WHERE id<? AND state!='empty' ORDER BY id DESC LIMIT 1",
                      (f["id"],)).fetchone()
    if f["cover_page_id"] is not None or prev is None or prev["state"] not in _CHANGEABLE:
        raise SeparatorRefused(CATALOGUE["page.separator.cannot_join"].format(seq=seq, job=job, file=f["id"]), 409)
    firsts = _firsts(_content(db, prev["id"])) | (_firsts(_content(db, f["id"])) - {_content(db, f["id"])[0][0]})
    db.execute("UPDATE rec_pages SET file_id=? WHERE file_id=?", (prev["id"], f["id"]))
    now = time.time()
    if f["state"] == "open":
        # the pages still to come belong to the joined record file
        db.execute("UPDATE rec_files SET state='open', new_doc=?, updated_at=? WHERE id=?",
                   (f["new_doc"], now, prev["id"]))
    db.execute("UPDATE rec_files SET state='empty', hold_code='', hold_message='', updated_at=? WHERE id=?",
               (now, f["id"]))
    db.execute("DELETE FROM rec_docs WHERE file_id=?", (f["id"],))
    _renumber(db, prev["id"], firsts)
    _rebuild(db, prev["id"])
    return int(prev["id"])
