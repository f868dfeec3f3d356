"""RecordsTask: processed pages -> record files -> PDF/A -> SIP_hoso staged for sync.

The task is a loop of small idempotent steps over the journal (design §6.7):
split (page -> record file/document, page state ``documented``), OCR (background,
low priority, never in the scanning path), close idle record files, analyse
(classification and metadata; hold what needs a technician), package (SIP zip,
``journal.batches.stage_member``, page state ``packaged``), and scrub: a secret
(mode 03) record file leaves no clear trace once its encrypted package is staged
(design §6.6). After a crash each step takes up whatever waits in its state.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

from firmware_agent.hotfolder import job_original
from firmware_agent.journal import Journal
from firmware_agent.messages import CATALOGUE
from firmware_agent.retention import remove_page_files
from firmware_agent.records import review
from records import confidence_sidecar, seal_ink
from records.classify import load_rules
from firmware_agent.capture_file import read_capture
from firmware_agent.pageio import PageReadError
from records.coversheet import SheetDetection
from records.ocr import OcrError, OcrQueue, OcrResult, bitonal_copy
from records.package import DocPages, analyse_page, build_package
from records.pdfa import PageInput
from records.separators import detect_page
from records.sip import doc_id
from sync.fsutil import durable_file
from firmware_agent.records.splitter import Splitter
from firmware_agent.records.store import RecordStore
from firmware_agent.subsystem import Subsystem

log = logging.getLogger("sohoa.records")

SECRET = "03"
# A secret record file whose scrub could not finish (an original still in .processing/)
# is tried again after this many seconds, not on every pass.
SCRUB_RETRY_S = 5.0


def load_recipient_key(path: str) -> bytes | None:
    """The archive's X25519 public key: 32 raw bytes or the base64 text sync writes.

    Raises
    ------
    OSError
        If the file cannot be read.
    ValueError
        If it holds neither 32 raw bytes nor the base64 of an X25519 public key.
    """
    if not path:
        return None
    data = Path(path).read_bytes()
    if len(data) == 32:
        return data
    from sync.keys import raw_public, x25519_public

    return raw_public(x25519_public(data.decode("ascii").strip()))


class RecordsTask(Subsystem):
    """The records stage of the agent. See module docstring; settings: ``RecordsSettings``.

    Parameters
    ----------
    archive_key_path : Path, optional
        Where enrollment stores the archive's public key (formats §5.2); the
        recipient of secret packages when ``secret_recipient_key`` is not set.
        Default ``{state_dir}/keys/archive_x25519.pub``.
    remove_original : callable, optional
        ``(name, sha256 prefix) -> bool``, the hot folder's
        :meth:`~firmware_agent.hotfolder.HotFolder.remove_taken`; None when the
        station has no hot folder.
    """

    name = "records"

    def __init__(self, settings, journal: Journal, state_dir: str | Path, *, password_hash: str = "",
                 heartbeat=lambda name: None, archive_key_path: Path | None = None,
                 remove_original: Callable[[str, str], bool] | None = None):
        self.settings = settings
        self.journal = journal
        self.state_dir = Path(state_dir)
        self.password_hash = password_hash
        self._heartbeat = heartbeat
        self.store = RecordStore(journal)
        self.splitter = Splitter(self.store, separator=settings.separator,
                                 pages_per_document=settings.pages_per_document,
                                 documents_per_file=settings.documents_per_file, agency=settings.agency,
                                 min_dpi=settings.min_dpi)
        self.rules = load_rules(settings.rules_file or None)
        self.ocr_queue = OcrQueue(settings.ocr_workers, settings.ocr_languages, settings.ocr_nice)
        # A configured key that cannot be read stops the agent here (K1), not at the first secret file.
        self._configured_key = load_recipient_key(settings.secret_recipient_key)
        self.archive_key_path = Path(archive_key_path or self.state_dir / "keys" / "archive_x25519.pub")
        self._remove_original = remove_original
        self.out_dir = self.state_dir / "records" / "out"
        self.work_dir = self.state_dir / "records" / "work"
        self.packages: list[Path] = []
        self._step_lock = threading.Lock()
        self._inflight: set[int] = set()
        self._ocr_tasks: set[asyncio.Task] = set()
        self._key_problem = ""
        self._scrub_retry_at: dict[int, float] = {}
        # Once after every start: a crash may have come between a scrub and its checkpoint (C4).
        self._checkpoint_due = True

    # ------------------------------------------------------------------ the recipient of secret packages
    def recipient_key(self) -> bytes | None:
        """The key secret packages are encrypted to (design §6.6 K1), or None: hold them (K2).

        ``records.secret_recipient_key`` when configured, else the archive key
        stored at enrollment, read afresh so an enrollment is seen at once.
        """
        if self._configured_key is not None:
            return self._configured_key
        try:
            key = load_recipient_key(str(self.archive_key_path))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            if str(exc) != self._key_problem:  # once per distinct problem, not on every pass
                log.error("archive key %s unusable, secret record files stay held: %s", self.archive_key_path, exc)
                self._key_problem = str(exc)
            return None
        self._key_problem = ""
        return key

    # ------------------------------------------------------------------ steps (blocking)
    def split_step(self, limit: int = 50) -> int:
        """Assign waiting processed pages in capture order (design §6.2 S0); returns how many were assigned."""
        n = 0
        # Capture order (S0): a page cleaned before an earlier one waits for it, or a secret
        # record's page could join the record file its still unread cover sheet closes. One
        # statement, so one snapshot: two reads could miss a page captured between them.
        ready = self.journal.read(
            "SELECT id FROM pages WHERE state='processed' AND id < COALESCE("
            "(SELECT MIN(id) FROM pages WHERE state='captured'), 9223372036854775807) ORDER BY id LIMIT ?", (limit,))
        for (page_id,) in ready:
            page = self.journal.page(page_id)
            det = self.detect(page)
            blank = bool((page.analysis or {}).get("blank", False))
            self.splitter.assign(page.id, page.dpi, det, blank)
            self.journal.set_page_state([page.id], "documented", expect="processed")
            n += 1
        return n

    @staticmethod
    def detect(page) -> SheetDetection:
        """Is *page* a separator? Read on its capture at full resolution, then its cleaned page (D1-D5)."""
        import cv2

        try:
            capture, _dpi = read_capture(page.raw_path, page.dpi)
        except PageReadError:  # removed after its batch was sealed, or damaged: the cleaned page must do
            capture = None

        def cleaned():
            src = page.colour_path
            return cv2.imread(str(src), cv2.IMREAD_GRAYSCALE) if src is not None else None

        try:
            return detect_page(capture, cleaned, page.dpi)
        except ValueError as exc:
            log.warning("page %d: separator detection failed: %s", page.id, exc)
            return SheetDetection("")

    def close_step(self, force: bool = False) -> list[int]:
        # A page still being cleaned may belong to the open record file (S6): close_open checks.
        return self.splitter.close_open(None if force else self.settings.close_after_s)

    def analyse_step(self) -> int:
        """closed -> held | ready once every content page has its OCR."""
        done = 0
        for f in self.store.files("closed"):
            pages = [p for p in self.store.pages_of(f.id) if p[1] == "content"]
            results = {pid: self.store.ocr(pid) for pid, _r, _d in pages}
            if any(r[0] is None and not r[1] for r in results.values()):
                continue  # OCR still pending
            needs_all: list[str] = []
            stamped: list[int] = []
            firsts: dict[int, int] = {}
            for pid, _role, seq in pages:
                firsts.setdefault(seq, pid)
            for seq, pid in sorted(firsts.items()):
                data, _err = results[pid]
                first = OcrResult.from_json(data) if data else None
                values, conf, needs, boxes = analyse_page(first, self.rules, self.settings.thresholds)
                # each box with the page it is on, for the review to highlight (design §6.7)
                boxes = {k: [pid, *b] for k, b in boxes.items() if b}
                self.store.save_doc(f.id, seq, values, conf, needs, boxes)
                needs_all += [f"{seq}:{n}" for n in needs]
                if values.get("mode") == SECRET:
                    stamped.append(pid)
            failed = [pid for pid, (d, e) in results.items() if e]
            if f.hold_code:
                self.store.set_state(f.id, "held", f.hold_code, f.hold_message.partition(": ")[2], expect=("closed",))
            elif failed:
                self.store.set_state(f.id, "held", "ocr_failed", f"{len(failed)} trang / pages", expect=("closed",))
            elif stamped and f.cover.get("mode") != SECRET:
                # L8: a secrecy stamp on a record file the cover does not mark secret. It is raised to
                # mode 03 at once (packaged encrypted unless a technician lowers it when confirming).
                self.store.update_cover(f.id, dict(f.cover, mode=SECRET))
                pages_named = ", ".join(CATALOGUE["records.hold.page"].format(page=p).text for p in stamped)
                self.store.set_state(f.id, "held", "secret_stamp", pages_named,
                                     expect=("closed",), pages=tuple(stamped))
            elif needs_all and self.settings.hold_low_confidence:
                self.store.set_state(f.id, "held", "needs_confirmation", ", ".join(needs_all), expect=("closed",))
            elif f.cover.get("mode") == SECRET and self.recipient_key() is None:
                self.store.set_state(f.id, "held", "no_secret_key", expect=("closed",))
            else:
                self.store.set_state(f.id, "ready", expect=("closed",))
            done += 1
        return done

    def release_step(self) -> int:
        """held (no_secret_key) -> ready once a recipient key exists, e.g. after enrollment (K2)."""
        waiting = [f for f in self.store.files("held") if f.hold_code == "no_secret_key"]
        if not waiting or self.recipient_key() is None:
            return 0
        released = 0
        for f in waiting:
            if self.store.set_state(f.id, "ready", expect=("held",)):
                log.info("record file %d (%s): archive key present, no longer held", f.id, f.file_code)
                released += 1
        return released

    def package_step(self) -> list[Path]:
        """ready -> packaged: build the SIP and stage it into the open upload batch."""
        built = []
        for f in self.store.files("ready"):
            pages = self.store.pages_of(f.id)
            key = self.recipient_key() if f.cover.get("mode") == SECRET else None
            if f.cover.get("mode") == SECRET and key is None:
                # e.g. a technician confirmed it before enrollment: held again, never built in clear
                self.store.set_state(f.id, "held", "no_secret_key", expect=("ready",))
                continue
            docs: dict[int, list[PageInput]] = {}
            for pid, role, seq in pages:
                if role != "content":
                    continue
                row = self.journal.page(pid)
                data, _err = self.store.ocr(pid)
                ocr = OcrResult.from_json(data) if data else None
                docs.setdefault(seq, []).append(PageInput(row.colour_path, row.dpi, ocr))
            doc_rows_full = {d["seq"]: d for d in self.store.docs(f.id)}
            doc_rows = {seq: d["fields"] for seq, d in doc_rows_full.items()}
            ordered = [DocPages(seq, docs[seq]) for seq in sorted(docs)]
            values = [doc_rows.get(seq, {}) for seq in sorted(docs)]
            try:
                path, folder, npages = build_package(
                    file_id=f.id, cover=f.cover, docs=ordered, doc_values=values, agency=self.settings.agency,
                    out_dir=self.out_dir, work_dir=self.work_dir / f"rf-{f.id:06d}", recipient_key=key)
            except (OSError, ValueError, PermissionError) as exc:
                log.error("record file %d: package failed: %s", f.id, exc)
                self.store.set_state(f.id, "held", "build_failed", str(exc)[:200], expect=("ready",))
                continue
            name = f"{folder}.zip" + (".enc" if path.name.endswith(".enc") else "")
            if f.cover.get("mode") != SECRET:
                # the confidences travel beside the package (formats 6.7), staged first so a package never
                # arrives before them; a secret record file has none (design 6.6)
                self._stage_confidences(f, folder, doc_rows_full, sorted(docs))
            # The record file becomes 'packaged' in the transaction that adds its member
            # (design 2.1, B6): no crash can leave one without the other. A journal from
            # before that rule may hold the member already: then it is only marked (B2).
            fresh = self.journal.batches.member_batch(name) is None
            batch_id = self.journal.batches.stage_member(
                path, name, pages=npages, documents=len(ordered), page_ids=tuple(p[0] for p in pages),
                page_state="packaged", also=lambda db, _batch, fid=f.id, n=name: self.store.mark_packaged(db, fid, n))
            rel = self.journal.read("SELECT dir FROM batches WHERE id=?", (batch_id,))[0][0]
            staged = self.journal.abs(rel) / name
            if f.cover.get("mode") == SECRET:
                # secret: once the encrypted package exists, no readable trace of it stays
                self.scrub(f.id)
            if not fresh:
                continue
            log.info("record file %d (%s): package %s staged in batch %d", f.id, f.file_code, name, batch_id)
            self.packages.append(staged)
            built.append(staged)
        return built

    def _stage_confidences(self, f, folder: str, rows: dict, seqs: list[int]) -> None:
        thresholds = self.settings.thresholds
        entries = []
        for seq in seqs:
            row = rows.get(seq) or {"confidence": {}, "needs": []}
            conf = row["confidence"]
            below = any(float(conf.get(k, 0.0)) < float(t) for k, t in thresholds.items() if k in conf)
            entries.append((doc_id(f.cover["file_code"], seq), conf, thresholds, below and not row["needs"]))
        name = confidence_sidecar.member_name(folder)
        path = self.out_dir / name
        with durable_file(path) as out:
            out.write(confidence_sidecar.encode(folder, entries))
        self.journal.batches.stage_member(path, name, pages=0, documents=0)

    # ------------------------------------------------------------------ secret record files (design §6.6)
    def scrub(self, file_id: int) -> bool:
        """C1-C4 for one packaged secret record file; True when no clear trace of it is left.

        Every step is idempotent, so a crash half-way is made good by
        :meth:`scrub_step` on a later pass (C5).
        """
        page_ids = [p[0] for p in self.store.pages_of(file_id)]
        remove_page_files(self.journal, page_ids)
        for pid in page_ids:  # left by a crash during OCR
            (self.work_dir / "ocr" / f"page-{pid}.png").unlink(missing_ok=True)
        shutil.rmtree(self.work_dir / f"rf-{file_id:06d}", ignore_errors=True)
        complete = self._remove_originals(file_id, page_ids)
        if self.store.scrub_secret(file_id, page_ids, complete):
            self._checkpoint_due = True
        self._checkpoint()
        if complete:
            self._scrub_retry_at.pop(file_id, None)
            log.info("record file %d: secret, no clear trace left (%d pages)", file_id, len(page_ids))
        else:
            self._scrub_retry_at[file_id] = time.monotonic() + SCRUB_RETRY_S
        return complete

    def _remove_originals(self, file_id: int, page_ids: list[int]) -> bool:
        """C2: the hot-folder originals of *page_ids* are gone (or there is no hot folder)."""
        complete = True
        for source in self.store.job_sources(page_ids):
            original = job_original(source)
            if original is None or self._remove_original is None:
                continue
            try:
                complete = self._remove_original(*original) and complete
            except OSError as exc:
                if file_id not in self._scrub_retry_at:  # said once, then tried again quietly
                    log.error("record file %d: a hot-folder original could not be deleted: %s", file_id, exc)
                complete = False
        return complete

    def _checkpoint(self) -> None:
        if self._checkpoint_due and self.store.checkpoint():
            self._checkpoint_due = False

    def scrub_step(self) -> int:
        """Scrub packaged secret record files a crash or a busy hot folder left unfinished (C5)."""
        now = time.monotonic()
        done = 0
        for file_id in self.store.secret_to_scrub():
            if self._scrub_retry_at.get(file_id, 0.0) <= now:
                done += self.scrub(file_id)
        self._checkpoint()
        return done

    def sync_step(self, force_close: bool = False) -> list[Path]:
        # run() and drain() both call this from worker threads; the steps are idempotent
        # but not concurrent (two threads would package one record file at once).
        with self._step_lock:
            self.split_step()
            self.close_step(force_close)
            self.analyse_step()
            self.release_step()
            built = self.package_step()
            self.scrub_step()
            return built

    # ------------------------------------------------------------------ OCR (async, background)
    async def _ocr_one(self, page_id: int) -> None:
        try:
            row = self.journal.page(page_id)
            work_copy = self.work_dir / "ocr" / f"page-{page_id}.png"
            if row.bitonal_path is None:
                src = await asyncio.to_thread(bitonal_copy, row.colour_path, work_copy, row.dpi)
            elif row.colour_path is not None:
                # Seal and stamp ink out of the OCR input (design §6.3.1): red on a colour page,
                # a seal's light grey on a grey one. The bitonal page itself stays as the
                # imaging stage wrote it.
                try:
                    src, _cleared = await asyncio.to_thread(seal_ink.ocr_input, row.bitonal_path,
                                                            row.colour_path, work_copy, dpi=row.dpi)
                except (OSError, ValueError) as exc:  # the page is still read, seals and all
                    log.warning("seal ink of page %d not cleared: %s", page_id, exc)
                    src = row.bitonal_path
            else:
                src = row.bitonal_path
            try:
                result = await self.ocr_queue.ocr(src, row.dpi, second=row.colour_path)
            finally:
                if src == work_copy:
                    src.unlink(missing_ok=True)
            self.store.save_ocr(page_id, result.to_json(), seconds=result.seconds, rss_kb=result.max_rss_kb)
        except (OcrError, OSError) as exc:
            log.warning("OCR of page %d failed: %s", page_id, exc)
            self.store.save_ocr(page_id, None, error=str(exc)[:300])
        finally:
            self._inflight.discard(page_id)

    def dispatch_ocr(self) -> int:
        """Start OCR for waiting pages up to the worker count; returns pages started."""
        free = self.settings.ocr_workers * 2 - len(self._inflight)
        started = 0
        if free <= 0:
            return 0
        for pid in self.store.pages_needing_ocr(free + len(self._inflight)):
            if pid in self._inflight or started >= free:
                continue
            self._inflight.add(pid)
            task = asyncio.get_running_loop().create_task(self._ocr_one(pid))
            self._ocr_tasks.add(task)
            task.add_done_callback(self._ocr_tasks.discard)
            started += 1
        return started

    async def run(self) -> None:
        try:
            while True:
                self._heartbeat(self.name)
                await asyncio.to_thread(self.sync_step)
                self.dispatch_ocr()
                await asyncio.sleep(0.5)
        finally:
            for task in list(self._ocr_tasks):
                task.cancel()

    async def drain(self, timeout: float = 600.0) -> list[Path]:
        """Work until every waiting page is packaged or held (demo --once, tests)."""
        deadline = time.monotonic() + timeout
        built: list[Path] = []
        while time.monotonic() < deadline:
            built += await asyncio.to_thread(self.sync_step, True)
            self.dispatch_ocr()
            idle = (not self._inflight and not self.journal.pages_in_state("processed", 1)
                    and not self.store.files("open", "closed", "ready"))
            if idle:
                break
            await asyncio.sleep(0.1)
        return built

    async def wait_idle(self, timeout: float) -> None:
        """Demo hook: finish everything waiting (closing the open record file)."""
        await self.drain(max(1.0, timeout))

    def demo_summary(self) -> dict:
        """Demo hook: the SIP zips built in this run, how many, and the record files held."""
        return {"packages": [str(p) for p in self.packages], "records_packaged": len(self.packages),
                "records_held": [{"id": f.id, "reason": f.hold_code, "message": f.hold_message}
                                 for f in self.store.files("held")]}

    # ------------------------------------------------------------------ status page
    def confirm(self, file_id: int, cover: dict | None = None, docs: dict | None = None) -> dict:
        return review.confirm(self.store, file_id, cover, docs)

    def status(self) -> dict:
        return review.status(self)

    def metrics(self) -> list:
        return review.metrics(self)

    def add_routes(self, app) -> None:
        review.add_routes(self, app)
