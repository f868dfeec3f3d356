"""The fixity audit: re-read both copies, compare with the expected hash, repair from the good one (design 5.14).

One pass (F4) takes the registered objects least recently audited first, at
most ``rate`` objects a second. Per object (F5): each copy is read whole and
hashed; the copy matching the expected hash (from the log's leaf or the
catalogue) is the trusted one and is written over a bad or missing copy, then
read back; with no good copy nothing is overwritten. A store that cannot be
reached is no finding (F6). Findings go to the log in the operator's words,
to ``fixity_findings`` and to the pass's counters in ``audit_passes`` (F7).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from central.backend_errors import BackendUnavailable
from central.fixity import Copy, CopyFailed, Expected, expected_for, read_copy, where, write_verified
from central.fixity_sql import LOCK_FIXITY
from central.messages import CATALOGUE
from central.objects import Missing

log = logging.getLogger("sohoa.fixity")
FETCH = 50
UNREACHABLE_STREAK = 20  # objects in a row that could not be read before a run gives up (F6)


@dataclass
class Auditor:
    state: object
    primary: object
    replica: object | None
    rate: float = 2.0
    stop: threading.Event = field(default_factory=threading.Event)

    def stores(self) -> dict:
        out = {"primary": self.primary}
        if self.replica is not None:
            out["replica"] = self.replica
        return out

    def run_pass(self, *, limit: int | None = None) -> dict:
        """Audit the pass under way (or a new one) to its end, or *limit* objects; returns its row.

        A run that could read none of UNREACHABLE_STREAK objects in a row stops (a store is down,
        F6): the pass stays open and the next run continues it.
        """
        current = self.state.audit_pass_start()
        pass_id, started = current["id"], current["started_at"]
        t0, n, streak, after, cut = time.monotonic(), 0, 0, None, False
        while not cut:
            rows = self.state.audit_next(started, FETCH, after)
            if not rows:
                break
            for row in rows:
                if self.stop.is_set() or (limit is not None and n >= limit) or streak >= UNREACHABLE_STREAK:
                    cut = True
                    break
                wait = t0 + n / self.rate - time.monotonic()
                if wait > 0:
                    self.stop.wait(wait)
                n += 1
                after = (row["audited_at"], row["name"])
                streak = 0 if self.check(pass_id, row["name"]) else streak + 1
        if cut and self.state.audit_next(started, 1, after):
            return self.state.audit_pass(pass_id)  # not finished: the next run continues it
        done = self.state.audit_pass_finish(pass_id)
        log.info("%s", CATALOGUE["fixity.pass_done"].format(
            checked=done["checked"], mismatches=done["mismatches"], missing=done["missing"],
            repaired=done["repaired"], unrepairable=done["unrepairable"], unavailable=done["unavailable"]).text)
        return done

    def check(self, pass_id: int, name: str) -> bool:
        """Audit one object under its lock; False when it could not be read (left for the next run)."""
        held = self.state.try_lock(LOCK_FIXITY, name)
        if held is None:  # the replicator is copying it right now
            return False
        try:
            return self._check_locked(pass_id, name)
        finally:
            held.release()

    def _check_locked(self, pass_id: int, name: str) -> bool:
        st = self.state
        row = st.fixity_row(name)
        if row is None:
            return True
        exp = expected_for(st, row)
        if exp is None:
            st.fixity_finding(name, "log", "bad_leaf", "", None, "unrepairable")
            st.audit_count(pass_id, checked=1, unrepairable=1)
            st.fixity_audited(name)
            log.error("%s", CATALOGUE["fixity.bad_leaf"].format(name=name).text)
            return True
        copies: dict[str, Copy | str] = {}
        try:
            for copy, store in self.stores().items():
                if copy == "replica" and row["replica_ok_at"] is None:
                    continue  # not replicated yet: the replicator's work (F3), not a finding
                try:
                    copies[copy] = read_copy(store, name)
                except Missing:
                    copies[copy] = "missing"
            return self._judge(pass_id, name, exp, copies)
        except BackendUnavailable as exc:
            st.audit_count(pass_id, unavailable=1)
            log.warning("%s (%s)", CATALOGUE["fixity.unavailable"].format(name=name).text, exc)
            return False
        finally:
            for c in copies.values():
                if isinstance(c, Copy):
                    c.close()

    def _judge(self, pass_id: int, name: str, exp: Expected, copies: dict) -> bool:
        st, stores = self.state, self.stores()
        good = [c for c, v in copies.items() if isinstance(v, Copy) and v.matches(exp)]
        bad = {c: ("missing" if v == "missing" else "mismatch") for c, v in copies.items() if c not in good}
        counts = {"checked": 1, "bytes": sum(v.size for v in copies.values() if isinstance(v, Copy))}
        for copy in good:
            st.fixity_copy_state(name, copy, "ok")
        for copy, problem in bad.items():
            key = "missing" if problem == "missing" else "mismatches"
            counts[key] = counts.get(key, 0) + 1
            found = copies[copy].sha256 if isinstance(copies[copy], Copy) else None
            text = (CATALOGUE["fixity.missing"].format(name=name, where=where(stores[copy])) if problem == "missing"
                    else CATALOGUE["fixity.mismatch"].format(name=name, where=where(stores[copy]),
                                                             expected=exp.sha256[:16], found=(found or "")[:16]))
            log.warning("%s", text.text)
            if good:
                action = self._repair(name, copy, copies[good[0]], exp)
            else:  # no copy to trust: nothing is overwritten (F5)
                action = "unrepairable"
                log.error("%s", CATALOGUE["fixity.unrepairable"].format(name=name).text)
            st.fixity_copy_state(name, copy, "ok" if action == "repaired" else problem)
            st.fixity_finding(name, copy, problem, exp.sha256, found, action)
            if action != "pending":
                counts[action] = counts.get(action, 0) + 1
        st.audit_count(pass_id, **counts)
        st.fixity_audited(name)
        return True

    def _repair(self, name: str, copy: str, source: Copy, exp: Expected) -> str:
        """Write the good copy's bytes over the bad one and read them back: ``repaired``, ``pending``, ..."""
        store = self.stores()[copy]
        try:
            write_verified(store, name, source, exp)
        except BackendUnavailable as exc:
            log.warning("%s (%s)", CATALOGUE["fixity.unavailable"].format(name=name).text, exc)
            return "pending"
        except CopyFailed as exc:
            log.error("%s (%s)", CATALOGUE["fixity.unrepairable"].format(name=name).text, exc)
            return "unrepairable"
        log.warning("%s", CATALOGUE["fixity.repaired"].format(name=name, where=where(store)).text)
        return "repaired"
