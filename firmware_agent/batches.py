"""The batch life cycle: one state machine per upload batch, in the journal (design 2.1).

``open -> staged -> sealing -> sealed -> uploaded -> acknowledged``. Each edge is
one write transaction (``BEGIN IMMEDIATE``) that checks the state it expects and
records its outputs in the same commit, so

- a member is added only to the batch that is open when its row commits (B1): the
  batch is chosen, the file linked into its folder and the row inserted while the
  write lock is held, and closing needs that lock too;
- a member name belongs to one batch at most (B2), so a package built again after a
  crash is never carried twice;
- the member list that sealing writes is read in the transaction that moves the
  batch to ``sealing`` (B3), when it can no longer change.

Only the journal's ``batches`` table holds a batch's state: the uploader keeps no
table of its own, so a crash can never leave two records of one batch disagreeing.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from sync.canon import ZERO_HASH
from sync.fsutil import fsync_dir, tmp_path

if TYPE_CHECKING:
    from firmware_agent.journal import Journal

STATES = ("open", "staged", "sealing", "sealed", "uploaded", "acknowledged")
SENDING = ("sealed", "uploaded")  # a sealed file exists and waits for its receipt


@dataclass(frozen=True)
class Member:
    name: str
    path: Path
    size: int


@dataclass(frozen=True)
class SealingJob:
    """A batch in ``sealing``: everything the sealer needs, read in the transaction that moved it there."""

    id: int
    seq: int
    prev: str
    dir: Path
    members: tuple[Member, ...]
    page_count: int
    doc_count: int
    created_at: float


@dataclass(frozen=True)
class Outgoing:
    """A sealed batch waiting for its receipt (state ``sealed`` or ``uploaded``)."""

    id: int
    seq: int
    state: str
    batch_hash: str
    file_sha256: str
    size: int
    path: Path
    upload_url: str | None
    attempts: int
    sealed_at: float


class BatchLedger:
    """The transitions of design 2.1 over the journal's connection of the calling thread."""

    def __init__(self, journal: "Journal"):
        self.journal = journal

    # ------------------------------------------------------------------ open: members
    def stage_member(self, src: Path, name: str, *, pages: int, documents: int, page_ids: tuple[int, ...] = (),
                     page_state: str = "batched", require_state: str | None = None,
                     also: Callable[[sqlite3.Connection, int], None] | None = None) -> int | None:
        """Put a finished file into the open batch, exactly once; returns the batch id.

        With *require_state*, every page of *page_ids* must still be in that state when
        the transaction runs; otherwise nothing is staged and None is returned. The caller
        listed its pages before this transaction: an operator may have taken one out
        (page review's "remove") in between, and that decision must win.

        The file is hard-linked into the open batch's folder (same file system) and
        the member row committed, with the state change of *page_ids* and whatever
        *also* writes (called with the connection and the batch id, inside the
        transaction), all while the journal's write lock is held (B1). Only then is
        *src* removed. A name that is already a member of a batch changes nothing
        (B2): *src* is removed and that batch's id returned.
        """
        if "/" in name or name.startswith(".") or not name:
            raise ValueError(f"invalid batch member name {name!r}")
        j = self.journal
        with j.transaction() as db:
            held = db.execute("SELECT batch_id FROM batch_members WHERE name=?", (name,)).fetchone()
            if held is not None:
                batch_id = int(held[0])
                if also is not None:
                    also(db, batch_id)
            else:
                if require_state is not None and page_ids:
                    marks = ",".join("?" * len(page_ids))
                    still = db.execute(f"SELECT COUNT(*) FROM pages WHERE id IN ({marks}) AND state=?",
                                       (*page_ids, require_state)).fetchone()[0]
                    if still != len(page_ids):
                        return None
                batch_id, batch_dir = self._open_batch(db)
                dst = batch_dir / name
                tmp = tmp_path(dst)
                tmp.unlink(missing_ok=True)
                os.link(src, tmp)
                os.replace(tmp, dst)
                fsync_dir(batch_dir)  # B4: the link is durable before the row that names it
                db.execute("INSERT INTO batch_members VALUES (?,?,?,?,?)",
                           (batch_id, name, dst.stat().st_size, pages, documents))
                db.execute("UPDATE batches SET page_count = page_count + ?, doc_count = doc_count + ? WHERE id=?",
                           (pages, documents, batch_id))
                now = time.time()
                for pid in page_ids:
                    db.execute("UPDATE pages SET state=? WHERE id=?", (page_state, pid))
                    db.execute("INSERT INTO page_events VALUES (?, ?, ?)", (pid, page_state, now))
                    db.execute("INSERT OR REPLACE INTO page_batches VALUES (?, ?)", (pid, batch_id))
                if also is not None:
                    also(db, batch_id)
        Path(src).unlink(missing_ok=True)
        return batch_id

    def _open_batch(self, db: sqlite3.Connection) -> tuple[int, Path]:
        """The open batch, made when there is none (inside the caller's write transaction)."""
        row = db.execute("SELECT id, dir FROM batches WHERE state='open' ORDER BY id LIMIT 1").fetchone()
        if row is not None:
            path = self.journal.abs(row["dir"])
        else:
            cur = db.execute("INSERT INTO batches(state, dir, created_at) VALUES ('open', '', ?)", (time.time(),))
            batch_id = int(cur.lastrowid)
            rel = f"outbox/batch-{batch_id:08d}"
            db.execute("UPDATE batches SET dir=? WHERE id=?", (rel, batch_id))
            row = {"id": batch_id}
            path = self.journal.abs(rel)
        # Made here even for an existing row: a crash between the row and the folder
        # (the folder is made after the INSERT, in the same transaction) leaves none.
        if not path.is_dir():
            path.mkdir(parents=True, exist_ok=True)
            fsync_dir(path.parent)
        return int(row["id"]), path

    def member_batch(self, name: str) -> int | None:
        """The batch that carries member *name*, if any."""
        rows = self.journal.read("SELECT batch_id FROM batch_members WHERE name=?", (name,))
        return int(rows[0][0]) if rows else None

    # ------------------------------------------------------------------ open -> staged
    def close_due(self, *, max_pages: int, max_age_s: float, force: bool = False) -> list[int]:
        """open -> staged for the open batch when it has members and is full, old enough, or *force*."""
        now = time.time()
        with self.journal.transaction() as db:
            closed = [r["id"] for r in db.execute(
                "SELECT id, page_count, created_at FROM batches b WHERE state='open'"
                " AND EXISTS (SELECT 1 FROM batch_members m WHERE m.batch_id = b.id)")
                if force or r["page_count"] >= max_pages or now - r["created_at"] >= max_age_s]
            for batch_id in closed:
                db.execute("UPDATE batches SET state='staged', closed_at=? WHERE id=? AND state='open'",
                           (now, batch_id))
        return closed

    # ------------------------------------------------------------------ staged -> sealing -> sealed
    def begin_sealing(self) -> SealingJob | None:
        """The batch to seal next: one left in ``sealing`` by a crash, else the oldest staged one (B5)."""
        with self.journal.transaction() as db:
            row = db.execute("SELECT * FROM batches WHERE state='sealing' ORDER BY id LIMIT 1").fetchone()
            if row is None:
                row = db.execute("SELECT * FROM batches WHERE state='staged' ORDER BY id LIMIT 1").fetchone()
                if row is None:
                    return None
                last = db.execute("SELECT MAX(seq) FROM batches").fetchone()[0] or 0
                db.execute("UPDATE batches SET state='sealing', seq=? WHERE id=? AND state='staged'",
                           (last + 1, row["id"]))
                row = db.execute("SELECT * FROM batches WHERE id=?", (row["id"],)).fetchone()
            seq = int(row["seq"])
            prev = ZERO_HASH
            if seq > 1:
                before = db.execute("SELECT batch_hash FROM batches WHERE seq=?", (seq - 1,)).fetchone()
                if before is None or not before[0]:
                    raise RuntimeError(f"batch seq {seq - 1} has no hash: the chain is broken (sohoa journal check)")
                prev = before[0]
            folder = self.journal.abs(row["dir"])
            members = tuple(Member(m["name"], folder / m["name"], m["size"]) for m in db.execute(
                "SELECT name, size FROM batch_members WHERE batch_id=? ORDER BY name", (row["id"],)))
            return SealingJob(int(row["id"]), seq, prev, folder, members, int(row["page_count"]),
                              int(row["doc_count"]), float(row["created_at"]))

    def finish_sealing(self, job: SealingJob, *, batch_hash: str, file_sha256: str, size: int,
                       sealed_path: Path, manifest: bytes) -> bool:
        """sealing -> sealed with the sealed file's identity and the manifest it carries (B3, B4)."""
        with self.journal.transaction() as db:
            cur = db.execute(
                "UPDATE batches SET state='sealed', batch_hash=?, file_sha256=?, size=?, sealed_path=?, manifest=?,"
                " sealed_at=? WHERE id=? AND state='sealing' AND seq=?",
                (batch_hash, file_sha256, size, self.journal.rel(sealed_path), manifest.decode("utf-8"),
                 time.time(), job.id, job.seq))
            return cur.rowcount == 1

    def sealed_folders(self) -> list[Path]:
        """Batch folders still on disk although their batch is sealed (a crash after ``finish_sealing``)."""
        rows = self.journal.read("SELECT dir FROM batches WHERE state IN ('sealed', 'uploaded', 'acknowledged')"
                                 " AND dir != ''")
        return [p for p in (self.journal.abs(r[0]) for r in rows) if p.exists()]

    # ------------------------------------------------------------------ sealed -> uploaded -> acknowledged
    def next_to_send(self) -> Outgoing | None:
        row = self.journal.read("SELECT * FROM batches WHERE state IN ('sealed', 'uploaded') ORDER BY seq LIMIT 1")
        if not row:
            return None
        r = row[0]
        return Outgoing(int(r["id"]), int(r["seq"]), r["state"], r["batch_hash"], r["file_sha256"], int(r["size"]),
                        self.journal.abs(r["sealed_path"]), r["upload_url"], int(r["attempts"]), r["sealed_at"])

    def _update_sending(self, batch_id: int, **cols) -> bool:
        sets = ", ".join(f"{k}=?" for k in cols)
        with self.journal.transaction() as db:
            cur = db.execute(f"UPDATE batches SET {sets} WHERE id=? AND state IN ('sealed', 'uploaded')",
                             (*cols.values(), batch_id))
            return cur.rowcount == 1

    def set_upload_url(self, batch_id: int, url: str) -> bool:
        """A2: committed before the first PATCH."""
        return self._update_sending(batch_id, upload_url=url)

    def count_attempt(self, batch_id: int) -> bool:
        with self.journal.transaction() as db:
            cur = db.execute("UPDATE batches SET attempts = attempts + 1 WHERE id=?"
                             " AND state IN ('sealed', 'uploaded')", (batch_id,))
            return cur.rowcount == 1

    def set_error(self, batch_id: int, text: str | None) -> bool:
        return self._update_sending(batch_id, last_error=text[:500] if text else None)

    def mark_uploaded(self, batch_id: int) -> bool:
        """sealed -> uploaded: the receiver answered the last byte; the receipt is not verified yet."""
        with self.journal.transaction() as db:
            return db.execute("UPDATE batches SET state='uploaded' WHERE id=? AND state='sealed'",
                              (batch_id,)).rowcount == 1

    def mark_acknowledged(self, batch_id: int, *, seq: int, batch_hash: str, receipt: dict) -> bool:
        """sealed/uploaded -> acknowledged with the verified receipt (A3)."""
        with self.journal.transaction() as db:
            cur = db.execute(
                "UPDATE batches SET state='acknowledged', receipt_json=?, acked_at=?, last_error=NULL"
                " WHERE id=? AND state IN ('sealed', 'uploaded') AND seq=? AND batch_hash=?",
                (json.dumps(receipt, ensure_ascii=False), time.time(), batch_id, seq, batch_hash))
            return cur.rowcount == 1

    # ------------------------------------------------------------------ reporting
    def counts(self) -> dict[str, int]:
        return {r[0]: r[1] for r in self.journal.read("SELECT state, COUNT(*) FROM batches GROUP BY state")}

    def backlog(self) -> tuple[int, int, float | None]:
        """(batches, bytes, oldest created_at) of everything closed and not yet acknowledged."""
        r = self.journal.read(
            "SELECT COUNT(*), MIN(created_at),"
            " COALESCE(SUM(CASE WHEN size IS NOT NULL THEN size ELSE"
            "  (SELECT COALESCE(SUM(m.size), 0) FROM batch_members m WHERE m.batch_id = b.id) END), 0)"
            " FROM batches b WHERE state IN ('staged', 'sealing', 'sealed', 'uploaded')")[0]
        return int(r[0]), int(r[2]), r[1]

    def acknowledged_total(self) -> int:
        return int(self.journal.read("SELECT COUNT(*) FROM batches WHERE state='acknowledged'")[0][0])

    def awaiting_receipt(self) -> int:
        return int(self.journal.read("SELECT COUNT(*) FROM batches WHERE state='uploaded'")[0][0])
