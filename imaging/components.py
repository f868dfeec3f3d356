"""Connected components of ink by run-length labelling, and speck removal.

Method: each row is cut into runs of ink (:mod:`imaging.runs`); a run joins every run of the row above
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
from functools import partial

import numpy as np
from numba import njit

from imaging import bands
from imaging.checks import check_int, check_mask
from imaging.errors import ImageError
from imaging.runs import Runs, find_runs


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

    def fits(self, size: int) -> np.ndarray:
        """Bool per component: its bounding box fits in ``size x size`` pixels."""
        return ((self.box[:, 2] - self.box[:, 0]) <= size) & ((self.box[:, 3] - self.box[:, 1]) <= size)


@njit(cache=True, nogil=True, inline="always")
def _find(parent, i):
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


@njit(cache=True, nogil=True, inline="always")
def _union(parent, a, b):
    # Join the sets of a and b; the root kept is the smaller index (for runs, the
    # set's first run in raster order, which speck removal reads the box's top from).
    ra = _find(parent, a)
    rb = _find(parent, b)
    if ra < rb:
        parent[rb] = ra
    elif rb < ra:
        parent[ra] = rb


@njit(cache=True, nogil=True)
def _link_rows(parent, rs, re, rowstart, ya, yb):
    # Union-find over the runs: each set's root is its first run in raster order
    # (a union keeps the smaller index). Links the runs of rows y - 1 and y for y
    # in ya .. yb - 1: it reads and writes only ``parent`` of runs in rows
    # ya - 1 .. yb - 1 (and their roots, which come no earlier), so bands of rows
    # can be linked side by side and then joined where they meet.
    for y in range(ya, yb):
        a = rowstart[y - 1]
        a_end = rowstart[y]
        b = rowstart[y]
        b_end = rowstart[y + 1]
        while a < a_end and b < b_end:
            # 8-connected overlap: columns touch within one pixel.
            if re[a] + 1 >= rs[b] and rs[a] <= re[b] + 1:
                _union(parent, a, b)
            if re[a] < re[b]:
                a += 1
            else:
                b += 1


def _linked(runs: Runs, threads: int) -> np.ndarray:
    """The runs' union-find, linked in bands of rows side by side on ``threads``
    threads, then where two bands meet (the same sets for any number)."""
    parent = np.arange(runs.count)
    parts = bands.split(runs.height, check_int(threads, "threads", 1, 64))
    bands.run([partial(_link_rows, parent, runs.x0, runs.x1, runs.rowstart, a + 1, b) for a, b in parts])
    for a, _ in parts[1:]:
        _link_rows(parent, runs.x0, runs.x1, runs.rowstart, a, a + 1)
    return parent


@njit(cache=True, nogil=True)
def _label(parent, ry, rs, re):
    # Components numbered in raster order of their first run, with areas and boxes.
    n = ry.shape[0]
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
def _drop(parent, ry, rs, re, size, img, paper):
    # drop_specks in one pass over the linked runs: no component numbers, areas
    # or selected copies of the runs, only each set's box, kept at its root (the
    # root is the set's first run, so its row is the box's top).
    n = ry.shape[0]
    root = np.empty(n, np.int32)
    left = np.empty(n, np.int32)
    right = np.empty(n, np.int32)
    bottom = np.empty(n, np.int32)
    for i in range(n):
        r = _find(parent, i)
        root[i] = r
        if r == i:
            left[i] = rs[i]
            right[i] = re[i]
            bottom[i] = ry[i]
        else:
            left[r] = min(left[r], rs[i])
            right[r] = max(right[r], re[i])
            bottom[r] = max(bottom[r], ry[i])
    painted = 0
    for i in range(n):
        r = root[i]
        if right[r] - left[r] < size and bottom[r] - ry[r] < size:
            row = img[ry[i]]
            for x in range(rs[i], re[i] + 1):
                row[x] = paper
            painted += re[i] - rs[i] + 1
    return painted


def label_runs(runs: Runs, *, threads: int = 1) -> tuple[np.ndarray, Components]:
    """Group runs into 8-connected components.

    Parameters
    ----------
    runs : Runs
        From :func:`imaging.runs.find_runs`.
    threads : int
        Bands of rows linked side by side on this many threads (:mod:`imaging.bands`);
        the result is the same for any number.

    Returns
    -------
    component : ndarray of int64, shape (runs.count,)
        Component index of each run.
    Components
        Area and bounding box of every component, in raster order of their
        first pixel.
    """
    comp, area, box = _label(_linked(runs, threads), runs.y, runs.x0, runs.x1)
    return comp, Components(area, box)


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
    return label_runs(find_runs(image, ink))[1]


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
    return out, drop_specks(out, find_runs(out, ink_v), size, paper_v)


def drop_specks(bitonal: np.ndarray, runs: Runs, size: int, paper: int = 255, *, threads: int = 1) -> int:
    """Paint over, in place, the components of ``runs`` that fit in ``size x size``.

    Parameters
    ----------
    bitonal : ndarray, uint8, shape (H, W), C-contiguous
        The page ``runs`` were cut from; changed in place.
    runs : Runs
        Its ink runs (:func:`imaging.runs.find_runs`, :func:`imaging.sauvola.sauvola_runs`).
    size : int
        Largest speck side in pixels (0 removes nothing).
    paper : int
        Value the specks' pixels get.
    threads : int
        Bands of rows linked side by side on this many threads
        (:mod:`imaging.bands`); the result is the same for any number.

    Returns
    -------
    int
        Number of pixels painted over.
    """
    if size <= 0 or runs.count == 0:
        return 0
    return int(_drop(_linked(runs, threads), runs.y, runs.x0, runs.x1, size, bitonal, np.uint8(paper)))
