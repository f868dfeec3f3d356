"""Bounding boxes of mask pixels in the corrected (deskewed, possibly turned) frame.

Each set pixel is moved by the same rotation as :func:`imaging.rotate.rotate_crop`
(clockwise by ``angle`` about the image centre, then a half turn if ``flip``) and
counted in a row and a column histogram of the corrected frame. ``project_box``
returns the first and last rows and columns whose count reaches ``fraction`` of
the largest one (after a 3-tap smoothing that evens out rotation aliasing):
with ``fraction`` 0.5 on the paper mask this is the sheet, unaffected by text
or a stray dark strip; with a tiny fraction on the ink mask it is the content
bounding box.

References
----------
R. C. Gonzalez, R. E. Woods, *Digital Image Processing*, 4th ed., 2018, §10.5
(projection profiles).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from imaging.checks import check_mask
from imaging.errors import ImageError
from imaging.runs import Runs


@njit(cache=True, nogil=True, inline="always")
def _corrected(bx, by, ax, ay, x, w, h):
    # Corrected-frame pixel of source column x on a row with offsets bx, by;
    # (-1, -1) when it falls outside the frame.
    fx = bx + ax * x
    fy = by + ay * x
    if fx >= 0.0 and fy >= 0.0:
        xr = int(fx)
        yr = int(fy)
        if xr < w and yr < h:
            return xr, yr
    return -1, -1


@njit(cache=True, nogil=True)
def _count_row(row, lo, hi, cols):
    # Upright case: add the row's pixels in [lo, hi] to the column counts and
    # return their number. A function of its own so that the loop is vectorised.
    n = 0
    for x in range(cols.shape[0]):
        v = np.int32((row[x] >= lo) & (row[x] <= hi))
        cols[x] += v
        n += v
    return n


@njit(cache=True, nogil=True)
def _profiles(mask, lo, hi, c, s, sign, step):
    h, w = mask.shape
    xc = (w - 1) / 2.0
    yc = (h - 1) / 2.0
    rows = np.zeros(h, np.float64)
    cols = np.zeros(w, np.float64)
    if s == 0.0:
        # No rotation: pixel (x, y) lands on itself (or on its mirror image for a
        # half turn), so the profiles are plain counts.
        icols = np.zeros(w, np.int32)
        for y in range(h):
            n = _count_row(mask[y], lo, hi, icols)
            rows[y if sign > 0 else h - 1 - y] = n
        for x in range(w):
            cols[x if sign > 0 else w - 1 - x] = icols[x]
        return rows, cols
    ax = sign * c
    ay = sign * s
    for y in range(0, h, step):
        dy = y - yc
        # Along a row the corrected coordinates move linearly: xr = bx + ax x, yr = by + ay x.
        bx = xc + sign * (-c * xc - s * dy) + 0.5
        by = yc + sign * (-s * xc + c * dy) + 0.5
        row = mask[y]
        # yr changes only every 1 / |sin a| pixels along a row: count in a register
        # and add to the row histogram when it changes, instead of a read-modify-write
        # of the same bin for every pixel (a serial dependency through memory).
        cur = -1
        run = 0.0
        for x in range(w):
            v = row[x]
            if v >= lo and v <= hi:
                xr, yr = _corrected(bx, by, ax, ay, x, w, h)
                if xr >= 0:
                    cols[xr] += 1.0
                    if yr != cur:
                        if cur >= 0:
                            rows[cur] += run
                        cur = yr
                        run = 0.0
                    run += 1.0
        if cur >= 0:
            rows[cur] += run
    return rows, cols


@njit(cache=True, nogil=True)
def _runs_extent(ry, rs, re, h, w, c, s, sign):
    # The same mapping as _profiles, over the run pixels only: min and max of the
    # corrected coordinates that land inside the frame (-1 when none does).
    xc = (w - 1) / 2.0
    yc = (h - 1) / 2.0
    ax = sign * c
    ay = sign * s
    xmin = w
    ymin = h
    xmax = -1
    ymax = -1
    for r in range(ry.shape[0]):
        dy = ry[r] - yc
        bx = xc + sign * (-c * xc - s * dy) + 0.5
        by = yc + sign * (-s * xc + c * dy) + 0.5
        for x in range(rs[r], re[r] + 1):
            xr, yr = _corrected(bx, by, ax, ay, x, w, h)
            if xr >= 0:
                xmin = min(xmin, xr)
                xmax = max(xmax, xr)
                ymin = min(ymin, yr)
                ymax = max(ymax, yr)
    return xmin, ymin, xmax, ymax


def _span(profile: np.ndarray, fraction: float) -> tuple[int, int] | None:
    p = profile
    if p.size >= 3:
        p = np.convolve(p, np.ones(3) / 3.0, mode="same")
    peak = float(p.max()) if p.size else 0.0
    if peak <= 0.0:
        return None
    idx = np.flatnonzero(p >= max(fraction * peak, 1e-9))
    return int(idx[0]), int(idx[-1]) + 1


def project_box(mask: np.ndarray, angle_deg: float, *, flip: bool = False, lo: int = 1, hi: int = 255,
                fraction: float = 0.5, step: int = 1) -> tuple[int, int, int, int] | None:
    """Bounding box, in the corrected frame, of the pixels with ``lo <= value <= hi``.

    Parameters
    ----------
    mask : ndarray, uint8 or bool, shape (H, W)
        Image or mask in the source frame.
    angle_deg : float
        Clockwise correction angle in degrees, within [-45, 45].
    flip : bool
        The correction also turns the page by 180 degrees.
    lo, hi : int
        Value range of the pixels that count.
    fraction : float
        A row (column) belongs to the box when its count reaches this fraction
        of the largest row (column) count, in (0, 1].
    step : int
        Count every ``step``-th row only (1 to 8), when the angle is not 0:
        faster; a long straight edge (the sheet's) is still found to within
        ``step`` pixels, since each corrected row then collects pixels from
        ``1 / step`` of the columns. With angle 0 every row is counted.

    Returns
    -------
    tuple of int or None
        ``(x0, y0, x1, y1)`` end-exclusive, or None when no pixel counts.

    Raises
    ------
    ImageError
        On an invalid mask, angle or fraction.
    """
    m = check_mask(mask, "mask")
    a = float(angle_deg)
    if not (math.isfinite(a) and -45.0 <= a <= 45.0):
        raise ImageError(f"angle {angle_deg!r} is out of range [-45, 45] degrees")
    if not 0.0 < float(fraction) <= 1.0:
        raise ImageError(f"fraction {fraction!r} must be in (0, 1]")
    r = math.radians(a)
    if not isinstance(step, int) or not 1 <= step <= 8:
        raise ImageError(f"step {step!r} must be an integer in 1..8")
    rows, cols = _profiles(m, int(lo), int(hi), math.cos(r), math.sin(r), -1.0 if flip else 1.0, step)
    ys = _span(rows, float(fraction))
    xs = _span(cols, float(fraction))
    if ys is None or xs is None:
        return None
    return xs[0], ys[0], xs[1], ys[1]


def runs_box(runs: Runs, angle_deg: float, *, flip: bool = False) -> tuple[int, int, int, int] | None:
    """Bounding box of the run pixels in the corrected frame.

    The same box as ``project_box(mask, angle_deg, flip=flip, fraction=1e-9)`` on
    the mask the runs came from (one pixel of margin each side, as the 3-tap
    smoothing gives there), found from the ink pixels alone.

    Parameters
    ----------
    runs : Runs
        From :func:`imaging.runs.find_runs`.
    angle_deg : float
        Clockwise correction angle in degrees, within [-45, 45].
    flip : bool
        The correction also turns the page by 180 degrees.

    Returns
    -------
    tuple of int or None
        ``(x0, y0, x1, y1)`` end-exclusive, or None when no pixel lands in the frame.

    Raises
    ------
    ImageError
        On an angle out of range.
    """
    a = float(angle_deg)
    if not (math.isfinite(a) and -45.0 <= a <= 45.0):
        raise ImageError(f"angle {angle_deg!r} is out of range [-45, 45] degrees")
    r = math.radians(a)
    h, w = runs.height, runs.width
    x0, y0, x1, y1 = _runs_extent(runs.y, runs.x0, runs.x1, h, w, math.cos(r), math.sin(r),
                                  -1.0 if flip else 1.0)
    if x1 < 0:
        return None
    return max(x0 - 1, 0), max(y0 - 1, 0), min(x1 + 2, w), min(y1 + 2, h)
