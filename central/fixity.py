"""Two copies: what an object must hash to, reading a copy whole, and the replicator (design 5.14 F1-F3).

The expected hash comes from the object's source of truth, never from a
copy: a batch's Merkle leaf (checked against the log row's leaf hash), a
package's catalogue hash. A copy is read whole into a spool (memory up to
8 MiB, then a temporary file) while it is hashed, so the bytes written to
the other store are exactly the bytes that were just found good.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import threading
from dataclasses import dataclass, field

from central.backend_errors import BackendUnavailable
from central.fixity_sql import LOCK_FIXITY
from central.messages import CATALOGUE
from central.objects import Missing
from sync.canon import canonical
from sync.merkle import leaf_hash

log = logging.getLogger("sohoa.fixity")
SPOOL_IN_MEMORY = 8 << 20
COPIES = ("primary", "replica")


@dataclass(frozen=True)
class Expected:
    sha256: str
    size: int


class CopyFailed(Exception):
    """A copy written to a store did not read back as the expected bytes."""


def expected_for(state, row) -> Expected | None:
    """The hash *row*'s object must have; None when a batch's log row does not hold together (F1)."""
    if row["kind"] != "batch" or row["log_idx"] is None:
        held = state.catalogue_hash(row["kind"], row["source"]) if row["source"] else None
        sha, size = held if held is not None else (row["sha256"], int(row["size"]))
        return Expected(sha.lower(), size)
    entry = state.log_row(row["log_idx"])
    if entry is None:
        return None
    try:
        leaf = json.loads(entry["receipt"])["leaf"]
        good = (leaf_hash(canonical(leaf)) == bytes(entry["leaf_hash"])
                and "archive/" + entry["archive"] == row["name"])
        return Expected(str(leaf["sha256"]), int(leaf["size"])) if good else None
    except (ValueError, KeyError, TypeError):
        return None


def batch_registration(entry) -> tuple[str, Expected | None]:
    """(object name, expected hash or None if the leaf does not match its hash) of a log row."""
    name = "archive/" + entry["archive"]
    try:
        leaf = json.loads(entry["receipt"])["leaf"]
        if leaf_hash(canonical(leaf)) == bytes(entry["leaf_hash"]):
            return name, Expected(str(leaf["sha256"]), int(leaf["size"]))
    except (ValueError, KeyError, TypeError):
        pass
    return name, None


def object_name(key: str) -> str:
    """The name, under each store's prefix, of a catalogue object key (design 5.13: ``objects/<key>``)."""
    return "objects/" + key


class Copy:
    """One copy read whole: its SHA-256, its size and its bytes (spooled); close it after use."""

    def __init__(self, store, name: str):
        self.spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
        h, n = hashlib.sha256(), 0
        try:
            for block in store.read(name):
                h.update(block)
                self.spool.write(block)
                n += len(block)
        except BaseException:
            self.spool.close()
            raise
        self.sha256, self.size = h.hexdigest(), n

    def matches(self, exp: Expected) -> bool:
        return self.sha256 == exp.sha256 and self.size == exp.size

    def close(self) -> None:
        self.spool.close()

    def __enter__(self) -> "Copy":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_copy(store, name: str) -> Copy:
    """The copy of *name* in *store*; raises :class:`Missing` or ``BackendUnavailable``."""
    return Copy(store, name)


def write_verified(store, name: str, good: Copy, exp: Expected) -> None:
    """Write *good*'s bytes as *name* in *store*, then read them back whole: raises :class:`CopyFailed`."""
    good.spool.seek(0)
    store.write(name, good.spool, good.size)
    try:
        with read_copy(store, name) as back:
            if not back.matches(exp):
                raise CopyFailed(f"{name}: read back as {back.sha256[:16]} ({back.size} bytes)")
    except Missing:
        raise CopyFailed(f"{name}: not there after it was written") from None


def where(store) -> str:
    return getattr(store, "where", type(store).__name__)


