"""Paper levels, block background map, scanner-background blocks and ink mask.

The page is cut into square blocks (a few millimetres). A block's *background*
is the brightest value among it and its eight neighbours (a 3x3 maximum of the
block maxima): text and lines never fill a 3x3 block area, so this follows the
paper's own brightness under uneven light without a global threshold, in the
spirit of Leptonica's ``pixGetBackgroundGrayMap``. A pixel is ink where it is
darker than ``ratio`` times its block's background; faint bleed-through from the
back side (a few per cent darker than the paper) and paper texture stay above
that ratio.

A block is *outside* the sheet (dark scanner background, a dark border, the
dark edge of a photocopied sheet) when even its brightest pixel is well below
the paper around it: below ``outside_ratio`` times the *wide background* (the
maximum of the block maxima within ``reach`` blocks, about 27 mm, far enough to
reach the paper from any dark border band, near enough that light fall-off
across a page changes it by a few per cent), or below ``floor_ratio`` times the
page's paper level (background far from the sheet, where the wide background is
the background itself). Every pixel of an outside block counts as ink, so the
scanner background and everything dark that touches it (a wedge of background
beside a skewed sheet, a photocopy's dark sheet edge, the shadow along an edge)
form connected ink that the pipeline drops where it touches the frame's border.
A light scanner background (a grey lid) is not outside: it is not darker than
``ratio`` times the paper either, so it holds no ink. A block is *interior* when
neither it nor any of its eight neighbours is outside.

References
----------
D. S. Bloomberg, Leptonica ``adaptmap.c`` (pixGetBackgroundGrayMap,
pixBackgroundNormSimple).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from imaging.checks import check_gray, check_int
from imaging.errors import ImageError
from imaging.runs import Runs


@dataclass(frozen=True)
class PaperLevels:
    """Global grey levels of a page.

    Attributes
    ----------
    paper : int
        Brightness of the paper (95th percentile of the page).
    background : int
        Median of the outermost ring of pixels (the scanner's background if it shows).
    mid : int
        Threshold between scanner background and paper; 0 when no background
        shows, in which case only dark strips (below 60 % of ``paper``) are
        treated as outside the sheet.
    separated : bool
        True when the background differs from the paper by at least the
        contrast asked for.
    """

    paper: int
    background: int
    mid: int
    separated: bool


@njit(cache=True, nogil=True)
def _histogram(img):
    # Eight sub-histograms, one per pixel phase: neighbouring pixels often share a
    # value, and counting them in one table would chain each update on the last
    # (eight 32-bit tables instead of four 64-bit ones: 0.21 -> 0.16 ms on the
    # bench page's 924 x 667 analysis copy).
    sub = np.zeros(8 * 256, np.int32)
    h, w = img.shape
    for y in range(h):
        row = img[y]
        for x in range(w):
            sub[8 * np.uint64(row[x]) + np.uint64(x & 7)] += 1
    hist = np.zeros(256, np.int64)
    for v in range(256):
        t = 0
        for c in range(8):
            t += sub[8 * v + c]
        hist[v] = t
    return hist


@njit(cache=True, nogil=True)
def _ring_median(img, width):
    h, w = img.shape
    hist = np.zeros(256, np.int64)
    for y in range(h):
        if y < width or y >= h - width:
            for x in range(w):
                hist[img[y, x]] += 1
        else:
            for x in range(width):
                hist[img[y, x]] += 1
                hist[img[y, w - 1 - x]] += 1
    total = hist.sum()
    acc = 0
    for v in range(256):
        acc += hist[v]
        if 2 * acc >= total:
            return v
    return 255


@njit(cache=True, nogil=True)
def _col_max(colmax, row):
    # A function of its own so that the loop is vectorised.
    for x in range(colmax.shape[0]):
        if row[x] > colmax[x]:
            colmax[x] = row[x]


@njit(cache=True, nogil=True)
def _block_max(img, block):
    h, w = img.shape
    bh = (h + block - 1) // block
    bw = (w + block - 1) // block
    bmax = np.zeros((bh, bw), np.uint8)
    # Column maxima over a band of `block` rows (one vectorised pass per row),
    # then the maximum of each block's columns.
    colmax = np.zeros(w, np.uint8)
    for by in range(bh):
        colmax[:] = 0
        for y in range(by * block, min(h, (by + 1) * block)):
            _col_max(colmax, img[y])
        for bx in range(bw):
            m = np.uint8(0)
            for x in range(bx * block, min(w, (bx + 1) * block)):
                if colmax[x] > m:
                    m = colmax[x]
            bmax[by, bx] = m
    return bmax


@njit(cache=True, nogil=True)
def _max_of3(a, b, c, out):
    # A function of its own so that the loop is vectorised.
    for i in range(out.shape[0]):
        out[i] = max(a[i], max(b[i], c[i]))


@njit(cache=True, nogil=True)
def _max3(a):
    # 3x3 maximum; cells beyond the grid do not count. Separable: the maximum of
    # each cell's row neighbours, then of those of the rows above and below (a
    # clamped index repeats an edge cell, which changes no maximum). Whole rows at
    # a time, vectorised: 84 -> 6 us on the bench page's 103 x 75 blocks (a loop
    # over each cell's 3 x 3 took the four of them 0.34 of block_maps' 0.44 ms).
    bh, bw = a.shape
    across = np.empty_like(a)
    for by in range(bh):
        row = a[by]
        out = across[by]
        if bw == 1:
            out[0] = row[0]
            continue
        _max_of3(row[:bw - 2], row[1:bw - 1], row[2:], out[1:bw - 1])
        out[0] = max(row[0], row[1])
        out[bw - 1] = max(row[bw - 2], row[bw - 1])
    res = np.empty_like(a)
    for by in range(bh):
        _max_of3(across[max(0, by - 1)], across[by], across[min(bh - 1, by + 1)], res[by])
    return res


@njit(cache=True, nogil=True)
def _block_maps(img, block, paper, reach, outside256, floor256):
    bmax = _block_max(img, block)
    bg = _max3(bmax)
    wide = bg
    for _ in range(reach - 1):
        wide = _max3(wide)
    bh, bw = bmax.shape
    floor = np.int32(paper) * floor256
    outside = np.zeros((bh, bw), np.uint8)
    for by in range(bh):
        for bx in range(bw):
            v = np.int32(bmax[by, bx]) * 256
            if v < np.int32(wide[by, bx]) * outside256 or v < floor:
                outside[by, bx] = 1
    interior = np.zeros((bh, bw), np.uint8)
    for by in range(bh):
        for bx in range(bw):
            ok = 1
            # Beyond the frame counts as paper: a sheet that fills the frame (or is
            # cut off) keeps its edge blocks, so text running into the edge is seen.
            for yy in range(max(0, by - 1), min(bh, by + 2)):
                for xx in range(max(0, bx - 1), min(bw, bx + 2)):
                    if outside[yy, xx] != 0:
                        ok = 0
            interior[by, bx] = ok
    return bmax, bg, outside, interior


@njit(cache=True, nogil=True)
def _ink_row(row, limit, orow):
    # A function of its own so that the loop is vectorised.
    for x in range(orow.shape[0]):
        orow[x] = np.uint8(1) if np.int32(row[x]) * 256 < limit[x] else np.uint8(0)


@njit(cache=True, nogil=True)
def _ink(img, bg, outside, block, ratio256, out):
    h, w = img.shape
    bw = bg.shape[1]
    limit = np.empty(w, np.int32)
    for by in range(bg.shape[0]):
        # Per block: ink below `limit`, or every pixel of an outside block (256 * 256
        # is above any pixel); spread over the block's columns once per band of rows.
        for bx in range(bw):
            lim = np.int32(bg[by, bx]) * ratio256 if outside[by, bx] == 0 else np.int32(65536)
            for x in range(bx * block, min(w, (bx + 1) * block)):
                limit[x] = lim
        for y in range(by * block, min(h, (by + 1) * block)):
            _ink_row(img[y], limit, out[y])


def paper_levels(gray: np.ndarray, min_contrast: int = 24) -> PaperLevels:
    """Measure the paper's and the scanner background's grey levels.

    Parameters
    ----------
    gray : ndarray, uint8, shape (H, W)
        Analysis image (about 100 dpi).
    min_contrast : int
        Smallest paper-minus-background difference (grey levels) for the
        background to count as visible, 1 to 255.

    Returns
    -------
    PaperLevels

    Raises
    ------
    ImageError
        On an invalid image or contrast.
    """
    img = check_gray(gray)
    contrast = check_int(min_contrast, "min_contrast", 1, 255)
    hist = _histogram(img)
    cum = np.cumsum(hist)
    paper = int(np.searchsorted(cum, 0.95 * cum[-1]))
    ring = max(1, min(img.shape) // 100)
    bg = int(_ring_median(img, ring))
    if paper - bg >= contrast:
        return PaperLevels(paper, bg, (paper + bg) // 2, True)
    return PaperLevels(paper, bg, int(0.6 * paper), False)


@dataclass(frozen=True)
class BlockMaps:
    """Block maps of an analysis image (one cell per ``block x block`` pixels).

    Attributes
    ----------
    maximum : ndarray, uint8
        Brightest pixel of each block.
    background : ndarray, uint8
        3x3 maximum of ``maximum``: the local paper level.
    outside : ndarray, uint8
        1 where the block is scanner background or dark border (see the module notes).
    interior : ndarray, uint8
        1 where neither the block nor any of its eight neighbours is outside.
    """

    maximum: np.ndarray
    background: np.ndarray
    outside: np.ndarray
    interior: np.ndarray


def block_maps(gray: np.ndarray, block: int, paper: int, *, reach: int = 4, outside_ratio: float = 0.6,
               floor_ratio: float = 0.35) -> BlockMaps:
    """Block maxima, local background, outside and interior flags.

    Parameters
    ----------
    gray : ndarray, uint8, shape (H, W)
    block : int
        Block side in pixels, 2 to 256.
    paper : int
        The page's paper level (:func:`paper_levels`), 0 to 255.
    reach : int
        The wide background is the maximum of the block maxima within this many
        blocks (a square of ``2 reach + 1`` blocks), 1 to 32.
    outside_ratio : float
        A block is outside when its maximum is below this fraction of the wide
        background, in [0, 1].
    floor_ratio : float
        ... or below this fraction of ``paper``, in [0, 1].

    Returns
    -------
    BlockMaps
        Each map of shape ``(ceil(H / block), ceil(W / block))``.

    Raises
    ------
    ImageError
        On an invalid image, block, paper level, reach or ratio.
    """
    img = check_gray(gray)
    b = check_int(block, "block", 2, 256)
    pl = check_int(paper, "paper", 0, 255)
    r = check_int(reach, "reach", 1, 32)
    for name, v in (("outside_ratio", outside_ratio), ("floor_ratio", floor_ratio)):
        if not 0.0 <= float(v) <= 1.0:
            raise ImageError(f"{name} {v!r} must be in [0, 1]")
    bmax, bg, outside, interior = _block_maps(img, b, pl, r, int(round(float(outside_ratio) * 256)),
                                              int(round(float(floor_ratio) * 256)))
    return BlockMaps(bmax, bg, outside, interior)


def ink_mask(gray: np.ndarray, background: np.ndarray, outside: np.ndarray, block: int,
             ratio: float = 0.7) -> np.ndarray:
    """Mark ink: pixels darker than ``ratio`` times their block's background, and outside blocks.

    Parameters
    ----------
    gray : ndarray, uint8, shape (H, W)
    background, outside : ndarray, uint8
        Block maps from :func:`block_maps` with the same ``block``.
    block : int
        Block side in pixels.
    ratio : float
        Ink threshold as a fraction of the local background, in (0, 1].

    Returns
    -------
    ndarray, uint8, shape (H, W)
        1 for ink (every pixel of an outside block included), 0 elsewhere.

    Raises
    ------
    ImageError
        On an invalid image, maps that do not match the image and block, or a
        ratio out of range.
    """
    img = check_gray(gray)
    b = check_int(block, "block", 2, 256)
    shape = ((img.shape[0] + b - 1) // b, (img.shape[1] + b - 1) // b)
    if background.shape != shape or outside.shape != shape:
        raise ImageError(f"block maps of shape {background.shape} do not match {shape}")
    if not 0.0 < float(ratio) <= 1.0:
        raise ImageError(f"ratio {ratio!r} must be in (0, 1]")
    out = np.empty(img.shape, np.uint8)
    _ink(img, np.ascontiguousarray(background, np.uint8), np.ascontiguousarray(outside, np.uint8),
         b, int(round(float(ratio) * 256)), out)
    return out


@njit(cache=True, nogil=True)
def _darkest(img, ry, rs, re, comp, count, bg, block):
    out = np.full(count, np.inf)
    for r in range(ry.shape[0]):
        y = ry[r]
        c = comp[r]
        for x in range(rs[r], re[r] + 1):
            ref = max(np.int32(bg[y // block, x // block]), np.int32(1))
            v = np.int32(img[y, x]) / ref
            if v < out[c]:
                out[c] = v
    return out


def darkest_ratio(gray: np.ndarray, runs: Runs, component: np.ndarray, count: int, background: np.ndarray,
                  block: int) -> np.ndarray:
    """Per ink component, its darkest pixel as a fraction of that pixel's block background.

    Text is far darker than its paper (printing ink below 0.4 of it, even on a
    photocopy); the faint fringe of a shadow or of a photocopy's dark edge only
    just crosses the ink ratio.

    Parameters
    ----------
    gray : ndarray, uint8, shape (H, W)
        The analysis image the runs come from.
    runs : Runs
        Ink runs (:func:`imaging.runs.find_runs`).
    component : ndarray of int, shape (runs.count,)
        Component of each run, 0 to ``count - 1``.
    count : int
        Number of components.
    background : ndarray, uint8
        Block background from :func:`block_maps` with the same ``block``.
    block : int
        Block side in pixels.

    Returns
    -------
    ndarray of float, shape (count,)
        ``inf`` for a component without runs.

    Raises
    ------
    ImageError
        On an image or maps that do not match the runs.
    """
    img = check_gray(gray)
    b = check_int(block, "block", 2, 256)
    if img.shape != (runs.height, runs.width):
        raise ImageError(f"runs of a {runs.width}x{runs.height} mask do not match the image {img.shape}")
    shape = ((img.shape[0] + b - 1) // b, (img.shape[1] + b - 1) // b)
    if background.shape != shape or component.shape != (runs.count,):
        raise ImageError("background map or component labels do not match the image and runs")
    return _darkest(img, runs.y, runs.x0, runs.x1, np.ascontiguousarray(component, np.int64), int(count),
                    np.ascontiguousarray(background, np.uint8), b)
