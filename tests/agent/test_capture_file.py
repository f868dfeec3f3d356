"""The capture file format (docs/design.md J6): lossless, checksummed, refused when damaged."""

from __future__ import annotations

import io
import subprocess

import numpy as np
import pytest
import zstandard

from firmware_agent.capture_file import (CAPTURE_SUFFIX, decode_capture, derived_path, encode_capture,
                                         read_capture, write_capture_atomic)
from firmware_agent.pageio import PageReadError, write_image_atomic


@pytest.mark.parametrize("shape", [(1, 1), (37, 53), (20, 31, 3)])
def test_round_trip_is_exact(shape, tmp_path):
    img = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    path = tmp_path / f"00001{CAPTURE_SUFFIX}"
    write_capture_atomic(path, img)
    back, dpi = read_capture(path, 300)
    assert dpi == 300 and back.dtype == np.uint8 and np.array_equal(back, img)
    params = zstandard.get_frame_parameters(path.read_bytes())
    assert params.has_checksum and params.content_size > img.nbytes


def test_standard_tools_open_it(tmp_path):
    img = np.arange(60, dtype=np.uint8).reshape(4, 5, 3)
    path = tmp_path / f"00001{CAPTURE_SUFFIX}"
    write_capture_atomic(path, img)
    out = tmp_path / "page.npy"
    try:
        subprocess.run(["zstd", "-q", "-d", str(path), "-o", str(out)], check=True, capture_output=True)
    except FileNotFoundError:
        out.write_bytes(zstandard.ZstdDecompressor().decompress(path.read_bytes()))
    assert np.array_equal(np.load(out, allow_pickle=False), img)


def _frame(payload: bytes, checksum: bool = True) -> bytes:
    return zstandard.ZstdCompressor(write_checksum=checksum, write_content_size=True).compress(payload)


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


@pytest.mark.parametrize("data", [
    b"",
    b"not a capture",
    _frame(_npy(np.zeros((4, 4), np.float32))),            # wrong dtype
    _frame(_npy(np.zeros((4, 4, 4), np.uint8))),           # four channels
    _frame(_npy(np.asfortranarray(np.zeros((4, 5), np.uint8)))),
    _frame(_npy(np.zeros((4, 4), np.uint8)), checksum=False),
    _frame(b"\x93NUMPY garbage"),
])
def test_anything_else_is_refused_with_a_message(data):
    with pytest.raises(PageReadError, match="Capture file|no pixels"):
        decode_capture(data, "x")


def test_a_flipped_bit_or_a_cut_is_refused():
    data = encode_capture(np.random.default_rng(2).integers(0, 256, (64, 64, 3), dtype=np.uint8))
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x10
    for bad in (bytes(flipped), data[: len(data) // 2]):
        with pytest.raises(PageReadError, match="Tệp ảnh gốc x hỏng / Capture file x is damaged"):
            decode_capture(bad, "x")


def test_png_captures_of_older_journals_still_read(tmp_path):
    img = np.full((10, 12), 77, np.uint8)
    legacy = tmp_path / "00003.raw.png"
    write_image_atomic(legacy, img, dpi=200)
    back, dpi = read_capture(legacy, 300)
    assert np.array_equal(back, img) and dpi == 200
    assert derived_path(legacy, ".jpg").name == "00003.jpg"
    assert derived_path(tmp_path / f"00003{CAPTURE_SUFFIX}", ".bitonal.png").name == "00003.bitonal.png"
    with pytest.raises(ValueError):
        derived_path(tmp_path / "00003.jpg", ".png")


def test_bad_input_to_the_writer_is_refused():
    for bad in (np.zeros((0, 5), np.uint8), np.zeros((4, 4), np.uint16), np.zeros((4, 4, 2), np.uint8)):
        with pytest.raises(ValueError):
            encode_capture(bad)
