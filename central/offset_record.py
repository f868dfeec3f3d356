"""The file store's offset record: two checked slots overwritten in place (formats 5.8, R1a).

Recording an offset must be durable before the acknowledgement, and cheap:
replacing a file (temporary file, fsync, rename) costs a journal commit per
chunk. Overwriting a slot of a file whose size never changes and
``fdatasync``-ing it flushes one data block. The slot not being written keeps
the previous offset, so a torn write can only make the offset go back.
"""

from __future__ import annotations

import hashlib
import os
import struct
from pathlib import Path

DOMAIN = b"sohoa-offset-v1"
_BODY = struct.Struct(">QQd")  # counter, offset, updated_at
SLOT = _BODY.size + 8
SIZE = 2 * SLOT


def _check(body: bytes) -> bytes:
    return hashlib.sha256(DOMAIN + body).digest()[:8]


def pack_slot(counter: int, offset: int, updated_at: float) -> bytes:
    body = _BODY.pack(counter, offset, updated_at)
    return body + _check(body)


def parse(raw: bytes) -> tuple[int, int, float] | None:
    """(counter, offset, updated_at) of the current slot in *raw*, or None when no slot is valid."""
    best = None
    for i in range(2):
        slot = raw[i * SLOT:(i + 1) * SLOT]
        if len(slot) != SLOT or _check(slot[:_BODY.size]) != slot[_BODY.size:]:
            continue
        rec = _BODY.unpack(slot[:_BODY.size])
        if best is None or rec[0] > best[0]:
            best = rec
    return best


def create(path: Path) -> None:
    """A record with no valid slot (not synced: creation is not durable, R1)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, bytes(SIZE))
    finally:
        os.close(fd)


def read(path: Path) -> tuple[int, int, float] | None:
    try:
        with open(path, "rb") as f:
            return parse(f.read(SIZE))
    except FileNotFoundError:
        return None


def write(path: Path, offset: int, updated_at: float) -> None:
    """Record *offset* durably in the slot after the current one.

    If the sync fails (e.g. ``ENOSPC`` when the block is first allocated) the
    slot's previous bytes are put back before the error is raised, so that
    the page cache never reports an offset whose acknowledgement failed.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)  # created here for uploads older than the record
    try:
        raw = os.pread(fd, SIZE, 0).ljust(SIZE, b"\0")
        current = parse(raw)
        counter = current[0] + 1 if current is not None else 1
        at = (counter % 2) * SLOT
        os.pwrite(fd, pack_slot(counter, offset, updated_at), at)
        try:
            os.fdatasync(fd)
        except OSError:
            os.pwrite(fd, raw[at:at + SLOT], at)
            raise
    finally:
        os.close(fd)
