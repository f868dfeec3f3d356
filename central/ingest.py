"""The ingest worker (design 5.13): accepted batches into objects and catalogue rows, exactly once.

One :meth:`IngestWorker.step` enqueues (Q1), claims one job (Q2), opens the
sealed batch and reads, checks and stores every package (Q3), then commits its
catalogue rows with the job's ``done`` state in one transaction (Q4), or marks
it failed (Q5), or gives it back (Q6). Any number of workers run at once, in
any processes; a worker killed at any point leaves its job to be claimed again
when its lease expires, and nothing half-written in the catalogue. Members and
PDFs pass through files in the worker's spool (:mod:`central.ingest_spool`),
never whole in memory.
"""

from __future__ import annotations

import dataclasses
import logging
import mmap
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from central import ingest_queue
from central.backend_errors import BackendUnavailable
from central.catalogue import BatchRows, batch_warnings, insert_batch, log_received
from central.catalogue_objects import objects_for, package_name, pdf_name
from central.catalogue_read import PackageRefused, read_member
from central.ingest_spool import Spool, default_root
from records import confidence_sidecar
from sync.batch import BatchError, open_batch
from sync.keys import ed25519_public

log = logging.getLogger("sohoa.ingest")
MAX_ATTEMPTS = 5  # claims of one batch that ended in an unexpected error before it is marked failed (Q6)


class LeaseLost(Exception):
    """Another worker holds the job now (this worker's lease expired): stop, write nothing."""


class _NotOurs(Exception):
    """Raised inside the commit transaction to roll it back when the job is no longer this worker's."""


@dataclass(frozen=True)
class Outcome:
    """What one step did: ``done``, ``failed``, ``lost`` (another worker has it) or ``released``."""

    device_id: str
    seq: int
    result: str
    packages: int = 0
    pages: int = 0
    documents: int = 0
    error: str = ""
    seconds: float = 0.0  # from the claim to the end of the step


class _Lease:
    """Renews a job's lease every third of its length in a thread; ``lost`` once another worker has it."""

    def __init__(self, state, job: ingest_queue.Job, lease_s: float):
        self.state, self.job, self.lease_s = state, job, lease_s
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{job.log_idx}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.lease_s / 3):
            try:
                if not ingest_queue.renew(self.state, self.job, self.lease_s):
                    self.lost.set()
                    return
            except BackendUnavailable as exc:  # tried again; if the lease runs out, Q4's fence decides
                log.warning("lease of batch %s/%d not renewed: %s", self.job.device_id, self.job.seq, exc)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


