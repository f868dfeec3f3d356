"""What the status page shows of a job's pages, and the operator's marks on them (design §3.2).

A page's **flags** are the processing stage's findings (blank, warnings, a
page turned upright) in the operator's words, each with what to do. A
**mark** is an operator's decision on a page: ``remove`` (this page is not
sent), ``rescan`` (this page and the rest of its job are not sent; the sheets
go back into the feeder) or ``keep`` (undo). A mark takes effect only while
the page has not left the station's hands:

- a loose page (records off) still ``processed`` becomes ``removed``, so the
  batch task does not stage it; with records on, a ``processed`` page is
  answered "not yet" (the records task is placing it, within a second);
- a page of a record file still ``open``, ``closed`` or ``held`` leaves its
  document (its role becomes ``removed``); the package is built without it;
- anything later (packaged, staged, sent) is refused: the archive has it.

Marks are rows of ``page_marks`` in the journal, written in the same
transaction as the change they make, so a mark and its effect never part.
"""

from __future__ import annotations

import json
import time
import types

from firmware_agent.journal import Journal
from firmware_agent.messages import CATALOGUE
from firmware_agent.thumbnails import frame_box_in_view, preview_paths
from sync.catalogue import Message

SCHEMA = """
CREATE TABLE IF NOT EXISTS page_marks(
    page_id   INTEGER PRIMARY KEY REFERENCES pages(id),
    mark      TEXT NOT NULL CHECK (mark IN ('remove', 'rescan')),
    was_state TEXT NOT NULL,              -- the page's state before, for 'keep'
    was_role  TEXT,                       -- its record-file role before, when it had one
    was_doc   INTEGER,                    -- and its document number
    at        REAL NOT NULL,
    role      TEXT NOT NULL               -- who marked it: operator or technician
);
"""

MARKS = ("remove", "rescan", "keep")

# Warning code (design §4) -> the operator's words; the order is the page's.
FLAGS: types.MappingProxyType[str, Message] = types.MappingProxyType({
    "blank": CATALOGUE["page.flag.blank"],
    "upside_down": CATALOGUE["page.flag.upside_down"],
    "page_size_change": CATALOGUE["page.flag.page_size_change"],
    "content_at_edge": CATALOGUE["page.flag.content_at_edge"],
    "crop_unsure": CATALOGUE["page.flag.crop_unsure"],
    "orientation_unsure": CATALOGUE["page.flag.orientation_unsure"],
    "blur": CATALOGUE["page.flag.blur"],
    "too_light": CATALOGUE["page.flag.too_light"],
    "low_contrast": CATALOGUE["page.flag.low_contrast"],
    "too_dark": CATALOGUE["page.flag.too_dark"],
    "low_resolution": CATALOGUE["page.flag.low_resolution"],
    "low_colour_depth": CATALOGUE["page.flag.low_colour_depth"],
})
# A record file in these states is still the station's to change ('empty' is never packaged).
_OPEN_FILE_STATES = ("open", "closed", "held", "empty")


class MarkRefused(Exception):
    """A mark that cannot take effect; carries the filled message and the HTTP status to answer."""

    def __init__(self, message, status: int):
        super().__init__(message.text)
        self.message = message
        self.status = status


def ensure_schema(journal: Journal) -> None:
    with journal.transaction() as db:
        db.execute(SCHEMA)


def page_flags(analysis: dict | None, state: str = "") -> list[dict]:
    """The flags of a page in the operator's words (filled messages as dicts, with measure and limit)."""
    if state == "failed":
        return [CATALOGUE["page.flag.failed"].to_dict()]
    a = analysis or {}
    found: dict[str, dict] = {}
    if a.get("blank"):
        found["blank"] = {"measure": a.get("blank_measure")}
    if int(a.get("orientation") or 0) == 180:
        found["upside_down"] = {}
    extra = []
    for w in a.get("warnings") or []:
        code = w.get("code", "")
        if code in FLAGS:
            found[code] = {"measure": w.get("measure"), "limit": w.get("limit")}
        else:
            extra.append({**CATALOGUE["page.flag.other"].format(code=code).to_dict(), "flag": code,
                          "measure": w.get("measure"), "limit": w.get("limit")})
    out = [{**FLAGS[code].to_dict(), "flag": code, **found[code]} for code in FLAGS if code in found]
    return out + extra


def _has_records(journal: Journal) -> bool:
    return bool(journal.read("SELECT 1 FROM sqlite_master WHERE type='table' AND name='rec_pages'"))


