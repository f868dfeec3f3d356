"""Retention: a capture goes once its batch is sealed; the archival page only after the receipt, and a week later."""

from __future__ import annotations

import sqlite3

import numpy as np

from firmware_agent.capture_file import CAPTURE_SUFFIX, derived_path, write_capture_atomic
from firmware_agent.journal import Journal
from firmware_agent.pageio import write_image_atomic
from firmware_agent.retention import remove_captures, sweep


def page(journal: Journal, job: int, seq: int) -> int:
    raw = journal.page_path(job, seq, CAPTURE_SUFFIX)
    write_capture_atomic(raw, np.full((20, 30), 200, np.uint8))
    pid = journal.add_page(job, seq, raw, width=30, height=20, dpi=300, channels=1)
    colour = derived_path(raw, ".jpg")
    write_image_atomic(colour, np.full((20, 30), 200, np.uint8), dpi=300)
    journal.mark_processed(pid, colour, None, {"stage": "test"})
    return pid


def seal(j: Journal) -> int:
    """Move the oldest staged batch through sealing as the uploader would (its file is not needed here)."""
    job = j.batches.begin_sealing()
    assert j.batches.finish_sealing(job, batch_hash=f"{job.seq:064x}", file_sha256="0" * 64, size=1,
                                    sealed_path=j.state_dir / "sealed" / f"{job.seq:010d}.sohoa", manifest=b"{}")
    return job.id


def acknowledge(j: Journal, batch_id: int) -> None:
    seq, batch_hash = j.read("SELECT seq, batch_hash FROM batches WHERE id=?", (batch_id,))[0]
    assert j.batches.mark_acknowledged(batch_id, seq=seq, batch_hash=batch_hash, receipt={"v": 1})


def test_files_go_only_after_the_receipt_and_the_keep_period(tmp_path):
    j = Journal(tmp_path / "state")
    job = j.start_job("scanner:test", "default", "test")
    p1, p2 = page(j, job, 1), page(j, job, 2)
    pkg = tmp_path / "pkg.zip"
    pkg.write_bytes(b"package")
    b1 = j.batches.stage_member(pkg, "pkg.zip", pages=1, documents=1, page_ids=(p1,), page_state="packaged")
    j.batches.close_due(max_pages=1, max_age_s=0, force=True)
    pkg2 = tmp_path / "pkg2.zip"
    pkg2.write_bytes(b"package 2")
    j.batches.stage_member(pkg2, "pkg2.zip", pages=1, documents=1, page_ids=(p2,), page_state="packaged")

    assert sweep(j, keep_local_days=0) == 0  # nothing acknowledged yet
    assert seal(j) == b1
    assert sweep(j, keep_local_days=0) == 0  # sealed, not acknowledged
    acknowledge(j, b1)
    assert sweep(j, keep_local_days=7) == 0  # acknowledged, but kept a week
    assert sweep(j, keep_local_days=0) == 1
    gone, kept = j.page(p1), j.page(p2)
    assert not gone.raw_path.exists() and not gone.colour_path.exists()
    assert kept.raw_path.exists() and kept.colour_path.exists()  # its batch has no receipt yet
    assert j.read("SELECT removed_at FROM pages WHERE id=?", (p1,))[0][0] is not None
    assert sweep(j, keep_local_days=0) == 0  # idempotent
    j.close()


def test_captures_go_when_their_batch_is_sealed_and_nothing_else_does(tmp_path):
    j = Journal(tmp_path / "state")
    job = j.start_job("scanner:test", "default", "test")
    p1, p2, p3 = page(j, job, 1), page(j, job, 2), page(j, job, 3)
    pkg = tmp_path / "pkg.zip"
    pkg.write_bytes(b"package")
    b1 = j.batches.stage_member(pkg, "pkg.zip", pages=2, documents=1, page_ids=(p1, p2), page_state="packaged")
    j.batches.close_due(max_pages=1, max_age_s=0, force=True)
    pkg2 = tmp_path / "pkg2.zip"
    pkg2.write_bytes(b"package 2")
    j.batches.stage_member(pkg2, "pkg2.zip", pages=1, documents=1, page_ids=(p3,), page_state="packaged")

    assert remove_captures(j) == 0  # staged is not sealed: the captures may still be needed
    assert seal(j) == b1
    assert remove_captures(j, batch_id=b1 + 1) == 0  # another batch
    assert remove_captures(j, batch_id=b1) == 2
    for pid in (p1, p2):
        row = j.page(pid)
        assert not row.raw_path.exists() and row.colour_path.exists()  # the archival page stays
    assert j.page(p3).raw_path.exists()  # its batch is not sealed
    assert remove_captures(j) == 0  # idempotent
    marked = j.read("SELECT id FROM pages WHERE capture_removed_at IS NOT NULL ORDER BY id")
    assert [r[0] for r in marked] == [p1, p2]
    assert j.read("SELECT COUNT(*) FROM pages WHERE removed_at IS NOT NULL")[0][0] == 0

    # A crash between sealing and deleting: the next sweep finds what is left.
    write_capture_atomic(j.page(p1).raw_path, np.full((20, 30), 200, np.uint8))
    with j.transaction() as db:
        db.execute("UPDATE pages SET capture_removed_at=NULL WHERE id=?", (p1,))
    acknowledge(j, b1)
    assert sweep(j, keep_local_days=7) == 0
    assert not j.page(p1).raw_path.exists() and j.page(p1).colour_path.exists()
    j.close()


def test_a_version_1_journal_is_upgraded_in_place(tmp_path):
    state = tmp_path / "state"
    j = Journal(state)
    j.close()
    db = sqlite3.connect(state / "journal.sqlite3")
    db.executescript("""
        CREATE TABLE pages_old AS SELECT * FROM pages;
        DROP TABLE pages; ALTER TABLE pages_old RENAME TO pages;
        ALTER TABLE pages DROP COLUMN removed_at; ALTER TABLE pages DROP COLUMN capture_removed_at;
        ALTER TABLE batches DROP COLUMN acked_at;
        UPDATE meta SET value='1' WHERE key='schema_version';
    """)
    db.close()
    j = Journal(state)
    assert j.read("SELECT value FROM meta WHERE key='schema_version'")[0][0] == "4"
    columns = [r[1] for r in j.read("PRAGMA table_info(pages)")]
    assert "removed_at" in columns and "capture_removed_at" in columns
    assert "acked_at" in [r[1] for r in j.read("PRAGMA table_info(batches)")]
    j.close()


def test_a_version_2_journal_is_upgraded_in_place(tmp_path):
    state = tmp_path / "state"
    j = Journal(state)
    job = j.start_job("scanner:test", "default", "test")
    pid = page(j, job, 1)
    j.close()
    db = sqlite3.connect(state / "journal.sqlite3")
    db.executescript("""
        ALTER TABLE pages DROP COLUMN capture_removed_at;
        UPDATE meta SET value='2' WHERE key='schema_version';
    """)
    db.close()
    j = Journal(state)
    assert j.read("SELECT value FROM meta WHERE key='schema_version'")[0][0] == "4"
    assert j.read("SELECT capture_removed_at FROM pages WHERE id=?", (pid,))[0][0] is None
    assert j.page(pid).raw_path.exists()
    j.close()
