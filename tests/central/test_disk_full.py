"""Receiver disk full: 507, nothing half-written, and the upload resumes once there is room.

The store lives on a real 1 MiB tmpfs mount when this machine lets us mount
(root in a container or VM); otherwise the store's chunk writer is given an
injected ENOSPC after the same number of bytes. The test says which ran.
"""

from __future__ import annotations

import errno
import subprocess

import pytest

from sync.client import TransientError
from central.local import start_local_receiver
from central.store import FileChunkWriter, FileStore, FileUpload

CHUNK = 256 * 1024


def _mount(path, size: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    try:
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                           capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0


class _FullWriter(FileChunkWriter):
    limit = 1024 * 1024

    def write(self, data: bytes) -> None:
        if self.offset + self.written + len(data) > self.limit:
            raise OSError(errno.ENOSPC, "No space left on device (injected)")
        super().write(data)


class _FullUpload(FileUpload):
    def chunk_writer(self, offset):
        return _FullWriter(self, offset)


class _InjectedFullStore(FileStore):
    """Used only where tmpfs cannot be mounted."""

    full = True

    def new_upload(self, upload_id, length, meta):
        u = super().new_upload(upload_id, length, meta)
        return _FullUpload(self, u.id, u.data, u.info_path)

    def get_upload(self, upload_id):
        u = super().get_upload(upload_id)
        if u is None:
            return None
        return _FullUpload(self, u.id, u.data, u.info_path) if self.full else u


def test_disk_full_answers_507_and_keeps_only_acknowledged_bytes(tmp_path, kit, record_property):
    app = kit.Appliance(tmp_path / "appliance")
    store_dir = tmp_path / "store"
    mounted = _mount(store_dir, "1m")
    record_property("disk_full_mode", "tmpfs" if mounted else "injected ENOSPC")
    store = FileStore(store_dir) if mounted else _InjectedFullStore(store_dir)

    async def body():
        rx = await start_local_receiver(tmp_path / "rx", store=store)
        try:
            await app.enroll(rx)
            b = app.seal((1_600_000,))
            async with app.client(rx.url, chunk_size=CHUNK) as c:
                with pytest.raises(TransientError, match="507"):
                    await c.upload(b.path, b.size, b.metadata())
                (row,) = rx.core.state.open_uploads()
                upload = store.get_upload(row["id"])
                acked = upload.info().offset
                assert 0 < acked < b.size and acked % CHUNK == 0
                assert upload.data.stat().st_size == acked  # the failed chunk left nothing behind
                assert upload.data.read_bytes() == b.path.read_bytes()[:acked]
                assert list((store_dir / "archive").rglob("*.sohoa")) == []
                assert rx.core.counters["disk_full"] >= 1
                # Room again: the same upload resumes from the acknowledged offset.
                if mounted:
                    subprocess.run(["mount", "-o", "remount,size=8m", str(store_dir)], check=True)
                else:
                    store.full = False
                receipt, _ = await kit.deliver_retrying(c, b, app.log_public)
                assert receipt["leaf"]["sha256"] == b.file_sha256
            (archived,) = list((store_dir / "archive").rglob("*.sohoa"))
            assert archived.read_bytes() == b.path.read_bytes()
        finally:
            await rx.close()
    try:
        kit.run(body())
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(store_dir)], capture_output=True)
