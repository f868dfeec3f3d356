"""The stream verifier's reader: committed bytes from the file, offered pieces from memory, failed PATCHes taken back."""

from __future__ import annotations

import hashlib
import io
import os
import threading

import pytest

from central.verifier import StreamVerifier, _UploadReader

N = 300_000


def _pieces(data: bytes, start: int, end: int, size: int = 7_000) -> list[bytes]:
    return [data[i:min(i + size, end)] for i in range(start, end, size)]


def _hash_check(reader) -> str:
    return hashlib.sha256(io.BufferedReader(reader, 65536).read()).hexdigest()


class _GatedCheck:
    """Hashes the upload, stopping after *first* bytes until the test opens the gate."""

    def __init__(self, first: int):
        self.first = first
        self.at_gate = threading.Event()
        self.gate = threading.Event()

    def __call__(self, reader) -> str:
        h = hashlib.sha256()
        got = 0
        while got < self.first:
            piece = reader.read(self.first - got)
            h.update(piece)
            got += len(piece)
        self.at_gate.set()
        assert self.gate.wait(30)
        while piece := reader.read(65536):
            h.update(piece)
        return h.hexdigest()


@pytest.fixture
def upload(tmp_path):
    """(data, path of a file that holds only its first 100 kB; zeros after)."""
    data = os.urandom(N)
    path = tmp_path / "upload.bin"
    path.write_bytes(data[:100_000] + bytes(N - 100_000))
    return data, path


def test_committed_bytes_come_from_the_file_and_offered_pieces_from_memory(upload):
    data, path = upload
    v = StreamVerifier(open(path, "rb"), N, _hash_check)
    v.advance(100_000)                                 # from the file
    v.offer(100_000, _pieces(data, 100_000, N))        # the file has zeros there: memory only
    v.advance(N)
    assert v.result() == hashlib.sha256(data).hexdigest()


def test_a_patch_still_arriving_is_checked_before_its_commit(upload):
    data, path = upload
    v = StreamVerifier(open(path, "rb"), N, _hash_check)
    v.advance(100_000)
    v.offer(100_000, _pieces(data, 100_000, N))
    assert v.done.wait(30)                              # no advance past 100 kB was needed
    assert v.result() == hashlib.sha256(data).hexdigest()
    assert v.retract() is False                         # had that PATCH failed, this check would be void


def test_a_failed_patch_the_check_has_not_reached_is_taken_back_and_sent_again(upload):
    data, path = upload
    check = _GatedCheck(100_000)
    v = StreamVerifier(open(path, "rb"), N, check)
    v.advance(100_000)
    assert check.at_gate.wait(30)
    v.offer(100_000, _pieces(os.urandom(N), 100_000, 200_000))  # a chunk that will fail its checksum
    assert v.retract() is True                          # the check never read it: keep the verifier
    v.offer(100_000, _pieces(data, 100_000, 200_000))   # the client sends it again
    v.advance(200_000)
    v.offer(200_000, _pieces(data, 200_000, N))
    v.advance(N)
    check.gate.set()
    assert v.result() == hashlib.sha256(data).hexdigest()


def test_retract_keeps_the_committed_part_of_a_piece_that_crosses_the_committed_offset(upload):
    data, path = upload
    v = StreamVerifier(open(path, "rb"), N, _GatedCheck(50_000))
    v.offer(50_000, [data[50_000:150_000]])            # one piece: 50-100 kB committed, the rest not
    v.advance(100_000)
    assert v.retract() is True
    held = v.reader.held
    assert [(start, len(piece)) for start, piece in held] == [(50_000, 50_000)]
    assert v.reader.held_bytes == 50_000
    v.stop()


def test_pieces_past_the_memory_cap_wait_for_their_commit_and_come_from_the_file(upload, monkeypatch):
    data, path = upload
    monkeypatch.setattr(_UploadReader, "MEMORY_CAP", 50_000)
    check = _GatedCheck(100_000)
    v = StreamVerifier(open(path, "rb"), N, check)
    v.advance(100_000)
    assert check.at_gate.wait(30)
    v.offer(100_000, _pieces(data, 100_000, N))         # only the last 50 kB stay held
    assert v.reader.held_bytes <= 50_000 and v.reader.held[0][0] >= 250_000
    check.gate.set()
    assert not v.done.wait(0.3)                         # 100-250 kB are neither held nor committed
    path.write_bytes(data)                              # the writes land, then the commit
    v.advance(N)
    assert v.result() == hashlib.sha256(data).hexdigest()


def test_stop_ends_a_waiting_check_with_no_result(upload):
    _, path = upload
    v = StreamVerifier(open(path, "rb"), N, _hash_check)
    v.advance(1000)
    v.stop()
    assert v.result() is None
