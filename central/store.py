"""Where the receiver keeps upload bytes: a small interface and the filesystem store.

The tus handler sees only :class:`Store` and :class:`Upload`. A store keeps,
per upload, the bytes up to the acknowledged offset and a small info record;
``finish`` moves a completed upload into the permanent archive under a name.
An object store fits the same shape (a chunk writer that uploads one part on
``commit``, ``finish`` as a server-side copy).
"""

from __future__ import annotations

import errno
import json
import mmap
import os
import re
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterator, Protocol

from central import offset_record
from sync.fsutil import fsync_dir, start_writeback, tmp_path, write_atomic

UPLOAD_ID_RE = re.compile(r"[0-9a-f]{32}")


def archive_name(device_id: str, seq: int, batch: str) -> str:
    """Where an accepted batch is kept, in every store (formats 5.8 R2)."""
    return f"{device_id}/{seq:010d}-{batch}.sohoa"


ARCHIVE_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}/[0-9]{10}-[0-9a-f]{64}\.sohoa")
_DIRECT = getattr(os, "O_DIRECT", 0)  # 0 where the platform has none


@dataclass
class UploadInfo:
    id: str
    length: int
    offset: int = 0
    meta: dict = field(default_factory=dict)
    created_at: float = 0.0
    updated_at: float = 0.0


class ChunkWriter(Protocol):
    """May also have ``start_writeback()``: a hint, called after each block, to begin flushing early."""

    def write(self, data: bytes) -> None: ...
    def commit(self) -> int: ...
    def abort(self) -> None: ...


class Upload(Protocol):
    def info(self) -> UploadInfo: ...
    def chunk_writer(self, offset: int) -> ChunkWriter: ...
    def open_reader(self) -> BinaryIO: ...
    def finish(self, archive_name: str) -> None: ...
    def terminate(self) -> None: ...


class Store(Protocol):
    """May also have ``reads_open_uploads`` (False: an incomplete upload's bytes cannot be read back, so
    its check must see every byte as it arrives, or wait for ``Upload.complete()``), ``ping()`` and
    ``counters`` (for /metrics)."""

    supports_termination: bool

    def new_upload(self, upload_id: str, length: int, meta: dict) -> Upload: ...
    def get_upload(self, upload_id: str) -> Upload | None: ...
    def upload_ids(self) -> Iterator[str]: ...
    def archived(self, archive_name: str) -> bool: ...
    def open_archived(self, archive_name: str) -> BinaryIO: ...


