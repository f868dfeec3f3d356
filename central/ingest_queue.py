"""The ingest queue in the state database (design 5.13, Q1-Q6): enqueue, claim with a lease, renew, finish.

Every call is one short transaction; none is held while a batch is worked on.
The job's ``worker`` token fences every change after the claim: a worker whose
lease another worker took changes nothing.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from central.state_sql import Db


@dataclass(frozen=True)
class Job:
    log_idx: int
    device_id: str
    seq: int
    batch: str
    archive: str
    worker: str
    attempts: int


def enqueue(state) -> int:
    """Q1: one ``queued`` job per log entry not yet in the queue; returns how many were added."""
    with state.tx() as db:
        cur = db.execute(
            "INSERT INTO ingest_batches(log_idx, device_id, seq, batch, archive, state, queued_at) "
            "SELECT idx, device_id, seq, batch, archive, 'queued', ? FROM log "
            "WHERE idx > (SELECT COALESCE(MAX(log_idx), -1) FROM ingest_batches) "
            "ON CONFLICT DO NOTHING", (time.time(),))
        return max(cur.rowcount, 0)


def claim(state, lease_s: float) -> Job | None:
    """Q2: the first queued job, or one whose lease expired, now leased to a fresh token; None if none."""
    now = time.time()
    token = secrets.token_hex(16)
    skip = " FOR UPDATE SKIP LOCKED" if state.backend == "postgresql" else ""
    with state.tx() as db:
        row = db.execute(
            "SELECT log_idx FROM ingest_batches WHERE state='queued' OR (state='claimed' AND lease_until < ?) "
            "ORDER BY log_idx LIMIT 1" + skip, (now,)).fetchone()
        if row is None:
            return None
        got = db.execute(
            "UPDATE ingest_batches SET state='claimed', worker=?, lease_until=?, attempts=attempts+1 "
            "WHERE log_idx=? RETURNING *", (token, now + lease_s, row["log_idx"])).fetchone()
    return Job(got["log_idx"], got["device_id"], got["seq"], got["batch"], got["archive"], token, got["attempts"])


def renew(state, job: Job, lease_s: float) -> bool:
    """Extend the lease; False when the job is no longer this worker's (stop working on it)."""
    with state.tx() as db:
        cur = db.execute("UPDATE ingest_batches SET lease_until=? WHERE log_idx=? AND worker=? AND state='claimed'",
                         (time.time() + lease_s, job.log_idx, job.worker))
        return cur.rowcount == 1


def mark_done(db: Db, job: Job) -> bool:
    """Q4, inside the commit transaction: True when the job was still this worker's and is now done."""
    cur = db.execute("UPDATE ingest_batches SET state='done', done_at=?, lease_until=NULL, error=NULL "
                     "WHERE log_idx=? AND worker=? AND state='claimed'", (time.time(), job.log_idx, job.worker))
    return cur.rowcount == 1


def fail(state, job: Job, error: str) -> bool:
    """Q5: the batch or a package was refused; the job is ``failed`` with *error*."""
    with state.tx() as db:
        cur = db.execute("UPDATE ingest_batches SET state='failed', error=?, lease_until=NULL "
                         "WHERE log_idx=? AND worker=? AND state='claimed'", (error[:2000], job.log_idx, job.worker))
        return cur.rowcount == 1


def release(state, job: Job) -> None:
    """Q6: a backend error; the job goes back to the queue for any worker."""
    with state.tx() as db:
        db.execute("UPDATE ingest_batches SET state='queued', worker=NULL, lease_until=NULL "
                   "WHERE log_idx=? AND worker=? AND state='claimed'", (job.log_idx, job.worker))


def retry_failed(state) -> int:
    with state.tx() as db:
        return db.execute("UPDATE ingest_batches SET state='queued', worker=NULL, error=NULL "
                          "WHERE state='failed'").rowcount


def counts(state) -> dict[str, int]:
    """Jobs per state (every state named, 0 when none)."""
    out = {"queued": 0, "claimed": 0, "done": 0, "failed": 0}
    for r in state._all("SELECT state, COUNT(*) AS n FROM ingest_batches GROUP BY state"):
        out[r["state"]] = r["n"]
    return out


def failures(state, limit: int = 100) -> list:
    return state._all("SELECT device_id, seq, attempts, error FROM ingest_batches WHERE state='failed' "
                      "ORDER BY log_idx LIMIT ?", (limit,))
