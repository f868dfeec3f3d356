"""A full disk under the whole receiver (SQLite file, uploads, archive): 507, never 500, nothing half done.

The receiver's root is a real small tmpfs, filled with a real file at the
moment under test: before creation, part way through the PATCHes, and
between the last PATCH's commit and the acceptance transaction (from inside
the batch's member check, which runs while the last bytes arrive and can wait
for the upload's offset record to say they are durable). After the filler is
removed the same upload completes, exactly once, with a receipt that verifies.
"""

from __future__ import annotations

import asyncio
import errno
import os
import shutil
import subprocess
import threading
import time

import pytest

from central import offset_record
from sync.client import TransientError
from sync.deliver import deliver
from central.local import start_local_receiver
from central.store import FileStore

CHUNK = 256 * 1024


def _mount(mnt, options: str):
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mnt)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {r.stderr.decode().strip()}")
    return mnt


@pytest.fixture
def tmpfs(tmp_path):
    mnt = _mount(tmp_path / "tmpfs", "size=16m")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


@pytest.fixture
def few_inodes(tmp_path):
    mnt = _mount(tmp_path / "tmpfs", "size=16m,nr_inodes=200")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _wait_durable(root, size: int) -> bool:
    """Wait (in the batch check's thread) until an upload's offset record says *size* bytes are durable."""
    end = time.monotonic() + 60
    while time.monotonic() < end:
        recs = [offset_record.read(p) for p in (root / "uploads").glob("*.offset")]
        if any(r is not None and r[1] == size for r in recs):
            return True
        time.sleep(0.01)
    return False


def _fill(mnt, *, leave: int = 0):
    """Fill *mnt* with a file until a write of even one byte fails (or until *leave* bytes are left)."""
    filler = mnt / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        if leave:
            os.write(fd, bytes(max(0, shutil.disk_usage(mnt).free - leave)))
            return filler
        size = 1 << 20
        while size:
            try:
                os.write(fd, bytes(size))
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                size //= 2
    finally:
        os.close(fd)
    return filler


def _upload_files(root):
    return sorted(p.name for p in (root / "uploads").iterdir()) if (root / "uploads").exists() else []


def _archived(root):
    return list((root / "archive").rglob("*.sohoa"))


async def _finish_and_check_once(kit, rx, app, c, b, url, archive_root):
    """The upload completes after the room came back (resuming *url* if given): one log entry,
    one archive file, a verified receipt, and the same receipt when asked again."""
    for _ in range(50):
        try:
            receipt, _ = await deliver(c, b, app.log_public, url=url)
            break
        except TransientError:
            await asyncio.sleep(0.05)
    else:
        raise AssertionError("delivery did not finish")
    assert receipt["leaf"]["sha256"] == b.file_sha256 and receipt["index"] == 0
    again, _ = await kit.deliver_retrying(c, b, app.log_public)
    assert again == receipt
    assert rx.core.state.counts()["accepted"] == 1 and rx.core.tree.size == 1
    assert rx.core.state.counts()["open_uploads"] == 0
    (archived,) = _archived(archive_root)
    assert archived.read_bytes() == b.path.read_bytes()
    assert _upload_files(archive_root) == []
    return receipt


def test_disk_full_at_acceptance_answers_507_and_changes_nothing(tmpfs, tmp_path, kit):
    app = kit.Appliance(tmp_path / "appliance")
    root = tmpfs / "rx"
    expected = {}
    filled = threading.Event()

    def fill_when_durable(name: str, data: bytes) -> list[str]:
        """A member check that, the first time, waits for the last byte to be committed and fills the disk."""
        if not filled.is_set():
            if not _wait_durable(root, expected["size"]):
                return ["the last byte never became durable"]
            expected["filler"] = _fill(tmpfs)
            filled.set()
        return []

    async def body():
        rx = await start_local_receiver(root, member_check=fill_when_durable)
        try:
            await app.enroll(rx)
            b = app.seal((1_500_000,))
            expected["size"] = b.size
            urls = []
            async with app.client(rx.url, chunk_size=CHUNK) as c:
                with pytest.raises(TransientError, match="507 Insufficient Storage"):
                    await c.upload(b.path, b.size, b.metadata(), on_created=urls.append)
                assert filled.is_set()
                # Nothing half done: no log entry, chain head and tree as before, no receipt, no archive file;
                # the upload is still there, complete and resumable.
                assert rx.core.state.counts()["accepted"] == 0 and rx.core.tree.size == 0
                assert rx.core.state.device(app.device_id).last_seq == 0
                assert rx.core.state.rejections() == []
                assert _archived(root) == []
                (row,) = rx.core.state.open_uploads()
                assert rx.core.store.get_upload(row["id"]).info().offset == b.size
                assert rx.core.counters["disk_full"] == 1
                assert (await c.head(urls[0]))[0] == b.size
                expected["filler"].unlink()
                await _finish_and_check_once(kit, rx, app, c, b, urls[0], root)
        finally:
            await rx.close()
    kit.run(body())