def page_entry(journal: Journal, row, marks: dict, roles: dict, places: dict | None = None) -> dict:
    """One page as the page review shows it."""
    a = json.loads(row["analysis"]) if row["analysis"] else {}
    raw = journal.abs(row["raw_path"])
    paths = preview_paths(raw)
    preview = a.get("preview") or {}
    scale = float(preview.get("view_scale") or 0)
    have = row["removed_at"] is None and bool(preview) and bool(paths) and paths[0].exists()
    entry = {
        "id": row["id"], "job_id": row["job_id"], "seq": row["seq"], "state": row["state"],
        "width": row["width"], "height": row["height"], "dpi": row["dpi"],
        "flags": page_flags(a, row["state"]), "mark": marks.get(row["id"]), "role": roles.get(row["id"]),
        "thumb": f"/pages/{row['id']}/thumb.jpg" if have else None,
        "view": f"/pages/{row['id']}/view.jpg" if have and paths[1].exists() else None,
        "error": row["error"] or "",
    }
    if places and row["id"] in places:
        # where the page is in its record file, for moving a separator (design §3.2 R5)
        entry.update(places[row["id"]])
    if have and scale:
        entry["view_size"] = [round(row["width"] * scale), round(row["height"] * scale)]
        entry["crop"] = frame_box_in_view(a.get("crop_box"), a, scale)
        entry["content"] = frame_box_in_view(a.get("content_box"), a, scale)
    return entry


def job_pages(journal: Journal, job_id: int) -> list[dict]:
    """Every page of *job_id* in scan order, with flags, mark, record-file role and preview links."""
    rows = journal.read("SELECT * FROM pages WHERE job_id=? ORDER BY seq", (job_id,))
    ids = tuple(r["id"] for r in rows)
    if not ids:
        return []
    q = ",".join("?" * len(ids))
    marks = {r[0]: r[1] for r in journal.read(f"SELECT page_id, mark FROM page_marks WHERE page_id IN ({q})", ids)}
    roles: dict = {}
    places: dict = {}
    if _has_records(journal):
        for r in journal.read(
                "SELECT p.page_id, p.role, p.file_id, p.doc_seq, f.state,"
                " NOT EXISTS (SELECT 1 FROM rec_pages o WHERE o.file_id=p.file_id AND o.role='content'"
                "   AND o.page_id<p.page_id) AS first_of_file,"
                " NOT EXISTS (SELECT 1 FROM rec_pages o WHERE o.file_id=p.file_id AND o.role='content'"
                "   AND o.page_id<p.page_id AND o.doc_seq=p.doc_seq) AS first_of_doc"
                f" FROM rec_pages p JOIN rec_files f ON f.id=p.file_id WHERE p.page_id IN ({q})", ids):
            roles[r[0]] = r[1]
            starts = None
            if r[1] == "content":
                starts = "file" if r[5] else ("document" if r[6] else None)
            places[r[0]] = {"file": r[2], "doc": r[3], "file_state": r[4], "starts": starts}
    return [page_entry(journal, r, marks, roles, places) for r in rows]


def list_jobs(journal: Journal, *, kind: str = "all", offset: int = 0, limit: int = 10) -> dict:
    """A page of jobs, newest first: ``kind`` is ``scanner``, ``hotfolder`` or ``all``.

    Scanner and hot-folder jobs are listed apart on the status page, so a
    copier dropping files never pushes a feeder run off the operator's list.
    """
    where = {"scanner": "WHERE source LIKE 'scanner:%'", "hotfolder": "WHERE source LIKE 'hotfolder:%'"}.get(kind, "")
    total = journal.read(f"SELECT COUNT(*) FROM jobs {where}")[0][0]
    rows = journal.read(
        "SELECT j.*, (SELECT COUNT(*) FROM pages p WHERE p.job_id=j.id) AS pages,"
        " (SELECT COUNT(*) FROM page_marks m JOIN pages p ON p.id=m.page_id WHERE p.job_id=j.id) AS marked"
        f" FROM jobs j {where} ORDER BY j.id DESC LIMIT ? OFFSET ?", (limit, offset))
    jobs = [{"id": r["id"], "source": r["source"], "profile": r["profile"], "trigger": r["trigger"],
             "state": r["state"], "started_at": r["started_at"], "ended_at": r["ended_at"], "message": r["message"],
             "pages": r["pages"], "marked": r["marked"]} for r in rows]
    return {"kind": kind, "offset": offset, "limit": limit, "total": total, "jobs": jobs}


