"""The file store's chunk writer: direct I/O for aligned chunks, the page cache for the rest."""

from __future__ import annotations

import os

import pytest

from central.store import FileChunkWriter, FileStore


def _direct_supported(path) -> bool:
    """Whether the file system under *path* accepts O_DIRECT (the writer falls back when not)."""
    probe = path / "probe"
    probe.write_bytes(b"")
    try:
        os.close(os.open(probe, os.O_WRONLY | getattr(os, "O_DIRECT", 0)))
        return hasattr(os, "O_DIRECT")
    except OSError:
        return False
    finally:
        probe.unlink()


def _pieces(data: bytes, sizes=(7, 65536, 300_001, 4096, 1 << 20, 12345)):
    """*data* cut into irregular pieces, as a socket delivers them."""
    i, k = 0, 0
    while i < len(data):
        n = sizes[k % len(sizes)]
        yield data[i:i + n]
        i, k = i + n, k + 1


def test_an_aligned_chunk_goes_direct_and_reads_back_exactly(tmp_path):
    store = FileStore(tmp_path)
    data = os.urandom(2 * FileChunkWriter.STAGE + 5000)  # two full stages and an unaligned tail
    up = store.new_upload("a" * 32, len(data) + 10, {})
    w = up.chunk_writer(0)
    assert w.direct == _direct_supported(tmp_path)
    for piece in _pieces(data):
        w.write(piece)
    assert w.commit() == len(data)
    assert up.data.read_bytes() == data and up.info().offset == len(data)
    # The next chunk starts unaligned: it goes through the page cache, same file.
    w = up.chunk_writer(len(data))
    assert not w.direct
    w.write(b"0123456789")
    assert w.commit() == len(data) + 10
    assert up.data.read_bytes() == data + b"0123456789"


def test_abort_cuts_back_bytes_already_written_direct(tmp_path):
    store = FileStore(tmp_path)
    first = os.urandom(8192)
    up = store.new_upload("b" * 32, 1 << 24, {})
    w = up.chunk_writer(0)
    w.write(first)
    w.commit()
    w = up.chunk_writer(8192)
    for piece in _pieces(os.urandom(3 * FileChunkWriter.STAGE)):
        w.write(piece)  # three stages reach the file before the chunk is given up
    assert up.data.stat().st_size > 8192
    w.abort()
    assert up.data.read_bytes() == first and up.info().offset == 8192


class _OddAlign(FileChunkWriter):
    """Claims an alignment no device accepts, so the first direct write fails with EINVAL."""

    DIRECT_ALIGN = 1000


def test_a_refused_direct_write_falls_back_to_the_page_cache(tmp_path):
    if not _direct_supported(tmp_path):
        pytest.skip("this file system has no O_DIRECT; the writer never tries it here")
    store = FileStore(tmp_path)
    data = os.urandom(FileChunkWriter.STAGE + 777)
    up = store.new_upload("c" * 32, len(data), {})
    w = _OddAlign(up, 0)
    assert w.direct
    for piece in _pieces(data):
        w.write(piece)
    assert not w.direct  # 1048000 bytes at once: not a multiple of the block size
    assert w.commit() == len(data)
    assert up.data.read_bytes() == data
