"""The appliance side of sync: seal staged batches, upload them in order, keep receipts.

Rules A1-A3 of design section 5.8. State lives in the journal's SQLite file:
the journal's ``batches.state`` goes ``staged -> sealed -> uploaded ->
acknowledged`` (``uploaded``: the receiver has every byte, its receipt is not
verified yet) and this module's own table ``sync_batches`` keeps the chain
(seq, batch hash), the upload URL and the verified receipt.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import random
import shutil
import time
from pathlib import Path
from typing import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from firmware_agent.journal import open_db
from firmware_agent.retention import remove_captures
from firmware_agent.sync_settings import SyncSettings
from sync.auth import HeaderSource
from sync.batch import seal_batch
from sync.canon import ZERO_HASH
from sync.client import PermanentError, TransientError, TusClient
from sync.deliver import Outbound, deliver
from sync.fsutil import fsync_dir
from sync.keys import ed25519_public, load_or_create, read_public, x25519_public

log = logging.getLogger("sohoa.sync")

SCHEMA = """
CREATE TABLE IF NOT EXISTS sync_batches(
    batch_id        INTEGER PRIMARY KEY,      -- journal batches.id
    seq             INTEGER NOT NULL UNIQUE,  -- position in this device's chain
    batch_hash      TEXT NOT NULL,
    file_sha256     TEXT NOT NULL,
    size            INTEGER NOT NULL,
    sealed_path     TEXT NOT NULL,            -- relative to state_dir
    state           TEXT NOT NULL,            -- sealed, uploaded, acknowledged
    upload_url      TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    sealed_at       REAL NOT NULL,
    acknowledged_at REAL,
    receipt_json    TEXT
);
"""

# What the operator and technician read (Vietnamese first).
MESSAGES = {
    "idle": ("Đã gửi hết", "Everything sent"),
    "uploading": ("Đang tải lên", "Uploading"),
    "off": ("Chưa cấu hình máy chủ lưu trữ", "No archive server configured"),
    "not_enrolled": ("Thiết bị chưa đăng ký với máy chủ (sohoa enroll)",
                     "Device not enrolled with the archive server (sohoa enroll)"),
    "offline": ("Không kết nối được máy chủ lưu trữ, sẽ thử lại", "Archive server unreachable, will retry"),
    "waiting_hours": ("Ngoài giờ cho phép tải lên", "Outside the allowed upload hours"),
    "retrying": ("Tải lên bị gián đoạn, sẽ thử lại", "Upload interrupted, will retry"),
    "refused": ("Máy chủ từ chối lô, cần kỹ thuật viên", "The server refused a batch, technician needed"),
}


def _backoff(attempt: int, lo: float, hi: float) -> float:
    """Exponential back-off with full jitter (uniform in [lo, min(hi, lo * 2^attempt)])."""
    return random.uniform(lo, min(hi, lo * 2 ** min(attempt, 30)))


def in_hours(window: tuple[int, int] | None, hour: int) -> bool:
    if window is None:
        return True
    start, end = window
    return start <= hour < end if start < end else hour >= start or hour < end


class UploaderTask:
    """Long-lived sync task of the agent (a status source: ``run``, ``status``, ``metrics``, ``add_routes``).

    Parameters
    ----------
    settings : SyncSettings
        The ``[sync]`` section.
    journal : firmware_agent.journal.Journal
        Source of staged batches; its file also holds ``sync_batches``.
    state_dir : Path
        The agent's state directory (``sealed/`` and ``keys/`` live there).
    device_id : str
        This appliance's id, as enrolled.
    climate_summary : callable, optional
        Returns the room-climate summary to put in the next manifest, or None.
    """

    name = "sync"

    def __init__(self, settings: SyncSettings, journal, state_dir: Path, device_id: str,
                 climate_summary: Callable[[], dict | None] | None = None):
        self.settings = settings
        self.journal = journal
        self.state_dir = Path(state_dir)
        self.device_id = device_id
        self.climate_summary = climate_summary
        self.window = settings.hours()
        self.sealed_dir = self.state_dir / "sealed"
        self.sealed_dir.mkdir(parents=True, exist_ok=True)
        self.db = open_db(journal.path)
        self.db.executescript(SCHEMA)
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
        """Seal every staged batch; returns how many were sealed. Blocking: run in a thread."""
        if not self.enrolled():
            return 0
        archive_pub = x25519_public(read_public(self.archive_path))
        key = self.device_key()
        db = open_db(self.journal.path)  # this runs in a worker thread: its own connection
        try:
            return self._seal_all(db, key, archive_pub)
        finally:
            db.close()

    def _seal_all(self, db, key, archive_pub) -> int:
        n = 0
        for sb in self.journal.staged_batches():
            done = db.execute("SELECT seq FROM sync_batches WHERE batch_id=?", (sb.id,)).fetchone()
            if done is None:
                last = db.execute("SELECT seq, batch_hash FROM sync_batches ORDER BY seq DESC LIMIT 1").fetchone()
                seq, prev = (last[0] + 1, last[1]) if last else (1, ZERO_HASH)
                out = self.sealed_dir / f"{seq:010d}.sohoa"
                climate = self.climate_summary() if self.climate_summary else None
                sealed = seal_batch(out, [(p.name, p) for p in sb.members], device_id=self.device_id, seq=seq,
                                    prev=prev, created=int(sb.created_at), pages=sb.page_count,
                                    documents=sb.doc_count, climate=climate, device_key=key,
                                    archive_public=archive_pub, level=self.settings.compression_level)
                with db:
                    db.execute("BEGIN IMMEDIATE")
                    db.execute(
                        "INSERT INTO sync_batches(batch_id, seq, batch_hash, file_sha256, size, sealed_path, state,"
                        " sealed_at) VALUES (?,?,?,?,?,?,'sealed',?)",
                        (sb.id, seq, sealed.batch_hash, sealed.file_sha256, sealed.size,
                         str(out.relative_to(self.state_dir)), time.time()))
                log.info("sealed batch %d as seq %d (%d bytes)", sb.id, seq, sealed.size)
                n += 1
            self.journal.set_batch_state(sb.id, "sealed")
            # Only now may the clear copy and the captures go: the sealed file and its row are durable.
            shutil.rmtree(sb.dir, ignore_errors=True)
            if sb.dir.parent.exists():
                fsync_dir(sb.dir.parent)
            remove_captures(self.journal, sb.id)
        return n

    # ------------------------------------------------------------------ queue
    def _next(self):
        return self.db.execute("SELECT * FROM sync_batches WHERE state != 'acknowledged' ORDER BY seq LIMIT 1"
                               ).fetchone()

    def _set(self, batch_id: int, **cols) -> None:
        sets = ", ".join(f"{k}=?" for k in cols)
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute(f"UPDATE sync_batches SET {sets} WHERE batch_id=?", (*cols.values(), batch_id))

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
        row = self._next()
        if row is None:
            return False
        path = self.state_dir / row["sealed_path"]
        batch = Outbound(self.device_id, row["seq"], row["batch_hash"], row["file_sha256"], row["size"], path)
        client = self._client_for()
        batch_id = row["batch_id"]
        self.state = "uploading"
        self.progress = {"seq": row["seq"], "offset": 0, "size": row["size"]}

        def created(url: str) -> None:
            self._set(batch_id, upload_url=url)  # A2: committed before the first PATCH

        def moved(offset: int, size: int) -> None:
            self.progress = {"seq": row["seq"], "offset": offset, "size": size}

        def uploaded() -> None:  # every byte is there; the receipt is still to be checked
            if row["state"] == "sealed":
                self._set(batch_id, state="uploaded")
                self.journal.set_batch_state(batch_id, "uploaded")
        self._set(batch_id, attempts=row["attempts"] + 1)
        sent_before = client.bytes_sent
        try:
            receipt, verified = await deliver(client, batch, ed25519_public(read_public(self.log_path)),
                                              url=row["upload_url"], on_created=created, on_progress=moved,
                                              on_uploaded=uploaded)
        finally:
            self.bytes_sent += client.bytes_sent - sent_before
        # A3: keep the verified receipt, then forget the local copy.
        self._set(batch_id, state="acknowledged", receipt_json=json.dumps(receipt), acknowledged_at=time.time(),
                  last_error=None)
        self.journal.set_batch_state(batch_id, "acknowledged")
        path.unlink(missing_ok=True)
        fsync_dir(path.parent)
        self.acknowledged_now += 1
        self.progress = None
        log.info("batch seq %d acknowledged: log index %d of %d", row["seq"], verified.index, verified.tree_size)
        return True

    # ------------------------------------------------------------------ loop
    async def run(self) -> None:
        """Seal and send forever; network trouble only ever delays."""
        attempt = 0
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
            self._fail("Không đóng gói được lô / Could not seal a batch", str(exc))
        if not s.endpoint:
            self.state = "off"
            return 30.0
        if not self.enrolled():
            self.state = "not_enrolled"
            return 30.0
        if not in_hours(self.window, dt.datetime.now().hour):
            self.state = "waiting_hours"
            return 60.0
        if self._next() is None:
            self.state, self.progress = "idle", None
            return 2.0
        try:
            if not await self._client_for().probe():
                self.online = False
                self.state = "offline"
                self._fail(*MESSAGES["offline"], detail="probe failed")
                return _backoff(attempt, s.backoff_min_s, s.backoff_max_s)
            self.online = True
            await self.send_one()
            self.error = None
            return 0.0
        except TransientError as exc:
            self.state = "retrying"
            self._fail(*MESSAGES["retrying"], detail=str(exc))
            return _backoff(attempt, s.backoff_min_s, s.backoff_max_s)
        except PermanentError as exc:
            self.state = "refused"
            self.refusals += 1
            row = self._next()
            vi, en = _refusal_text(exc.code, row["seq"] if row else 0)
            self._fail(vi, en, detail=str(exc))
            self.journal.event("error", "sync_refused", f"{vi} / {en}: {exc.detail[:300]}")
            return s.backoff_max_s  # keep asking, slowly: a technician may fix the receiver side
        except OSError as exc:  # the sealed file itself, or the key files
            self._fail("Lỗi đọc lô trên đĩa", "Cannot read the batch on disk", detail=str(exc))
            return _backoff(attempt, s.backoff_min_s, s.backoff_max_s)
        except (KeyError, ValueError) as exc:  # an answer that is not what a receiver sends (a proxy page?)
            log.exception("unexpected answer from %s", s.endpoint)
            self._fail("Máy chủ trả lời không đúng giao thức", "The server's answer breaks the protocol",
                       detail=f"{type(exc).__name__}: {exc}")
            return _backoff(attempt, s.backoff_min_s, s.backoff_max_s)

    def _fail(self, vi: str, en: str, detail: str = "") -> None:
        self.failures += 1
        self.error = (f"{vi}: {detail}" if detail else vi, f"{en}: {detail}" if detail else en)
        row = self._next()
        if row is not None:
            self._set(row["batch_id"], last_error=f"{en}: {detail}"[:500])
        log.warning("%s / %s %s", vi, en, detail)

    # ------------------------------------------------------------------ reporting
    def _backlog(self) -> tuple[int, int, float | None]:
        r = self.db.execute("SELECT COUNT(*), COALESCE(SUM(size), 0), MIN(sealed_at) FROM sync_batches "
                            "WHERE state != 'acknowledged'").fetchone()
        staged = self.journal.staged_batches()
        oldest = [t for t in (r[2], *(b.created_at for b in staged)) if t is not None]
        staged_bytes = sum(p.stat().st_size for b in staged for p in b.members if p.exists())
        return r[0] + len(staged), r[1] + staged_bytes, (time.time() - min(oldest)) if oldest else None

    def acknowledged_total(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM sync_batches WHERE state='acknowledged'").fetchone()[0]

    def awaiting_receipt(self) -> int:
        """Batches the receiver has whole whose receipt the appliance has not verified."""
        return self.db.execute("SELECT COUNT(*) FROM sync_batches WHERE state='uploaded'").fetchone()[0]

    def status(self) -> dict:
        batches, nbytes, oldest = self._backlog()
        vi, en = MESSAGES.get(self.state, ("", ""))
        return {
            "state": self.state,
            "message": f"{vi} / {en}",
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

    def metrics(self) -> list[str]:
        batches, nbytes, oldest = self._backlog()
        p = self.progress
        return [
            f"sohoa_sync_backlog_batches {batches}",
            f"sohoa_sync_backlog_bytes {nbytes}",
            f"sohoa_sync_oldest_unsent_age_seconds {oldest if oldest is not None else 0:.1f}",
            f"sohoa_sync_acknowledged_total {self.acknowledged_total()}",
            f"sohoa_sync_awaiting_receipt_batches {self.awaiting_receipt()}",
            f"sohoa_sync_bytes_sent_total {self.bytes_sent}",
            f"sohoa_sync_upload_progress_ratio {(p['offset'] / p['size']) if p and p['size'] else 0:.4f}",
            f"sohoa_sync_online {1 if self.online else 0}",
            f"sohoa_sync_failures_total {self.failures}",
            f"sohoa_sync_refused_total {self.refusals}",
        ]

    def close(self) -> None:
        """Release the database connection (``status`` and ``metrics`` still work until then)."""
        self.db.close()

    def add_routes(self, app) -> None:
        """No routes of its own: status and metrics go through the status page."""

    async def wait_idle(self, timeout_s: float = 60.0) -> int:
        """The agent's common name for :meth:`drain` (``sohoa demo --once`` waits on every source)."""
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


def _refusal_text(code: str, seq: int) -> tuple[str, str]:
    if code == "auth":
        return ("Máy chủ không chấp nhận thiết bị (chưa đăng ký hoặc đã thu hồi)",
                "The server does not accept this device (not enrolled or revoked)")
    if code == "bad_receipt":
        return f"Biên nhận của lô {seq} không hợp lệ", f"The receipt for batch {seq} does not verify"
    return f"Máy chủ từ chối lô {seq} ({code})", f"The server refused batch {seq} ({code})"