def mark_page(journal: Journal, page_id: int, mark: str, role: str) -> dict:
    """Apply an operator's *mark* to a page; returns the filled message. Raises MarkRefused."""
    if mark not in MARKS:
        raise MarkRefused(CATALOGUE["page.mark.bad_mark"].format(mark=str(mark)[:40]), 400)
    rows = journal.read("SELECT id, job_id, seq FROM pages WHERE id=?", (page_id,))
    if not rows:
        raise MarkRefused(CATALOGUE["page.mark.no_page"].format(page=page_id), 404)
    job, seq = rows[0]["job_id"], rows[0]["seq"]
    if mark == "keep":
        _keep(journal, page_id, job, seq)
        return CATALOGUE["page.mark.kept"].format(seq=seq, job=job).to_dict()
    if mark == "remove":
        targets = [page_id]
    else:
        targets = [r[0] for r in journal.read("SELECT id FROM pages WHERE job_id=? AND seq>=? ORDER BY seq",
                                              (job, seq))]
    records = _has_records(journal)
    with journal.transaction() as db:
        for pid in targets:
            _remove_in(db, pid, mark, role, records)
    if mark == "remove":
        return CATALOGUE["page.mark.removed"].format(seq=seq, job=job).to_dict()
    return CATALOGUE["page.mark.rescan"].format(count=len(targets), seq=seq, job=job, sheet=seq).to_dict()


def _remove_in(db, pid: int, mark: str, role: str, records: bool) -> None:
    """Take page *pid* out of what is sent, inside the caller's transaction, or raise MarkRefused (which
    rolls the whole mark back: a rescan takes all its pages or none)."""
    row = db.execute("SELECT job_id, seq, state FROM pages WHERE id=?", (pid,)).fetchone()
    job, seq, state = row
    if db.execute("SELECT 1 FROM page_marks WHERE page_id=?", (pid,)).fetchone():
        db.execute("UPDATE page_marks SET mark=?, at=?, role=? WHERE page_id=?", (mark, time.time(), role, pid))
        return
    if state == "captured" or (state == "processed" and records):
        # With records on, a processed page is being placed into a record file this very moment
        # (the splitter holds it in memory); its mark waits until it is placed, a second or so.
        raise MarkRefused(CATALOGUE["page.mark.not_yet"].format(seq=seq, job=job), 409)
    was_role = was_doc = None
    if state in ("processed", "failed"):
        db.execute("UPDATE pages SET state='removed' WHERE id=? AND state=?", (pid, state))
    elif state == "documented" and records:
        rec = db.execute("SELECT p.role, f.state, p.doc_seq FROM rec_pages p JOIN rec_files f ON f.id=p.file_id"
                         " WHERE p.page_id=?", (pid,)).fetchone()
        if rec is None or rec[1] not in _OPEN_FILE_STATES:
            raise MarkRefused(CATALOGUE["page.mark.too_late"].format(seq=seq, job=job), 409)
        was_role, was_doc = rec[0], rec[2]
        db.execute("UPDATE rec_pages SET role='removed', doc_seq=0 WHERE page_id=?", (pid,))
    else:
        raise MarkRefused(CATALOGUE["page.mark.too_late"].format(seq=seq, job=job), 409)
    db.execute("INSERT INTO page_marks VALUES (?,?,?,?,?,?,?)",
               (pid, mark, state, was_role, was_doc, time.time(), role))
    db.execute("INSERT INTO page_events VALUES (?, ?, ?)", (pid, f"marked_{mark}", time.time()))


def _keep(journal: Journal, pid: int, job: int, seq: int) -> None:
    """Undo a mark while the page is still the station's (its record file not yet packaged)."""
    records = _has_records(journal)
    with journal.transaction() as db:
        m = db.execute("SELECT was_state, was_role, was_doc FROM page_marks WHERE page_id=?", (pid,)).fetchone()
        if m is None:
            return
        was_state, was_role, was_doc = m
        if was_role is not None and records:
            rec = db.execute("SELECT f.state FROM rec_pages p JOIN rec_files f ON f.id=p.file_id"
                             " WHERE p.page_id=?", (pid,)).fetchone()
            if rec is None or rec[0] not in _OPEN_FILE_STATES:
                raise MarkRefused(CATALOGUE["page.mark.too_late"].format(seq=seq, job=job), 409)
            db.execute("UPDATE rec_pages SET role=?, doc_seq=? WHERE page_id=?", (was_role, was_doc or 0, pid))
        else:
            db.execute("UPDATE pages SET state=? WHERE id=? AND state='removed'", (was_state, pid))
        db.execute("DELETE FROM page_marks WHERE page_id=?", (pid,))
        db.execute("INSERT INTO page_events VALUES (?, 'marked_keep', ?)", (pid, time.time()))
