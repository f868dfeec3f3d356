"""The station's side of the heartbeat (docs/design.md §5.15): a small signed status report.

Sent in a task of its own, every ``every_s`` and soon after each acknowledged
batch, only while the uploader has an endpoint and is enrolled. One attempt
with a short timeout; a failure is counted and logged at debug, never retried
sooner, and nothing here waits on, holds or changes a batch.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from pathlib import Path
from typing import Callable

from sync import heartbeat

log = logging.getLogger("sohoa.heartbeat")


class HeartbeatSender:
    def __init__(self, *, endpoint: str, device_id: str, key: Callable, ready: Callable[[], bool],
                 base_report: Callable[[], dict], extra_report: Callable[[], dict] | None = None,
                 data_dir: Path, version: str = "", every_s: float = 300.0, timeout_s: float = 10.0):
        self.endpoint, self.device_id, self.key = endpoint, device_id, key
        self.ready, self.base_report, self.extra_report = ready, base_report, extra_report
        self.data_dir, self.version, self.every_s, self.timeout_s = Path(data_dir), version, every_s, timeout_s
        self.sent = self.failed = 0
        self.last_status: int | None = None
        self._last_seq = 0
        self._poke = asyncio.Event()

    def poke(self) -> None:
        """Send one soon (after a batch was acknowledged)."""
        self._poke.set()

    def _next_seq(self) -> int:
        # Wall-clock milliseconds, strictly increasing in memory: a restart needs no stored counter (H6).
        self._last_seq = max(self._last_seq + 1, int(time.time() * 1000))
        return self._last_seq

    def report(self) -> dict:
        report = {"pages_today": 0, "pages_processed_today": 0, "pages_warned_today": 0, "held": [],
                  "scanner": "", "climate": {}}
        if self.extra_report is not None:
            try:
                report.update(self.extra_report())
            except Exception:  # a broken source must not stop the report
                log.debug("heartbeat source failed", exc_info=True)
        report.update(self.base_report())
        try:
            report["disk_free_bytes"] = shutil.disk_usage(self.data_dir).free
        except OSError:
            pass
        report.update(version=self.version, seq=self._next_seq(), sent_at=time.time())
        return report

    async def send_once(self) -> int | None:
        """One attempt; the HTTP status, or None when not ready or the network failed."""
        if not self.endpoint or not self.ready():
            return None
        try:
            status = await asyncio.wait_for(heartbeat.send(self.endpoint, self.device_id, self.key(),
                                                           self.report(), timeout_s=self.timeout_s),
                                            self.timeout_s + 1)
        except Exception as exc:  # any failure only costs this report
            self.failed += 1
            log.debug("heartbeat not sent: %s: %s", type(exc).__name__, exc)
            return None
        self.last_status = status
        if status == 204:
            self.sent += 1
        else:
            self.failed += 1
            log.debug("heartbeat refused: HTTP %d", status)
        return status

    async def run(self) -> None:
        while True:
            self._poke.clear()  # before sending: a batch acknowledged meanwhile gets a report of its own
            await self.send_once()
            waiter = asyncio.ensure_future(self._poke.wait())
            try:
                await asyncio.wait({waiter}, timeout=self.every_s)
            finally:
                waiter.cancel()