@dataclass
class Replicator:
    """Registers accepted batches and copies every registered object to the replica (F1-F3)."""

    state: object
    primary: object
    replica: object
    counters: dict = field(default_factory=lambda: {"registered": 0, "copied": 0, "bytes": 0, "unavailable": 0,
                                                    "bad_primary": 0, "busy": 0})

    def register(self) -> int:
        """Give every log row and catalogued package or PDF without one a ``fixity`` row (F1); how many."""
        n = self._register_batches()
        while rows := self.state.fixity_unregistered_objects():
            added = 0
            for r in rows:
                added += self.state.fixity_register(object_name(r["source"]), r["kind"], str(r["sha256"]),
                                                    int(r["size"]), source=r["source"])
            n += added
            if not added:  # two catalogue keys naming one object: registered once, nothing more to do
                break
        self.counters["registered"] += n
        return n

    def _register_batches(self) -> int:
        n = 0
        while rows := self.state.fixity_unregistered_batches():
            for entry in rows:
                name, exp = batch_registration(entry)
                if exp is None:
                    self.state.fixity_finding(name, "log", "bad_leaf", bytes(entry["leaf_hash"]).hex(), None,
                                              "unrepairable")
                    log.error("%s", CATALOGUE["fixity.bad_leaf"].format(name=name).text)
                    exp = Expected("", 0)  # nothing matches: every pass reports it (F1)
                self.state.fixity_register(name, "batch", exp.sha256, exp.size, log_idx=entry["idx"])
                n += 1
        return n

    def replicate_one(self, name: str) -> str:
        """Copy *name* to the replica: ``preserved``, ``retry``, ``bad_primary`` or ``busy``."""
        held = self.state.try_lock(LOCK_FIXITY, name)
        if held is None:
            self.counters["busy"] += 1
            return "busy"
        try:
            return self._replicate_locked(name)
        finally:
            held.release()

    def _replicate_locked(self, name: str) -> str:
        row = self.state.fixity_row(name)
        if row is None or row["replica_ok_at"] is not None:
            return "preserved"
        exp = expected_for(self.state, row)
        try:
            good = read_copy(self.primary, name)
        except Missing:
            self._bad_primary(row, "missing", exp, None)
            return "bad_primary"
        except BackendUnavailable as exc:
            return self._later(name, exc)
        with good:
            if exp is None or not good.matches(exp):
                self._bad_primary(row, "mismatch", exp, good.sha256)
                return "bad_primary"
            try:
                write_verified(self.replica, name, good, exp)
            except (BackendUnavailable, CopyFailed) as exc:
                return self._later(name, exc)
            self.state.fixity_replicated(name)
            self.counters["copied"] += 1
            self.counters["bytes"] += good.size
        log.info("%s", CATALOGUE["fixity.replicated"].format(name=name, where=where(self.replica)).text)
        return "preserved"

    def _later(self, name: str, exc: BaseException) -> str:
        self.counters["unavailable"] += 1
        pause = self.state.fixity_retry_later(name)
        log.warning("%s (%s)", CATALOGUE["fixity.replica_later"].format(name=name, seconds=round(pause)).text, exc)
        return "retry"

    def _bad_primary(self, row, problem: str, exp: Expected | None, found: str | None) -> None:
        """No good copy to replicate (F2): reported once per change, retried later (the audit may repair it)."""
        self.counters["bad_primary"] += 1
        name = row["name"]
        if row["primary_state"] != problem:
            self.state.fixity_copy_state(name, "primary", problem)
            self.state.fixity_finding(name, "primary", problem, exp.sha256 if exp else "", found, "unrepairable")
            log.error("%s", CATALOGUE["fixity.unrepairable"].format(name=name).text)
        self.state.fixity_retry_later(name)

    def run_once(self) -> dict:
        """Register, then copy every object that is due, until none is; returns the counters."""
        self.register()
        tried: set[str] = set()
        while True:
            rows = [r for r in self.state.fixity_to_replicate(200) if r["name"] not in tried]
            if not rows:
                break
            for row in rows:
                tried.add(row["name"])
                self.replicate_one(row["name"])
        return dict(self.counters)

    def run(self, stop: threading.Event, interval_s: float = 1.0) -> None:
        """Keep the replica caught up until *stop* is set (``sohoa-central replicate``)."""
        while not stop.is_set():
            try:
                self.run_once()
            except BackendUnavailable as exc:  # the state database: wait and try again
                log.warning("state unavailable: %s", exc)
            stop.wait(interval_s)