class IngestWorker:
    def __init__(self, state, store, archive_key, *, lease_s: float = 60.0, spool: Path | None = None):
        """*spool* is the spool root (design 5.13); stale folders of stopped workers under it are removed."""
        if not lease_s > 0:
            raise ValueError("lease_s must be positive")
        self.state, self.store, self.archive_key, self.lease_s = state, store, archive_key, lease_s
        self.objects = objects_for(store)
        self.spool = Spool(spool if spool is not None else default_root())

    def close(self) -> None:
        """Remove this worker's spool folder."""
        self.spool.close()

    def __enter__(self) -> "IngestWorker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def step(self) -> Outcome | None:
        """Ingest one batch; None when the queue has nothing to claim."""
        ingest_queue.enqueue(self.state)
        job = ingest_queue.claim(self.state, self.lease_s)
        if job is None:
            return None
        started = time.monotonic()
        outcome = self._step(job)
        return dataclasses.replace(outcome, seconds=time.monotonic() - started)

    def _step(self, job: ingest_queue.Job) -> Outcome:
        lease = _Lease(self.state, job, self.lease_s)
        try:
            with self.spool.job(job.log_idx) as folder:
                rows = self._work(job, lease, folder)
        except LeaseLost:
            return Outcome(job.device_id, job.seq, "lost")
        except (BatchError, PackageRefused) as exc:
            error = f"{exc.code}: {exc.detail}" if isinstance(exc, BatchError) else f"sip_check: {exc}"
            ingest_queue.fail(self.state, job, error)
            log.error("batch %s/%d not ingested: %s", job.device_id, job.seq, error)
            return Outcome(job.device_id, job.seq, "failed", error=error)
        except (BackendUnavailable, OSError, BotoCoreError, ClientError) as exc:
            log.warning("batch %s/%d given back: %s", job.device_id, job.seq, exc)
            return self._give_back(job, str(exc))
        except Exception as exc:  # a fault of this code on this batch: retried, then failed, never a crash loop
            log.exception("batch %s/%d: unexpected error", job.device_id, job.seq)
            error = f"internal: {type(exc).__name__}: {exc}"
            if job.attempts >= MAX_ATTEMPTS:
                ingest_queue.fail(self.state, job, error)
                return Outcome(job.device_id, job.seq, "failed", error=error)
            return self._give_back(job, error)
        finally:
            lease.stop()
        try:
            with self.state.tx() as db:
                if not ingest_queue.mark_done(db, job):
                    raise _NotOurs()
                insert_batch(db, rows)
        except _NotOurs:
            return Outcome(job.device_id, job.seq, "lost")
        pages = sum(p.pages for p in rows.packages)
        docs = sum(p.documents for p in rows.packages)
        log.info("batch %s/%d ingested: %d packages, %d documents, %d pages", job.device_id, job.seq,
                 len(rows.packages), docs, pages)
        return Outcome(job.device_id, job.seq, "done", len(rows.packages), pages, docs)

    def _give_back(self, job: ingest_queue.Job, error: str) -> Outcome:
        try:
            ingest_queue.release(self.state, job)
        except BackendUnavailable:
            pass  # its lease runs out instead
        return Outcome(job.device_id, job.seq, "released", error=error)

    def _work(self, job: ingest_queue.Job, lease: _Lease, folder: Path) -> BatchRows:
        """Q3: open the sealed batch, check and store every package; the rows for Q4."""
        device = self.state.device(job.device_id)
        if device is None:
            raise BatchError("unknown_device", f"{job.device_id} is not enrolled")
        rows = BatchRows(job.device_id, job.seq, job.batch, job.log_idx, {}, log_received(self.state, job.log_idx))

        def member(name: str, path: Path) -> list[str]:
            if lease.lost.is_set():
                raise LeaseLost()
            if confidence_sidecar.NAME_RE.fullmatch(name):
                sidecar = _confidences(name, path)
                # formats 6.7: advisory, so a bad one is a warning, never a refusal
                rows.warnings.extend((name, "bad_confidences", w) for w in sidecar.warnings)
                if sidecar.documents:
                    rows.confidences.append((name, sidecar))
                return []
            package = read_member(name, path, self.archive_key, folder)
            if package is None:
                size = path.stat().st_size
                rows.warnings.append((name, "not_a_package", f"{name}: {size} bytes, kept in the sealed batch"))
                return []
            self.objects.put_file(package_name(job.device_id, job.seq, name), path)
            package.path = None
            for doc in package.docs:
                self.objects.put_file(pdf_name(job.device_id, job.seq, package.objid, doc.doc_id), doc.pdf)
                doc.pdf.unlink()
                doc.pdf = None
            rows.warnings.extend((name, code, detail) for code, detail in package.warnings)
            package.warnings = []
            rows.packages.append(package)
            return []

        with self.store.open_archived(job.archive) as f:
            opened = open_batch(f, archive_private=self.archive_key, device_public=ed25519_public(device.public_key),
                                device_id=job.device_id, member_check=member, spool=folder)
        if opened.batch_hash != job.batch or opened.manifest["seq"] != job.seq:
            raise BatchError("archive_mismatch", f"{job.archive}: the sealed batch is not the one the log names")
        if lease.lost.is_set():
            raise LeaseLost()
        rows.manifest = opened.manifest
        rows.warnings[:0] = batch_warnings(opened.manifest, rows.packages)
        return rows

    def run(self, *, until_idle: bool = False, poll_s: float = 2.0, stop: threading.Event | None = None,
            on_outcome=None) -> dict[str, int]:
        """Steps until *stop* is set (or, with *until_idle*, the queue is empty); totals per result."""
        stop = stop or threading.Event()
        totals = {"done": 0, "failed": 0, "lost": 0, "released": 0, "packages": 0, "pages": 0, "documents": 0}
        while not stop.is_set():
            try:
                outcome = self.step()
            except BackendUnavailable as exc:
                log.warning("ingest paused: %s", exc)
                stop.wait(poll_s)
                continue
            if outcome is None:
                if until_idle:
                    break
                stop.wait(poll_s)
                continue
            totals[outcome.result] += 1
            totals["packages"] += outcome.packages
            totals["pages"] += outcome.pages
            totals["documents"] += outcome.documents
            if on_outcome is not None:
                on_outcome(outcome)
            if outcome.result == "released":
                stop.wait(poll_s)
        return totals


def _confidences(name: str, path: Path):
    """The confidences member *name* in the file *path*, decoded (formats 6.7); one larger than any valid
    one is mapped, not read, so ``decode`` sees its size and warns without its bytes in memory."""
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size <= confidence_sidecar.MAX_BYTES:
            return confidence_sidecar.decode(name, f.read())
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            return confidence_sidecar.decode(name, mapped)
