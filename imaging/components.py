"""Connected components of ink by run-length labelling, and speck removal.

Method: each row is cut into runs of ink; a run joins every run of the row above
that touches it, including diagonally (8-connectivity), through a union-find with
path halving. The work is proportional to the number of runs, not of pixels, so
a page that is mostly paper is labelled in little more than one read of it.
Per component the kernel accumulates area and bounding box; despeckling then
clears every run whose component fits in a ``size x size`` box.

References
----------
K. Suzuki, I. Horiba, N. Sugie, "Linear-time connected-component labeling based
on sequential local operations", CVIU 89(1), 2003 (run-based variant).
R. E. Tarjan, "Efficiency of a good but not linear set union algorithm",
J. ACM 22(2), 1975.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from imaging.checks import check_int, check_mask
from imaging.errors import ImageError


@dataclass(frozen=True)
class Components:
    """Ink components of an image (8-connected).

    Attributes
    ----------
    area : ndarray of int64, shape (n,)
        Pixels per component.
    box : ndarray of int64, shape (n, 4)
        ``x0, y0, x1, y1`` per component, end-exclusive.
    """

    area: np.ndarray
    box: np.ndarray

    @property
    def count(self) -> int:
        """Number of components."""
        return int(self.area.shape[0])


@njit(cache=True, nogil=True, inline="always")
def _find(parent, i):
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


@njit(cache=True, nogil=True)
def _scan_row(row, words, head, ink, y, ry, rs, re, k, fill, tz):
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
    for x in range(head):
        isink = np.uint64(1 if row[x] == ink else 0)
        if isink != inrun:
            if isink:
                start = x
            else:
                if fill:
                    ry[k] = y
                    rs[k] = start
                    re[k] = x - 1
                k += 1
            inrun = isink
    for q in range(nw):
        x0 = head + 8 * q
        v = words[q] ^ pat
        z = ~(((v & lo7) + lo7) | v | lo7)  # 0x80 in each byte equal to ink
        m = ((z >> np.uint64(7)) * gather) >> np.uint64(56)
        t = (m ^ ((m << one) | inrun)) & np.uint64(0xFF)
        while t != 0:
            x = x0 + tz[t]
            if inrun:
                if fill:
                    ry[k] = y
                    rs[k] = start
                    re[k] = x - 1
                k += 1
            else:
                start = x
            inrun ^= one
            t &= t - one
    for x in range(head + 8 * nw, w):
        isink = np.uint64(1 if row[x] == ink else 0)
        if isink != inrun:
            if isink:
                start = x
            else:
                if fill:
                    ry[k] = y
                    rs[k] = start
                    re[k] = x - 1
                k += 1
            inrun = isink
    if inrun:
        if fill:
            ry[k] = y
            rs[k] = start
            re[k] = w - 1
        k += 1
    return k


@njit(cache=True, nogil=True)
def _scan_runs(img, words, ink, ry, rs, re, rowstart, fill):
    # `words` views the whole image as uint64 (the image is 8-byte aligned).
    h, w = img.shape
    tz = np.zeros(256, np.int64)
    for v in range(1, 256):
        i = 0
        while (v >> i) & 1 == 0:
            i += 1
        tz[v] = i
    k = 0
    for y in range(h):
        if fill:
            rowstart[y] = k
        base = y * w
        head = min((8 - (base & 7)) & 7, w)
        nw = max(0, (w - head) // 8)
        first = (base + head) >> 3
        k = _scan_row(img[y], words[first:first + nw], head, ink, y, ry, rs, re, k, fill, tz)
    if fill:
        rowstart[h] = k
    return k


@njit(cache=True, nogil=True)
def _count_ink(img, ink):
    h, w = img.shape
    n = 0
    for y in range(h):
        row = img[y]
        c = 0
        for x in range(w):
            c += row[x] == ink
        n += c
    return n


@njit(cache=True, nogil=True)
def _runs(img, words, ink):
    # There are never more runs than ink pixels: one vectorised count sizes the
    # arrays, and a single scan fills them.
    h = img.shape[0]
    n = _count_ink(img, ink)
    ry = np.empty(n, np.int32)
    rs = np.empty(n, np.int32)
    re = np.empty(n, np.int32)
    rowstart = np.zeros(h + 1, np.int64)
    k = _scan_runs(img, words, ink, ry, rs, re, rowstart, True)
    return ry[:k], rs[:k], re[:k], rowstart


def _word_view(img: np.ndarray) -> np.ndarray:
    n = img.size // 8
    flat = img.reshape(-1)
    return flat[: n * 8].view(np.uint64) if n else np.zeros(1, np.uint64)


@njit(cache=True, nogil=True)
def _label(ry, rs, re, rowstart, h):
    n = ry.shape[0]
    parent = np.arange(n)
    for y in range(1, h):
        a = rowstart[y - 1]
        a_end = rowstart[y]
        b = rowstart[y]
        b_end = rowstart[y + 1]
        while a < a_end and b < b_end:
            # 8-connected overlap: columns touch within one pixel.
            if re[a] + 1 >= rs[b] and rs[a] <= re[b] + 1:
                ra = _find(parent, a)
                rb = _find(parent, b)
                if ra != rb:
                    if ra < rb:
                        parent[rb] = ra
                    else:
                        parent[ra] = rb
            if re[a] < re[b]:
                a += 1
            else:
                b += 1
    comp = np.empty(n, np.int64)
    ncomp = 0
    for i in range(n):
        r = _find(parent, i)
        if r == i:
            comp[i] = ncomp
            ncomp += 1
        else:
            comp[i] = comp[r]
    area = np.zeros(ncomp, np.int64)
    box = np.empty((ncomp, 4), np.int64)
    for c in range(ncomp):
        box[c, 0] = 1 << 40
        box[c, 1] = 1 << 40
        box[c, 2] = -1
        box[c, 3] = -1
    for i in range(n):
        c = comp[i]
        area[c] += re[i] - rs[i] + 1
        if rs[i] < box[c, 0]:
            box[c, 0] = rs[i]
        if ry[i] < box[c, 1]:
            box[c, 1] = ry[i]
        if re[i] + 1 > box[c, 2]:
            box[c, 2] = re[i] + 1
        if ry[i] + 1 > box[c, 3]:
            box[c, 3] = ry[i] + 1
    return comp, area, box


@njit(cache=True, nogil=True)
def _despeckle(img, words, ink, paper, size):
    ry, rs, re, rowstart = _runs(img, words, ink)
    comp, area, box = _label(ry, rs, re, rowstart, img.shape[0])
    removed = 0
    for i in range(ry.shape[0]):
        c = comp[i]
        if box[c, 2] - box[c, 0] <= size and box[c, 3] - box[c, 1] <= size:
            row = img[ry[i]]
            for x in range(rs[i], re[i] + 1):
                row[x] = paper
            removed += re[i] - rs[i] + 1
    return removed


def components(image: np.ndarray, ink: int = 0) -> Components:
    """Label the 8-connected components of the pixels equal to ``ink``.

    Parameters
    ----------
    image : ndarray, bool or uint8, shape (H, W)
        Bitonal page (0 = ink, 255 = paper) or mask (1 = ink).
    ink : int
        Value that marks ink, 0 to 255.

    Returns
    -------
    Components
        Area and bounding box of every component, in raster order of their
        first pixel.

    Raises
    ------
    ImageError
        If the image is not a 2-D bool/uint8 array or ``ink`` is out of range.
    """
    img = check_mask(image, "image")
    v = check_int(ink, "ink", 0, 255)
    if img.ctypes.data % 8:
        img = img.copy()
    ry, rs, re, rowstart = _runs(img, _word_view(img), np.uint8(v))
    _, area, box = _label(ry, rs, re, rowstart, img.shape[0])
    return Components(area, box)


def despeckle(bitonal: np.ndarray, max_size_px: int, *, ink: int = 0, paper: int = 255,
              inplace: bool = False) -> tuple[np.ndarray, int]:
    """Remove ink specks whose bounding box fits in ``max_size_px`` x ``max_size_px``.

    Parameters
    ----------
    bitonal : ndarray, uint8, shape (H, W)
        Page with ``ink`` and ``paper`` values (other values are left alone).
    max_size_px : int
        Largest speck side in pixels, 0 to 1000 (0 removes nothing). Callers
        convert millimetres with ``round(mm * dpi / 25.4)``.
    ink, paper : int
        Values of ink and of paper.
    inplace : bool
        Modify ``bitonal`` itself instead of a copy.

    Returns
    -------
    cleaned : ndarray, uint8
    removed : int
        Number of ink pixels turned to paper.

    Raises
    ------
    ImageError
        On an invalid image or parameter, or ``inplace`` on a non-contiguous array.
    """
    img = check_mask(bitonal, "bitonal")
    size = check_int(max_size_px, "max_size_px", 0, 1000)
    ink_v = check_int(ink, "ink", 0, 255)
    paper_v = check_int(paper, "paper", 0, 255)
    if inplace and img is not bitonal:
        raise ImageError("inplace despeckle needs a C-contiguous uint8 array")
    out = img if inplace else img.copy()
    if size == 0:
        return out, 0
    work = out if out.ctypes.data % 8 == 0 else out.copy()  # the word view needs 8-byte alignment
    removed = _despeckle(work, _word_view(work), np.uint8(ink_v), np.uint8(paper_v), size)
    if work is not out:
        np.copyto(out, work)
    return out, int(removed)
