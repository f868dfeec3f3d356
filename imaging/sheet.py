"""The sheet's edges, found from the step between the scanner background and the paper.

Method: from each side of the frame, every row (for the left and right edges)
and every column (top and bottom) of the analysis image is walked inwards while
it is scanner background, keeping the running maximum ``M`` of the pixels passed
(all but the last one, which may be half paper). The walk stops at the first
pixel brighter than ``(1 + step) M + offset`` after at least ``band`` pixels:
a step up from a band of background that reaches the frame's border, however
dark or light the background and however the light falls off across the page
(the test is relative to the background next to the pixel, not to a global
level). A row that starts on paper never stops (its running maximum is the
paper), so text, rules and black bars inside the sheet are never taken for an
edge; nor is the slow change of uneven light, which never steps by a few per
cent within a pixel. The background crossed must be flat (a scanner's lid or
backing), but for the last ``skip`` pixels, where a shadow may lie along the
edge: its range may not exceed half the step up to the paper (nor a few grey
levels or a fifth of its brightness, for light lids). A walk that crossed a
pattern, a photograph or text running off the frame gives up, as it does at
``limit`` pixels from the border.

The stopping points of one side lie on a straight line when that side of the
sheet shows against the background. A Hough search finds the line
``p = b + t q`` (``p``: the walking coordinate, ``q``: the coordinate along the
edge) that holds the most points: a sweep of the slope over ±15° in 0.5° steps
with 4-pixel bins. A least-squares line through the points within 4 pixels of
it, then (three times) through those within 1.5 pixels of the line fitted, is
the edge. The side counts as *found* when the line holds at least
``min_share`` of the frame's rows (columns); otherwise the sheet is taken to
reach the frame on that side (the crop keeps it whole). The slope is the
sheet's own skew, which need not be the text's.

References
----------
P. V. C. Hough, "Method and means for recognizing complex patterns", US patent
3 069 654, 1962; R. O. Duda, P. E. Hart, "Use of the Hough transformation to
detect lines and curves in pictures", CACM 15(1), 1972.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from imaging.checks import check_gray, check_int
from imaging.errors import ImageError

_COARSE_STEP = 0.5  # degrees
_MAX_SLOPE_DEG = 15.0
_TOLERANCE = 1.5  # pixels either side of the line


@dataclass(frozen=True)
class SheetEdge:
    """One side of the sheet, in analysis pixels of the frame as scanned.

    A left or right edge is the line ``x = offset + slope * y``; a top or bottom
    edge ``y = offset + slope * x``. Positions are pixel indices: the outermost
    pixel that belongs (at least in part) to the sheet.

    Attributes
    ----------
    found : bool
        The edge shows against the scanner background.
    offset, slope : float
        The line (0 and 0 when not found).
    points : int
        Walks that stopped on the line.
    lo, hi : int
        Extent of those points along the edge (first and last row or column).
    """

    found: bool
    offset: float = 0.0
    slope: float = 0.0
    points: int = 0
    lo: int = 0
    hi: int = 0

    def at(self, q: float) -> float:
        """Position of the edge at ``q`` along it."""
        return self.offset + self.slope * q


@dataclass(frozen=True)
class SheetEdges:
    """The four sides of the sheet (see :func:`find_sheet_edges`)."""

    left: SheetEdge
    top: SheetEdge
    right: SheetEdge
    bottom: SheetEdge
    width: int
    height: int

    @property
    def sides(self) -> tuple[SheetEdge, SheetEdge, SheetEdge, SheetEdge]:
        """``(left, top, right, bottom)``, the order of a box's coordinates."""
        return self.left, self.top, self.right, self.bottom

    def box(self, angle_deg: float, margin: int = 0) -> tuple[tuple[int, int, int, int], tuple[bool, ...]]:
        """The sheet's bounding box in the frame turned clockwise by ``angle_deg``.

        The same turn as :func:`imaging.rotate.rotate_crop` (about the centre, the
        frame keeps its size). Each found side gives the outermost turned position
        of its line over the points' extent (the line runs through the centres
        of the sheet's outermost pixels), moved out by ``margin`` pixels; a side
        not found gives the frame's edge.

        Returns
        -------
        box : tuple of int
            ``(x0, y0, x1, y1)``, end-exclusive, inside the frame.
        found : tuple of bool
            Per coordinate of ``box``: it comes from a found edge.
        """
        w, h = self.width, self.height
        a = math.radians(float(angle_deg))
        c, s = math.cos(a), math.sin(a)
        xc, yc = (w - 1) / 2.0, (h - 1) / 2.0

        def turned(x: float, y: float) -> tuple[float, float]:
            dx, dy = x - xc, y - yc
            return xc + c * dx - s * dy, yc + s * dx + c * dy

        x0, y0, x1, y1 = 0, 0, w, h
        if self.left.found:
            x0 = round(min(turned(self.left.at(q), q)[0] for q in (self.left.lo, self.left.hi))) - margin
        if self.right.found:
            x1 = round(max(turned(self.right.at(q), q)[0] for q in (self.right.lo, self.right.hi))) + 1 + margin
        if self.top.found:
            y0 = round(min(turned(q, self.top.at(q))[1] for q in (self.top.lo, self.top.hi))) - margin
        if self.bottom.found:
            y1 = round(max(turned(q, self.bottom.at(q))[1] for q in (self.bottom.lo, self.bottom.hi))) + 1 + margin
        x0, y0 = min(max(x0, 0), w - 1), min(max(y0, 0), h - 1)
        x1, y1 = max(min(x1, w), x0 + 1), max(min(y1, h), y0 + 1)
        return (x0, y0, x1, y1), tuple(e.found for e in self.sides)


    def inside_blocks(self, block: int, shape: tuple[int, int]) -> np.ndarray:
        """uint8 per block of ``block`` pixels: 1 where the block's centre lies inside every found edge."""
        bh, bw = shape
        ys = (np.arange(bh, dtype=np.float64) + 0.5) * block - 0.5
        xs = (np.arange(bw, dtype=np.float64) + 0.5) * block - 0.5
        y, x = np.meshgrid(ys, xs, indexing="ij")
        ok = np.ones(shape, bool)
        if self.left.found:
            ok &= x >= self.left.at(y)
        if self.right.found:
            ok &= x <= self.right.at(y)
        if self.top.found:
            ok &= y >= self.top.at(x)
        if self.bottom.found:
            ok &= y <= self.bottom.at(x)
        return ok.astype(np.uint8)


