"""The ingest worker's spool (design 5.13, "Spool and memory"): a killed worker's folder is swept at the next
start, a live worker's never; a job's folder goes however its step ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from central.ingest_spool import Spool, sweep


def _files(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_a_killed_workers_spool_is_swept_and_a_live_ones_kept(tmp_path):
    root = tmp_path / "spool"
    live = Spool(root)
    # another process makes its folder, starts a job, writes a member and is killed mid-job
    code = textwrap.dedent(f"""
        import sys, time
        from central.ingest_spool import Spool
        s = Spool({str(root)!r})
        ctx = s.job(7)
        folder = ctx.__enter__()
        (folder / "member-uuid-X.zip").write_bytes(b"x" * 4096)
        print(s.dir.name, flush=True)
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    dead = proc.stdout.readline().strip()
    assert (root / dead / "job-7" / "member-uuid-X.zip").is_file()
    assert sweep(root) == 0  # alive: its lock is held, nothing goes
    assert (root / dead / "job-7" / "member-uuid-X.zip").is_file()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with live.job(1) as folder:
        (folder / "member-a").write_bytes(b"a")
        fresh = Spool(root)  # the next worker to start
        assert fresh.swept == 1
        assert not (root / dead).exists()
        assert (folder / "member-a").is_file()  # the live worker's job is untouched
    assert _files(root) == sorted([f"{live.dir.name}/.lock", f"{fresh.dir.name}/.lock"])
    fresh.close()
    live.close()
    assert _files(root) == []


def test_a_jobs_folder_goes_when_its_step_fails(tmp_path):
    spool = Spool(tmp_path)
    with pytest.raises(RuntimeError):
        with spool.job(3) as folder:
            (folder / "pdf-0.pdf").write_bytes(b"%PDF")
            raise RuntimeError("a refused package")
    assert not folder.exists()
    spool.close()
    assert not spool.dir.exists()
