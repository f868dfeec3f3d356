"""Paper levels, block background map and ink mask for the analysis image.

The page is cut into square blocks (a few millimetres). A block's *background*
is the brightest value among it and its eight neighbours (a 3x3 maximum of the
block maxima): text and lines never fill a 3x3 block area, so this follows the
paper's own brightness under uneven light without a global threshold, in the
spirit of Leptonica's ``pixGetBackgroundGrayMap``. A pixel is ink where it is
darker than ``ratio`` times its block's background; faint bleed-through from the
back side (a few per cent darker than the paper) and paper texture stay above
that ratio.

Where the scanner's background shows (dark lid, black borders), blocks whose
maximum stays below the paper threshold ``mid`` are not paper; a block is
*interior* when it and its eight neighbours (inside the frame) are paper, so the
dark background next to the sheet's edge is never taken for ink.

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
    # Four sub-histograms, one per pixel phase: neighbouring pixels often share a
    # value, and counting them in one table would chain each update on the last.
    sub = np.zeros(4 * 256, np.int64)
    h, w = img.shape
    for y in range(h):
        row = img[y]
        for x in range(w):
            sub[4 * np.uint64(row[x]) + np.uint64(x & 3)] += 1
    hist = np.zeros(256, np.int64)
    for v in range(256):
        hist[v] = sub[4 * v] + sub[4 * v + 1] + sub[4 * v + 2] + sub[4 * v + 3]
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
def _block_maps(img, block, mid):
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
    bg = np.zeros((bh, bw), np.uint8)
    interior = np.zeros((bh, bw), np.uint8)
    for by in range(bh):
        for bx in range(bw):
            m = 0
            allpaper = 1
            # Beyond the frame counts as paper: a sheet that fills the frame (or is
            # cut off) keeps its edge blocks, so text running into the edge is seen.
            for dy in range(-1, 2):
                yy = by + dy
                if yy < 0 or yy >= bh:
                    continue
                for dx in range(-1, 2):
                    xx = bx + dx
                    if xx < 0 or xx >= bw:
                        continue
                    v = bmax[yy, xx]
                    if v > m:
                        m = v
                    if v < mid:
                        allpaper = 0
            bg[by, bx] = m
            interior[by, bx] = allpaper
    return bmax, bg, interior


@njit(cache=True, nogil=True)
def _ink_row(row, limit, orow):
    # A function of its own so that the loop is vectorised.
    for x in range(orow.shape[0]):
        orow[x] = np.uint8(1) if np.int32(row[x]) * 256 < limit[x] else np.uint8(0)


@njit(cache=True, nogil=True)
def _ink(img, bg, interior, block, ratio256, out):
    h, w = img.shape
    bw = bg.shape[1]
    limit = np.empty(w, np.int32)
    for by in range(bg.shape[0]):
        # Per block: ink below `limit`, or nothing at all outside the interior;
        # spread over the block's columns once per band of rows.
        for bx in range(bw):
            lim = np.int32(bg[by, bx]) * ratio256 if interior[by, bx] != 0 else np.int32(0)
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


def block_maps(gray: np.ndarray, block: int, mid: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return per-block maximum, background (3x3 maximum) and interior flags.

    Parameters
    ----------
    gray : ndarray, uint8, shape (H, W)
    block : int
        Block side in pixels, 2 to 256.
    mid : int
        Paper threshold from :func:`paper_levels`.

    Returns
    -------
    bmax, background, interior : ndarray, uint8, shape (ceil(H / block), ceil(W / block))

    Raises
    ------
    ImageError
        On an invalid image, block or threshold.
    """
    img = check_gray(gray)
    b = check_int(block, "block", 2, 256)
    m = check_int(mid, "mid", 0, 255)
    return _block_maps(img, b, m)


def ink_mask(gray: np.ndarray, background: np.ndarray, interior: np.ndarray, block: int,
             ratio: float = 0.7) -> np.ndarray:
    """Mark ink: pixels darker than ``ratio`` times their block's background.

    Parameters
    ----------
    gray : ndarray, uint8, shape (H, W)
    background, interior : ndarray, uint8
        Block maps from :func:`block_maps` with the same ``block``.
    block : int
        Block side in pixels.
    ratio : float
        Ink threshold as a fraction of the local background, in (0, 1].

    Returns
    -------
    ndarray, uint8, shape (H, W)
        1 for ink inside the interior of the sheet, 0 elsewhere.

    Raises
    ------
    ImageError
        On an invalid image, maps that do not match the image and block, or a
        ratio out of range.
    """
    img = check_gray(gray)
    b = check_int(block, "block", 2, 256)
    shape = ((img.shape[0] + b - 1) // b, (img.shape[1] + b - 1) // b)
    if background.shape != shape or interior.shape != shape:
        raise ImageError(f"block maps of shape {background.shape} do not match {shape}")
    if not 0.0 < float(ratio) <= 1.0:
        raise ImageError(f"ratio {ratio!r} must be in (0, 1]")
    out = np.empty(img.shape, np.uint8)
    _ink(img, np.ascontiguousarray(background, np.uint8), np.ascontiguousarray(interior, np.uint8),
         b, int(round(float(ratio) * 256)), out)
    return out
