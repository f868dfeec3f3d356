"""kill -9 of the agent at random moments of a 30-page job, then restart.

The agent runs capture, processing, batching and upload with receipts (records
packaging has its own resume tests in tests/records), so each run stays a few seconds.

Every page captured before the kill must be processed exactly once, staged
exactly once and delivered to the (demo) receiver exactly once; nothing
half-written may remain; the job shows as interrupted.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from firmware_agent.capture_file import CAPTURE_SUFFIX

ROOT = Path(__file__).resolve().parents[2]


def sohoa(*args: str) -> list[str]:
    return [sys.executable, "-m", "firmware_agent", *args]


def env() -> dict:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(ROOT)
    return e


def check_journal(state: Path, archived_batches) -> dict:
    db = sqlite3.connect(state / "journal.sqlite3")
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        pages = db.execute("SELECT id, state, raw_path, capture_removed_at FROM pages").fetchall()
        for pid, st, raw, capture_removed in pages:
            assert st == "batched", f"page {pid} left in state {st}"
            # Every batch is sealed by now, so every capture has gone (design J4).
            assert capture_removed is not None and not (state / raw).exists(), f"page {pid}: capture kept"
            n = db.execute("SELECT COUNT(*) FROM page_events WHERE page_id=? AND state='processed'",
                           (pid,)).fetchone()[0]
            assert n == 1, f"page {pid} processed {n} times"
        members = db.execute("SELECT m.batch_id, m.name FROM batch_members m").fetchall()
        names = [m[1] for m in members]
        assert len(names) == len(set(names)) == len(pages), "each page staged exactly once"
        states = {r[0] for r in db.execute("SELECT state FROM batches")}
        assert states <= {"acknowledged"}, f"batches not delivered: {states}"
        received = sorted(n for members in archived_batches(state).values() for n in members)
        assert received == sorted(names), "the archive holds each page exactly once"
        on_disk = list((state / "pages").rglob("*" + CAPTURE_SUFFIX)) if (state / "pages").exists() else []
        assert not on_disk, f"capture files left after their batches were sealed: {on_disk[:3]}"
        assert not list(state.rglob(".tmp-*")), "half-written file left behind"
        jobs = db.execute("SELECT state, message FROM jobs").fetchall()
        assert all(st in ("done", "interrupted") for st, _ in jobs), jobs
        return {"pages": len(pages), "jobs": jobs}
    finally:
        db.close()


@pytest.mark.parametrize("seed", range(20))
def test_kill_minus_nine_then_restart_processes_every_page_once(tmp_path, seed, stations):
    rng = random.Random(seed)
    state = tmp_path / "state"
    proc = subprocess.Popen(sohoa("demo", "--once", "--no-records", "--pages", "30", "--state-dir", str(state), "--port", "0"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env(), cwd=tmp_path)
    # wait until the agent is up, then kill it at a random moment of the job
    deadline = time.monotonic() + 60
    while not (state / "journal.sqlite3").exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    time.sleep(rng.uniform(0.0, 3.0))
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)

    try:
        again = subprocess.run(sohoa("demo", "--once", "--no-records", "--pages", "0", "--state-dir", str(state),
                                     "--port", "0"), capture_output=True, text=True, env=env(), cwd=tmp_path, timeout=120)
    except subprocess.TimeoutExpired as exc:  # say where the restart stuck
        tail = (exc.stderr or b"")[-3000:]
        pytest.fail(f"restart did not finish in 120 s; its log ended:\n{tail.decode('utf-8', 'replace')}")
    assert again.returncode == 0, again.stderr[-2000:]
    summary = json.loads(again.stdout.strip().splitlines()[-1])
    result = check_journal(state, stations.archived_batches)
    assert summary["pages_processed"] == result["pages"]
    assert summary["errors"] == 0
    if any(st == "interrupted" for st, _ in result["jobs"]):
        assert any("Interrupted" in msg for st, msg in result["jobs"] if st == "interrupted")
