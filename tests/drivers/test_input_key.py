"""The scan key, fed with packed input_event records through a real FIFO."""

from __future__ import annotations

import os
import re
import struct
import sys
import threading
import time
from pathlib import Path

import pytest

from drivers.input_key import EV_KEY, EVENT_FORMAT, EVENT_SIZE, InputKey, InputKeyUnavailable, decode_events

EV_SYN = 0
KEY_ENTER = 28
KEY_A = 30
DESIGN = Path(__file__).resolve().parents[2] / "docs" / "design.md"


def ev(etype: int, code: int, value: int, sec: int = 1, usec: int = 0) -> bytes:
    return struct.pack(EVENT_FORMAT, sec, usec, etype, code, value)


def press(code: int) -> bytes:
    # What gpio-keys emits for one press and release: key down, sync, key up, sync.
    return ev(EV_KEY, code, 1) + ev(EV_SYN, 0, 0) + ev(EV_KEY, code, 0) + ev(EV_SYN, 0, 0)


@pytest.fixture
def fifo(tmp_path):
    """(path, key, writer fd): the key opened on a FIFO, a writer attached."""
    path = tmp_path / "event0"
    os.mkfifo(path)
    key = InputKey(path, KEY_ENTER)
    wfd = os.open(path, os.O_WRONLY)
    yield path, key, wfd
    key.close()
    try:
        os.close(wfd)
    except OSError:
        pass


def test_record_size_matches_the_platform():
    assert EVENT_SIZE == struct.calcsize("l") * 2 + 8
    if sys.maxsize > 2**32:
        assert EVENT_SIZE == 24


def test_press_is_seen(fifo):
    _, key, wfd = fifo
    os.write(wfd, press(KEY_ENTER))
    assert key.wait_press(2.0) is True
    # The release that followed is not a second press.
    assert key.wait_press(0.05) is False


def test_other_keys_release_and_autorepeat_are_ignored(fifo):
    _, key, wfd = fifo
    os.write(wfd, press(KEY_A) + ev(EV_KEY, KEY_ENTER, 0) + ev(EV_KEY, KEY_ENTER, 2) + ev(2, KEY_ENTER, 1))
    assert key.wait_press(0.1) is False


def test_timeout_without_events(fifo):
    _, key, _ = fifo
    t0 = time.monotonic()
    assert key.wait_press(0.1) is False
    assert time.monotonic() - t0 >= 0.09


def test_record_split_across_writes_and_late_press(fifo):
    _, key, wfd = fifo
    data = press(KEY_ENTER)

    def slow_writer():
        time.sleep(0.05)
        os.write(wfd, data[:7])
        time.sleep(0.05)
        os.write(wfd, data[7:])

    t = threading.Thread(target=slow_writer)
    t.start()
    assert key.wait_press(3.0) is True
    t.join()


def test_two_queued_presses_count_twice_unless_drained(fifo):
    _, key, wfd = fifo
    os.write(wfd, press(KEY_ENTER) + press(KEY_ENTER))
    assert key.wait_press(1.0) is True
    assert key.wait_press(1.0) is True
    assert key.wait_press(0.05) is False
    os.write(wfd, press(KEY_ENTER))
    time.sleep(0.02)
    key.drain()
    assert key.wait_press(0.05) is False


def test_device_gone_raises(fifo):
    _, key, wfd = fifo
    os.close(wfd)  # like an unplugged device: the reader sees the end
    with pytest.raises(InputKeyUnavailable) as info:
        key.wait_press(1.0)
    assert info.value.code == "input_key_unavailable"
    # A driver speaks English to the technician's log; the station puts the operator's words on it.
    assert str(info.value).startswith("Scan key ") and info.value.reason == "device closed (end of file)"


def test_missing_device_and_closed_key(tmp_path):
    with pytest.raises(InputKeyUnavailable, match="event9"):
        InputKey(tmp_path / "event9", KEY_ENTER)
    path = tmp_path / "event1"
    os.mkfifo(path)
    key = InputKey(path, KEY_ENTER)
    key.close()
    key.close()
    with pytest.raises(InputKeyUnavailable, match="closed"):
        key.wait_press(0.01)


def test_grab_on_a_non_evdev_file_is_refused(tmp_path):
    path = tmp_path / "event2"
    os.mkfifo(path)
    with pytest.raises(InputKeyUnavailable, match="grab"):
        InputKey(path, KEY_ENTER, grab=True)


def test_decode_rejects_partial_records():
    assert decode_events(ev(EV_KEY, 5, 1, sec=7, usec=9)) == [(7, 9, EV_KEY, 5, 1)]
    with pytest.raises(ValueError):
        decode_events(b"\0" * (EVENT_SIZE + 1))


@pytest.mark.skipif(EVENT_SIZE != 24 or sys.byteorder != "little", reason="example is for little-endian 64-bit")
def test_design_example_is_a_press(fifo):
    text = DESIGN.read_text(encoding="utf-8")
    section = text[text.index("## 3. Hot folder, keys and service"):]
    block = re.search(r"sec = 1, usec = 2:\s*```\s*\n([0-9a-f ]+)\n```", section)
    assert block, "example record missing from docs/design.md section 3"
    raw = bytes.fromhex(block.group(1).replace(" ", ""))
    assert decode_events(raw) == [(1, 2, EV_KEY, KEY_ENTER, 1)]
    _, key, wfd = fifo
    os.write(wfd, raw)
    assert key.wait_press(1.0) is True