@njit(cache=True, nogil=True)
def _walk(line, step256, offset256, band, limit, skip, flat_levels, flat256):
    # One walk along `line` (a view from the frame's border inwards): the index of
    # the sheet's outermost pixel, or -1. M, the running maximum, covers every
    # pixel from the border to two before the tested one; the pixel between, often
    # half paper, is the sheet's when it is nearer the paper than M. The background
    # crossed, but for the last `skip` pixels (a shadow along the edge), must be
    # flat: a range within max(flat_levels, flat256 / 256 of its maximum, half the
    # step from its maximum up to the paper), since noise on a dark lid can be as
    # large as the step from a light one. A textured band (a pattern, a
    # photograph, text running off the frame) is no scanner background, and the
    # walk gives up.
    n = min(limit, line.shape[0])
    m = np.int32(0)
    for x in range(min(band, n)):
        m = max(m, np.int32(line[x]))
    fmax = np.int32(0)
    fmin = np.int32(255)
    j = 0  # pixels taken into the flatness test so far
    for x in range(band + 1, n):
        m = max(m, np.int32(line[x - 2]))
        while j <= x - 2 - skip:
            fmax = max(fmax, np.int32(line[j]))
            fmin = min(fmin, np.int32(line[j]))
            j += 1
        v = np.int32(line[x])
        if v * 256 >= m * step256 + offset256:
            if j > 0 and (fmax - fmin) * 256 > max(flat_levels * 256, fmax * flat256, (v - fmax) * 128):
                return -1
            return x - 1 if 2 * np.int32(line[x - 1]) >= m + v else x
    return -1


