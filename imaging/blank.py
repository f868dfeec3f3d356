"""Blank-page detection: ink area left after background normalisation and speck removal.

Method: the ink mask is already relative to a block background (see
:mod:`imaging.background`), so uneven light, paper texture and faint
bleed-through from the back side (a few per cent darker than the paper) carry
no ink. Specks (8-connected components no larger than ``speck_mm`` on a side)
are removed. What remains is counted per block; a block holds content when at
least ``min_block_px`` ink pixels remain in it. The measure is the ink area in
square millimetres inside content blocks; the page is blank when it is below
``max_ink_mm2``. One line of text (tens of mm²), a signature (~20 mm²) or a
stamp (~100 mm²) stays well above the default of 4 mm²; a dozen dust specks
are removed before counting.

Solid dark shapes (a photograph, the large black squares of a test chart) hold
no ink by that measure: their blocks are darker than any paper, so the
background map calls them *outside* the sheet, like the scanner background, and
the pipeline drops outside ink that touches the frame's border. A shape of
outside blocks that does not reach the border is on the sheet, however dark:
:func:`dark_shape_area` measures those (4-connected blocks, so the diagonal
neighbours of a checkerboard are shapes of their own), and a page with one of at
least ``min_mm2`` (a 6 mm filing hole is one or two 3 mm blocks, a 10 mm square
four or more) is not blank.

References
----------
Leptonica ``pageseg.c`` (pixFindPageForeground) and OCRopus ``ocropus-nlbin``
both judge emptiness on a background-normalised, despeckled image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from imaging.checks import check_int, check_mask, check_positive
from imaging.components import Components, label_runs
from imaging.runs import Runs, find_runs


@dataclass(frozen=True)
class BlankResult:
    """Result of :func:`detect_blank`.

    Attributes
    ----------
    blank : bool
        True when the page holds less ink than the limit.
    ink_mm2 : float
        Ink area in content blocks after speck removal, mm².
    content_blocks : int
        Number of blocks holding content.
    """

    blank: bool
    ink_mm2: float
    content_blocks: int


@njit(cache=True, nogil=True)
def _block_ink_runs(ry, rs, re, h, w, block, min_px):
    # Ink per block: each run adds its overlap with every block it crosses.
    bh = (h + block - 1) // block
    bw = (w + block - 1) // block
    counts = np.zeros((bh, bw), np.int64)
    for r in range(ry.shape[0]):
        by = ry[r] // block
        x = rs[r]
        while x <= re[r]:
            bx = x // block
            e = min(re[r], (bx + 1) * block - 1)
            counts[by, bx] += e - x + 1
            x = e + 1
    total = 0
    blocks = 0
    for by in range(bh):
        for bx in range(bw):
            if counts[by, bx] >= min_px:
                total += counts[by, bx]
                blocks += 1
    return total, blocks


@njit(cache=True, nogil=True)
def _dark_shapes(outside, min_blocks):
    # 4-connected components of outside blocks; the blocks of those that do not touch
    # the map's border and have at least min_blocks blocks.
    h, w = outside.shape
    seen = np.zeros((h, w), np.uint8)
    stack = np.empty((h * w, 2), np.int64)
    total = 0
    for y0 in range(h):
        for x0 in range(w):
            if outside[y0, x0] == 0 or seen[y0, x0] != 0:
                continue
            seen[y0, x0] = 1
            stack[0, 0] = y0
            stack[0, 1] = x0
            top = 1
            size = 0
            border = False
            while top > 0:
                top -= 1
                y = stack[top, 0]
                x = stack[top, 1]
                size += 1
                if y == 0 or x == 0 or y == h - 1 or x == w - 1:
                    border = True
                for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
                    yy = y + dy
                    xx = x + dx
                    if 0 <= yy < h and 0 <= xx < w and outside[yy, xx] != 0 and seen[yy, xx] == 0:
                        seen[yy, xx] = 1
                        stack[top, 0] = yy
                        stack[top, 1] = xx
                        top += 1
            if not border and size >= min_blocks:
                total += size
    return total


def dark_shape_area(outside: np.ndarray, block_mm: float, *, min_mm2: float = 30.0) -> float:
    """Area (mm²) of the solid dark shapes on the sheet: outside blocks that do not reach the frame's border.

    Parameters
    ----------
    outside : ndarray, uint8, shape (BH, BW)
        The background map's outside blocks (:func:`imaging.background.block_maps`).
    block_mm : float
        A block's side in millimetres.
    min_mm2 : float
        Shapes smaller than this are not counted (a filing hole shows the dark backing).

    Returns
    -------
    float

    Raises
    ------
    ImageError
        On an invalid map or parameter.
    """
    o = check_mask(outside, "outside")
    side = check_positive(block_mm, "block_mm", upper=1000)
    m = check_positive(min_mm2, "min_mm2", upper=1e6)
    min_blocks = max(1, int(np.ceil(m / (side * side))))
    return float(_dark_shapes(o, min_blocks)) * side * side


def detect_blank(ink: np.ndarray, dpi: float, *, speck_mm: float = 1.0, max_ink_mm2: float = 4.0,
                 block: int = 16, min_block_px: int = 3) -> BlankResult:
    """Decide whether a page is blank from its ink mask.

    Parameters
    ----------
    ink : ndarray, bool or uint8, shape (H, W)
        Ink mask (nonzero = ink), background-normalised.
    dpi : float
        Resolution of the mask.
    speck_mm : float
        Components up to this size (mm, both sides) are specks and ignored.
    max_ink_mm2 : float
        A page with less ink than this (mm²) is blank.
    block : int
        Block side in pixels, 2 to 256.
    min_block_px : int
        Ink pixels a block needs to count as content, 1 to 65536.

    Returns
    -------
    BlankResult

    Raises
    ------
    ImageError
        On an invalid mask or parameter.
    """
    runs = find_runs(check_mask(ink, "ink") != 0)
    component, comps = label_runs(runs)
    return detect_blank_runs(runs, comps, component, dpi, speck_mm=speck_mm, max_ink_mm2=max_ink_mm2,
                             block=block, min_block_px=min_block_px)


def detect_blank_runs(runs: Runs, components: Components, component: np.ndarray, dpi: float, *,
                      speck_mm: float = 1.0, max_ink_mm2: float = 4.0, block: int = 16,
                      min_block_px: int = 3) -> BlankResult:
    """:func:`detect_blank` on an ink mask already cut into runs and labelled.

    Parameters
    ----------
    runs : Runs
        Ink runs (:func:`imaging.runs.find_runs`).
    components, component : Components, ndarray
        From :func:`imaging.components.label_runs` on ``runs``.
    dpi, speck_mm, max_ink_mm2, block, min_block_px
        As for :func:`detect_blank`.

    Returns
    -------
    BlankResult

    Raises
    ------
    ImageError
        On an invalid parameter.
    """
    d = check_positive(dpi, "dpi", upper=10000)
    s = check_positive(speck_mm, "speck_mm", upper=100)
    limit = check_positive(max_ink_mm2, "max_ink_mm2", upper=1e6)
    b = check_int(block, "block", 2, 256)
    mp = check_int(min_block_px, "min_block_px", 1, 65536)
    kept = runs.select(~components.fits(int(round(s * d / 25.4)))[component])
    total, blocks = _block_ink_runs(kept.y, kept.x0, kept.x1, runs.height, runs.width, b, mp)
    mm2 = float(total) * (25.4 / d) ** 2
    return BlankResult(mm2 < limit, mm2, int(blocks))
