"""The hot folder on a real directory, with watchdog and real intake."""

from __future__ import annotations

import os
import re
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from firmware_agent.hotfolder import (MAX_TRIES, HotFolder, RetryLater, format_reason, is_ignored,
                                      parse_reason)
from firmware_agent.intake import split_into_pages

DESIGN = Path(__file__).resolve().parents[2] / "docs" / "design.md"


class Recorder:
    """on_file that records what it got (path name and size) and can run intake."""

    def __init__(self, intake: bool = False):
        self.calls: list[tuple[str, int]] = []
        self.pages: dict[str, int] = {}
        self.intake = intake
        self.lock = threading.Lock()

    def __call__(self, path: Path) -> None:
        with self.lock:
            self.calls.append((path.name, path.stat().st_size))
        if self.intake:
            self.pages[path.name] = sum(1 for _ in split_into_pages(path, 150))


def wait_for(cond, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


def png_bytes(tmp_path: Path) -> bytes:
    p = tmp_path / "src.png"
    Image.fromarray(np.full((40, 30), 200, np.uint8)).save(p)
    return p.read_bytes()


def test_file_written_slowly_is_taken_only_once_stable(tmp_path):
    folder = tmp_path / "in"
    rec = Recorder()
    hf = HotFolder(folder, settle_s=0.4, on_file=rec, poll_s=0.05)
    hf.start()
    try:
        data = os.urandom(64 * 1024)
        target = folder / "scan0001.pdf"
        with open(target, "wb") as fh:
            # A copier writing in bursts: pauses shorter than the settle time.
            for i in range(8):
                fh.write(data[i * 8192:(i + 1) * 8192])
                fh.flush()
                time.sleep(0.15)
                assert rec.calls == [], "taken while still being written"
        assert wait_for(lambda: rec.calls)
        assert rec.calls == [("scan0001.pdf", len(data))]
        assert wait_for(lambda: (folder / ".done" / "scan0001.pdf").exists())
        assert not target.exists()
    finally:
        hf.stop()


def test_settle_time_is_respected_by_passes(tmp_path):
    rec = Recorder()
    hf = HotFolder(tmp_path, settle_s=0.3, on_file=rec)
    (tmp_path / "a.jpg").write_bytes(b"x" * 10)
    assert hf.scan_once() == []  # first look
    assert hf.scan_once() == []  # too soon
    time.sleep(0.35)
    (tmp_path / "a.jpg").write_bytes(b"x" * 20)  # changed: the clock starts again
    assert hf.scan_once() == []
    time.sleep(0.35)
    done = hf.scan_once()
    assert done == [tmp_path / ".done" / "a.jpg"] and rec.calls == [("a.jpg", 20)]


def test_empty_file_waits_longer(tmp_path):
    rec = Recorder()
    hf = HotFolder(tmp_path, settle_s=0.05, on_file=rec)
    (tmp_path / "blank.pdf").touch()
    hf.scan_once()
    time.sleep(0.1)
    assert hf.scan_once() == []
    time.sleep(0.45)
    assert hf.scan_once() == [tmp_path / ".done" / "blank.pdf"]


def test_hidden_and_temporary_names_are_ignored(tmp_path):
    rec = Recorder()
    hf = HotFolder(tmp_path, settle_s=0.0, on_file=rec)
    names = [".hidden.pdf", "scan.pdf.part", "~$report.docx", "img.TMP", "x.crdownload", "a.pdf~"]
    for n in names:
        (tmp_path / n).write_bytes(b"data")
    (tmp_path / "subdir").mkdir()
    os.symlink(tmp_path / ".hidden.pdf", tmp_path / "link.pdf")
    for _ in range(3):
        hf.scan_once()
    assert rec.calls == []
    assert all((tmp_path / n).exists() for n in names)
    assert all(is_ignored(n) for n in names) and not is_ignored("scan 0001.pdf")


def test_real_intake_counts_pages_and_rejects_corrupt_files(tmp_path):
    folder = tmp_path / "in"
    rec = Recorder(intake=True)
    hf = HotFolder(folder, settle_s=0.1, on_file=rec, poll_s=0.05)
    hf.start()
    try:
        frames = [Image.fromarray(np.full((50, 40), v, np.uint8)) for v in (10, 120, 240)]
        frames[0].save(tmp_path / "doc.tif", save_all=True, append_images=frames[1:])
        os.replace(tmp_path / "doc.tif", folder / "doc.tif")
        (folder / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog")
        (folder / "empty-after-all.png").write_bytes(b"")
        assert wait_for(lambda: (folder / ".rejected" / "broken.pdf").exists())
        assert wait_for(lambda: (folder / ".done" / "doc.tif").exists())
    finally:
        hf.stop()
    assert rec.pages == {"doc.tif": 3}
    reason = parse_reason((folder / ".rejected" / "broken.pdf.reason.txt").read_text(encoding="utf-8"))
    assert reason["file"] == "broken.pdf"
    assert "cắt cụt" in reason["vi"] and "Truncated PDF" in reason["en"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", reason["time"])
    # The empty file is still waiting (10 x settle), not rejected yet.
    assert (folder / "empty-after-all.png").exists()


def test_restart_does_not_retake_done_files_and_same_name_is_kept_apart(tmp_path):
    data = png_bytes(tmp_path)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "scan.png").write_bytes(data)
    rec = Recorder()
    first = HotFolder(folder, settle_s=0.05, on_file=rec)
    first.scan_once()
    time.sleep(0.1)
    assert first.scan_once() == [folder / ".done" / "scan.png"]

    # A new process: nothing to take again.
    second = HotFolder(folder, settle_s=0.05, on_file=rec)
    second.scan_once()
    time.sleep(0.1)
    assert second.scan_once() == []
    assert len(rec.calls) == 1

    # The copier reuses the name for the next scan: a new file, kept apart.
    (folder / "scan.png").write_bytes(data + b"more")
    second.scan_once()
    time.sleep(0.1)
    assert second.scan_once() == [folder / ".done" / "scan.1.png"]
    assert (folder / ".done" / "scan.png").read_bytes() == data


def test_file_left_in_processing_is_offered_again_at_start(tmp_path):
    (tmp_path / ".processing").mkdir()
    (tmp_path / ".processing" / "half.pdf").write_bytes(b"%PDF")
    rec = Recorder()
    hf = HotFolder(tmp_path, settle_s=10.0, on_file=rec)
    assert hf.scan_once() == [tmp_path / ".done" / "half.pdf"]
    assert rec.calls == [("half.pdf", 4)]
    assert not list((tmp_path / ".processing").iterdir())


def test_file_that_keeps_killing_the_agent_is_rejected(tmp_path):
    processing = tmp_path / ".processing"
    processing.mkdir()
    (processing / "poison.tif").write_bytes(b"II*\x00")
    (processing / ".poison.tif.tries").write_text(str(MAX_TRIES))
    rec = Recorder()
    hf = HotFolder(tmp_path, settle_s=0.1, on_file=rec)
    assert hf.scan_once() == [tmp_path / ".rejected" / "poison.tif"]
    assert rec.calls == []
    reason = parse_reason((tmp_path / ".rejected" / "poison.tif.reason.txt").read_text(encoding="utf-8"))
    assert str(MAX_TRIES) in reason["en"]


def test_retry_later_keeps_the_file(tmp_path):
    attempts = []

    def on_file(path: Path) -> None:
        attempts.append(path.name)
        if len(attempts) == 1:
            raise RetryLater("Ổ đĩa đầy / Disk full")

    hf = HotFolder(tmp_path, settle_s=0.0, on_file=on_file, retry_s=0.2)
    (tmp_path / "a.png").write_bytes(b"x")
    hf.scan_once()
    assert hf.scan_once() == []
    assert (tmp_path / ".processing" / "a.png").exists()
    assert hf.scan_once() == [] and attempts == ["a.png"]  # not before retry_s
    time.sleep(0.25)
    assert hf.scan_once() == [tmp_path / ".done" / "a.png"]
    assert attempts == ["a.png", "a.png"]


def test_on_file_error_without_operator_text(tmp_path):
    def on_file(path: Path) -> None:
        raise RuntimeError("journal closed")

    hf = HotFolder(tmp_path, settle_s=0.0, on_file=on_file)
    (tmp_path / "b.jpg").write_bytes(b"x")
    hf.scan_once()
    assert hf.scan_once() == [tmp_path / ".rejected" / "b.jpg"]
    reason = parse_reason((tmp_path / ".rejected" / "b.jpg.reason.txt").read_text(encoding="utf-8"))
    assert "journal closed" in reason["en"] and reason["vi"]


def test_design_reason_example_round_trips():
    text = DESIGN.read_text(encoding="utf-8")
    section = text[text.index("## 3. Hot folder, keys and service"):]
    example = re.search(r"```\n(sohoa-reject 1\n.*?\n)```", section, re.S).group(1)
    fields = parse_reason(example)
    assert fields["file"] == "scan 0007.pdf" and fields["en"].startswith("Truncated PDF")
    when = datetime.strptime(fields["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert format_reason(fields["file"], fields["vi"], fields["en"], when) == example
    with pytest.raises(ValueError):
        parse_reason("sohoa-reject 2\nfile: x\n")


def test_thread_survives_a_failing_pass_and_logs_it_once(tmp_path, caplog):
    folder = tmp_path / "in"
    rec = Recorder()
    hf = HotFolder(folder, settle_s=0.05, on_file=rec, poll_s=0.02)
    hf.start()
    try:
        for _ in range(100):  # the thread may recreate the folder between our two steps
            try:
                (folder / ".done").rmdir()
            except FileNotFoundError:
                pass
            try:
                (folder / ".done").write_text("not a folder")  # every pass now fails
                break
            except IsADirectoryError:
                continue
        time.sleep(0.3)
        failures = [r for r in caplog.records if "pass failed" in r.getMessage()]
        assert len(failures) == 1
        (folder / ".done").unlink()
        (folder / "late.png").write_bytes(b"x")
        assert wait_for(lambda: (folder / ".done" / "late.png").exists())
    finally:
        hf.stop()
    assert rec.calls == [("late.png", 1)]


def _sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_remove_taken_deletes_every_copy_of_one_original_and_nothing_else(tmp_path):
    """H3: a secret record file's original goes from .done/ and .rejected/, found by name and SHA-256."""
    hf = HotFolder(tmp_path, settle_s=0.0, on_file=Recorder())
    for name, data in (("scan.pdf", b"%PDF secret"), ("scan.pdf", b"%PDF secret"), ("scan.pdf", b"%PDF other"),
                       ("scan.1.pdf", b"%PDF secret"), ("scanx.pdf", b"%PDF secret")):
        (tmp_path / name).write_bytes(data)
        hf.scan_once()
        hf.scan_once()
    done = sorted(p.name for p in hf.done_dir.iterdir())
    assert done == ["scan.1.1.pdf", "scan.1.pdf", "scan.2.pdf", "scan.pdf", "scanx.pdf"]
    secret = _sha(hf.done_dir / "scan.pdf")
    hf.rejected_dir.joinpath("scan.3.pdf").write_bytes(b"%PDF secret")
    hf.rejected_dir.joinpath("scan.3.pdf" + ".reason.txt").write_text("sohoa-reject 1\n")
    assert hf.remove_taken("scan.pdf", secret[:16]) is True
    # Same name and content under a counter: gone; other content, another name: kept.
    kept = {p.name: p.read_bytes() for p in hf.done_dir.iterdir()}
    assert kept == {"scan.2.pdf": b"%PDF other", "scan.1.1.pdf": b"%PDF secret", "scanx.pdf": b"%PDF secret"}
    assert list(hf.rejected_dir.iterdir()) == []
    assert hf.remove_taken("scan.1.pdf", secret[:16]) is True
    assert sorted(p.name for p in hf.done_dir.iterdir()) == ["scan.2.pdf", "scanx.pdf"]
    assert hf.remove_taken("scan.pdf", secret[:16]) is True  # nothing left: still fine


def test_remove_taken_waits_for_a_copy_still_in_processing(tmp_path):
    hf = HotFolder(tmp_path, settle_s=0.0, on_file=Recorder())
    hf.processing_dir.mkdir(parents=True)
    left = hf.processing_dir / "scan.pdf"
    left.write_bytes(b"%PDF secret")  # a crash between intake and the move to .done/
    digest = _sha(left)[:16]
    assert hf.remove_taken("scan.pdf", digest) is False
    assert left.exists()  # never deleted under a hand-over
    assert hf.scan_once() == [hf.done_dir / "scan.pdf"]
    assert hf.remove_taken("scan.pdf", digest) is True
    assert list(hf.done_dir.iterdir()) == []


def test_job_original_reads_the_intake_job_source():
    from firmware_agent.hotfolder import job_original

    assert job_original("hotfolder:scan#1.pdf#0123456789abcdef") == ("scan#1.pdf", "0123456789abcdef")
    assert job_original("scanner:test:0") is None
    assert job_original("hotfolder:scan.pdf") is None
    assert job_original("hotfolder:#0123456789abcdef") is None
