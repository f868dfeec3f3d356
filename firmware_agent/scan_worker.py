"""One thread per scanner: owns the device, polls its buttons, runs feeder jobs.

Buttons are read in the same thread that scans, so the device is never handed
over to another program (scanbd's weakness). SANE calls block; nothing here
runs on the event loop. Other threads talk to the worker through
``request_scan`` / ``cancel`` / ``stop`` and read ``snapshot()``.

Job rules (docs/design.md §2):
- a page is durable on disk, then journaled, then counted (J1);
- after a jam, cover-open, I/O error, unplug or full disk the job is *paused*:
  the pages kept stay kept, and the next trigger resumes it at the next
  sheet with the next sequence number, so no page is lost or duplicated;
- a vanished device is reopened by itself every ``reopen_s``; a device that
  keeps failing to open with a known USB address is reset through libusb.
"""

from __future__ import annotations

import logging
import queue
import shutil
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from drivers.scanner import DeviceBusy, FeederEmpty, Scanner, ScannerError, ScanSettings
from firmware_agent.journal import Journal
from firmware_agent.messages import CATALOGUE
from firmware_agent.operator_states import RESUMABLE, message_for
from firmware_agent.capture_file import CAPTURE_SUFFIX, write_capture_atomic

log = logging.getLogger("sohoa.scan")

# Scanner states logged at info; every other state needs someone and is logged as a warning.
ROUTINE_STATES = frozenset({"ready", "scanning", "job_done", "cancelled", "feeder_empty"})

BUSY_RETRIES = 5


@dataclass(frozen=True)
class ScanRequest:
    profile: str
    settings: ScanSettings
    trigger: str
    max_pages: int | None = None   # stop after this many images (demo, tests)
    ticket: int | None = None      # a status-page press, so the page can follow the job it became


@dataclass
class WorkerState:
    """What the status page shows for one scanner (mutated only by the worker thread)."""

    device: str
    state: str = "unplugged"          # a code of operator_states.MESSAGES
    job_id: int | None = None
    job_pages: int = 0
    paused_job: int | None = None
    last_error: str = ""
    capabilities: dict = field(default_factory=dict)
    tickets: dict = field(default_factory=dict)  # ticket -> job id, the last few presses


