"""The scanner worker on SANE's test backend: feeder jobs, faults, resume, reopen, buttons, full disk.

Faults are injected the way the test backend offers them (its ``read-return-value``
option); a small wrapper around the real driver decides *when*, standing in for
the operator and the paper path. Nothing of our own code is replaced.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from drivers.sane_process import SaneProcess
from drivers.scanner import DeviceUnavailable, ScanSettings
from firmware_agent.capture_file import CAPTURE_SUFFIX, read_capture
from firmware_agent.journal import Journal
from firmware_agent.scan_worker import ScanRequest, ScanWorker

PAGE_S = 30.0  # a test page takes well under a second: a driver silent this long is hung
SMALL = ScanSettings(source="adf", mode="gray", resolution=50, width_mm=60.0, height_mm=80.0,
                     extra={"read-return-value": "Default", "test-picture": "Grid"})


class ScriptedPaperPath(SaneProcess):
    """The real SANE test device, with a fault injected after ``fault_after`` sheets of a job."""

    def __init__(self, name: str, fault: str | None = None, fault_after: int = 3):
        super().__init__(name, scan_s=PAGE_S)
        self.fault, self.fault_after, self.sheets = fault, fault_after, 0
        self.press = threading.Event()

    def scan_one(self, first: bool):
        if self.fault and self.sheets == self.fault_after:
            self.set_option("read-return-value", self.fault)
            self.fault = None  # the operator clears it once
        self.sheets += 1
        return super().scan_one(first)

    def read_buttons(self):
        if self.press.is_set():  # the operator's finger on the (latching) button
            self.set_option("bool-soft-select-soft-detect", True)
            self.press.clear()
        values = super().read_buttons()
        if values.get("bool-soft-select-soft-detect"):
            self.set_option("bool-soft-select-soft-detect", False)  # latch cleared by the read
        return values


def driver(name: str) -> SaneProcess:
    # The device in a driver process of its own, as the agent opens it (design 2.2): the test
    # backend's rare crash or hang when its reader thread is cancelled ends that process, which
    # the worker reports and replaces, and not the pytest worker.
    return SaneProcess(name, scan_s=PAGE_S)


def after_rounds(worker, n=3, timeout=15.0):
    """Wait until the worker has gone round its device loop *n* more times (it looked again)."""
    start = worker.cycles
    wait_for(lambda: worker.cycles >= start + n, timeout, what=f"{n} rounds of the device loop")


def wait_for(predicate, timeout=15.0, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def journal(tmp_path):
    j = Journal(tmp_path / "state")
    yield j
    j.close()


def make_worker(journal, opener, device="test:1", **kw):
    kw.setdefault("min_free_mb", 0)
    kw.setdefault("poll_s", 0.05)
    kw.setdefault("reopen_s", 0.1)
    worker = ScanWorker(device, journal, open_scanner=opener, **kw)
    worker.start()
    return worker


def job_pages(journal, job_id):
    rows = journal._conn().execute("SELECT seq, raw_path FROM pages WHERE job_id=? ORDER BY seq", (job_id,))
    return [(r[0], journal.abs(r[1])) for r in rows]


def request(settings=SMALL, max_pages=None):
    return ScanRequest(profile="default", settings=settings, trigger="test", max_pages=max_pages)


def test_feeder_job_captures_ten_durable_pages(journal):
    worker = make_worker(journal, driver)
    try:
        wait_for(lambda: worker.state.state == "ready", what="device open")
        worker.request_scan(request())
        wait_for(lambda: worker.jobs_finished == 1, what="job end")
        job = journal.recent_jobs(1)[0]
        assert job.state == "done" and job.pages == 10
        pages = job_pages(journal, job.id)
        assert [s for s, _ in pages] == list(range(1, 11))
        for seq, path in pages:
            pixels, _ = read_capture(path, 0)  # the file holds the pixels, the row the dpi (J6)
            dpi = journal._conn().execute("SELECT dpi FROM pages WHERE job_id=? AND seq=?", (job.id, seq)).fetchone()[0]
            assert dpi == 50 and pixels.ndim == 2
        assert worker.snapshot()["message"]["vi"] == "Sẵn sàng"
    finally:
        worker.stop()


@pytest.mark.parametrize("fault,code,vi", [("SANE_STATUS_JAMMED", "paper_jam", "Kẹt giấy"),
                                           ("SANE_STATUS_COVER_OPEN", "cover_open", "Nắp máy quét đang mở")])
def test_jam_pauses_the_job_and_the_next_press_resumes_at_the_next_sheet(journal, fault, code, vi):
    paper = {}

    def opener(name):
        paper["device"] = ScriptedPaperPath(name, fault=fault, fault_after=3)
        return paper["device"]

    worker = make_worker(journal, opener)
    try:
        worker.request_scan(request())
        wait_for(lambda: worker.state.paused_job is not None, what="pause")
        snap = worker.snapshot()
        assert snap["state"] == code and snap["message"]["vi"] == vi
        job_id = worker.state.paused_job
        assert journal.job(job_id).state == "paused"
        assert len(job_pages(journal, job_id)) == 3  # the pages before the fault are kept
        assert any(e["code"] == code for e in journal.recent_events())
        # operator clears the fault and presses the scan button
        worker.request_scan(request())
        wait_for(lambda: worker.jobs_finished == 1, what="resumed job end")
        pages = job_pages(journal, job_id)
        seqs = [s for s, _ in pages]
        assert seqs == list(range(1, len(seqs) + 1))  # no gap, no duplicate
        assert len(seqs) > 3
        assert journal.job(job_id).state == "done"
        assert len(journal.recent_jobs(5)) == 1  # resumed, not a new job
    finally:
        worker.stop()


class HangsWhenStopped(ScriptedPaperPath):
    """A driver whose sane_cancel never returns (until the test lets it), after a real injected jam."""

    def __init__(self, name: str):
        super().__init__(name, fault="SANE_STATUS_JAMMED", fault_after=1)
        self.stopping, self.let_go = threading.Event(), threading.Event()

    def end_batch(self):
        self.stopping.set()
        self.let_go.wait(30)
        super().end_batch()


def test_a_jam_is_on_record_before_the_driver_is_asked_to_stop(journal):
    paper = {}

    def opener(name):
        paper["device"] = HangsWhenStopped(name)
        return paper["device"]

    worker = make_worker(journal, opener)
    try:
        wait_for(lambda: worker.state.state == "ready", what="device open")
        worker.request_scan(request())
        wait_for(lambda: paper["device"].stopping.is_set(), what="the stop request")
        # The driver is stuck in its stop; the operator already reads why the job stopped.
        job = journal.recent_jobs(1)[0]
        assert job.state == "paused" and len(job_pages(journal, job.id)) == 1
        assert any(e["code"] == "paper_jam" for e in journal.recent_events())
        assert worker.snapshot()["message"]["vi"] == "Kẹt giấy"
    finally:
        paper["device"].let_go.set()
        worker.stop()


def test_io_error_mid_job_drops_and_reopens_the_device_by_itself(journal):
    opened = []

    def opener(name):
        dev = ScriptedPaperPath(name, fault="SANE_STATUS_IO_ERROR" if not opened else None, fault_after=2)
        opened.append(dev)
        return dev

    worker = make_worker(journal, opener)
    try:
        worker.request_scan(request())
        wait_for(lambda: worker.state.paused_job is not None, what="pause on I/O error")
        assert worker.snapshot()["state"] in ("io_error", "ready")
        wait_for(lambda: len(opened) == 2, what="reopen")
        worker.request_scan(request(max_pages=4))
        wait_for(lambda: worker.jobs_finished == 1, what="job end after reopen")
        job = journal.recent_jobs(1)[0]
        assert job.pages == 6 and job.state == "done"
    finally:
        worker.stop()


def test_a_driver_crash_mid_job_pauses_it_and_the_agent_resumes_it_in_a_new_driver(journal):
    # The backend dies (a signal to its process, as a fault in its C code sends) right after
    # the third page is on record: the pages kept stay, the thread lives on, the device comes
    # back in a new driver process by itself, and the next press finishes the same job.
    opened: list[SaneProcess] = []
    crashed = threading.Event()

    def opener(name):
        opened.append(SaneProcess(name))
        return opened[-1]

    def on_page(_page_id):
        if len(job_pages(journal, journal.recent_jobs(1)[0].id)) == 3 and not crashed.is_set():
            crashed.set()
            os.kill(opened[-1].pid, signal.SIGSEGV)

    worker = make_worker(journal, opener, on_page=on_page)
    try:
        worker.request_scan(request())
        wait_for(lambda: worker.state.paused_job is not None, what="pause after the crash")
        job_id = worker.state.paused_job
        assert len(job_pages(journal, job_id)) == 3
        snap = worker.snapshot()
        assert "SIGSEGV" in snap["last_error"] and snap["state"] == "driver_failed"
        assert snap["message"]["vi"] == "Trình điều khiển máy quét bị lỗi và đã được khởi động lại"
        wait_for(lambda: len(opened) == 2, what="a new driver process")
        worker.request_scan(request())
        wait_for(lambda: worker.jobs_finished == 1, what="resumed job end")
        seqs = [s for s, _ in job_pages(journal, job_id)]
        assert seqs == list(range(1, 14))  # 3 before the crash, then the new driver's full feeder of 10
        assert journal.job(job_id).state == "done" and len(journal.recent_jobs(5)) == 1
        assert worker._thread.is_alive()
    finally:
        worker.stop()
        for d in opened:
            d.close()


def test_scanner_unplugged_and_replugged(journal):
    present = threading.Event()

    def opener(name):
        if not present.is_set():
            raise DeviceUnavailable("no such device")
        return driver(name)

    worker = make_worker(journal, opener)
    try:
        wait_for(lambda: worker.state.state == "unplugged", what="unplugged state")
        assert worker.snapshot()["message"]["vi"] == "Không thấy máy quét"
        worker.request_scan(request(max_pages=2))  # pressed while unplugged: kept until the device is back
        after_rounds(worker)  # it tried to open the device again, and again, without starting a job
        assert journal.recent_jobs(1) == []
        present.set()  # plugged back in
        wait_for(lambda: worker.jobs_finished == 1, what="job after replug")
        assert journal.recent_jobs(1)[0].pages == 2
    finally:
        worker.stop()


def test_missing_scanner_is_reported_not_fatal(journal):
    worker = make_worker(journal, driver, device="test:9")
    try:
        wait_for(lambda: worker.state.state == "unplugged", what="unplugged")
        after_rounds(worker)
        assert worker._thread.is_alive() and worker.state.state == "unplugged"
        assert "test:9" in worker.snapshot()["last_error"]
    finally:
        worker.stop()


def test_scan_button_on_the_device_starts_a_job(journal):
    paper = {}

    def opener(name):
        paper["device"] = ScriptedPaperPath(name)
        return paper["device"]

    worker = make_worker(journal, opener, button_profiles={"bool-soft-select-soft-detect": request(max_pages=2)})
    try:
        wait_for(lambda: "device" in paper and worker.state.state == "ready", what="open")
        after_rounds(worker)  # the buttons were read a few times
        assert journal.recent_jobs(1) == []  # no press, no job
        paper["device"].press.set()
        wait_for(lambda: worker.jobs_finished == 1, what="job from button")
        assert journal.recent_jobs(1)[0].pages == 2
        after_rounds(worker)
        assert worker.jobs_finished == 1  # one press, one job
    finally:
        worker.stop()


def test_disk_below_minimum_stops_scanning_with_a_clear_message(journal):
    worker = make_worker(journal, driver, min_free_mb=10**9)
    try:
        worker.request_scan(request())
        wait_for(lambda: worker.state.paused_job is not None, what="pause")
        snap = worker.snapshot()
        assert snap["state"] == "disk_full"
        assert snap["message"]["vi"].startswith("Bộ nhớ của thiết bị gần đầy")
        assert journal.job(worker.state.paused_job).pages == 0
    finally:
        worker.stop()


@pytest.fixture
def small_tmpfs(tmp_path):
    mnt = tmp_path / "tmpfs"
    mnt.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mnt)], capture_output=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {res.stderr.decode().strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_real_full_disk_leaves_no_corrupt_page_or_journal(small_tmpfs):
    journal = Journal(small_tmpfs / "state")
    # Leave room for a few pages: the disk fills in the middle of the feeder run. A grid
    # page at 150 dpi is a capture file of about 28 kB (the colour pattern compresses
    # to almost nothing).
    free = shutil.disk_usage(small_tmpfs).free
    (small_tmpfs / "filler").write_bytes(b"\0" * max(0, free - 130_000))
    big = ScanSettings(source="adf", mode="color", resolution=150, width_mm=200.0, height_mm=200.0,
                       extra={"read-return-value": "Default", "test-picture": "Grid"})
    worker = make_worker(journal, driver, device="test:0")
    try:
        worker.request_scan(request(big))
        wait_for(lambda: worker.state.paused_job is not None or worker.jobs_finished, what="pause on ENOSPC")
        assert worker.snapshot()["state"] == "disk_full"
        kept = journal.job(worker.state.paused_job).pages
        assert 0 < kept < 10, kept
    finally:
        worker.stop()
    journal.close()
    reopened = Journal(small_tmpfs / "state")
    assert reopened._conn().execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = reopened._conn().execute("SELECT raw_path FROM pages").fetchall()
    for (rel,) in rows:
        read_capture(reopened.abs(rel), 150)  # every journaled page decodes whole
    leftovers = [p for p in Path(small_tmpfs).rglob(".tmp-*")]
    assert leftovers == []
    files = {reopened.rel(p) for p in (small_tmpfs / "state" / "pages").rglob("*" + CAPTURE_SUFFIX)}
    assert files == {r[0] for r in rows}  # no file without its row
    reopened.close()


def test_waiting_for_a_missing_scanner_or_a_press_is_not_a_hang(journal):
    # A reopen interval and a button poll longer than the hang limit: the thread is waiting,
    # not stuck in a device call, so neither the hang report nor the watchdog may fire.
    worker = make_worker(journal, driver, device="test:9", reopen_s=3.0)
    present = make_worker(journal, driver, device="test:1", poll_s=3.0)
    try:
        wait_for(lambda: worker.state.state == "unplugged" and present.state.state == "ready", what="first looks")
        time.sleep(2.0)
        for w in (worker, present):
            assert time.monotonic() - w.heartbeat_at < 1.5
            assert w.check_hung(1.5) is False
        assert worker.state.state == "unplugged" and present.state.state == "ready"
        assert not any(e["code"] == "hung" for e in journal.recent_events())
    finally:
        worker.stop()
        present.stop()


def test_a_device_that_stops_answering_is_reported_hung_once(journal):
    # The test backend's read delay holds back each buffer it passes through its pipe
    # (up to 64 KiB) for 0.2 s: a stand-in for a device that has stopped delivering
    # data while the SANE call blocks. 60 x 60 mm at 300 dpi is 0.5 MB, about 1.6 s.
    slow = ScanSettings(source="adf", mode="gray", resolution=300, width_mm=60.0, height_mm=60.0,
                        extra={"read-return-value": "Default", "test-picture": "Solid black", "read-delay": True,
                               "read-delay-duration": 200000,
                               "read-limit": True, "read-limit-size": 4096})
    worker = make_worker(journal, driver, device="test:0")
    try:
        wait_for(lambda: worker.state.state == "ready", what="open")
        worker.request_scan(request(slow, max_pages=1))
        wait_for(lambda: worker.state.state == "scanning", what="scanning")
        later = worker.heartbeat_at + 0.6  # the clock as the watchdog will read it, with no progress since
        assert worker.check_hung(0.5, now=later) is True
        assert worker.snapshot()["message"]["vi"] == "Máy quét không phản hồi"
        assert worker.check_hung(0.5, now=later) is False  # reported once per hang
        assert any(e["code"] == "hung" for e in journal.recent_events())
        wait_for(lambda: worker.jobs_finished == 1, what="the slow page to finish")
    finally:
        worker.stop()  # the read delay goes with its driver process
