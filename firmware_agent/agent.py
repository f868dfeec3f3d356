"""The agent: builds every object explicitly from the config and runs them.

No global registry: what runs is what ``Agent.__init__`` and ``Agent.start``
build, in this order: journal (with crash recovery), scanner workers, the
page tasks, optional subsystems (hot folder, key, records, sync, climate), the
status page, then systemd readiness and the watchdog.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
import shutil
import time
from pathlib import Path

from aiohttp import web

from drivers.sane_process import SaneProcess
from drivers.scanner import ScanSettings
from drivers.usb_reset import UsbDeviceNotFound, UsbResetError, reset_sane_device
from firmware_agent.config import Config
from firmware_agent.journal import Journal
from firmware_agent.journal_audit import AuditReport, audit
from firmware_agent.messages import CATALOGUE
from firmware_agent.metrics import counter, gauge, station_families
from firmware_agent.operator_states import message_for
from firmware_agent.page_tasks import BatchTask, ProcessingTask
from firmware_agent.scan_worker import ScanRequest, ScanWorker
from firmware_agent.sdnotify import Notifier, Watchdog
from firmware_agent.state_lock import StateLock
from firmware_agent.subsystem import Subsystem
from firmware_agent.hotfolder import HotFolder
from firmware_agent.supervisor import Supervisor
from firmware_agent.triggers import HotFolderIntake, KeyTrigger
from firmware_agent.web.app import build_app
from firmware_agent.web.guard import Guard
from sync.keys import ed25519_public, read_public

log = logging.getLogger("sohoa.agent")

# How long start-up waits for the first look at each scanner (a slow device, e.g. one
# that takes its firmware first, is left to come up while the agent runs).
FIRST_LOOK_S = 10.0


def sane_opener(scan_s: float):
    """Open a device by name (empty: the first SANE lists) in a driver process of its own (design 2.2)."""
    def open_sane(name: str) -> SaneProcess:
        return SaneProcess(name, scan_s=scan_s)
    return open_sane


def scan_settings(cfg: Config, profile: str) -> ScanSettings:
    p = cfg.scanner.profiles[profile]
    # Only SANE's virtual test scanner has this option (the demo sets it); empty for real devices.
    extra = {"test-picture": cfg.scanner.test_picture} if cfg.scanner.test_picture else {}
    return ScanSettings(source=p.source, mode=p.mode, resolution=p.resolution, depth=p.depth,
                        width_mm=cfg.scanner.width_mm, height_mm=cfg.scanner.height_mm, extra=extra)


class Agent:
    def __init__(self, cfg: Config, *, extra_sources: list | None = None):
        self.cfg = cfg
        self.started_at = time.time()
        self.lock = StateLock(cfg.state_path)
        self.lock.acquire()  # before the journal: opening it is what a second agent must not do
        try:
            self._build(cfg, extra_sources)
        except BaseException:
            self.lock.release()
            raise

    def _build(self, cfg: Config, extra_sources: list | None) -> None:
        self.journal = Journal(cfg.state_path)
        self.notifier = Notifier()
        self.watchdog = Watchdog(self.notifier, loops=("process", "batch", "scanner", "web"))
        self.supervisor = Supervisor(on_failure=self._task_failed)
        workers = cfg.processing.workers or None
        self.processing = ProcessingTask(self.journal, workers=workers or _cpu_count(),
                                         jpeg_quality=cfg.processing.jpeg_quality,
                                         imaging=dataclasses.asdict(cfg.imaging), heartbeat=self.watchdog.heartbeat)
        self.batching = BatchTask(self.journal, max_pages=cfg.batch.max_pages, max_age_s=cfg.batch.max_age_s,
                                  stage_pages=True, keep_local_days=cfg.batch.keep_local_days,
                                  heartbeat=self.watchdog.heartbeat)
        buttons = {name: self._request(profile, f"button:{name}") for name, profile in cfg.scanner.buttons.items()}
        self.scanners = [ScanWorker(cfg.scanner.device, self.journal, open_scanner=sane_opener(cfg.scanner.hang_s),
                                    min_free_mb=cfg.agent.min_free_mb, poll_s=cfg.scanner.poll_ms / 1000,
                                    reopen_s=cfg.scanner.reopen_s, button_profiles=buttons,
                                    on_page=lambda _pid: self.processing.notify(),
                                    usb_reset=_usb_reset)]
        self.hotfolder = None
        if cfg.hotfolder.path:
            intake = HotFolderIntake(self.journal, default_dpi=cfg.hotfolder.dpi, min_free_mb=cfg.agent.min_free_mb,
                                     on_page=lambda _pid: self.processing.notify())
            self.hotfolder = HotFolder(Path(cfg.hotfolder.path), cfg.hotfolder.settle_s, intake,
                                       on_tick=lambda: self.watchdog.heartbeat("hotfolder"))
            self.watchdog.register("hotfolder")
        self.key = None
        if cfg.input_key.device:
            self.key = KeyTrigger(cfg.input_key.device, cfg.input_key.key_code,
                                  on_press=lambda: self.request_scan("key"))
        self.sources: list[Subsystem] = list(extra_sources or [])
        self._runner: web.AppRunner | None = None
        self.web_guard = Guard.from_settings(cfg.web)  # sessions and guess limits of the status page
        self.address: str | None = None
        self.audit_report: AuditReport | None = None
        self._tickets = itertools.count(1)  # status-page presses, followed by the page to their job

    # ------------------------------------------------------------------ control
    def _request(self, profile: str, trigger: str, max_pages: int | None = None,
                 ticket: int | None = None) -> ScanRequest:
        return ScanRequest(profile=profile, settings=scan_settings(self.cfg, profile), trigger=trigger,
                           max_pages=max_pages, ticket=ticket)

    def request_scan(self, trigger: str, profile: str | None = None, max_pages: int | None = None,
                     device: str | None = None, ticket: int | None = None) -> dict:
        profile = profile or self.cfg.scanner.default_profile
        if profile not in self.cfg.scanner.profiles:
            return {"ok": False, "error": CATALOGUE["job.no_profile"].format(profile=repr(profile)).text}
        worker = self._worker(device)
        if worker is None:
            return {"ok": False, "error": CATALOGUE["job.no_scanner"].format(device=repr(device)).text}
        worker.request_scan(self._request(profile, trigger, max_pages, ticket))
        return {"ok": True, "device": worker.device_name, "profile": profile}

    def cancel(self, device: str | None = None) -> dict:
        worker = self._worker(device)
        if worker is None:
            return {"ok": False}
        worker.cancel()
        return {"ok": True}

    # the web app's Actions protocol
    def scan(self, device: str | None, profile: str | None) -> dict:
        """A press of Scan on the status page: refused with the reason while no scanner can take it
        (a request queued for an unplugged scanner would wait unseen); otherwise a ticket the page
        follows to the job it becomes (``scanners[].tickets``)."""
        worker = self._worker(device)
        blocked = worker.scan_blocked() if worker is not None else None
        if blocked is not None:
            return {"ok": False, "error": blocked["text"], "message": blocked}
        ticket = next(self._tickets)
        result = self.request_scan("web", profile, device=device, ticket=ticket)
        if result.get("ok"):
            result.update(ticket=ticket, message=CATALOGUE["scan.queued"].to_dict())
        return result

    def _worker(self, device: str | None) -> ScanWorker | None:
        if not device:
            return self.scanners[0] if self.scanners else None
        return next((w for w in self.scanners if w.device_name == device), None)

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        for job in self.journal.recover():
            msg, kept = message_for("interrupted"), CATALOGUE["job.kept"].format(job=job.id, pages=job.pages)
            self.journal.event("warning", "interrupted", f"{msg.text}: {kept.text}", job_id=job.id)
            log.warning("job %d was interrupted; %d pages kept", job.id, job.pages, extra={"job_id": job.id})
        # Before any task runs, so a repair never races one (design 2.1).
        self.audit_report = await asyncio.to_thread(self.audit_journal)
        for worker in self.scanners:
            worker.start()
        # The driver starts in a process of its own (design 2.2): the status page opens on
        # what the first look at the scanner found, not on "scanner not found" meanwhile.
        await asyncio.gather(*(asyncio.to_thread(w.first_look.wait, FIRST_LOOK_S) for w in self.scanners))
        if self.hotfolder is not None:
            self.hotfolder.start()
        if self.key is not None:
            self.key.start()
        self.supervisor.start("process", self.processing.run)
        self.supervisor.start("batch", self.batching.run)
        self.supervisor.start("health", self._health)
        for src in self.sources:
            if src.runs:
                self.supervisor.start(src.name, src.run)
        await self._start_web()
        self.notifier.ready(f"{self.address}")
        self.watchdog.start()

    async def _start_web(self) -> None:
        app = build_app(core_status=self.status, core_metrics=self.metric_families, sources=self.sources, actions=self,
                        guard=self.web_guard, journal=self.journal)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.cfg.web.bind, self.cfg.web.port)
        await site.start()
        port = self._runner.addresses[0][1]
        host = self.cfg.web.bind if ":" not in self.cfg.web.bind else f"[{self.cfg.web.bind}]"
        self.address = f"http://{host}:{port}/"
        log.info("status page at %s", self.address)

    async def stop(self) -> None:
        self.notifier.stopping()
        self.watchdog.stop()
        await asyncio.gather(*(asyncio.to_thread(w.stop) for w in self.scanners))
        if self.hotfolder is not None:
            await asyncio.to_thread(self.hotfolder.stop)
        if self.key is not None:
            await asyncio.to_thread(self.key.stop)
        await self.supervisor.stop()
        if self._runner is not None:
            await self._runner.cleanup()
        for src in self.sources:
            await src.stop()  # on the loop thread: subsystems may hold thread-bound SQLite handles
        self.journal.close()
        self.lock.release()

    async def _health(self) -> None:
        """Beat the watchdog for the scanner threads only while they are alive and not stuck."""
        while True:
            for worker in self.scanners:
                if worker.check_hung(self.cfg.scanner.hang_s):
                    log.error("scanner %s stopped answering; resetting its USB device", worker.device_name)
                    await asyncio.to_thread(_usb_reset, None, worker.device_name)
            now = time.monotonic()
            # a hung device is handled above; the agent itself stays alive for systemd
            if all(now - w.heartbeat_at < 3 * self.cfg.scanner.hang_s for w in self.scanners):
                self.watchdog.heartbeat("scanner")
            self.watchdog.heartbeat("web")
            self.notifier.status(self._one_line_status())
            await asyncio.sleep(2.0)

    def audit_journal(self) -> AuditReport:
        """The start-up audit (design 2.1): every finding to the log and the events the status page shows."""
        log_path = self.cfg.sync.key_paths(self.cfg.state_path)[2]
        log_public = ed25519_public(read_public(log_path)) if log_path.exists() else None
        report = audit(self.journal, device_id=self.cfg.agent.device_id, log_public=log_public, repair=True)
        for f in report.findings:
            level = "warning" if f.repaired else "error"
            self.journal.event(level, f"audit_{f.code}", f"{f.vi} / {f.en}")
            log.log(logging.WARNING if f.repaired else logging.ERROR, "journal audit: %s", f.en,
                    extra={"batch_id": f.batch_id})
        if report.findings:
            log.warning("journal audit: %d findings, %d repaired", len(report.findings),
                        sum(f.repaired for f in report.findings))
        return report

    def _task_failed(self, name: str, exc: BaseException) -> None:
        self.journal.event("error", "task_failed", f"{CATALOGUE['agent.task_failed'].format(task=name).text}: {exc}")

    # ------------------------------------------------------------------ status
    def _one_line_status(self) -> str:
        counts = self.journal.page_counts()
        return (f"{self.scanners[0].state.state if self.scanners else 'no scanner'}; "
                f"{counts.get('captured', 0)} pages waiting")

    def status(self) -> dict:
        disk = shutil.disk_usage(self.journal.state_dir)
        midnight = time.mktime(time.localtime()[:3] + (0, 0, 0, 0, 0, -1))
        counts = self.journal.page_counts()
        counts["today"] = self.journal.pages_since(midnight)
        return {
            "device_id": self.cfg.agent.device_id,
            "time": time.time(),
            "uptime_s": round(time.time() - self.started_at, 1),
            "scanners": [w.snapshot() for w in self.scanners],
            "jobs": [j.__dict__ for j in self.journal.recent_jobs(8)],
            "pages": counts,
            "batches": self.journal.batches.counts(),
            "disk": {"free_bytes": disk.free, "total_bytes": disk.total, "free_pct": 100 * disk.free / disk.total,
                     "min_free_mb": self.cfg.agent.min_free_mb},
            "events": self.journal.recent_events(8),
            "journal_audit": self.audit_report.to_dict() if self.audit_report else None,
            "triggers": {
                "hotfolder": str(self.hotfolder.path) if self.hotfolder else None,
                "key": {"device": self.key.device, "error": self.key.error} if self.key else None,
            },
        }

    def metric_families(self) -> list:
        """Everything ``/metrics`` serves: build info, the agent's families and every subsystem's."""
        return station_families(self.cfg.agent.device_id, self.metrics, self.sources)

    def metrics(self) -> list:
        s = self.status()
        down = ("unplugged", "hung", "access_denied")
        return [
            gauge("sohoa_pages", "Pages in the journal by state.",
                  samples=[({"state": k}, n) for k, n in s["pages"].items() if k != "today"]),
            gauge("sohoa_pages_today", "Pages captured since local midnight.", s["pages"]["today"]),
            gauge("sohoa_batches", "Upload batches by state.",
                  samples=[({"state": k}, v) for k, v in s["batches"].items()]),
            gauge("sohoa_disk_free_bytes", "Free bytes in the state folder's file system.", s["disk"]["free_bytes"]),
            gauge("sohoa_scanner_up", "1 while the scanner can be used (labelled with its state).",
                  samples=[({"device": sc["device"], "state": sc["state"]}, 0 if sc["state"] in down else 1)
                           for sc in s["scanners"]]),
            counter("sohoa_task_restarts", "Restarts of a supervised task after a failure.",
                    samples=[({"task": k}, v) for k, v in self.supervisor.restarts.items()]),
            gauge("sohoa_uptime_seconds", "Seconds since the agent started.", s["uptime_s"]),
        ]

    # ------------------------------------------------------------------ waiting (demo, tests)
    def pipeline_idle(self) -> bool:
        """No page waits for capture or processing (nor for staging, when pages are staged loose)."""
        counts = self.journal.page_counts()
        hot_waiting = self.hotfolder is not None and any(
            not p.name.startswith(".") for p in self.hotfolder.path.iterdir())
        return (all(w.idle for w in self.scanners) and counts.get("captured", 0) == 0
                and not hot_waiting and not self.journal.find_running_hotfolder_job()
                and (counts.get("processed", 0) == 0 or not self.batching.stage_pages)
                and self.processing.in_flight == 0)


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _usb_reset(scanner, device_name: str) -> bool:
    """Reset the USB device behind a SANE name like 'fujitsu:libusb:001:004', if it names one."""
    try:
        return bool(reset_sane_device(device_name))
    except UsbDeviceNotFound as exc:
        log.info("no USB reset for %s: %s", device_name, exc)  # network scanner, or already gone
    except UsbResetError as exc:  # reported; reopening goes on regardless
        log.warning("USB reset of %s failed: %s", device_name, exc)
    return False
