"""The durable journal: jobs, pages, upload batches and operator events in SQLite (WAL).

Invariants (docs/design.md §2):
- J1 a page file is durable on disk before the row that names it is committed;
- J2 every state transition is one transaction guarded by the expected old state,
  so a step that runs twice after a crash changes nothing the second time;
- J3 jobs that were running when the agent stopped become ``interrupted``.

Upload batches have their own life cycle (design 2.1) in :mod:`firmware_agent.batches`,
reached as ``journal.batches``.

Every method opens a short transaction on the calling thread's connection, so
the journal may be used from the event loop and from worker threads alike.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from firmware_agent.batches import BatchLedger
from firmware_agent.journal_schema import SCHEMA, ensure_indexes, open_db, upgrade
from firmware_agent.messages import CATALOGUE
from sync.fsutil import remove_temporaries

@dataclass(frozen=True)
class PageRow:
    id: int
    job_id: int
    seq: int
    state: str
    raw_path: Path
    width: int
    height: int
    dpi: int
    channels: int
    colour_path: Path | None
    bitonal_path: Path | None
    analysis: dict | None


@dataclass(frozen=True)
class JobRow:
    id: int
    source: str
    profile: str
    trigger: str
    state: str
    started_at: float
    ended_at: float | None
    message: str
    pages: int


class Journal:
    """All durable state of the appliance except file contents."""

    def __init__(self, state_dir: str | os.PathLike):
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.state_dir / "journal.sqlite3"
        self._local = threading.local()
        # executescript commits on its own, so the schema goes in before the transaction
        self._conn().executescript(SCHEMA)
        with self.transaction() as db:
            upgrade(db, self.path)
            ensure_indexes(db)
        self.batches = BatchLedger(self)  # the batch life cycle (design 2.1)

    # ------------------------------------------------------------------ plumbing
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = open_db(self.path)
            self._local.conn = conn
        return conn

    def read(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        """A read-only query on this thread's connection (for modules that own a question)."""
        return self._conn().execute(sql, args).fetchall()

    def transaction(self) -> "_Tx":
        return _Tx(self._conn())

    def abs(self, rel: str | Path) -> Path:
        return self.state_dir / rel

    def rel(self, path: Path) -> str:
        return str(Path(path).relative_to(self.state_dir))

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # ------------------------------------------------------------------ start-up recovery
    def recover(self) -> list[JobRow]:
        """Mark jobs left running as interrupted and delete orphan files (J1, J3).

        Returns the jobs that were interrupted so the agent can tell the operator.
        """
        now = time.time()
        with self.transaction() as db:
            ids = [r[0] for r in db.execute("SELECT id FROM jobs WHERE state IN ('running', 'paused')")]
            for job_id in ids:
                kept = db.execute("SELECT COUNT(*) FROM pages WHERE job_id=?", (job_id,)).fetchone()[0]
                db.execute("UPDATE jobs SET state='interrupted', ended_at=?, message=? WHERE id=?",
                           (now, CATALOGUE["job.interrupted"].format(pages=kept).text, job_id))
        self._remove_orphans()
        return [self.job(i) for i in ids]

    def _remove_orphans(self) -> None:
        known = {r[0] for r in self._conn().execute("SELECT raw_path FROM pages")}
        # Whatever an interrupted durable write or batch link left (one naming, sync.fsutil.tmp_path).
        for area in ("pages", "outbox", "sealed", "records", "keys"):
            remove_temporaries(self.state_dir / area)
        for path in (self.state_dir / "pages").glob("*/*.raw.*"):  # captures, J6 or older PNG
            if self.rel(path) not in known:
                path.unlink(missing_ok=True)  # durable file whose row never committed
        folders = {r[0] for r in self._conn().execute(
            "SELECT dir FROM batches WHERE state IN ('open', 'staged', 'sealing')")}
        for path in (self.state_dir / "outbox").glob("batch-*"):
            if self.rel(path) not in folders:
                shutil.rmtree(path, ignore_errors=True)  # sealed already, or its row never committed

    # ------------------------------------------------------------------ jobs
    def start_job(self, source: str, profile: str, trigger: str) -> int:
        with self.transaction() as db:
            cur = db.execute("INSERT INTO jobs(source, profile, trigger, state, started_at) VALUES (?,?,?,?,?)",
                             (source, profile, trigger, "running", time.time()))
            return int(cur.lastrowid)

    def set_job_state(self, job_id: int, state: str, message: str = "") -> None:
        ended = time.time() if state in ("done", "interrupted", "failed", "cancelled") else None
        with self.transaction() as db:
            db.execute("UPDATE jobs SET state=?, message=?, ended_at=COALESCE(?, ended_at) WHERE id=?",
                       (state, message, ended, job_id))

    def find_job(self, source: str) -> JobRow | None:
        """The latest job from *source* (hot-folder files are keyed by name and content hash)."""
        row = self._conn().execute(
            "SELECT j.*, (SELECT COUNT(*) FROM pages p WHERE p.job_id=j.id) AS pages FROM jobs j "
            "WHERE source=? ORDER BY id DESC LIMIT 1", (source,)).fetchone()
        return _job(row) if row else None

    def find_running_hotfolder_job(self) -> bool:
        return self._conn().execute(
            "SELECT 1 FROM jobs WHERE state='running' AND source LIKE 'hotfolder:%' LIMIT 1").fetchone() is not None

    def job(self, job_id: int) -> JobRow:
        row = self._conn().execute(
            "SELECT j.*, (SELECT COUNT(*) FROM pages p WHERE p.job_id=j.id) AS pages FROM jobs j WHERE id=?",
            (job_id,)).fetchone()
        return _job(row)

    def recent_jobs(self, limit: int = 10) -> list[JobRow]:
        rows = self._conn().execute(
            "SELECT j.*, (SELECT COUNT(*) FROM pages p WHERE p.job_id=j.id) AS pages FROM jobs j "
            "ORDER BY id DESC LIMIT ?", (limit,))
        return [_job(r) for r in rows]

    def next_seq(self, job_id: int) -> int:
        row = self._conn().execute("SELECT COALESCE(MAX(seq), 0) FROM pages WHERE job_id=?", (job_id,)).fetchone()
        return int(row[0]) + 1

    # ------------------------------------------------------------------ pages
    def page_path(self, job_id: int, seq: int, suffix: str) -> Path:
        """Deterministic file name of a page's file, so a re-run overwrites, never duplicates."""
        return self.state_dir / "pages" / f"job-{job_id:06d}" / f"{seq:05d}{suffix}"

    def add_page(self, job_id: int, seq: int, raw_path: Path, *, width: int, height: int, dpi: int,
                 channels: int) -> int:
        """Record a captured page whose file is already durable (J1)."""
        with self.transaction() as db:
            cur = db.execute(
                "INSERT INTO pages(job_id, seq, state, raw_path, width, height, dpi, channels, captured_at)"
                " VALUES (?,?,?,?,?,?,?,?,?)",
                (job_id, seq, "captured", self.rel(raw_path), width, height, dpi, channels, time.time()))
            db.execute("INSERT INTO page_events VALUES (?, 'captured', ?)", (cur.lastrowid, time.time()))
            return int(cur.lastrowid)

    def pages_in_state(self, state: str, limit: int = 100) -> list[PageRow]:
        rows = self._conn().execute("SELECT * FROM pages WHERE state=? ORDER BY id LIMIT ?", (state, limit))
        return [self._page(r) for r in rows]

    def page(self, page_id: int) -> PageRow:
        return self._page(self._conn().execute("SELECT * FROM pages WHERE id=?", (page_id,)).fetchone())

    def mark_processed(self, page_id: int, colour_path: Path, bitonal_path: Path | None,
                       analysis: dict[str, Any]) -> bool:
        """captured -> processed with its outputs; False if it was not 'captured' (already done)."""
        now = time.time()
        with self.transaction() as db:
            cur = db.execute(
                "UPDATE pages SET state='processed', colour_path=?, bitonal_path=?, analysis=?, processed_at=?"
                " WHERE id=? AND state='captured'",
                (self.rel(colour_path), self.rel(bitonal_path) if bitonal_path else None,
                 json.dumps(analysis, ensure_ascii=False), now, page_id))
            if cur.rowcount:
                db.execute("INSERT INTO page_events VALUES (?, 'processed', ?)", (page_id, now))
            return bool(cur.rowcount)

    def mark_failed(self, page_id: int, error: str) -> None:
        with self.transaction() as db:
            db.execute("UPDATE pages SET state='failed', error=? WHERE id=? AND state='captured'", (error, page_id))
            db.execute("INSERT INTO page_events VALUES (?, 'failed', ?)", (page_id, time.time()))

    def set_page_state(self, page_ids: list[int], state: str, expect: str | None = None) -> int:
        """Move pages to *state* (only those in *expect* when given). Returns rows changed."""
        now = time.time()
        changed = 0
        with self.transaction() as db:
            for pid in page_ids:
                sql = "UPDATE pages SET state=? WHERE id=?" + (" AND state=?" if expect else "")
                args = (state, pid, expect) if expect else (state, pid)
                n = db.execute(sql, args).rowcount
                if n:
                    db.execute("INSERT INTO page_events VALUES (?, ?, ?)", (pid, state, now))
                changed += n
        return changed

    def _page(self, r: sqlite3.Row) -> PageRow:
        return PageRow(
            id=r["id"], job_id=r["job_id"], seq=r["seq"], state=r["state"], raw_path=self.abs(r["raw_path"]),
            width=r["width"], height=r["height"], dpi=r["dpi"], channels=r["channels"],
            colour_path=self.abs(r["colour_path"]) if r["colour_path"] else None,
            bitonal_path=self.abs(r["bitonal_path"]) if r["bitonal_path"] else None,
            analysis=json.loads(r["analysis"]) if r["analysis"] else None)

    # ------------------------------------------------------------------ events and counters
    def event(self, level: str, code: str, message: str, job_id: int | None = None,
              page_id: int | None = None) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO events(at, level, code, message, job_id, page_id) VALUES (?,?,?,?,?,?)",
                       (time.time(), level, code, message, job_id, page_id))
            # Bounded: the status page shows the last few; journald keeps the history.
            db.execute("DELETE FROM events WHERE id <= (SELECT MAX(id) FROM events) - 1000")

    def recent_events(self, limit: int = 10, min_level: str = "warning") -> list[dict]:
        levels = ("warning", "error") if min_level == "warning" else ("info", "warning", "error")
        rows = self._conn().execute(
            f"SELECT * FROM events WHERE level IN ({','.join('?' * len(levels))}) ORDER BY id DESC LIMIT ?",
            (*levels, limit))
        return [dict(r) for r in rows]

    def page_counts(self) -> dict[str, int]:
        return {r[0]: r[1] for r in self._conn().execute("SELECT state, COUNT(*) FROM pages GROUP BY state")}

    def pages_since(self, since: float) -> int:
        return int(self._conn().execute("SELECT COUNT(*) FROM pages WHERE captured_at >= ?", (since,)).fetchone()[0])

    def quality_since(self, since: float) -> dict:
        """Pages processed since *since*: how many, with any warning, blank, and per warning code (heartbeat)."""
        db = self._conn()
        processed, warned, blank = db.execute(
            "SELECT COUNT(*), COALESCE(SUM(json_array_length(analysis, '$.warnings') > 0), 0), "
            "COALESCE(SUM(json_extract(analysis, '$.blank') = 1), 0) FROM pages "
            "WHERE processed_at >= ? AND json_valid(analysis)", (since,)).fetchone()
        codes = db.execute(
            "SELECT json_extract(w.value, '$.code') AS code, COUNT(DISTINCT p.id) FROM pages p, "
            "json_each(p.analysis, '$.warnings') w WHERE p.processed_at >= ? AND json_valid(p.analysis) "
            "GROUP BY code ORDER BY code", (since,)).fetchall()
        return {"pages_processed_today": int(processed), "pages_warned_today": int(warned),
                "pages_blank_today": int(blank),
                "warnings_today": {str(c): int(n) for c, n in codes if isinstance(c, str)}}


class _Tx:
    """``with journal.transaction() as db:`` = BEGIN IMMEDIATE ... COMMIT/ROLLBACK."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")


def _job(r: sqlite3.Row) -> JobRow:
    return JobRow(r["id"], r["source"], r["profile"], r["trigger"], r["state"], r["started_at"], r["ended_at"],
                  r["message"], r["pages"])
