"""Child process of bench_sync: the agent's uploader sealing and sending one big batch.

usage: python -m bench.sync_agent_mem WORKDIR RECEIVER_URL TOKEN SIZE_MIB

Writes its phase ("idle", "sealing", "uploading", "done") to WORKDIR/phase so the parent,
which samples this process's RSS from /proc, can tell idle from busy.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

from firmware_agent.journal import Journal
from firmware_agent.sync_settings import SyncSettings
from firmware_agent.sync_enrollment import enroll_device
from firmware_agent.uploader_task import UploaderTask


def _phase(work: Path, name: str) -> None:
    (work / "phase.tmp").write_text(name)
    os.replace(work / "phase.tmp", work / "phase")


async def main(work: Path, url: str, token: str, size_mib: int) -> None:
    state = work / "state"
    journal = Journal(state)
    src = work / "package.zip"
    with open(src, "wb") as f:  # incompressible, like JPEG pages and PDFs
        for _ in range(size_mib):
            f.write(os.urandom(1 << 20))
    journal.batches.stage_member(src, "package-0001.zip", pages=1000, documents=10)
    journal.batches.close_due(max_pages=1, max_age_s=0, force=True)
    settings = SyncSettings(endpoint=url)  # default chunk size, as shipped
    await enroll_device(settings, state, "bench-mem-0001", url, token)
    task = UploaderTask(settings, journal, state, "bench-mem-0001")
    await asyncio.sleep(1.0)
    _phase(work, "idle")
    await asyncio.sleep(1.0)
    _phase(work, "sealing")
    t0 = time.perf_counter()
    runner = asyncio.create_task(task.run())
    while task.status()["batches_acknowledged"] < 1:
        if task.progress is not None:
            _phase(work, "uploading")
        await asyncio.sleep(0.05)
    (work / "seconds").write_text(f"{time.perf_counter() - t0:.2f}")
    _phase(work, "done")
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])))
