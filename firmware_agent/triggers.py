"""Scan triggers other than the scanner's own buttons: a GPIO/input key and the hot folder.

The hot folder turns each settled file into one job whose pages go through the
same journal as scanned pages. A file is keyed by its name and content hash, so
offering it again after a crash continues the job instead of duplicating it.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import threading
from pathlib import Path
from typing import Callable

from drivers.input_key import InputKey, InputKeyUnavailable
from firmware_agent.hotfolder import RetryLater
from firmware_agent.intake import split_into_pages
from firmware_agent.journal import Journal
from firmware_agent.messages import CATALOGUE
from firmware_agent.capture_file import CAPTURE_SUFFIX, write_capture_atomic

log = logging.getLogger("sohoa.triggers")


class KeyTrigger:
    """A thread that calls ``on_press`` for each press of one input-event key."""

    def __init__(self, device: str, key_code: int, on_press: Callable[[], None], retry_s: float = 10.0):
        self.device, self.key_code, self._on_press, self._retry_s = device, key_code, on_press, retry_s
        self._stop = threading.Event()
        self.error = ""
        self._thread = threading.Thread(target=self._run, name="input-key", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                key = InputKey(self.device, self.key_code)
            except InputKeyUnavailable as exc:
                if self.error != _key_error(exc):
                    log.warning("scan key %s unavailable: %s", self.device, exc.reason)
                self.error = _key_error(exc)
                self._stop.wait(self._retry_s)
                continue
            self.error = ""
            try:
                while not self._stop.is_set():
                    if key.wait_press(0.5):
                        log.info("scan key pressed")
                        self._on_press()
                        key.drain()  # a second press while the request is queued is not a second job
            except InputKeyUnavailable as exc:
                self.error = _key_error(exc)
                log.warning("scan key %s lost: %s", self.device, exc.reason)
            finally:
                key.close()


def _key_error(exc: InputKeyUnavailable) -> str:
    """What the status page shows for a key the driver cannot use (the driver's reason after the words)."""
    return f"{CATALOGUE['scan_key.unavailable'].format(device=exc.path).text}: {exc.reason}"


class HotFolderIntake:
    """``on_file`` for :class:`firmware_agent.hotfolder.HotFolder`: one file -> one job of pages."""

    def __init__(self, journal: Journal, *, default_dpi: int, min_free_mb: int,
                 on_page: Callable[[int], None] = lambda page_id: None):
        self.journal = journal
        self.default_dpi = default_dpi
        self.min_free = min_free_mb * 1024 * 1024
        self._on_page = on_page

    def __call__(self, path: Path) -> None:
        if shutil.disk_usage(self.journal.state_dir).free < self.min_free:
            raise RetryLater("disk nearly full")
        digest = _sha256(path)
        source = f"hotfolder:{path.name}#{digest[:16]}"
        job = self.journal.find_job(source)
        if job is not None and job.state == "done":
            log.info("hot folder: %s was already taken as job %d", path.name, job.id)
            return
        job_id = job.id if job is not None else self.journal.start_job(source, "", "hotfolder")
        if job is not None:
            self.journal.set_job_state(job_id, "running", CATALOGUE["job.resumed"].text)
        have = self.journal.next_seq(job_id) - 1
        # A file is one unit: all its pages are written first and journaled only when the
        # whole file has been read, so a file that turns out damaged half-way leaves no page.
        written: list[tuple[int, Path, tuple[int, int], int, int]] = []
        try:
            for seq, (pixels, dpi) in enumerate(split_into_pages(path, self.default_dpi), start=1):
                if seq <= have:
                    continue  # journaled before a crash
                raw = self.journal.page_path(job_id, seq, CAPTURE_SUFFIX)
                write_capture_atomic(raw, pixels)
                written.append((seq, raw, pixels.shape[:2], dpi, 1 if pixels.ndim == 2 else 3))
        except Exception as exc:
            for _seq, raw, *_ in written:
                raw.unlink(missing_ok=True)
            self.journal.set_job_state(job_id, "failed", f"{getattr(exc, 'vi', exc)} / {getattr(exc, 'en', exc)}")
            raise
        for seq, raw, (h, w), dpi, channels in written:
            page_id = self.journal.add_page(job_id, seq, raw, width=w, height=h, dpi=dpi, channels=channels)
            self._on_page(page_id)
        self.journal.set_job_state(job_id, "done", f"{path.name}")
        log.info("hot folder: %s -> job %d", path.name, job_id, extra={"job_id": job_id})


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
