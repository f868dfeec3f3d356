"""The state queries of two copies and fixity (design 5.14, migration 0004), for both backends.

A mixin of :class:`central.state_sql.SqlState`: the same ``?``-placeholder SQL
runs on SQLite and PostgreSQL through the backend's ``_conn`` and ``tx``.
"""

from __future__ import annotations

import time

LOCK_FIXITY = 5  # advisory lock class of one object being copied or repaired (design 5.14 F2)
BACKOFF_MAX_S = 300.0


class FixityQueries:
    """Rows of ``fixity``, ``fixity_findings`` and ``audit_passes``."""

    # -------------------------------------------------------------- registration (F1)
    def fixity_unregistered_batches(self, limit: int = 500) -> list:
        """Log rows that have no ``fixity`` row yet, in log order."""
        # Log rows commit in index order (L3) and are registered in that order, so the highest
        # registered index is a cursor (found through the unique index, not by scanning the log).
        return self._all("SELECT idx, leaf_hash, archive, receipt FROM log WHERE idx > "
                         "(SELECT COALESCE(MAX(log_idx), -1) FROM fixity) ORDER BY idx LIMIT ?", (limit,))

    def fixity_unregistered_objects(self, limit: int = 500) -> list:
        """Packages and PDFs of the catalogue (design 5.13) that have no ``fixity`` row yet."""
        return self._all(
            "SELECT 'package' AS kind, f.package_key AS source, f.package_sha256 AS sha256, f.package_size AS size "
            "FROM cat_files f LEFT JOIN fixity x ON x.source = f.package_key WHERE x.name IS NULL "
            "UNION ALL "
            "SELECT 'pdf' AS kind, d.pdf_key AS source, d.pdf_sha256 AS sha256, d.pdf_size AS size "
            "FROM cat_documents d LEFT JOIN fixity x ON x.source = d.pdf_key WHERE x.name IS NULL AND "
            "d.pdf_key IS NOT NULL LIMIT ?", (limit,))

    def catalogue_hash(self, kind: str, source: str):
        """(sha256, size) the catalogue holds for a package's or PDF's key, or None."""
        if kind == "package":
            r = self._one("SELECT package_sha256 AS sha256, package_size AS size FROM cat_files "
                          "WHERE package_key=? LIMIT 1", (source,))
        else:
            r = self._one("SELECT pdf_sha256 AS sha256, pdf_size AS size FROM cat_documents "
                          "WHERE pdf_key=? LIMIT 1", (source,))
        return None if r is None else (str(r["sha256"]).lower(), int(r["size"]))

    def fixity_register(self, name: str, kind: str, sha256: str, size: int, *, log_idx: int | None = None,
                        source: str | None = None, db=None) -> bool:
        """Note an object to keep twice; False when it was registered already (nothing changes)."""
        sql = ("INSERT INTO fixity(name, kind, source, log_idx, sha256, size, registered_at) "
               "VALUES (?,?,?,?,?,?,?) ON CONFLICT DO NOTHING")
        params = (name, kind, source, log_idx, sha256.lower(), size, time.time())
        if db is not None:
            return db.execute(sql, params).rowcount == 1
        with self.tx() as own:
            return own.execute(sql, params).rowcount == 1

    def fixity_row(self, name: str):
        return self._one("SELECT * FROM fixity WHERE name=?", (name,))

    def log_row(self, idx: int):
        return self._one("SELECT * FROM log WHERE idx=?", (idx,))

    # -------------------------------------------------------------- replication (F2, F3)
    def fixity_to_replicate(self, limit: int = 100, *, now: float | None = None) -> list:
        """Registered objects with no verified replica whose next try is due, oldest first."""
        now = time.time() if now is None else now
        return self._all("SELECT * FROM fixity WHERE replica_ok_at IS NULL AND next_try_at <= ? "
                         "ORDER BY registered_at, name LIMIT ?", (now, limit))

    def fixity_replicated(self, name: str) -> None:
        """Both copies verified just now: the object is preserved (F2), in one transaction."""
        now = time.time()
        with self.tx() as db:
            db.execute("UPDATE fixity SET primary_ok_at=?, replica_ok_at=?, primary_state='ok', replica_state='ok', "
                       "preserved_at=COALESCE(preserved_at, ?), attempts=0, next_try_at=0 WHERE name=?",
                       (now, now, now, name))

    def fixity_retry_later(self, name: str) -> float:
        """The replica (or the primary) could not be reached: try again after a growing pause (F3)."""
        now = time.time()
        with self.tx() as db:
            row = db.execute("UPDATE fixity SET attempts=attempts+1 WHERE name=? RETURNING attempts",
                             (name,)).fetchone()
            pause = min(BACKOFF_MAX_S, 2.0 ** (row["attempts"] if row is not None else 1))
            db.execute("UPDATE fixity SET next_try_at=? WHERE name=?", (now + pause, name))
        return pause

    # -------------------------------------------------------------- audit (F4-F7)
    def fixity_copy_state(self, name: str, copy: str, state: str, *, audited: bool = False) -> None:
        """Record what one copy was found to be (``ok``, ``missing``, ``mismatch``)."""
        if copy not in ("primary", "replica") or state not in ("ok", "missing", "mismatch"):
            raise ValueError(f"bad copy or state: {copy} {state}")
        now = time.time()
        ok = f", {copy}_ok_at=?" if state == "ok" else ""
        params = (state, now) if state == "ok" else (state,)
        with self.tx() as db:
            db.execute(f"UPDATE fixity SET {copy}_state=?{ok} WHERE name=?", (*params, name))
            if audited:
                db.execute("UPDATE fixity SET audited_at=? WHERE name=?", (now, name))
            db.execute("UPDATE fixity SET preserved_at=? WHERE name=? AND preserved_at IS NULL AND "
                       "primary_state='ok' AND replica_state='ok' AND primary_ok_at IS NOT NULL "
                       "AND replica_ok_at IS NOT NULL", (now, name))

    def fixity_audited(self, name: str) -> None:
        with self.tx() as db:
            db.execute("UPDATE fixity SET audited_at=? WHERE name=?", (time.time(), name))

    def fixity_finding(self, name: str, copy: str, problem: str, expected: str, found: str | None,
                       action: str) -> None:
        with self.tx() as db:
            db.execute("INSERT INTO fixity_findings(at, name, copy, problem, expected, found, action) "
                       "VALUES (?,?,?,?,?,?,?)", (time.time(), name, copy, problem, expected, found, action))

    def fixity_findings(self, limit: int = 100) -> list:
        return self._all("SELECT * FROM fixity_findings ORDER BY id DESC LIMIT ?", (limit,))

    def audit_pass_open(self):
        """The pass under way (no ``finished_at``), or None."""
        return self._one("SELECT * FROM audit_passes WHERE finished_at IS NULL ORDER BY id DESC LIMIT 1")

    def audit_pass_start(self) -> dict:
        """The pass under way, or a new one over every registered object (F4)."""
        with self.tx() as db:
            row = db.execute("SELECT * FROM audit_passes WHERE finished_at IS NULL ORDER BY id DESC LIMIT 1"
                             ).fetchone()
            if row is not None:
                return dict(row)
            total = db.execute("SELECT COUNT(*) AS n FROM fixity").fetchone()["n"]
            return dict(db.execute("INSERT INTO audit_passes(started_at, total) VALUES (?,?) RETURNING *",
                                   (time.time(), total)).fetchone())

    def audit_next(self, started_at: float, limit: int, after: tuple[float, str] | None = None) -> list:
        """Objects not audited since the pass began, least recently audited first (F4).

        *after* (``audited_at``, name) of the last row a run took: rows it could not read keep
        their place, so the run goes on past them instead of reading them again.
        """
        if after is None:
            return self._all("SELECT * FROM fixity WHERE audited_at < ? AND registered_at < ? "
                             "ORDER BY audited_at, name LIMIT ?", (started_at, started_at, limit))
        return self._all("SELECT * FROM fixity WHERE audited_at < ? AND registered_at < ? AND "
                         "(audited_at > ? OR (audited_at = ? AND name > ?)) ORDER BY audited_at, name LIMIT ?",
                         (started_at, started_at, after[0], after[0], after[1], limit))

    def audit_count(self, pass_id: int, **deltas: int) -> None:
        """Add *deltas* (checked, bytes, mismatches, missing, repaired, unrepairable, unavailable) to a pass."""
        known = ("checked", "bytes", "mismatches", "missing", "repaired", "unrepairable", "unavailable")
        if not deltas or any(k not in known for k in deltas):
            raise ValueError(f"audit counters are {known}")
        sets = ", ".join(f"{k}={k}+?" for k in deltas)
        with self.tx() as db:
            db.execute(f"UPDATE audit_passes SET {sets} WHERE id=?", (*deltas.values(), pass_id))

    def audit_pass_finish(self, pass_id: int) -> dict:
        with self.tx() as db:
            return dict(db.execute("UPDATE audit_passes SET finished_at=? WHERE id=? RETURNING *",
                                   (time.time(), pass_id)).fetchone())

    def audit_pass(self, pass_id: int) -> dict:
        return dict(self._one("SELECT * FROM audit_passes WHERE id=?", (pass_id,)))

    # -------------------------------------------------------------- figures for /metrics (F7)
    def fixity_counts(self) -> dict:
        one = self._one
        out = {"objects": one("SELECT COUNT(*) AS n FROM fixity")["n"],
               "preserved": one("SELECT COUNT(*) AS n FROM fixity WHERE preserved_at IS NOT NULL")["n"]}
        out["unpreserved"] = out["objects"] - out["preserved"]
        sums = one("SELECT COALESCE(SUM(checked), 0) AS checked, COALESCE(SUM(bytes), 0) AS bytes, "
                   "COALESCE(SUM(unavailable), 0) AS unavailable FROM audit_passes")
        out.update({k: int(sums[k]) for k in ("checked", "bytes", "unavailable")})
        out["findings"] = {(r["copy"], r["problem"], r["action"]): r["n"] for r in self._all(
            "SELECT copy, problem, action, COUNT(*) AS n FROM fixity_findings GROUP BY copy, problem, action")}
        current = self.audit_pass_open()
        out["pass_progress"] = (current["checked"] / current["total"] if current and current["total"] else
                                (0.0 if current else 1.0))
        last = one("SELECT MAX(finished_at) AS t FROM audit_passes")["t"]
        out["last_pass_finished"] = float(last or 0)
        return out