class FileStore:
    """Uploads under ``{root}/uploads``, accepted batches under ``{root}/archive``.

    Each upload is ``<id>.bin`` (bytes), ``<id>.info`` (JSON written at
    creation) and ``<id>.offset`` (the offset record, formats 5.8 R1a). The
    recorded offset is the truth: bytes past it are leftovers of an
    unacknowledged chunk and are cut off before the next write.
    """

    backend = "file"
    supports_termination = True
    reads_open_uploads = True

    def __init__(self, root: Path):
        self.root = Path(root)
        self.uploads = self.root / "uploads"
        self.archive = self.root / "archive"
        for d in (self.uploads, self.archive):
            d.mkdir(parents=True, exist_ok=True)
        # Staging buffers of finished chunk writers, reused: a fresh mapping
        # costs a page fault per 4 KiB on every PATCH. list.pop/append are atomic.
        self.stages: list[mmap.mmap] = []

    def _paths(self, upload_id: str) -> tuple[Path, Path]:
        if not UPLOAD_ID_RE.fullmatch(upload_id):
            raise ValueError("bad upload id")
        return self.uploads / f"{upload_id}.bin", self.uploads / f"{upload_id}.info"

    def new_upload(self, upload_id: str, length: int, meta: dict) -> "FileUpload":
        data, info_path = self._paths(upload_id)
        now = time.time()
        info = UploadInfo(upload_id, length, 0, dict(meta), now, now)
        upload = FileUpload(self, upload_id, data, info_path)
        try:
            fd = os.open(data, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.close(fd)
            # Not fsynced: an upload lost in a power cut answers 404 and the client
            # creates it again, which creation's idempotency allows.
            offset_record.create(upload.offset_path)
            write_atomic(info_path, json.dumps(asdict(info)).encode(), mode=0o600, sync_dir=False, sync_file=False)
        except OSError:
            # A full disk part way: no file of a half-made upload stays behind (formats 5.8).
            upload.terminate()
            tmp_path(info_path).unlink(missing_ok=True)  # write_atomic's
            raise
        return upload

    def get_upload(self, upload_id: str) -> "FileUpload | None":
        if not UPLOAD_ID_RE.fullmatch(upload_id):
            return None
        data, info_path = self._paths(upload_id)
        if not info_path.exists() or not data.exists():
            return None
        return FileUpload(self, upload_id, data, info_path)

    def upload_ids(self) -> Iterator[str]:
        for p in self.uploads.glob("*.info"):
            if UPLOAD_ID_RE.fullmatch(p.stem):
                yield p.stem

    def _archive_path(self, archive_name: str) -> Path:
        if not ARCHIVE_NAME_RE.fullmatch(archive_name):
            raise ValueError(f"bad archive name {archive_name!r}")
        return self.archive / archive_name

    def archived(self, archive_name: str) -> bool:
        return self._archive_path(archive_name).exists()

    def open_archived(self, archive_name: str) -> BinaryIO:
        return open(self._archive_path(archive_name), "rb")

    def free_bytes(self) -> int:
        return shutil.disk_usage(self.root).free


class FileUpload:
    def __init__(self, store: FileStore, upload_id: str, data: Path, info_path: Path):
        self.store, self.id, self.data, self.info_path = store, upload_id, data, info_path

    @property
    def offset_path(self) -> Path:
        return self.info_path.with_suffix(".offset")

    def info(self) -> UploadInfo:
        info = UploadInfo(**json.loads(self.info_path.read_bytes()))
        rec = offset_record.read(self.offset_path)
        if rec is not None:
            _, info.offset, info.updated_at = rec
        return info

    def record_offset(self, offset: int) -> None:
        """Durably record *offset* (rule R1: only after the bytes below it were synced)."""
        offset_record.write(self.offset_path, offset, time.time())

    def chunk_writer(self, offset: int) -> "FileChunkWriter":
        return FileChunkWriter(self, offset)

    def open_reader(self) -> BinaryIO:
        return open(self.data, "rb")

    def finish(self, archive_name: str) -> None:
        dst = self.store._archive_path(archive_name)
        dst.parent.mkdir(parents=True, exist_ok=True)
        info = self.info()
        with open(self.data, "r+b") as f:  # leftovers past the offset must not be archived
            f.truncate(info.length)
        os.replace(self.data, dst)
        fsync_dir(dst.parent)
        self.info_path.unlink(missing_ok=True)
        self.offset_path.unlink(missing_ok=True)
        fsync_dir(self.store.uploads)

    def terminate(self) -> None:
        self.info_path.unlink(missing_ok=True)
        self.offset_path.unlink(missing_ok=True)
        self.data.unlink(missing_ok=True)


class FileChunkWriter:
    """Appends one PATCH body at *offset*; ``commit`` makes it durable, ``abort`` undoes it.

    Unbuffered on purpose: no bytes may sit in a user-space buffer that a
    later close would write after ``abort`` cut the file back.

    A chunk that starts on a ``DIRECT_ALIGN`` boundary is written with
    ``O_DIRECT`` where the file system allows it: the bytes are copied (while
    still in the CPU cache) into an aligned staging buffer of ``STAGE`` bytes
    that goes to the device as it fills. That skips the copy into the page
    cache and its later writeback, which cost about as much CPU as one
    SHA-256 pass over the chunk, and leaves ``commit`` only the unaligned tail
    and the metadata to sync. Anything else (an unaligned offset, a file
    system refusing ``O_DIRECT``, the tail under ``DIRECT_ALIGN`` bytes) is
    written through the page cache as before; both kinds go to the same file
    and ``fdatasync`` covers both.
    """

    DIRECT_ALIGN = 4096  # a multiple of every logical block size Linux uses
    STAGE = 1 << 20
    KEEP_STAGES = 4  # staging buffers a store keeps for the next chunks

    def __init__(self, upload: FileUpload, offset: int):
        self.upload, self.offset = upload, offset
        self.written = 0
        self.flushed = 0  # bytes of this chunk already handed to start_writeback
        self.fd = os.open(upload.data, os.O_WRONLY)
        try:
            os.ftruncate(self.fd, offset)
        except OSError:
            os.close(self.fd)
            raise
        self.dfd = -1
        self.stage: mmap.mmap | None = None
        self.staged = 0  # bytes in the staging buffer, not yet written
        if offset % self.DIRECT_ALIGN == 0 and _DIRECT:
            self._open_direct()

    def _open_direct(self) -> None:
        try:
            self.dfd = os.open(self.upload.data, os.O_WRONLY | _DIRECT)
        except OSError:  # e.g. EINVAL: this file system has no direct I/O
            return
        stages = self.upload.store.stages
        try:
            self.stage = stages.pop()
        except IndexError:
            self.stage = mmap.mmap(-1, self.STAGE)  # page-aligned

    @property
    def direct(self) -> bool:
        """True while this chunk is written with ``O_DIRECT``."""
        return self.dfd >= 0

    def write(self, data: bytes) -> None:
        if self.dfd < 0:
            self._pwrite(self.fd, memoryview(data), self.offset + self.written)
            self.written += len(data)
            return
        view = memoryview(data)
        while view:
            n = min(len(view), self.STAGE - self.staged)
            self.stage[self.staged:self.staged + n] = view[:n]
            self.staged += n
            self.written += n
            view = view[n:]
            if self.staged == self.STAGE:
                self._flush_stage()

    @staticmethod
    def _pwrite(fd: int, view: memoryview, at: int) -> int:
        done = 0
        while done < len(view):
            done += os.pwrite(fd, view[done:], at + done)
        return done

    def _flush_stage(self) -> None:
        """Write the staged bytes: their aligned head direct, the rest (< DIRECT_ALIGN) buffered."""
        at = self.offset + self.written - self.staged
        view = memoryview(self.stage)[:self.staged]
        aligned = self.staged - self.staged % self.DIRECT_ALIGN
        done = 0
        try:
            if aligned:
                done = os.pwrite(self.dfd, view[:aligned], at)
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
            self._stop_direct()  # refused after all: the page cache takes the rest
        else:
            if done != aligned:  # a short direct write: continue through the page cache
                self._stop_direct()
        self._pwrite(self.fd, view[done:], at + done)
        view.release()
        self.staged = 0

    def _stop_direct(self) -> None:
        if self.dfd >= 0:
            os.close(self.dfd)
            self.dfd = -1

    def start_writeback(self) -> None:
        """Start writing what was written so far to disk, so that ``commit`` waits less."""
        if self.dfd >= 0:
            return  # direct writes are on the device already
        start = self.offset + self.flushed
        start_writeback(self.fd, start, self.offset + self.written - start)
        self.flushed = self.written

    def sync(self) -> None:
        """Make the bytes durable (may block; call from a thread).

        ``fdatasync`` flushes the data and the metadata needed to read it back
        (the file size), skipping only timestamps, which nothing here uses.
        For direct writes it still flushes the device's cache and the size.
        """
        if self.staged:
            self._flush_stage()
        os.fdatasync(self.fd)

    def commit(self) -> int:
        """fsync the bytes, then record the new offset (rule R1); returns it."""
        self.sync()
        offset = self.offset + self.written
        self.upload.record_offset(offset)
        self._close()
        return offset

    def _close(self) -> None:
        self._stop_direct()
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        if self.stage is not None:
            stage, self.stage = self.stage, None
            stages = self.upload.store.stages
            if len(stage) == self.STAGE and len(stages) < self.KEEP_STAGES:
                stages.append(stage)
                return
            try:
                stage.close()
            except BufferError:
                pass  # a view held by a failed write's traceback; unmapped when that goes

    def abort(self) -> None:
        if self.fd < 0:
            return
        try:
            self._stop_direct()
            os.ftruncate(self.fd, self.offset)
        finally:
            self._close()
