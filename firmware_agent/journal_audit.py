"""The start-up audit of the batch life cycle (design 2.1, B6): prove nothing was lost, repair what is safe.

Run by the agent at every start, before its tasks (so a repair never races a
task), and on demand by ``sohoa journal check``. Every finding carries a
Vietnamese and an English sentence for the status page, the log and the
command line. A repair never deletes a page or a package: it only takes a lost
member out of the batch that no longer carries it and sends its record file
(or page) back to the state from which the agent builds and stages it again.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import time
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from firmware_agent.journal import Journal
from firmware_agent.messages import CATALOGUE
from sync.catalogue import Message
from sync.receipt import ReceiptError, check_receipt_for

LOOSE_PAGE = re.compile(r"job-(\d{6})-(\d{5})\.\w+")  # page_tasks.BatchTask's member names
UNSEALED = ("open", "staged", "sealing")
SEALED = ("sealed", "uploaded", "acknowledged")


@dataclass(frozen=True)
class Finding:
    code: str
    vi: str
    en: str
    repaired: bool = False
    batch_id: int | None = None

    def to_dict(self) -> dict:
        return {"code": self.code, "vi": self.vi, "en": self.en, "repaired": self.repaired, "batch": self.batch_id}


@dataclass
class AuditReport:
    at: float
    findings: list[Finding] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)
    repair: bool = False

    @property
    def ok(self) -> bool:
        """Nothing left for a technician (repaired findings are fine)."""
        return all(f.repaired for f in self.findings)

    def to_dict(self) -> dict:
        return {"at": self.at, "ok": self.ok, "repair": self.repair, "checked": self.checked,
                "findings": [f.to_dict() for f in self.findings]}


def audit(journal: Journal, *, device_id: str, log_public: Ed25519PublicKey | None, repair: bool,
          hash_files: bool = False) -> AuditReport:
    """Check the invariants of design 2.1 (the numbered checks there); repair when *repair*.

    *hash_files* also recomputes the SHA-256 of every sealed file still on disk
    (``sohoa journal check`` does; the start-up audit checks sizes only, since the
    receiver checks the hash again before it accepts a batch).
    """
    report = AuditReport(at=time.time(), repair=repair)
    a = _Audit(journal, report, repair)
    a.records()
    a.unsealed(hash_files)
    a.sealed(hash_files)
    a.receipts(device_id, log_public)
    return report


class _Audit:
    def __init__(self, journal: Journal, report: AuditReport, repair: bool):
        self.j = journal
        self.report = report
        self.repair = repair
        self.has_records = bool(journal.read("SELECT 1 FROM sqlite_master WHERE type='table' AND name='rec_files'"))

    def note(self, code: str, msg: Message, *, repaired: bool = False, batch_id: int | None = None) -> None:
        self.report.findings.append(Finding(code, msg.vi, msg.en, repaired, batch_id))

    # ------------------------------------------------------------------ check 1
    def records(self) -> None:
        if not self.has_records:
            return
        rows = self.j.read("SELECT f.id, f.file_code, f.package, (SELECT COUNT(*) FROM batch_members m"
                           " WHERE m.name = f.package) AS n FROM rec_files f WHERE f.state='packaged'")
        self.report.checked["records_packaged"] = len(rows)
        for r in rows:
            label = r["file_code"] or f"#{r['id']}"
            if r["n"] == 1:
                continue
            if r["n"] == 0:
                fixed = self.repair and self._record_back(r["id"])
                msg = (CATALOGUE["audit.record_not_batched_repaired"] if fixed
                       else CATALOGUE["audit.record_not_batched"])
                self.note("record_not_batched", msg.format(file=label), repaired=fixed)
            else:
                self.note("record_in_two_batches",
                          CATALOGUE["audit.record_in_two_batches"].format(file=label, n=r["n"]))

    # ------------------------------------------------------------------ check 2 (and 5)
    def unsealed(self, _hash_files: bool) -> None:
        batches = self.j.read(f"SELECT * FROM batches WHERE state IN {UNSEALED} ORDER BY id")
        self.report.checked["batches_unsealed"] = len(batches)
        for b in batches:
            if b["state"] == "sealing" and b["seq"] is None:
                self.note("sealing_without_seq", CATALOGUE["audit.sealing_without_seq"].format(batch=b["id"]),
                          batch_id=b["id"])
            folder = self.j.abs(b["dir"])
            for m in self.j.read("SELECT name, size FROM batch_members WHERE batch_id=?", (b["id"],)):
                path = folder / m["name"]
                if path.is_file() and path.stat().st_size == m["size"]:
                    continue
                fixed = self.repair and self._member_back(b["id"], m["name"])
                msg = (CATALOGUE["audit.member_file_missing_repaired"] if fixed
                       else CATALOGUE["audit.member_file_missing"])
                self.note("member_file_missing", msg.format(name=m["name"], batch=b["id"]), repaired=fixed,
                          batch_id=b["id"])

    # ------------------------------------------------------------------ check 3
    def sealed(self, hash_files: bool) -> None:
        batches = self.j.read(f"SELECT * FROM batches WHERE state IN {SEALED} ORDER BY seq")
        self.report.checked["batches_sealed"] = len(batches)
        prev_hash = None
        for b in batches:
            if b["manifest"]:
                self._manifest(b, prev_hash)
            if b["state"] != "acknowledged":
                self._sealed_file(b, hash_files)
            prev_hash = b["batch_hash"]

    def _manifest(self, b: sqlite3.Row, prev_hash: str | None) -> None:
        text = b["manifest"]
        seq = b["seq"]
        if hashlib.sha256(text.encode("utf-8")).hexdigest() != b["batch_hash"]:
            self.note("manifest_hash", CATALOGUE["audit.manifest_hash"].format(seq=seq), batch_id=b["id"])
            return
        manifest = json.loads(text)
        if prev_hash is not None and manifest.get("prev") != prev_hash:
            self.note("chain_broken", CATALOGUE["audit.chain_broken"].format(seq=seq), batch_id=b["id"])
        listed = {m["name"]: m["size"] for m in manifest["members"]}
        rows = {r["name"]: r["size"] for r in self.j.read("SELECT name, size FROM batch_members WHERE batch_id=?",
                                                            (b["id"],))}
        for name in sorted(set(rows) - set(listed)):
            fixed = self.repair and self._member_back(b["id"], name)
            msg = CATALOGUE["audit.member_lost_repaired"] if fixed else CATALOGUE["audit.member_lost"]
            self.note("member_lost", msg.format(name=name, seq=seq), repaired=fixed, batch_id=b["id"])
        for name in sorted(set(listed) - set(rows)):
            self.note("member_unrecorded", CATALOGUE["audit.member_unrecorded"].format(seq=seq, name=name),
                      batch_id=b["id"])
        for name in sorted(set(listed) & set(rows)):
            if listed[name] != rows[name]:
                self.note("member_size", CATALOGUE["audit.member_size"].format(name=name, seq=seq),
                          batch_id=b["id"])

    def _sealed_file(self, b: sqlite3.Row, hash_files: bool) -> None:
        seq = b["seq"]
        path = self.j.abs(b["sealed_path"]) if b["sealed_path"] else None
        if path is None or not path.is_file():
            self.note("sealed_file_missing", CATALOGUE["audit.sealed_file_missing"].format(seq=seq),
                      batch_id=b["id"])
            return
        changed = path.stat().st_size != b["size"]
        if not changed and hash_files:
            h = hashlib.sha256()
            with open(path, "rb") as fh:
                while block := fh.read(1 << 20):
                    h.update(block)
            changed = h.hexdigest() != b["file_sha256"]
        if changed:
            self.note("sealed_file_changed", CATALOGUE["audit.sealed_file_changed"].format(seq=seq),
                      batch_id=b["id"])

    # ------------------------------------------------------------------ check 4
    def receipts(self, device_id: str, log_public: Ed25519PublicKey | None) -> None:
        rows = self.j.read("SELECT * FROM batches WHERE state='acknowledged' ORDER BY seq")
        self.report.checked["receipts"] = len(rows)
        for b in rows:
            seq = b["seq"]
            try:
                if log_public is None:
                    raise ReceiptError("no log public key (not enrolled)")
                if not b["receipt_json"]:
                    raise ReceiptError("no receipt kept")
                check_receipt_for(json.loads(b["receipt_json"]), log_public, device=device_id, seq=seq,
                                  batch=b["batch_hash"], sha256=b["file_sha256"], size=b["size"])
            except (ReceiptError, ValueError, TypeError) as exc:
                self.note("receipt_invalid", CATALOGUE["audit.receipt_invalid"].format(seq=seq, reason=exc),
                          batch_id=b["id"])

    # ------------------------------------------------------------------ repairs
    def _record_back(self, file_id: int) -> bool:
        """A packaged record file in no batch goes back to 'ready': the records task builds and stages it."""
        with self.j.transaction() as db:
            return db.execute("UPDATE rec_files SET state='ready', package=NULL, updated_at=? WHERE id=?"
                              " AND state='packaged'", (time.time(), file_id)).rowcount == 1

    def _member_back(self, batch_id: int, name: str) -> bool:
        """Take a lost member out of *batch_id* and send what it carried back to be made again.

        A record package: its record file goes back to 'ready' (its pages and OCR
        are kept until the receipt of the batch that carries it, J4). A loose page:
        back to 'captured' when its capture is still there, to be processed again.
        Returns False (nothing changed) when nothing could make the member again.
        """
        with self.j.transaction() as db:
            pages = self._pages_of(db, name)
            if pages is None:
                return False
            size_pages, docs = db.execute("SELECT pages, documents FROM batch_members WHERE batch_id=? AND name=?",
                                          (batch_id, name)).fetchone()
            db.execute("DELETE FROM batch_members WHERE batch_id=? AND name=?", (batch_id, name))
            db.execute("UPDATE batches SET page_count = page_count - ?, doc_count = doc_count - ? WHERE id=?",
                       (size_pages, docs, batch_id))
            for pid in pages:
                db.execute("DELETE FROM page_batches WHERE page_id=? AND batch_id=?", (pid, batch_id))
            if self.has_records:
                db.execute("UPDATE rec_files SET state='ready', package=NULL, updated_at=? WHERE package=?",
                           (time.time(), name))
            match = LOOSE_PAGE.fullmatch(name)
            if match and pages:
                db.execute("UPDATE pages SET state='captured', colour_path=NULL, bitonal_path=NULL WHERE id=?",
                           (pages[0],))
            return True

    def _pages_of(self, db: sqlite3.Connection, name: str) -> list[int] | None:
        """The pages a member carries, or None when they can no longer make it again."""
        if self.has_records:
            file_row = db.execute("SELECT id FROM rec_files WHERE package=?", (name,)).fetchone()
            if file_row is not None:
                rows = db.execute("SELECT p.id, p.colour_path, p.removed_at, r.role FROM rec_pages r"
                                  " JOIN pages p ON p.id = r.page_id WHERE r.file_id=?", (file_row[0],)).fetchall()
                content = [r for r in rows if r["role"] == "content"]
                if any(r["removed_at"] is not None or not r["colour_path"]
                       or not self.j.abs(r["colour_path"]).exists() for r in content):
                    return None  # its pages are gone (a secret record's, or past retention)
                return [r["id"] for r in rows]
        match = LOOSE_PAGE.fullmatch(name)
        if match is None:
            return None
        row = db.execute("SELECT id, raw_path, capture_removed_at FROM pages WHERE job_id=? AND seq=?",
                         (int(match[1]), int(match[2]))).fetchone()
        if row is None or row["capture_removed_at"] is not None or not self.j.abs(row["raw_path"]).exists():
            return None
        return [row["id"]]
