"""The lossless capture file of a page (docs/design.md, J6): a .npy image in one zstd frame.

A capture is written once, between two sheets of a feeder run, and read once,
when the page is cleaned. PNG, the obvious lossless choice, spends most of a
page's CPU on deflate (0.6 s to write a 300 dpi colour page on an x86 core);
zstd at level 1 keeps about the same size for a sixth of that, and its frame
checksum catches a damaged file. Older journals hold PNG captures; reading
accepts both.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import zstandard

from firmware_agent.messages import CATALOGUE
from firmware_agent.pageio import MAX_PIXELS, PageReadError, atomic_write_bytes, read_image

CAPTURE_SUFFIX = ".raw.npy.zst"
LEGACY_SUFFIX = ".raw.png"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_MAX_HEADER = 4096  # a .npy 1.0 header for these shapes is 128 bytes


def is_capture(path: Path) -> bool:
    """True for a capture file name (either format)."""
    return path.name.endswith((CAPTURE_SUFFIX, LEGACY_SUFFIX))


def derived_path(capture: Path, suffix: str) -> Path:
    """The name of a file made from *capture*: ``00001.raw.npy.zst`` -> ``00001<suffix>``."""
    for s in (CAPTURE_SUFFIX, LEGACY_SUFFIX):
        if capture.name.endswith(s):
            return capture.with_name(capture.name[: -len(s)] + suffix)
    raise ValueError(f"not a capture file name: {capture.name}")


def encode_capture(array: np.ndarray) -> bytes:
    """The J6 bytes of a uint8 gray (H, W) or RGB (H, W, 3) page."""
    a = np.ascontiguousarray(array)
    if a.dtype != np.uint8 or not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] == 3)) or a.size == 0:
        raise ValueError(f"expected a non-empty uint8 gray or RGB image, got {a.dtype} with shape {a.shape}")
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(head, np.lib.format.header_data_from_array_1_0(a))
    header = head.getvalue()
    cctx = zstandard.ZstdCompressor(level=1, write_checksum=True, write_content_size=True)
    cobj = cctx.compressobj(size=len(header) + a.nbytes)
    # The pixels go to the compressor as a view: no copy of the page in between.
    return cobj.compress(header) + cobj.compress(memoryview(a).cast("B")) + cobj.flush()


def decode_capture(data: bytes, name: str = "capture") -> np.ndarray:
    """The page in J6 *data* (read-only array); PageReadError if it is not a whole, valid capture."""
    bad = CATALOGUE["page_file.capture_damaged"].format(name=name)
    try:
        params = zstandard.get_frame_parameters(data)
    except zstandard.ZstdError:
        raise PageReadError(bad) from None
    limit = 3 * MAX_PIXELS + _MAX_HEADER
    if not params.has_checksum or not 0 < params.content_size <= limit:
        raise PageReadError(bad, "no checksum or size")
    try:
        raw = zstandard.ZstdDecompressor().decompress(data, max_output_size=limit)
    except zstandard.ZstdError as exc:  # also a checksum that does not match
        raise PageReadError(bad, str(exc)) from None
    fp = io.BytesIO(raw)
    try:
        if np.lib.format.read_magic(fp) != (1, 0):
            raise ValueError("not a .npy 1.0 header")
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
    except ValueError as exc:
        raise PageReadError(bad, str(exc)) from None
    ok_shape = len(shape) == 2 or (len(shape) == 3 and shape[2] == 3)
    if dtype != np.uint8 or fortran or not ok_shape or int(np.prod(shape)) != len(raw) - fp.tell():
        raise PageReadError(bad, f"dtype {dtype}, shape {shape}")
    if 0 in shape:
        raise PageReadError(CATALOGUE["page_file.no_pixels"].format(name=name))
    return np.frombuffer(raw, np.uint8, offset=fp.tell()).reshape(shape)


def write_capture_atomic(path: Path, array: np.ndarray) -> int:
    """Write a capture durably (J1). Returns its size in bytes."""
    data = encode_capture(array)
    atomic_write_bytes(Path(path), data)
    return len(data)


def read_capture(path: Path, dpi: int) -> tuple[np.ndarray, int]:
    """Read a capture of either format; *dpi* is the journal row's (J6 files hold none)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise PageReadError(CATALOGUE["page_file.unreadable"].format(name=path.name), str(exc.strerror)) from None
    if data[:4] == _ZSTD_MAGIC:
        return decode_capture(data, path.name), dpi
    return read_image(path, default_dpi=dpi)  # a PNG capture from an older journal