@pytest.mark.parametrize("store_on", ["the full disk", "another disk"])
def test_disk_full_at_creation_answers_507_and_leaves_no_upload(tmpfs, tmp_path, kit, store_on):
    """With the store elsewhere the files are made and the SQLite row is what fails: the files go too."""
    app = kit.Appliance(tmp_path / "appliance")
    root = tmpfs / "rx"
    store_root = root if store_on == "the full disk" else tmp_path / "store"

    async def body():
        rx = await start_local_receiver(root, store=FileStore(store_root))
        try:
            await app.enroll(rx)
            b = app.seal((400_000,))
            filler = _fill(tmpfs)
            async with app.client(rx.url, chunk_size=CHUNK) as c:
                with pytest.raises(TransientError, match="507 Insufficient Storage"):
                    await c.create(b.size, b.metadata())
                assert _upload_files(store_root) == []
                assert rx.core.state.open_uploads() == []
                assert rx.core.counters["disk_full"] == 1
                filler.unlink()
                await _finish_and_check_once(kit, rx, app, c, b, None, store_root)
        finally:
            await rx.close()
    kit.run(body())


def test_disk_full_during_patch_with_the_database_on_the_same_disk(tmpfs, tmp_path, kit):
    app = kit.Appliance(tmp_path / "appliance")
    root = tmpfs / "rx"

    async def body():
        rx = await start_local_receiver(root)
        try:
            await app.enroll(rx)
            b = app.seal((1_600_000,))
            filler = _fill(tmpfs, leave=900 * 1024)
            urls = []
            async with app.client(rx.url, chunk_size=CHUNK) as c:
                with pytest.raises(TransientError, match="507 Insufficient Storage"):
                    await c.upload(b.path, b.size, b.metadata(), on_created=urls.append)
                (row,) = rx.core.state.open_uploads()
                upload = rx.core.store.get_upload(row["id"])
                acked = upload.info().offset
                assert 0 < acked < b.size and acked % CHUNK == 0
                assert upload.data.stat().st_size == acked  # the refused chunk left nothing behind
                assert rx.core.state.counts()["accepted"] == 0 and _archived(root) == []
                filler.unlink()
                await _finish_and_check_once(kit, rx, app, c, b, urls[0], root)
        finally:
            await rx.close()
    kit.run(body())


def test_archive_rename_refused_after_acceptance_is_finished_before_the_receipt(few_inodes, tmp_path, kit):
    """The acceptance commits, then the rename into archive/ fails (no inode left for the device's
    directory): 507, and every later answer about the batch finishes the rename first (rules R2, R3)."""
    app = kit.Appliance(tmp_path / "appliance")
    root = few_inodes / "rx"
    expected = {}
    filled = threading.Event()
    spare = few_inodes / "spare"

    def use_up_inodes(name: str, data: bytes) -> list[str]:
        if not filled.is_set():
            if not _wait_durable(root, expected["size"]):
                return ["the last byte never became durable"]
            spare.mkdir()
            i = 0
            while True:
                try:
                    (spare / f"{i:05d}").touch()
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break
                i += 1
            filled.set()
        return []

    async def body():
        rx = await start_local_receiver(root, member_check=use_up_inodes)
        try:
            await app.enroll(rx)
            b = app.seal((300_000,))
            expected["size"] = b.size
            urls = []
            async with app.client(rx.url, chunk_size=CHUNK) as c:
                with pytest.raises(TransientError, match="507 Insufficient Storage"):
                    await c.upload(b.path, b.size, b.metadata(), on_created=urls.append)
                assert filled.is_set()
                # Accepted (the log has it) but not archived: no receipt may be answered yet.
                assert rx.core.state.counts()["accepted"] == 1 and _archived(root) == []
                with pytest.raises(TransientError, match="507"):
                    await c.head(urls[0])
                with pytest.raises(TransientError, match="507"):
                    await c.receipt(f"/receipts/{app.device_id}/1")
                shutil.rmtree(spare)
                receipt = await _finish_and_check_once(kit, rx, app, c, b, urls[0], root)
                assert receipt["leaf"]["seq"] == 1
        finally:
            await rx.close()
    kit.run(body())
