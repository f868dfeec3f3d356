"""Speck removal band by band, beside a banded binarization (:func:`imaging.sauvola.sauvola_bands`).

Each band links, boxes and paints the sets of its own ink runs while they are in
cache (:func:`band_specks`, on the band's thread); only sets that reach a row
where two bands meet wait for :func:`join_specks`, which links them across
that row and paints those that fit. The page and the count of pixels painted
are those :func:`imaging.components.drop_specks` makes from all the runs at
once (tests/imaging/test_imaging_bands.py), without the page's runs ever being
joined into one list or linked again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from imaging.components import _find, _link_rows, _union


@dataclass(frozen=True)
class BandSpecks:
    """What :func:`band_specks` leaves for :func:`join_specks`: the sets that reach a row
    where bands meet, and only those (the others are finished on the band's thread)."""

    runs: tuple          # (y, x0, x1, rowstart), rowstart the band's own
    late: np.ndarray     # the runs of those sets, in the band's order (its first and last rows' among them)
    late_set: np.ndarray  # each such run's set, numbered 0 .. k - 1 in the band
    box: np.ndarray      # per set: left, top, right, bottom (inclusive)
    painted: int


@njit(cache=True, nogil=True)
def _band_sets(ry, rs, re, rowstart, size, img, paper, wait_top, wait_bottom):
    n = ry.shape[0]
    rows = rowstart.shape[0] - 1
    parent = np.arange(n)
    _link_rows(parent, rs, re, rowstart, 1, rows)
    root = np.empty(n, np.int64)
    box = np.empty((n, 4), np.int32)
    for i in range(n):
        r = _find(parent, i)
        root[i] = r
        if r == i:
            box[i, 0] = rs[i]
            box[i, 1] = ry[i]
            box[i, 2] = re[i]
            box[i, 3] = ry[i]
        else:
            box[r, 0] = min(box[r, 0], rs[i])
            box[r, 2] = max(box[r, 2], re[i])
            box[r, 3] = max(box[r, 3], ry[i])
    # Sets that reach a row where bands meet wait, numbered in the order of their
    # roots (-1: the set is finished here).
    late_id = np.full(n, -1, np.int64)
    if wait_top and rows > 0:
        for i in range(rowstart[0], rowstart[1]):
            late_id[root[i]] = 0
    if wait_bottom and rows > 0:
        for i in range(rowstart[rows - 1], rowstart[rows]):
            late_id[root[i]] = 0
    k = 0
    for i in range(n):
        if root[i] == i and late_id[i] == 0:
            late_id[i] = k
            k += 1
    late_box = np.empty((k, 4), np.int64)
    nl = 0
    for i in range(n):
        j = late_id[root[i]]
        if j >= 0:
            nl += 1
            if root[i] == i:
                late_box[j, 0] = box[i, 0]
                late_box[j, 1] = box[i, 1]
                late_box[j, 2] = box[i, 2]
                late_box[j, 3] = box[i, 3]
    late = np.empty(nl, np.int64)
    late_set = np.empty(nl, np.int64)
    nl = 0
    painted = 0
    for i in range(n):
        r = root[i]
        if late_id[r] >= 0:
            late[nl] = i
            late_set[nl] = late_id[r]
            nl += 1
        elif box[r, 2] - box[r, 0] < size and box[r, 3] - box[r, 1] < size:
            row = img[ry[i]]
            for x in range(rs[i], re[i] + 1):
                row[x] = paper
            painted += re[i] - rs[i] + 1
    return late, late_set, late_box, painted


def band_specks(bitonal: np.ndarray, runs: tuple, a: int, b: int, *, size: int, height: int,
                paper: int = 255) -> BandSpecks:
    """The ``then`` of :func:`imaging.sauvola.sauvola_bands` for speck removal: paints
    over, in rows ``a .. b - 1`` of ``bitonal``, the sets of the band's runs that fit in
    ``size x size`` and reach neither of its rows that meet another band (the page
    has ``height`` rows)."""
    ry, rs, re, rowstart = runs
    if size <= 0:
        none = np.zeros(0, np.int64)
        return BandSpecks(runs, none, none, np.zeros((0, 4), np.int64), 0)
    late, late_set, box, painted = _band_sets(ry, rs, re, rowstart, size, bitonal, np.uint8(paper), a > 0,
                                              b < height)
    return BandSpecks(runs, late, late_set, box, int(painted))


@njit(cache=True, nogil=True)
def _link_across(rs_a, re_a, id_a, rs_b, re_b, id_b, parent):
    # The runs of the last row of one band and the first of the next (each row's
    # runs left to right, with their sets' ids): sets that touch are joined.
    a = 0
    b = 0
    while a < rs_a.shape[0] and b < rs_b.shape[0]:
        if re_a[a] + 1 >= rs_b[b] and rs_a[a] <= re_b[b] + 1:
            _union(parent, id_a[a], id_b[b])
        if re_a[a] < re_b[b]:
            a += 1
        else:
            b += 1


@njit(cache=True, nogil=True)
def _merge_boxes(parent, box):
    # Each joined set's box at its root.
    for i in range(parent.shape[0]):
        r = _find(parent, i)
        if r != i:
            box[r, 0] = min(box[r, 0], box[i, 0])
            box[r, 1] = min(box[r, 1], box[i, 1])
            box[r, 2] = max(box[r, 2], box[i, 2])
            box[r, 3] = max(box[r, 3], box[i, 3])


@njit(cache=True, nogil=True)
def _paint_joined(ry, rs, re, late, ids, parent, box, size, img, paper):
    # Runs of sets that waited whose joined set fits become paper.
    painted = 0
    for j in range(late.shape[0]):
        r = _find(parent, ids[j])
        if box[r, 2] - box[r, 0] < size and box[r, 3] - box[r, 1] < size:
            i = late[j]
            row = img[ry[i]]
            for x in range(rs[i], re[i] + 1):
                row[x] = paper
            painted += re[i] - rs[i] + 1
    return painted


def join_specks(bitonal: np.ndarray, parts: list[BandSpecks], size: int, paper: int = 255) -> int:
    """Finish the speck removal of :func:`band_specks`: sets that reach a row where
    two bands meet are joined across it, and those that fit in ``size x size`` are
    painted over. Returns the pixels painted over by the bands and here."""
    painted = sum(part.painted for part in parts)
    if size <= 0 or len(parts) < 2:
        return painted
    # One id per waiting set across all bands: a band's own numbers after the ones before it.
    ids, start = [], 0
    for part in parts:
        ids.append(part.late_set + start)
        start += part.box.shape[0]
    parent = np.arange(start)
    for (up, up_ids), (down, down_ids) in zip(zip(parts, ids), zip(parts[1:], ids[1:])):
        # Every run of a band's first and last rows waits: they are the first and
        # the last of its late runs.
        ua = up.runs[3]
        last = slice(up.late.shape[0] - int(ua[-1] - ua[-2]), up.late.shape[0])
        first = slice(0, int(down.runs[3][1]))
        ul, dl = up.late[last], down.late[first]
        _link_across(up.runs[1][ul], up.runs[2][ul], up_ids[last],
                     down.runs[1][dl], down.runs[2][dl], down_ids[first], parent)
    box = np.concatenate([part.box for part in parts])
    _merge_boxes(parent, box)
    for part, part_ids in zip(parts, ids):
        ry, rs, re, _ = part.runs
        painted += int(_paint_joined(ry, rs, re, part.late, part_ids, parent, box, size, bitonal, np.uint8(paper)))
    return painted