@njit(cache=True, nogil=True)
def _walk_rows(img, step256, offset256, band, limit, skip, flat_levels, flat256, left, right):
    # Per row: the walk from the left (the sheet's first pixel) and from the
    # right (its last pixel); -1 when it gives up.
    h, w = img.shape
    for y in range(h):
        left[y] = _walk(img[y], step256, offset256, band, limit, skip, flat_levels, flat256)
        r = _walk(img[y, ::-1], step256, offset256, band, limit, skip, flat_levels, flat256)
        right[y] = -1 if r < 0 else w - 1 - r


@njit(cache=True, nogil=True)
def _walk_cols(img, step256, offset256, band, limit, skip, flat_levels, flat256, top, bottom):
    # Per column: the walk down from the top and up from the bottom.
    h, w = img.shape
    for x in range(w):
        top[x] = _walk(img[:, x], step256, offset256, band, limit, skip, flat_levels, flat256)
        r = _walk(img[::-1, x], step256, offset256, band, limit, skip, flat_levels, flat256)
        bottom[x] = -1 if r < 0 else h - 1 - r


@njit(cache=True, nogil=True)
def _sweep(p, q, t0, dt, nt, binw, win, lo, nb):
    # For each slope t0 + k dt, histogram b = p - t q in nb bins of binw from lo,
    # and the best sum over win neighbouring bins; returns the best slope, the
    # offset at the centre of its window and the count.
    n = p.shape[0]
    hist = np.zeros(nb, np.int64)
    best = -1
    bt = t0
    bb = 0.0
    # A bin width that is a power of two is divided by as a multiply by its
    # inverse, which gives the same quotient to the bit and spares a division per
    # point and slope (the sheet edges of a 300 dpi page 0.84 -> 0.74 ms, one core).
    exact = binw > 0.0 and math.frexp(binw)[0] == 0.5
    inv = 1.0 / binw
    # Each slope's bins are found in a loop of their own (vectorised) before they
    # are counted, in four interleaved copies of the histogram (bin j of copy c at
    # 4 j + c): the points of an edge fall in the same few bins, and counting them
    # in one table would chain each update on the last. The four edges of the
    # bench page: 0.40 -> 0.29 ms (find_sheet_edges 0.70 -> 0.59).
    bins = np.empty(n, np.int64)
    sub = np.zeros(4 * nb, np.int64)
    for k in range(nt):
        t = t0 + k * dt
        if exact:
            for i in range(n):
                bins[i] = int(math.floor((p[i] - t * q[i] - lo) * inv))
        else:
            for i in range(n):
                bins[i] = int(math.floor((p[i] - t * q[i] - lo) / binw))
        sub[:] = 0
        for i in range(n):
            j = bins[i]
            if 0 <= j < nb:
                sub[4 * j + (i & 3)] += 1
        for j in range(nb):
            hist[j] = sub[4 * j] + sub[4 * j + 1] + sub[4 * j + 2] + sub[4 * j + 3]
        s = 0
        for j in range(win):
            s += hist[j]
        for j in range(win, nb + 1):
            if s > best:
                best = s
                bt = t
                bb = lo + (j - win / 2.0) * binw
            if j < nb:
                s += hist[j] - hist[j - win]
    return bt, bb, best


@njit(cache=True, nogil=True)
def _line_kernel(p, q, max_slope_deg, coarse_deg, tolerance):
    # Sweep of the slope (4-pixel bins, windows of 2), then least squares through
    # the points near the line, three times.
    tmax = math.tan(math.radians(max_slope_deg + coarse_deg))
    qmax = q.max()
    lo = -tmax * qmax - 4.0
    hi = p.max() + tmax * qmax + 4.0
    n_coarse = int(round(2 * max_slope_deg / coarse_deg)) + 1
    t15 = math.tan(math.radians(max_slope_deg))
    t, b, _ = _sweep(p, q, -t15, 2 * t15 / (n_coarse - 1), n_coarse, 4.0, 2, lo, int((hi - lo) / 4.0) + 2)
    n = p.shape[0]
    on = np.zeros(n, np.bool_)
    for it in range(4):
        # The sweep's line is within half a step of slope (a few pixels at the ends):
        # the first fit takes the points within 4 pixels of it, the next ones those
        # within `tolerance` of the fitted line.
        tol = 4.0 if it == 0 else tolerance
        k = 0
        sq = 0.0
        sp = 0.0
        for i in range(n):
            on[i] = abs(p[i] - (b + t * q[i])) <= tol
            if on[i]:
                k += 1
                sq += q[i]
                sp += p[i]
        if it == 3 or k < 2:
            break
        mq = sq / k
        mp = sp / k
        cov = 0.0
        var = 0.0
        for i in range(n):
            if on[i]:
                cov += (q[i] - mq) * (p[i] - mp)
                var += (q[i] - mq) * (q[i] - mq)
        if var <= 0.0:
            break
        # The sweep's slope is as coarse as its steps, and all slopes within them
        # hold the same points: the least-squares line through them is the edge.
        t = cov / var
        b = mp - t * mq
    return b, t, on


