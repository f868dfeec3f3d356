"""kill -9 of the agent at random moments of a 30-page job, then restart.

The agent runs capture, processing and batching (records packaging has its own
resume tests in tests/records), so each run stays a few seconds.

Every page captured before the kill must be processed exactly once and staged
exactly once; nothing half-written may remain; the job shows as interrupted.
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

ROOT = Path(__file__).resolve().parents[2]


def sohoa(*args: str) -> list[str]:
    return [sys.executable, "-m", "firmware_agent", *args]


def env() -> dict:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(ROOT)
    return e


def check_journal(state: Path) -> dict:
    db = sqlite3.connect(state / "journal.sqlite3")
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        pages = db.execute("SELECT id, job_id, seq, state, raw_path FROM pages").fetchall()
        for pid, _job, _seq, st, raw in pages:
            assert st == "batched", f"page {pid} left in state {st}"
            assert (state / raw).exists(), f"page {pid}: capture missing"
            n = db.execute("SELECT COUNT(*) FROM page_events WHERE page_id=? AND state='processed'",
                           (pid,)).fetchone()[0]
            assert n == 1, f"page {pid} processed {n} times"
        members = db.execute("SELECT b.dir, m.name FROM batch_members m JOIN batches b ON b.id=m.batch_id").fetchall()
        names = [m[1] for m in members]
        assert len(names) == len(set(names)) == len(pages), "each page staged exactly once"
        for d, name in members:
            assert (state / d / name).stat().st_size > 0
        known = {p[4] for p in pages}
        on_disk = {str(p.relative_to(state)) for p in (state / "pages").rglob("*.raw.png")} if (
            state / "pages").exists() else set()
        assert on_disk == known, "orphan or missing capture files"
        assert not list(state.rglob(".tmp-*")), "half-written file left behind"
        jobs = db.execute("SELECT state, message FROM jobs").fetchall()
        assert all(st in ("done", "interrupted") for st, _ in jobs), jobs
        return {"pages": len(pages), "jobs": jobs}
    finally:
        db.close()


@pytest.mark.parametrize("seed", range(20))
def test_kill_minus_nine_then_restart_processes_every_page_once(tmp_path, seed):
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

    again = subprocess.run(sohoa("demo", "--once", "--no-records", "--pages", "0", "--state-dir", str(state), "--port", "0"),
                           capture_output=True, text=True, env=env(), cwd=tmp_path, timeout=120)
    assert again.returncode == 0, again.stderr[-2000:]
    summary = json.loads(again.stdout.strip().splitlines()[-1])
    result = check_journal(state)
    assert summary["pages_processed"] == result["pages"]
    assert summary["errors"] == 0
    if any(st == "interrupted" for st, _ in result["jobs"]):
        assert any("Interrupted" in msg for st, msg in result["jobs"] if st == "interrupted")
