"""The uploader's heartbeat (docs/design.md §5.15): sent at start and after each batch, carrying the
backlog; a failing report source costs the report, never a batch."""

from __future__ import annotations

import asyncio
import json
import os

from central.local import start_local_receiver
from firmware_agent.journal import Journal
from firmware_agent.sync_enrollment import enroll_local
from firmware_agent.sync_settings import SyncSettings
from firmware_agent.uploader_task import UploaderTask


def _stage(journal: Journal, tmp, n_batches: int) -> None:
    for b in range(n_batches):
        src = tmp / f"src-{b}.zip"
        src.write_bytes(os.urandom(100_000))
        journal.batches.stage_member(src, f"hs-{b:03d}.zip", pages=3, documents=1)
        journal.batches.close_due(max_pages=1, max_age_s=0, force=True)


async def _until(pred, timeout=30.0):
    for _ in range(int(timeout / 0.05)):
        if pred():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached")


def test_heartbeats_go_with_the_batches_and_a_broken_source_costs_no_batch(tmp_path):
    state = tmp_path / "state"
    journal = Journal(state)
    calls = []

    def report():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("sensor gone")  # the first report's source fails
        return {"pages_today": 12, "scanner": "ready", "climate": {"rating": "good", "alerts": []}}

    async def body():
        rx = await start_local_receiver(tmp_path / "rx")
        try:
            settings = SyncSettings(**await enroll_local(rx, state, "dev-hb"))
            _stage(journal, tmp_path, 2)
            task = UploaderTask(settings, journal, state, "dev-hb", heartbeat_report=report, heartbeat_every_s=3600)
            runner = asyncio.create_task(task.run())
            await _until(lambda: task.status()["batches_acknowledged"] == 2)
            # One at start, and one after the last batch: the latest report shows an empty backlog.
            await _until(lambda: task.heartbeat.sent >= 2 and json.loads(rx.core.state._one(
                "SELECT report FROM heartbeats_latest WHERE device_id=?", ("dev-hb",))["report"])["queue_depth"] == 0)
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
            row = rx.core.state._one("SELECT seq, report FROM heartbeats_latest WHERE device_id=?", ("dev-hb",))
            latest = json.loads(row["report"])
            assert latest["pages_today"] == 12 and latest["scanner"] == "ready" and latest["device"] == "dev-hb"
            assert latest["queue_depth"] == 0 and latest["disk_free_bytes"] > 0
            assert task.heartbeat.failed == 0 and journal.batches.counts().get("acknowledged") == 2
        finally:
            await rx.close()
            journal.close()
    asyncio.run(asyncio.wait_for(body(), 90))