def _line(points: np.ndarray, extent: int, min_share: float) -> SheetEdge:
    # points[q] = stop position p of walk q (-1: none).
    q = np.flatnonzero(points >= 0).astype(np.float64)
    if q.size < max(2, min_share * extent):
        return SheetEdge(False)
    p = points[points >= 0].astype(np.float64)
    b, t, on = _line_kernel(p, q, _MAX_SLOPE_DEG, _COARSE_STEP, _TOLERANCE)
    count = int(on.sum())
    if count < min_share * extent:
        return SheetEdge(False)
    return SheetEdge(True, float(b), float(t), count, int(q[on].min()), int(q[on].max()))


def find_sheet_edges(gray: np.ndarray, *, step: float = 0.03, offset: int = 3, band: int = 2,
                     limit_fraction: float = 0.33, min_share: float = 0.25, skip: int = 4, flat_levels: int = 24,
                     flat_ratio: float = 0.2) -> SheetEdges:
    """Find the sheet's four edges against the scanner background.

    Parameters
    ----------
    gray : ndarray, uint8, shape (H, W)
        Analysis image (about 75-100 dpi).
    step : float
        Relative step up from the background to the paper, 0 to 1.
    offset : int
        ... plus this many grey levels (above the noise of the background), 0 to 64.
    band : int
        Background pixels needed before an edge, 1 to 64.
    limit_fraction : float
        Walks give up beyond this fraction of the frame's width (height), in (0, 0.5].
    min_share : float
        Share of the frame's rows (columns) that must stop on one line for the
        edge to count, in (0, 1].
    skip : int
        Pixels just outside the edge left out of the flatness test (a shadow
        along the edge), 0 to 64.
    flat_levels, flat_ratio : int, float
        The background crossed must vary by no more than ``flat_levels`` grey
        levels, ``flat_ratio`` of its brightest pixel or half the step up to the
        paper, whichever is most (0 to 255, 0 to 1).

    Returns
    -------
    SheetEdges

    Raises
    ------
    ImageError
        On an invalid image or parameter.
    """
    img = check_gray(gray)
    off = check_int(offset, "offset", 0, 64)
    bnd = check_int(band, "band", 1, 64)
    sk = check_int(skip, "skip", 0, 64)
    fl = check_int(flat_levels, "flat_levels", 0, 255)
    for name, v, lo, hi in (("step", step, 0.0, 1.0), ("limit_fraction", limit_fraction, 1e-9, 0.5),
                            ("min_share", min_share, 1e-9, 1.0), ("flat_ratio", flat_ratio, 0.0, 1.0)):
        if not (isinstance(v, (int, float)) and math.isfinite(v) and lo <= v <= hi):
            raise ImageError(f"{name} {v!r} is out of range [{lo}, {hi}]")
    h, w = img.shape
    s256 = int(round((1.0 + float(step)) * 256))
    left = np.empty(h, np.int32)
    right = np.empty(h, np.int32)
    top = np.empty(w, np.int32)
    bottom = np.empty(w, np.int32)
    f256 = int(round(float(flat_ratio) * 256))
    _walk_rows(img, s256, off * 256, bnd, max(bnd + 2, int(limit_fraction * w)), sk, fl, f256, left, right)
    _walk_cols(img, s256, off * 256, bnd, max(bnd + 2, int(limit_fraction * h)), sk, fl, f256, top, bottom)
    return SheetEdges(_line(left, h, min_share), _line(top, w, min_share), _line(right, h, min_share),
                      _line(bottom, w, min_share), w, h)
