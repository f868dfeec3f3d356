"""One durable write everywhere: a temporary name, fsync, rename; and one sweep for what a crash left."""

from __future__ import annotations

import os

import pytest

from firmware_agent.journal import Journal
from sync.fsutil import TMP_PREFIX, durable_file, remove_temporaries, tmp_path, write_atomic


def test_a_failed_write_leaves_the_old_content_and_no_temporary(tmp_path):
    target = tmp_path / "page.jpg"
    write_atomic(target, b"old")
    with pytest.raises(RuntimeError):
        with durable_file(target) as fh:
            fh.write(b"half of the new")
            raise RuntimeError("power cut, as far as this file knows")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["page.jpg"]
    with durable_file(target, mode=0o600) as fh:
        fh.write(b"new")
        assert tmp_path_exists(target) and target.read_bytes() == b"old"  # readers see the old file meanwhile
    assert target.read_bytes() == b"new" and not tmp_path_exists(target)
    assert oct(target.stat().st_mode & 0o777) == oct(0o600)


def tmp_path_exists(target) -> bool:
    return tmp_path(target).exists()


def test_the_start_up_sweep_finds_every_area_a_crash_can_leave_a_temporary_in(tmp_path):
    state = tmp_path / "state"
    Journal(state).close()
    left = [state / "pages" / "job-000001" / f"{TMP_PREFIX}00001.jpg",
            state / "sealed" / f"{TMP_PREFIX}0000000001.sohoa",
            state / "records" / "out" / f"{TMP_PREFIX}rf-000001.zip",
            state / "keys" / f"{TMP_PREFIX}archive_x25519.pub",
            state / "outbox" / "batch-00000001" / f"{TMP_PREFIX}m.zip"]
    kept = state / "sealed" / "0000000001.sohoa"
    for path in left + [kept]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    j = Journal(state)
    j.recover()
    j.close()
    assert [p for p in left if p.exists()] == [] and kept.exists()
    assert remove_temporaries(tmp_path / "nowhere") == 0
