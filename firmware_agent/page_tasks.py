"""Async tasks that move pages through the journal: process, then stage into batches.

Both tasks poll the journal for work in their input state, so after a crash
they simply pick up what waits (J2). Blocking work (decoding, imaging, SQLite
commits with fsync) runs in threads; the event loop only schedules.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from firmware_agent import retention
from firmware_agent.journal import Journal, PageRow
from firmware_agent.messages import CATALOGUE
from firmware_agent.pageio import PageReadError
from firmware_agent.processing import new_run_state, pipeline_params, process_page_file

log = logging.getLogger("sohoa.process")


class ProcessingTask:
    """captured -> processed, using ``workers`` threads."""

    def __init__(self, journal: Journal, *, workers: int, jpeg_quality: int, imaging: dict | None = None,
                 heartbeat: Callable[[str], None] = lambda name: None):
        self.journal = journal
        self.params = pipeline_params(imaging)
        self.workers = max(1, workers)
        self.jpeg_quality = jpeg_quality
        self.wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None  # set when run() starts
        self._heartbeat = heartbeat
        self._run_states: dict[int, dict] = {}
        self._run_states_lock = threading.Lock()
        self.in_flight = 0
        self.processed = 0
        self.failed = 0

    def notify(self) -> None:
        """Thread-safe nudge from the scanner thread: a page is waiting."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.wake.set)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(self.workers, thread_name_prefix="process") as pool:
            while True:
                self._heartbeat("process")
                pages = await asyncio.to_thread(self.journal.pages_in_state, "captured", 4 * self.workers)
                if not pages:
                    self.wake.clear()
                    try:
                        await asyncio.wait_for(self.wake.wait(), timeout=1.0)
                    except asyncio.TimeoutError:
                        pass
                    continue
                sem = asyncio.Semaphore(self.workers)
                await asyncio.gather(*(self._one(pool, sem, p) for p in pages))

    async def _one(self, pool: ThreadPoolExecutor, sem: asyncio.Semaphore, page: PageRow) -> None:
        async with sem:
            self.in_flight += 1
            try:
                await asyncio.get_running_loop().run_in_executor(pool, self._process_blocking, page)
            finally:
                self.in_flight -= 1

    def _process_blocking(self, page: PageRow) -> None:
        with self._run_states_lock:  # worker threads share it
            run_state = self._run_states.get(page.job_id)
            if run_state is None:
                run_state = self._run_states[page.job_id] = new_run_state()
                while len(self._run_states) > 16:  # only recent feeder runs matter (double-feed check)
                    self._run_states.pop(next(iter(self._run_states)))
        try:
            result = process_page_file(page, jpeg_quality=self.jpeg_quality, run_state=run_state,
                                       params=self.params)
        except (PageReadError, ValueError) as exc:
            self.failed += 1
            self.journal.mark_failed(page.id, str(exc))
            where = CATALOGUE["page_file.page_failed"].format(seq=page.seq, job=page.job_id)
            self.journal.event("error", "page_unreadable", f"{where.text}: {exc}", job_id=page.job_id,
                               page_id=page.id)
            log.error("job %d page %d failed: %s", page.job_id, page.id, exc,
                      extra={"job_id": page.job_id, "page_id": page.id})
            return
        if self.journal.mark_processed(page.id, result.colour_path, result.bitonal_path, result.analysis):
            self.processed += 1
            log.info("job %d page %d processed", page.job_id, page.id,
                     extra={"job_id": page.job_id, "page_id": page.id})


class BatchTask:
    """Stage processed pages into upload batches (when records packaging is off) and close due batches."""

    def __init__(self, journal: Journal, *, max_pages: int, max_age_s: float, stage_pages: bool,
                 keep_local_days: float = 7.0, heartbeat: Callable[[str], None] = lambda name: None):
        self.journal = journal
        self.keep_local_days = keep_local_days
        self.max_pages = max_pages
        self.max_age_s = max_age_s
        self.stage_pages = stage_pages
        self._heartbeat = heartbeat
        self.on_closed: Callable[[], None] = lambda: None  # on the event loop, after a batch is staged

    def step(self, force_close: bool = False) -> int:
        """One pass (blocking). Returns the number of batches closed (open -> staged)."""
        if self.stage_pages:
            for page in self.journal.pages_in_state("processed", 200):
                name = f"job-{page.job_id:06d}-{page.seq:05d}{page.colour_path.suffix}"
                self.journal.batches.stage_member(page.colour_path, name, pages=1, documents=0,
                                                  page_ids=(page.id,), require_state="processed")
        closed = self.journal.batches.close_due(max_pages=self.max_pages, max_age_s=self.max_age_s,
                                                force=force_close)
        for batch_id in closed:
            log.info("batch %d staged for upload", batch_id, extra={"batch_id": batch_id})
        return len(closed)

    async def close_now(self) -> int:
        """Close the open batch whatever its age (demo --once, shutdown of a job)."""
        closed = await asyncio.to_thread(self.step, True)
        if closed:
            self.on_closed()
        return closed

    async def run(self) -> None:
        next_sweep = 0.0
        while True:
            self._heartbeat("batch")
            if await asyncio.to_thread(self.step):
                self.on_closed()
            if time.monotonic() >= next_sweep:
                await asyncio.to_thread(retention.sweep, self.journal, self.keep_local_days)
                next_sweep = time.monotonic() + 600
            await asyncio.sleep(0.5)
