"""The audit trail: a hash-chained table of what staff did (design §5.15).

Each entry's hash covers the previous entry's hash and its own canonical JSON,
so changing, removing or reordering a past entry breaks every hash after it.
Appends take the log lock (5.12 L3), so web processes sharing one PostgreSQL
write one chain.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import time
from dataclasses import dataclass

ZERO = "0" * 64
COLUMNS = ("seq", "at", "actor", "role", "action", "target", "detail", "client", "prev_hash", "hash")


def entry_hash(prev_hash: str, seq: int, at: float, actor: str, role: str, action: str, target: str,
               detail: str, client: str) -> str:
    canon = json.dumps([seq, repr(float(at)), actor, role, action, target, detail, client],
                       ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(prev_hash.encode("ascii") + canon.encode("utf-8")).hexdigest()


def append(state, *, actor: str, role: str, action: str, target: str = "", detail: str = "",
           client: str = "", now: float | None = None) -> int:
    """Append one entry; returns its seq."""
    at = time.time() if now is None else now
    with state.tx() as db:
        state.lock_log(db)
        last = db.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (1, ZERO) if last is None else (last["seq"] + 1, last["hash"])
        h = entry_hash(prev, seq, at, actor, role, action, target, detail, client)
        db.execute("INSERT INTO audit_log(seq, at, actor, role, action, target, detail, client, prev_hash, hash) "
                   "VALUES (?,?,?,?,?,?,?,?,?,?)", (seq, at, actor, role, action, target, detail, client, prev, h))
    return seq


def entries(state, *, limit: int = 200, action: str | None = None, before: int | None = None) -> list[dict]:
    """Newest first; *action* filters, *before* pages back."""
    sql, params = "SELECT * FROM audit_log WHERE 1=1", []
    if action:
        sql += " AND action=?"
        params.append(action)
    if before:
        sql += " AND seq < ?"
        params.append(before)
    sql += " ORDER BY seq DESC LIMIT ?"
    params.append(limit)
    with state.tx() as db:
        return [dict(r) for r in db.execute(sql, tuple(params)).fetchall()]


@dataclass(frozen=True)
class ChainCheck:
    checked: int
    first_bad: int | None  # seq of the first entry whose hash or link does not match


def verify(state, batch: int = 5000) -> ChainCheck:
    """Recompute the chain from the first entry."""
    prev, expected, checked = ZERO, 1, 0
    while True:
        with state.tx() as db:
            rows = db.execute("SELECT * FROM audit_log WHERE seq >= ? ORDER BY seq LIMIT ?",
                              (expected, batch)).fetchall()
        if not rows:
            return ChainCheck(checked, None)
        for r in rows:
            if (r["seq"] != expected or r["prev_hash"] != prev
                    or r["hash"] != entry_hash(prev, r["seq"], r["at"], r["actor"], r["role"], r["action"],
                                               r["target"], r["detail"], r["client"])):
                return ChainCheck(checked, expected)
            prev, expected, checked = r["hash"], expected + 1, checked + 1


def to_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for r in rows:
        writer.writerow([r[c] for c in COLUMNS])
    return out.getvalue()
