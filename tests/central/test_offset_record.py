"""The file store's offset record (formats 5.8, R1a) and the in-memory feed of the stream verifier."""

from __future__ import annotations

import hashlib
import json
import os
import struct

from central import offset_record
from central.store import FileStore
from central.verifier import StreamVerifier


def test_slots_alternate_and_the_highest_valid_counter_wins(tmp_path):
    path = tmp_path / "u.offset"
    offset_record.create(path)
    assert path.stat().st_size == offset_record.SIZE and offset_record.read(path) is None
    offset_record.write(path, 8, 1.0)
    offset_record.write(path, 16, 2.0)
    offset_record.write(path, 24, 3.0)
    assert offset_record.read(path) == (3, 24, 3.0)
    raw = path.read_bytes()
    assert len(raw) == offset_record.SIZE  # overwritten in place, never grows
    # The layout of the design: counter, offset, updated_at big-endian, then the check.
    slot1 = raw[offset_record.SLOT:]
    assert struct.unpack(">QQd", slot1[:24]) == (3, 24, 3.0)
    assert slot1[24:] == hashlib.sha256(b"sohoa-offset-v1" + slot1[:24]).digest()[:8]


def test_a_torn_slot_falls_back_to_the_previous_offset(tmp_path):
    path = tmp_path / "u.offset"
    offset_record.create(path)
    offset_record.write(path, 100, 1.0)   # counter 1 -> slot 1
    offset_record.write(path, 200, 2.0)   # counter 2 -> slot 0
    raw = bytearray(path.read_bytes())
    raw[5] ^= 0xFF                        # spoil slot 0 as a torn write would
    path.write_bytes(bytes(raw))
    assert offset_record.read(path) == (1, 100, 1.0)
    offset_record.write(path, 300, 3.0)   # the next write goes after the valid slot
    assert offset_record.read(path) == (2, 300, 3.0)


def test_store_offset_survives_reopening_and_older_uploads_without_a_record(tmp_path):
    store = FileStore(tmp_path)
    up = store.new_upload("a" * 32, 10, {"k": "v"})
    w = up.chunk_writer(0)
    w.write(b"hello")
    w.start_writeback()
    assert w.commit() == 5
    again = store.get_upload("a" * 32)
    info = again.info()
    assert (info.offset, info.length, info.meta) == (5, 10, {"k": "v"})
    # An upload written before the record existed: the info's offset holds until the next commit.
    again.offset_path.unlink()
    data = json.loads(again.info_path.read_text())
    data["offset"] = 5
    again.info_path.write_text(json.dumps(data))
    assert again.info().offset == 5
    w = again.chunk_writer(5)
    w.write(b"world")
    assert w.commit() == 10 and again.info().offset == 10
    again.terminate()
    assert not any(tmp_path.joinpath("uploads").iterdir())


def test_whole_file_hash_taken_while_receiving_still_rejects_a_wrong_file_hash(tmp_path, kit):
    """The check skips its own file hash when the chunks were hashed on arrival; the digest is still compared."""
    import dataclasses

    import pytest

    from sync.client import PermanentError
    from sync.deliver import deliver
    from central.local import start_local_receiver

    appliance = kit.Appliance(tmp_path / "appliance")

    async def body():
        rx = await start_local_receiver(tmp_path / "rx")
        try:
            await appliance.enroll(rx)
            b = appliance.seal((400_000,))
            wrong = dataclasses.replace(b, file_sha256="0" * 64)
            async with appliance.client(rx.url, chunk_size=64 * 1024) as c:
                with pytest.raises(PermanentError) as info:
                    await deliver(c, wrong, appliance.log_public)
                assert info.value.code == "file_hash"
                assert rx.core.counters["verified_while_uploading"] == 1  # the stream path decided
                assert rx.core.state.counts()["accepted"] == 0
                receipt, _ = await deliver(c, b, appliance.log_public)  # the right hash passes
                assert receipt["leaf"]["sha256"] == b.file_sha256
            assert rx.core.counters["verified_while_uploading"] == 2 and not rx.core._file_hashes
        finally:
            await rx.close()
    kit.run(body())


def test_the_stream_check_runs_one_niceness_step_below_the_receiving_threads(tmp_path):
    import sys
    import threading

    import pytest

    from central.verifier import VERIFY_NICE
    if not sys.platform.startswith("linux"):
        pytest.skip("per-thread nice values are a Linux feature")
    path = tmp_path / "f.bin"
    path.write_bytes(b"x" * 10)

    def check(reader):
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    v = StreamVerifier(open(path, "rb"), 10, check)
    v.advance(10)
    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert v.result() == min(19, mine + VERIFY_NICE)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == mine  # only that thread
