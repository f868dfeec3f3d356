"""Bounding box of ink runs in the corrected (deskewed, possibly half-turned) frame.

Each ink pixel is moved by the same rotation as :func:`imaging.rotate.rotate_crop`
(clockwise by ``angle`` about the image centre, then a half turn if ``flip``);
the box is the extent of the pixels that land inside the frame, one pixel wider
each side for the rounding of the turned coordinates.
"""

from __future__ import annotations

import math

from numba import njit

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
def _runs_extent(ry, rs, re, h, w, c, s, sign):
    # The mapping of rotate_crop, over the run pixels only: min and max of the
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


def runs_box(runs: Runs, angle_deg: float, *, flip: bool = False) -> tuple[int, int, int, int] | None:
    """Bounding box of the run pixels in the corrected frame, one pixel of margin each side.

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
