"""Runs of ink: the run-length form of a mask that the analysis steps share.

A *run* is a maximal horizontal stretch of ink pixels in one row, kept as its
row and its first and last column. Runs are listed in raster order (top to
bottom, left to right), the order in which a scan of the mask meets their
pixels. The analysis image is labelled once (:mod:`imaging.components`); skew,
orientation, the content box and the blank test then walk the runs of the ink
they keep instead of scanning the whole mask again, so their cost follows the
amount of ink, not the page area.

The scan reads the mask eight bytes at a time and visits only the bytes where a
run starts or ends, so a row of paper costs a few operations per word.

The binarization (:mod:`imaging.sauvola`) cuts the runs of its own output with
``cut_word_runs``, sixty-four pixels to a mask, while each row is in cache.

References
----------
K. Suzuki, I. Horiba, N. Sugie, "Linear-time connected-component labeling based
on sequential local operations", CVIU 89(1), 2003 (run representation).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
from numba import njit

from imaging import bands
from imaging.checks import check_int, check_mask


@dataclass(frozen=True)
class Runs:
    """Ink runs of a ``height x width`` mask, in raster order.

    Attributes
    ----------
    y, x0, x1 : ndarray of int32, shape (n,)
        Row, first and last column (inclusive) of each run.
    rowstart : ndarray of int64, shape (height + 1,)
        Runs of row ``r`` are ``rowstart[r]:rowstart[r + 1]``.
    height, width : int
        Size of the mask.
    """

    y: np.ndarray
    x0: np.ndarray
    x1: np.ndarray
    rowstart: np.ndarray
    height: int
    width: int

    @property
    def count(self) -> int:
        """Number of runs."""
        return int(self.y.shape[0])

    @property
    def pixels(self) -> int:
        """Number of ink pixels."""
        return int((self.x1 - self.x0).sum()) + self.count

    def select(self, keep: np.ndarray) -> "Runs":
        """The runs where ``keep`` (bool, one per run) is true, still in raster order."""
        keep = np.asarray(keep, np.bool_)
        if keep.shape != self.y.shape:
            raise ValueError(f"keep has {keep.shape} flags for {self.count} runs")
        return Runs(*_select(self.y, self.x0, self.x1, keep, self.height), self.height, self.width)


@njit(cache=True, nogil=True)
def _select(y, x0, x1, keep, height):
    # Runs.select in one pass (numpy's three masked copies, bincount and cumsum took
    # 0.12 ms on 20 000 runs, six times per page in the analysis).
    m = 0
    for i in range(keep.shape[0]):
        m += keep[i]
    ny = np.empty(m, y.dtype)
    nx0 = np.empty(m, x0.dtype)
    nx1 = np.empty(m, x1.dtype)
    rowstart = np.zeros(height + 1, np.int64)
    j = 0
    for i in range(keep.shape[0]):
        if keep[i]:
            ny[j] = y[i]
            nx0[j] = x0[i]
            nx1[j] = x1[i]
            rowstart[y[i] + 1] += 1
            j += 1
    for r in range(height):
        rowstart[r + 1] += rowstart[r]
    return ny, nx0, nx1, rowstart


@njit(cache=True, nogil=True, inline="always")
def _byte_runs(row, a, b, ink, y, ry, rs, re, k, inrun, start):
    # Bytes a .. b - 1 of a row one at a time (the row's unaligned head and tail).
    for x in range(a, b):
        isink = np.uint64(1 if row[x] == ink else 0)
        if isink != inrun:
            if isink:
                start = x
            else:
                ry[k] = y
                rs[k] = start
                re[k] = x - 1
                k += 1
            inrun = isink
    return k, inrun, start


@njit(cache=True, nogil=True)
def _scan_row(row, words, head, ink, y, ry, rs, re, k, tz):
    # Runs of one row. Bytes [0, head) and those after the last whole word go one
    # by one; ``words`` are the row's aligned 8-byte words from byte ``head`` on.
    # Per word, an exact byte-equality test (no carries between bytes) and a
    # multiply gather the eight "is ink" flags into one byte m; bit i of
    # m ^ (m << 1 | previous) marks a run starting or ending at byte i, and only
    # those bits are visited (``tz``: index of the lowest set bit). A word of paper
    # costs a few operations and no branch misprediction.
    w = row.shape[0]
    nw = words.shape[0]
    lo7 = np.uint64(0x7F7F7F7F7F7F7F7F)
    gather = np.uint64(0x0102040810204080)
    pat = np.uint64(ink) * np.uint64(0x0101010101010101)
    one = np.uint64(1)
    inrun = np.uint64(0)
    start = 0
    k, inrun, start = _byte_runs(row, 0, head, ink, y, ry, rs, re, k, inrun, start)
    for q in range(nw):
        x0 = head + 8 * q
        v = words[q] ^ pat
        z = ~(((v & lo7) + lo7) | v | lo7)  # 0x80 in each byte equal to ink
        m = ((z >> np.uint64(7)) * gather) >> np.uint64(56)
        t = (m ^ ((m << one) | inrun)) & np.uint64(0xFF)
        while t != 0:
            x = x0 + tz[t]
            if inrun:
                ry[k] = y
                rs[k] = start
                re[k] = x - 1
                k += 1
            else:
                start = x
            inrun ^= one
            t &= t - one
    k, inrun, start = _byte_runs(row, head + 8 * nw, w, ink, y, ry, rs, re, k, inrun, start)
    if inrun:
        ry[k] = y
        rs[k] = start
        re[k] = w - 1
        k += 1
    return k


@njit(cache=True, nogil=True)
def _grow(a, n):
    b = np.empty(n, a.dtype)
    b[:a.shape[0]] = a
    return b


@njit(cache=True, nogil=True)
def _runs(img, words, ink, y0):
    # One scan of ``img``, rows of the page from ``y0`` on (a band: its first row
    # starts on a word). A row holds at most (w + 1) // 2 runs: the arrays grow
    # (doubling) before a row that might not fit, so no count pass is needed to size them.
    h, w = img.shape
    tz = np.zeros(256, np.int64)
    for v in range(1, 256):
        i = 0
        while (v >> i) & 1 == 0:
            i += 1
        tz[v] = i
    per_row = (w + 1) // 2
    cap = 4 * h + per_row
    ry = np.empty(cap, np.int32)
    rs = np.empty(cap, np.int32)
    re = np.empty(cap, np.int32)
    rowstart = np.zeros(h + 1, np.int64)
    k = 0
    for y in range(h):
        rowstart[y] = k
        if k + per_row > cap:
            cap = 2 * cap + per_row
            ry = _grow(ry, cap)
            rs = _grow(rs, cap)
            re = _grow(re, cap)
        base = y * w
        head = min((8 - (base & 7)) & 7, w)
        nw = max(0, (w - head) // 8)
        first = (base + head) >> 3
        k = _scan_row(img[y], words[first:first + nw], head, ink, y0 + y, ry, rs, re, k, tz)
    rowstart[h] = k
    return ry[:k], rs[:k], re[:k], rowstart


@njit(cache=True, nogil=True)
def lowest_bit_table():
    # Index of the lowest set bit of t: table[((t & -t) * 0x03F79D71B4CA8B09) >> 58]
    # (a de Bruijn sequence: each 6-bit window of the constant is distinct).
    table = np.zeros(64, np.int64)
    for i in range(64):
        table[((np.uint64(1) << np.uint64(i)) * np.uint64(0x03F79D71B4CA8B09)) >> np.uint64(58)] = i
    return table


@njit(cache=True, nogil=True)
def cut_word_runs(words, pos, xa, xb, y, ry, rs, re, k, table):
    # Ink runs (bytes 0) of row bytes xa .. xb - 1, whose byte x lies at ``pos + x``
    # of the page's 8-byte ``words`` (0 or 255 each). Sixty-four pixels at a time:
    # each word's eight "is ink" flags are gathered into one byte by a multiply,
    # eight bytes make a 64-bit mask m, and bit i of m ^ (m << 1 | previous) marks
    # a run starting or ending at pixel i; only those bits are visited.
    gather = np.uint64(0x0102040810204080)
    ones = np.uint64(0x0101010101010101)
    one = np.uint64(1)
    inrun = np.uint64(0)
    start = 0
    q0 = (pos + xa) >> 3          # first word
    q1 = (pos + xb + 7) >> 3      # one past the last
    skip = (pos + xa) & 7         # bytes of the first word before xa
    x0 = xa - skip                # pixel of the first word's byte 0
    q = q0
    allpaper = ~np.uint64(0)
    while q < q1:
        nq = min(8, q1 - q)
        if nq == 8 and inrun == 0:
            # Sixty-four pixels of paper outside a run (most of a stretch between
            # lines and words) have no edge: eight ANDs instead of the gathers.
            every = words[q]
            for j in range(1, 8):
                every &= words[q + j]
            if every == allpaper:
                q += 8
                x0 += 64
                continue
        m = np.uint64(0)
        for j in range(nq):
            b = (((~words[q + j]) & ones) * gather) >> np.uint64(56)
            m |= b << np.uint64(8 * j)
        lo = xa - x0                      # bits before xa and from xb on are paper
        if lo > 0:
            m &= ~((one << np.uint64(lo)) - one)
        hi = xb - x0
        if hi < 64:
            m &= (one << np.uint64(hi)) - one
        t = m ^ ((m << one) | inrun)
        inrun = m >> np.uint64(63)
        while t != 0:
            low = t & (~t + one)
            x = x0 + table[(low * np.uint64(0x03F79D71B4CA8B09)) >> np.uint64(58)]
            if (m & low) != 0:
                start = x
            else:
                ry[k] = y
                rs[k] = start
                re[k] = x - 1
                k += 1
            t ^= low
        q += nq
        x0 += 64
    if inrun:
        ry[k] = y
        rs[k] = start
        re[k] = xb - 1
        k += 1
    return k


def word_view(img: np.ndarray) -> np.ndarray:
    """``img`` (C-contiguous, 8-byte aligned) seen as uint64 words, for :func:`_runs`."""
    n = img.size // 8
    flat = img.reshape(-1)
    return flat[: n * 8].view(np.uint64) if n else np.zeros(1, np.uint64)


def find_runs(mask: np.ndarray, ink: int = 1, *, threads: int = 1) -> Runs:
    """Cut a mask into runs of the pixels equal to ``ink``.

    Parameters
    ----------
    mask : ndarray, bool or uint8, shape (H, W)
        Mask (1 = ink) or bitonal page (0 = ink).
    ink : int
        Value that marks ink, 0 to 255.
    threads : int
        Bands of rows cut side by side on this many threads (:mod:`imaging.bands`);
        the runs are the same for any number.

    Returns
    -------
    Runs

    Raises
    ------
    ImageError
        If the mask is not a 2-D bool/uint8 array or ``ink`` or ``threads`` is out of range.
    """
    img = check_mask(mask, "mask")
    v = check_int(ink, "ink", 0, 255)
    threads = check_int(threads, "threads", 1, 64)
    if img.ctypes.data % 8:
        img = img.copy()  # the word view needs 8-byte alignment
    h, w = int(img.shape[0]), int(img.shape[1])
    # Bands start on a multiple of 8 rows, so on a word.
    parts = bands.split(h, threads, 8)
    done = bands.run([partial(_band_runs, img, a, b, np.uint8(v)) for a, b in parts])
    return join_runs(done, h, w)


def _band_runs(img: np.ndarray, a: int, b: int, ink: np.uint8) -> tuple:
    band = img[a:b]
    return _runs(band, word_view(band), ink, a)


def join_runs(parts: list[tuple], height: int, width: int) -> Runs:
    """The runs of a page from those of its bands, in order: ``(y, x0, x1, rowstart)``
    each, ``y`` the page's rows and ``rowstart`` the band's own, from 0."""
    if len(parts) == 1:
        ry, rs, re, rowstart = parts[0]
        return Runs(ry, rs, re, rowstart, height, width)
    ry, rs, re = (np.concatenate([d[i] for d in parts]) for i in range(3))
    counts = np.cumsum([0] + [d[0].shape[0] for d in parts])
    rowstart = np.concatenate([d[3][:-1] + c for d, c in zip(parts, counts)] + [counts[-1:]])
    return Runs(ry, rs, re, rowstart, height, width)


@njit(cache=True, nogil=True)
def _fill_where(img, ry, rs, re, where, value):
    for i in range(ry.shape[0]):
        if where[i]:
            row = img[ry[i]]
            for x in range(rs[i], re[i] + 1):
                row[x] = value


def fill_runs(img: np.ndarray, runs: Runs, value: int, where: np.ndarray | None = None) -> None:
    """Set every pixel of ``runs`` in ``img`` (uint8, same shape) to ``value``, in place;
    with ``where`` (bool, one per run), of those runs only (no selected copy made)."""
    where = np.ones(runs.count, np.bool_) if where is None else np.asarray(where, np.bool_)
    if where.shape != runs.y.shape:
        raise ValueError(f"where has {where.shape} flags for {runs.count} runs")
    _fill_where(img, runs.y, runs.x0, runs.x1, where, np.uint8(value))
