"""Durable file writes, one way everywhere: temporary file, fsync, rename, fsync of the directory.

Every durable write of the project (page images, captures, sealed batches, record
packages, keys, reason files, upload info) goes through :func:`durable_file` or
:func:`write_atomic`, and every temporary file is named :func:`tmp_path`
(``.tmp-<name>`` in the same folder), so one sweep (:func:`remove_temporaries`)
finds whatever a crash left half-written, and no reader ever sees it: names that
start with a dot are ignored by the hot folder and by every listing of finished
files.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import os
import sys
from pathlib import Path
from typing import BinaryIO, Iterator

_SYNC_FILE_RANGE_WRITE = 2  # linux/fs.h
TMP_PREFIX = ".tmp-"


def tmp_path(path: Path) -> Path:
    """Where *path* is written before it is renamed into place."""
    path = Path(path)
    return path.with_name(TMP_PREFIX + path.name)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def durable_file(path: Path, *, mode: int = 0o644, sync_file: bool = True, sync_dir: bool = True,
                 make_parents: bool = False) -> Iterator[BinaryIO]:
    """A binary file to write *path* through: a crash leaves the old content or the new, never a mix.

    Yields a file open on :func:`tmp_path`; when the block ends without an
    exception the file is flushed, fsynced (unless *sync_file* is false: the
    content of a record that can be rebuilt may then be lost in a power cut,
    though the rename stays atomic), closed, renamed over *path*, and the folder
    fsynced. When the block raises, the temporary file is removed.
    """
    path = Path(path)
    if make_parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_path(path)
    fh = open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "wb")
    try:
        yield fh
        fh.flush()
        if sync_file:
            os.fsync(fh.fileno())
    except BaseException:
        fh.close()
        tmp.unlink(missing_ok=True)
        raise
    fh.close()
    os.replace(tmp, path)
    if sync_dir:
        fsync_dir(path.parent)


def write_atomic(path: Path, data: bytes, *, mode: int = 0o644, sync_dir: bool = True,
                 sync_file: bool = True, make_parents: bool = False) -> None:
    """Replace *path* by *data* through :func:`durable_file`."""
    with durable_file(path, mode=mode, sync_file=sync_file, sync_dir=sync_dir, make_parents=make_parents) as fh:
        fh.write(data)


def remove_temporaries(folder: Path, *, recursive: bool = True) -> int:
    """Delete what a crash left half-written under *folder*; returns how many files went."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    found = folder.rglob(TMP_PREFIX + "*") if recursive else folder.glob(TMP_PREFIX + "*")
    n = 0
    for path in found:
        if path.is_file() or path.is_symlink():
            path.unlink(missing_ok=True)
            n += 1
    return n


@functools.lru_cache(maxsize=1)
def _sync_file_range():
    """libc's ``sync_file_range`` (Linux), or None where there is none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


def start_writeback(fd: int, offset: int, nbytes: int) -> None:
    """Ask the kernel to start writing *nbytes* at *offset* to disk, without waiting.

    Only a head start: durability still comes from the ``fdatasync`` that
    follows, which then finds little left to flush. A no-op where
    ``sync_file_range`` is missing or refuses (it is purely advisory here).
    """
    fn = _sync_file_range()
    if fn is not None and nbytes > 0:
        fn(fd, offset, nbytes, _SYNC_FILE_RANGE_WRITE)


# Memory-backed temporary files where the system has them: a secret record's clear bytes, decrypted
# for a check, never reach a disk (design 6.6).
PRIVATE_TMP = "/dev/shm"


def private_tmp() -> str | None:
    """The folder for a secret's temporary clear copy: ``/dev/shm`` when writable, else the system's default."""
    return PRIVATE_TMP if os.path.isdir(PRIVATE_TMP) and os.access(PRIVATE_TMP, os.W_OK) else None