class ScanWorker:
    def __init__(self, device_name: str, journal: Journal, *, open_scanner: Callable[[str], Scanner],
                 min_free_mb: int, poll_s: float = 0.5, reopen_s: float = 3.0,
                 button_profiles: dict[str, ScanRequest] | None = None,
                 on_page: Callable[[int], None] = lambda page_id: None,
                 usb_reset: Callable[[Scanner | None, str], bool] | None = None):
        self.device_name = device_name
        self.journal = journal
        self._open = open_scanner
        self._min_free = min_free_mb * 1024 * 1024
        self._poll_s = poll_s
        self._reopen_s = reopen_s
        self._button_profiles = dict(button_profiles or {})
        self._on_page = on_page
        self._usb_reset = usb_reset
        self._requests: queue.Queue[ScanRequest | None] = queue.Queue()
        self._cancel = threading.Event()
        self._stop = threading.Event()
        self._scanner: Scanner | None = None
        self._last_buttons: dict[str, int] = {}
        self._open_failures = 0
        self.state = WorkerState(device=device_name)
        self.heartbeat_at = time.monotonic()
        # Rounds of the device loop (open, wait for a request, poll the buttons): lets a
        # watcher know the worker has looked again since some moment, without a clock.
        self.cycles = 0
        self.jobs_finished = 0
        # Set once the first attempt to open the device has ended, either way: until then
        # "unplugged" is only the starting value, not something the worker found.
        self.first_look = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"scanner-{device_name}", daemon=True)

    # ------------------------------------------------------------------ other threads
    def start(self) -> None:
        self._thread.start()

    def request_scan(self, request: ScanRequest) -> None:
        self._requests.put(request)

    def cancel(self) -> None:
        self._cancel.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._requests.put(None)
        self._thread.join(timeout)

    def snapshot(self) -> dict:
        s = self.state
        msg = message_for(s.state)
        return {"device": s.device, "state": s.state, "message": msg.to_dict(), "job_id": s.job_id,
                "job_pages": s.job_pages, "paused_job": s.paused_job, "last_error": s.last_error,
                "capabilities": s.capabilities, "scan_blocked": self.scan_blocked(),
                "tickets": {str(k): v for k, v in list(s.tickets.items())}}

    def scan_blocked(self) -> dict | None:
        """Why a press of Scan cannot start a job now (a filled message as a dict), or None.

        The device must be open (a press while it is unplugged would wait unseen)
        and no job running on it.
        """
        s = self.state
        if s.job_id is not None:
            return CATALOGUE["scan.busy"].format(job=s.job_id).to_dict()
        if self._scanner is None:
            # The scanner's own state line says what is wrong and what to do.
            return {**CATALOGUE["scan.unavailable"].to_dict(), "state": message_for(s.state).to_dict()}
        return None

    def check_hung(self, limit_s: float, now: float | None = None) -> bool:
        """True once when the device thread has made no progress for *limit_s* (by *now*, monotonic).

        A USB scanner that stops answering blocks inside libusb for ever; the caller then
        resets the device (which makes the blocked call fail) and the thread reopens it.
        """
        stuck = (time.monotonic() if now is None else now) - self.heartbeat_at > limit_s
        if stuck and self.state.state != "hung":
            self._set_state("hung", f"no answer for {limit_s:.0f} s")
            self.journal.event("error", "hung", message_for("hung").text, job_id=self.state.job_id)
            return True
        return False

    @property
    def idle(self) -> bool:
        return self.state.job_id is None and self._requests.empty()

    # ------------------------------------------------------------------ the thread
    def _run(self) -> None:
        while not self._stop.is_set():
            self.heartbeat_at = time.monotonic()
            self.cycles += 1
            try:
                opened = self._scanner is not None or self._try_open()
            finally:
                self.first_look.set()  # whatever the first look found
            if not opened:
                # requests stay queued and are served once the device is back
                self._idle(self._reopen_s)
                continue
            request = self._wait_request(self._poll_s)
            if self._stop.is_set():
                break
            try:
                if request is None:
                    request = self._poll_buttons()
                if request is not None:
                    self._run_job(request)
            except Exception as exc:  # the scanner thread must outlive any single failure
                log.exception("scanner %s: unexpected failure", self.device_name)
                self._drop_device(f"unexpected failure: {exc}")
                self.state.job_id = None
                self._set_state("scanner_error", str(exc))
        if self._scanner is not None:
            self._scanner.close()

    # Waiting is not hanging: the heartbeat moves on while the thread waits, so only a device
    # call that does not return reads as a hang (a reopen interval or a button poll longer than
    # scanner.hang_s, or three of them, once also stopped the watchdog).
    _BEAT_S = 1.0

    def _idle(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self._stop.is_set():
            self.heartbeat_at = time.monotonic()
            if self.heartbeat_at >= end:
                return
            self._stop.wait(min(end - self.heartbeat_at, self._BEAT_S))

    def _wait_request(self, timeout: float) -> ScanRequest | None:
        end = time.monotonic() + timeout
        while True:
            self.heartbeat_at = time.monotonic()
            try:
                return self._requests.get(timeout=max(0.0, min(end - self.heartbeat_at, self._BEAT_S)))
            except queue.Empty:
                if time.monotonic() >= end or self._stop.is_set():
                    return None

    def _try_open(self) -> bool:
        try:
            scanner = self._open(self.device_name)
            caps = scanner.capabilities()
        except ScannerError as err:
            self._open_failures += 1
            code = err.code if err.code in ("access_denied", "device_busy") else "unplugged"
            if self._open_failures == 1 and self.state.state == code:
                # _set_state logs a change only, and a worker starts as "unplugged": say it once per outage
                log.warning("scanner %s: %s (%s)", self.device_name, message_for(code).text, err)
            self._set_state(code, str(err))
            if self._usb_reset is not None and self._open_failures == 3:
                # three failed opens in a row: the USB side may be hung; reset once per outage
                self._usb_reset(None, self.device_name)
            return False
        self._scanner = scanner
        self._open_failures = 0
        self.state.capabilities = caps.to_dict()
        for name in self._button_profiles:
            add = getattr(scanner, "add_button", None)
            if add is not None:
                try:
                    add(name)
                except ScannerError as err:
                    log.warning("button option %s not usable on %s: %s", name, self.device_name, err)
        try:
            self._last_buttons = scanner.read_buttons()
        except ScannerError:
            self._last_buttons = {}
        self._set_state("ready" if self.state.paused_job is None else self.state.state)
        log.info("scanner %s open: %s", self.device_name, caps.model or caps.name)
        return True

    def _drop_device(self, reason: str) -> None:
        if self._scanner is not None:
            self._scanner.close()
        self._scanner = None
        log.warning("scanner %s closed: %s", self.device_name, reason)

    def _poll_buttons(self) -> ScanRequest | None:
        try:
            values = self._scanner.read_buttons()
        except ScannerError as err:
            self._drop_device(f"reading buttons failed: {err}")
            self._set_state("unplugged", str(err))
            return None
        pressed = None
        for name, value in values.items():
            # an edge from released to pressed; latching backends report the press once
            if value and not self._last_buttons.get(name) and name in self._button_profiles:
                pressed = self._button_profiles[name]
        self._last_buttons = values
        return pressed

    # ------------------------------------------------------------------ jobs
    def _run_job(self, request: ScanRequest) -> None:
        scanner = self._scanner
        if self.state.paused_job is not None:
            # The job goes on under its own id and numbering; the settings come from the
            # press that resumed it (same button, same profile in practice).
            job_id = self.state.paused_job
            self.journal.set_job_state(job_id, "running", CATALOGUE["job.resumed"].text)
            log.info("job %d resumed by %s", job_id, request.trigger)
        else:
            job_id = self.journal.start_job(f"scanner:{self.device_name}", request.profile, request.trigger)
            log.info("job %d started by %s, profile %s", job_id, request.trigger, request.profile)
        self.state.paused_job = None
        self.state.job_id = job_id
        if request.ticket is not None:
            self.state.tickets[request.ticket] = job_id
            while len(self.state.tickets) > 16:
                self.state.tickets.pop(next(iter(self.state.tickets)))
        self.state.job_pages = 0
        self._cancel.clear()
        self._set_state("scanning")
        try:
            scanner.configure(request.settings)
        except ScannerError as err:
            self._finish(job_id, err)
            return
        first = True
        busy = 0
        # Every way out records the job's end before the driver is asked to stop (design J5).
        while True:
            if self._cancel.is_set() or self._stop.is_set():
                self._end(job_id, "cancelled" if self._cancel.is_set() else "interrupted")
                scanner.end_batch()
                return
            if request.max_pages is not None and self.state.job_pages >= request.max_pages:
                self._end(job_id, "done")
                scanner.end_batch()
                return
            if not self._disk_ok():
                self._pause(job_id, "disk_full", "free space below the configured minimum")
                scanner.end_batch()
                return
            try:
                image = scanner.scan_one(first)
            except FeederEmpty:
                self._end(job_id, "done" if self.state.job_pages or not first else "feeder_empty")
                scanner.end_batch()
                return
            except DeviceBusy as err:
                busy += 1
                if busy <= BUSY_RETRIES:
                    scanner.end_batch()
                    time.sleep(0.2 * 2 ** busy)
                    continue
                self._finish(job_id, err)  # records the fault, then ends the batch
                return
            except ScannerError as err:
                self._finish(job_id, err)
                return
            first, busy = False, 0
            self.heartbeat_at = time.monotonic()
            try:
                self._store(job_id, image)
            except (OSError, sqlite3.OperationalError) as exc:
                # ENOSPC on the page or "database or disk is full": nothing half-written stays (J1)
                self._pause(job_id, "disk_full", f"cannot store page: {exc}")
                scanner.end_batch()
                return

    def _store(self, job_id: int, image) -> None:
        seq = self.journal.next_seq(job_id)
        path = self.journal.page_path(job_id, seq, CAPTURE_SUFFIX)
        write_capture_atomic(path, image.pixels)  # J1: durable before the row; J6 format
        h, w = image.pixels.shape[:2]
        channels = 1 if image.pixels.ndim == 2 else image.pixels.shape[2]
        try:
            page_id = self.journal.add_page(job_id, seq, path, width=w, height=h, dpi=image.dpi,
                                            channels=channels)
        except sqlite3.Error:
            path.unlink(missing_ok=True)  # no row, no file: the sheet counts as not scanned
            raise
        self.state.job_pages += 1
        log.info("job %d page %d captured (%s, %dx%d, %d dpi)", job_id, page_id, image.side, w, h, image.dpi,
                 extra={"job_id": job_id, "page_id": page_id})
        self._on_page(page_id)

    def _disk_ok(self) -> bool:
        try:
            return shutil.disk_usage(self.journal.state_dir).free >= self._min_free
        except OSError:
            return False

    def _finish(self, job_id: int, err: ScannerError) -> None:
        code = err.code
        if code in RESUMABLE:
            self._pause(job_id, code, str(err))
        else:
            self._end(job_id, code, str(err))
        # The frame is stopped only once the fault is on record (see Scanner.scan_one): if the
        # driver hangs in its cancel, the operator still reads "paper jam", not just "hung".
        if code in ("io_error", "unplugged", "hung", "driver_failed"):
            self._drop_device(str(err))
        elif self._scanner is not None:
            self._scanner.end_batch()

    def _pause(self, job_id: int, code: str, detail: str) -> None:
        msg = message_for(code)
        kept = self.journal.job(job_id).pages
        try:
            self.journal.set_job_state(job_id, "paused", f"{msg.text} ({kept})")
            self.journal.event("error", code, f"{msg.text}: {msg.action_vi} / {msg.action_en}", job_id=job_id)
        except sqlite3.OperationalError as exc:
            # a full disk can refuse even this; the job row still says 'running' and
            # becomes 'interrupted' at the next start, which is also true
            log.error("job %d: cannot journal the pause: %s", job_id, exc)
        log.error("job %d paused: %s (%s); %d pages kept", job_id, msg.en, detail, kept, extra={"job_id": job_id})
        self.state.paused_job = job_id
        self.state.job_id = None
        self._set_state(code, detail)

    def _end(self, job_id: int, code: str, detail: str = "") -> None:
        msg = message_for("job_done" if code == "done" else code)
        state = {"done": "done", "cancelled": "cancelled", "interrupted": "interrupted",
                 "feeder_empty": "done"}.get(code, "failed")
        self.journal.set_job_state(job_id, state, msg.text)
        if state == "failed":
            self.journal.event("error", code, msg.text + (f" ({detail})" if detail else ""), job_id=job_id)
        elif code == "feeder_empty":
            self.journal.event("warning", code, f"{msg.text}: {msg.action_vi} / {msg.action_en}", job_id=job_id)
        log.info("job %d %s with %d pages", job_id, state, self.state.job_pages, extra={"job_id": job_id})
        self.state.job_id = None
        self.jobs_finished += 1
        self._set_state("ready" if code in ("done", "cancelled") else code, detail)

    def _set_state(self, code: str, detail: str = "") -> None:
        if code != self.state.state:
            # A state that needs someone (unplugged, jam, hung...) is a warning: `journalctl -p warning` shows it.
            level = logging.INFO if code in ROUTINE_STATES else logging.WARNING
            log.log(level, "scanner %s: %s", self.device_name, message_for(code).text)
        self.state.state = code
        if detail:
            self.state.last_error = detail
