"""Process-wide allocator settings for a receiver process."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

_M_TRIM_THRESHOLD = -1  # glibc malloc.h
_M_MMAP_THRESHOLD = -3


def keep_large_buffers(mmap_threshold: int = 4 << 20, trim_threshold: int = 64 << 20) -> bool:
    """Serve allocations below *mmap_threshold* from the heap and keep up to *trim_threshold* free.

    The receiver holds a PATCH's body pieces (the HTTP parser's copies of
    each socket read, up to 256 KiB) until the batch check has read them,
    then frees them together. With glibc's defaults the freed heap is handed
    back at once and the next pieces land on fresh pages: a page fault per
    4 KiB received, about a third of the bytes of every batch. Returns False
    where there is no glibc ``mallopt`` (another libc or OS): nothing
    changes there but speed.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, mmap_threshold)) and bool(mallopt(_M_TRIM_THRESHOLD, trim_threshold))
