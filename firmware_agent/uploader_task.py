"""The appliance side of sync: seal staged batches, upload them in order, keep receipts.

Rules A1-A3 of formats section 5.8 over the batch life cycle of design 2.1: the
journal's ``batches`` row is the only record of a batch (``staged -> sealing ->
sealed -> uploaded -> acknowledged``; ``uploaded``: the receiver has every byte,
its receipt is not verified yet), and every step here is one of its
compare-and-set transitions (:class:`firmware_agent.batches.BatchLedger`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib.metadata
import logging
import random
import shutil
import time
import types
from pathlib import Path
from typing import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from firmware_agent.batches import SealingJob
from firmware_agent.heartbeat_sender import HeartbeatSender
from firmware_agent.messages import CATALOGUE
from firmware_agent.metrics import counter, gauge
from firmware_agent.retention import remove_captures
from firmware_agent.sync_settings import SyncSettings
from firmware_agent.subsystem import Subsystem
from sync.auth import HeaderSource
from sync.batch import seal_batch
from sync.catalogue import Message
from sync.canon import canonical
from sync.client import PermanentError, TransientError, TusClient
from sync.deliver import Outbound, deliver
from sync.fsutil import fsync_dir
from sync.keys import ed25519_public, load_or_create, read_public, x25519_public

log = logging.getLogger("sohoa.sync")

# What the operator and technician read of each state (the catalogue's sync.state.* messages).
MESSAGES = types.MappingProxyType({
    "idle": CATALOGUE["sync.state.idle"],
    "uploading": CATALOGUE["sync.state.uploading"],
    "off": CATALOGUE["sync.state.off"],
    "not_enrolled": CATALOGUE["sync.state.not_enrolled"],
    "offline": CATALOGUE["sync.state.offline"],
    "waiting_hours": CATALOGUE["sync.state.waiting_hours"],
    "retrying": CATALOGUE["sync.state.retrying"],
    "refused": CATALOGUE["sync.state.refused"],
})


def _backoff(attempt: int, lo: float, hi: float) -> float:
    """Exponential back-off with full jitter (uniform in [lo, min(hi, lo * 2^attempt)])."""
    return random.uniform(lo, min(hi, lo * 2 ** min(attempt, 30)))


def in_hours(window: tuple[int, int] | None, hour: int) -> bool:
    if window is None:
        return True
    start, end = window
    return start <= hour < end if start < end else hour >= start or hour < end


class UploaderTask(Subsystem):
    """Long-lived sync task of the agent (a status source: ``run``, ``status``, ``metrics``, ``add_routes``).

    Parameters
    ----------
    settings : SyncSettings
        The ``[sync]`` section.
    journal : firmware_agent.journal.Journal
        Its ``batches`` ledger holds every batch's state (design 2.1).
    state_dir : Path
        The agent's state directory (``sealed/`` and ``keys/`` live there).
    device_id : str
        This appliance's id, as enrolled.
    climate_summary : callable, optional
        Returns the room-climate summary to put in the next manifest, or None.
    heartbeat_report : callable, optional
        Returns the station's fields of the heartbeat (pages today, held record
        files, scanner, climate; design §5.15); the uploader adds its backlog.
    """

    name = "sync"

    def __init__(self, settings: SyncSettings, journal, state_dir: Path, device_id: str,
                 climate_summary: Callable[[], dict | None] | None = None,
                 heartbeat_report: Callable[[], dict] | None = None, heartbeat_every_s: float = 300.0):
        self.settings = settings
        self.journal = journal
        self.state_dir = Path(state_dir)
        self.device_id = device_id
        self.climate_summary = climate_summary
        self.window = settings.hours()
        self.sealed_dir = self.state_dir / "sealed"
        self.sealed_dir.mkdir(parents=True, exist_ok=True)
        self.ledger = journal.batches
        self.key_path, self.archive_path, self.log_path = settings.key_paths(self.state_dir)
        self.state = "off" if not settings.endpoint else "idle"
        self.error: tuple[str, str] | None = None  # (vietnamese, english)
        self.progress: dict | None = None
        self.acknowledged_now = 0
        self.bytes_sent = 0
        self.failures = 0
        self.refusals = 0
        self.online = False
        self._wake = asyncio.Event()
        self._client: TusClient | None = None
        self.heartbeat = HeartbeatSender(endpoint=settings.endpoint, device_id=device_id, key=self.device_key,
                                         ready=self.enrolled, base_report=self._heartbeat_backlog,
                                         extra_report=heartbeat_report, data_dir=self.state_dir,
                                         version=_version(), every_s=heartbeat_every_s)

    # ------------------------------------------------------------------ keys
    def device_key(self) -> Ed25519PrivateKey:
        return load_or_create(self.key_path, Ed25519PrivateKey)

    def enrolled(self) -> bool:
        return self.archive_path.exists() and self.log_path.exists()

    def wake(self) -> None:
        """Look for staged batches now (the batch task calls this after closing one)."""
        self._wake.set()

    # ------------------------------------------------------------------ sealing (A1)
    def seal_staged(self) -> int:
        """Seal every staged batch, oldest first; returns how many were sealed. Blocking: run in a thread."""
        for folder in self.ledger.sealed_folders():  # a crash after sealing kept them (B4)
            self._drop_folder(folder)
        if not self.enrolled():
            return 0
        archive_pub = x25519_public(read_public(self.archive_path))
        key = self.device_key()
        n = 0
        while (job := self.ledger.begin_sealing()) is not None:
            self._seal(job, key, archive_pub)
            n += 1
        return n

    def _seal(self, job: SealingJob, key, archive_pub) -> None:
        out = self.sealed_dir / f"{job.seq:010d}.sohoa"
        climate = self.climate_summary() if self.climate_summary else None
        sealed = seal_batch(out, [(m.name, m.path) for m in job.members], device_id=self.device_id, seq=job.seq,
                            prev=job.prev, created=int(job.created_at), pages=job.page_count,
                            documents=job.doc_count, climate=climate, device_key=key,
                            archive_public=archive_pub, level=self.settings.compression_level)
        if not self.ledger.finish_sealing(job, batch_hash=sealed.batch_hash, file_sha256=sealed.file_sha256,
                                          size=sealed.size, sealed_path=out, manifest=canonical(sealed.manifest)):
            raise RuntimeError(f"batch {job.id} left 'sealing' while it was being sealed")
        log.info("sealed batch %d as seq %d (%d members, %d bytes)", job.id, job.seq, len(job.members), sealed.size)
        # Only now may the clear copy and the captures go: the sealed file and its row are durable.
        self._drop_folder(job.dir)
        remove_captures(self.journal, job.id)

    @staticmethod
    def _drop_folder(folder: Path) -> None:
        shutil.rmtree(folder, ignore_errors=True)
        if folder.parent.exists():
            fsync_dir(folder.parent)

    # ------------------------------------------------------------------ queue
    def _client_for(self) -> TusClient:
        if self._client is None:
            s = self.settings
            self._client = TusClient(s.endpoint, HeaderSource(self.device_id, self.device_key()),
                                     chunk_size=s.chunk_kib * 1024,
                                     rate_limit_bps=s.bandwidth_kib_s * 1024 or None,
                                     connect_timeout_s=s.connect_timeout_s, read_timeout_s=s.read_timeout_s)
        return self._client

    async def send_one(self) -> bool:
        """Deliver the oldest unacknowledged batch; True when one was acknowledged.

        Raises TransientError / PermanentError from the transfer.
        """
        row = self.ledger.next_to_send()
        if row is None:
            return False
        batch = Outbound(self.device_id, row.seq, row.batch_hash, row.file_sha256, row.size, row.path)
        client = self._client_for()
        self.state = "uploading"
        self.progress = {"seq": row.seq, "offset": 0, "size": row.size}

        def created(url: str) -> None:
            self.ledger.set_upload_url(row.id, url)  # A2: committed before the first PATCH

        def moved(offset: int, size: int) -> None:
            self.progress = {"seq": row.seq, "offset": offset, "size": size}

        def uploaded() -> None:  # every byte is there; the receipt is still to be checked
            self.ledger.mark_uploaded(row.id)
        self.ledger.count_attempt(row.id)
        sent_before = client.bytes_sent
        try:
            receipt, verified = await deliver(client, batch, ed25519_public(read_public(self.log_path)),
                                              url=row.upload_url, on_created=created, on_progress=moved,
                                              on_uploaded=uploaded)
        finally:
            self.bytes_sent += client.bytes_sent - sent_before
        # A3: keep the verified receipt, then forget the local copy.
        if not self.ledger.mark_acknowledged(row.id, seq=row.seq, batch_hash=row.batch_hash, receipt=receipt):
            raise RuntimeError(f"batch seq {row.seq} changed state while it was being sent")
        row.path.unlink(missing_ok=True)
        fsync_dir(row.path.parent)
        self.acknowledged_now += 1
        self.progress = None
        self.heartbeat.poke()
        log.info("batch seq %d acknowledged: log index %d of %d", row.seq, verified.index, verified.tree_size)
        return True

    # ------------------------------------------------------------------ loop
    async def run(self) -> None:
        """Seal and send forever; network trouble only ever delays."""
        attempt = 0
        beats = asyncio.create_task(self.heartbeat.run(), name="sohoa-heartbeat")  # never awaited by a batch
        try:
            while True:
                delay = await self._step(attempt)
                attempt = attempt + 1 if delay else 0
                if delay:
                    self._wake.clear()
                    # asyncio.wait, not wait_for: wait_for (3.11) can swallow a
                    # cancellation that races with the event being set.
                    waiter = asyncio.ensure_future(self._wake.wait())
                    try:
                        await asyncio.wait({waiter}, timeout=delay)
                    finally:
                        waiter.cancel()
        finally:
            beats.cancel()
            if self._client is not None:
                await self._client.close()
                self._client = None

    async def _step(self, attempt: int) -> float:
        """One pass; returns how long to wait before the next (0 = go on at once)."""
        s = self.settings
        try:
            await asyncio.to_thread(self.seal_staged)
        except Exception as exc:  # a broken staged batch must not stop delivery of the others
            log.exception("sealing failed")
            self._fail(CATALOGUE["sync.seal_failed"], str(exc))
        if not s.endpoint:
            self.state = "off"
            return 30.0
        if not self.enrolled():
            self.state = "not_enrolled"
            return 30.0
        if not in_hours(self.window, dt.datetime.now().hour):
            self.state = "waiting_hours"
            return 60.0
        if self.ledger.next_to_send() is None:
            self.state, self.progress = "idle", None
            return 2.0
        try:
            if not await self._client_for().probe():
                self.online = False
                self.state = "offline"
                self._fail(MESSAGES["offline"], detail="probe failed")
                return _backoff(attempt, s.backoff_min_s, s.backoff_max_s)
            self.online = True
            await self.send_one()
            self.error = None
            return 0.0
        except TransientError as exc:
            self.state = "retrying"
            self._fail(MESSAGES["retrying"], detail=str(exc))
            return _backoff(attempt, s.backoff_min_s, s.backoff_max_s)
        except PermanentError as exc:
            self.state = "refused"
            self.refusals += 1
            row = self.ledger.next_to_send()
            msg = _refusal(exc.code, row.seq if row else 0)
            self._fail(msg, detail=str(exc))
            self.journal.event("error", "sync_refused", f"{msg.text}: {exc.detail[:300]}")
            return s.backoff_max_s  # keep asking, slowly: a technician may fix the receiver side
        except OSError as exc:  # the sealed file itself, or the key files
            self._fail(CATALOGUE["sync.read_failed"], detail=str(exc))
            return _backoff(attempt, s.backoff_min_s, s.backoff_max_s)
        except (KeyError, ValueError) as exc:  # an answer that is not what a receiver sends (a proxy page?)
            log.exception("unexpected answer from %s", s.endpoint)
            self._fail(CATALOGUE["sync.bad_answer"], detail=f"{type(exc).__name__}: {exc}")
            return _backoff(attempt, s.backoff_min_s, s.backoff_max_s)

    def _fail(self, msg: Message, detail: str = "") -> None:
        self.failures += 1
        vi, en = msg.vi, msg.en
        self.error = (f"{vi}: {detail}" if detail else vi, f"{en}: {detail}" if detail else en)
        row = self.ledger.next_to_send()
        if row is not None:
            self.ledger.set_error(row.id, f"{en}: {detail}")
        log.warning("%s / %s %s", vi, en, detail)

    # ------------------------------------------------------------------ reporting
    def _backlog(self) -> tuple[int, int, float | None]:
        batches, nbytes, oldest = self.ledger.backlog()
        return batches, nbytes, (time.time() - oldest) if oldest is not None else None

    def _heartbeat_backlog(self) -> dict:
        batches, _nbytes, oldest = self._backlog()
        return {"queue_depth": batches, "oldest_unsent_s": oldest}

    def acknowledged_total(self) -> int:
        return self.ledger.acknowledged_total()

    def awaiting_receipt(self) -> int:
        """Batches the receiver has whole whose receipt the appliance has not verified."""
        return self.ledger.awaiting_receipt()

    def status(self) -> dict:
        batches, nbytes, oldest = self._backlog()
        msg = MESSAGES.get(self.state)
        return {
            "state": self.state,
            "message": msg.text if msg is not None else " / ",
            "endpoint": self.settings.endpoint,
            "enrolled": self.enrolled(),
            "online": self.online,
            "backlog_batches": batches,
            "backlog_bytes": nbytes,
            "oldest_unsent_age_s": round(oldest, 1) if oldest is not None else None,
            "progress": dict(self.progress) if self.progress else None,
            "batches_acknowledged": self.acknowledged_total(),
            "awaiting_receipt": self.awaiting_receipt(),
            "last_error": {"vi": self.error[0], "en": self.error[1]} if self.error else None,
        }

    def metrics(self) -> list:
        batches, nbytes, oldest = self._backlog()
        p = self.progress
        return [
            gauge("sohoa_sync_backlog_batches", "Sealed batches not yet acknowledged by the archive.", batches),
            gauge("sohoa_sync_backlog_bytes", "Bytes of the sealed batches not yet acknowledged.", nbytes),
            gauge("sohoa_sync_oldest_unsent_age_seconds", "Age of the oldest unacknowledged batch (0 = none).",
                  round(oldest, 1) if oldest is not None else 0),
            counter("sohoa_sync_acknowledged", "Batches the archive acknowledged with a receipt.",
                    self.acknowledged_total()),
            gauge("sohoa_sync_awaiting_receipt_batches", "Uploaded batches whose receipt is not yet checked.",
                  self.awaiting_receipt()),
            counter("sohoa_sync_bytes_sent", "Batch bytes sent in upload requests since the agent started.",
                    self.bytes_sent),
            gauge("sohoa_sync_upload_progress_ratio", "Fraction of the current upload acknowledged (0 = none).",
                  (p["offset"] / p["size"]) if p and p["size"] else 0),
            gauge("sohoa_sync_online", "1 while the last request to the archive got an answer.",
                  1 if self.online else 0),
            counter("sohoa_sync_failures", "Upload attempts that failed (network, server error).", self.failures),
            counter("sohoa_sync_refused", "Batches the archive refused.", self.refusals),
        ]

    async def wait_idle(self, timeout_s: float = 60.0) -> int:
        """:meth:`drain` under the subsystems' common name (``sohoa demo --once`` waits on each)."""
        return await self.drain(timeout_s)

    async def drain(self, timeout_s: float = 60.0) -> int:
        """Wait (while ``run`` runs) until nothing is staged or unacknowledged; returns the acknowledged count.

        For ``sohoa demo --once``: returns early at *timeout_s* with whatever was acknowledged.
        """
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout_s
        # One wake-up, not one per poll: waking cuts a retry's back-off short, and a
        # receiver that keeps failing would then be asked ten times a second.
        self.wake()
        while loop.time() < end:
            if self._backlog()[0] == 0:
                break
            await asyncio.sleep(0.1)
        return self.acknowledged_total()


def _version() -> str:
    try:
        return importlib.metadata.version("sohoa")
    except importlib.metadata.PackageNotFoundError:
        return ""


def _refusal(code: str, seq: int) -> Message:
    if code == "auth":
        return CATALOGUE["sync.refused.auth"]
    if code == "bad_receipt":
        return CATALOGUE["sync.refused.bad_receipt"].format(seq=seq)
    return CATALOGUE["sync.refused.other"].format(seq=seq, code=code)
