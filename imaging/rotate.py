"""Rotation of a full-resolution page by a small angle (and 180 degrees), fused with crop.

Method: Paeth's three-shear rotation. A rotation is the product of a horizontal
shear by ``tan(a / 2)``, a vertical shear by ``-sin(a)`` and the same horizontal
shear again. Each shear moves whole rows (or columns) by one offset, so each pass
is a 1-D linear interpolation with weights that are constant along a row (or
along a run of columns): contiguous, vectorisable loops over 8-bit samples with
8-bit fixed-point weights. The three passes together differ from OpenCV's
bilinear ``warpAffine`` by about half a grey level on average. Areas that come
from outside the source take the fill colour. Only the region needed for the
crop box is computed in each pass, and the passes run row by row through a small
ring of rows (a few hundred kB), so no intermediate page is written to memory.

Geometry: the *corrected frame* has the size of the input; a pixel at offset
``(dx, dy)`` from the centre ``((W - 1) / 2, (H - 1) / 2)`` of the source moves to
``(c dx - s dy, s dx + c dy)`` with ``c = cos a``, ``s = sin a`` (y points down, so
this turns the content clockwise by ``a`` on screen), then, if ``flip``, to its
negative (a half turn).

References
----------
A. W. Paeth, "A fast algorithm for general raster rotation", Graphics Interface
'86, pp. 77-81, 1986.
G. Wolberg, *Digital Image Warping*, IEEE Computer Society Press, 1990, ch. 7.
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np
from numba import njit

from imaging import bands
from imaging.checks import check_int, check_page
from imaging.errors import ImageError

# Pass 2 blends column segments only ~25 pixels wide (a 2.3 degree turn of an
# A4 page at 300 dpi changes the vertical offset every ~25 columns). Run as
# plain loops, each segment is too short for the vector body and ends in a
# scalar remainder; in fixed blocks of LANES pixels it is all vector code. A
# block may run past its segment into the next one, which then writes those
# pixels again with its own rows and weights (segments are done left to
# right), so only the buffers need LANES spare bytes. Measured on a 300 dpi
# A4 page turned 2.3 degrees (AMD EPYC, one core): 11.3 -> 8.0 ms gray,
# 19.3 -> 17.6 ms colour; 16 lanes were slower than either.
_LANES = 32
# Pass 2 makes this many output rows at a time, one column segment after another
# for all of them. Measured on a 300 dpi A4 page (AMD EPYC, one core, the whole
# rotation): colour 9.4 -> 7.4 ms at 2.3 degrees, 12.8 -> 10.7 at 4.9, 7.1 -> 6.1 at
# 0.2; gray 3.8 -> 3.7, 6.7 -> 6.4, 2.0 -> 1.9 ms.
_BATCH = 16


@njit(cache=True, nogil=True)
def _blend_run(sa, sb, dd, g, f):
    # dd = (sa g + sb f + 128) >> 8, g + f = 256. A function of its own (not inlined)
    # so that the three rows arrive as separate arrays: inlined into the callers,
    # the loop is not vectorised and runs about four times slower.
    for q in range(dd.shape[0]):
        dd[q] = np.uint8((np.int32(sa[q]) * g + np.int32(sb[q]) * f + np.int32(128)) >> np.int32(8))


@njit(cache=True, nogil=True, inline="always")
def _blend_edge(srow, sw, nch, drow, lo, hi, k, g, f, fill):
    # Output pixels lo .. hi - 1, where one of the two source samples may lie
    # outside the row and takes the fill colour instead.
    for i in range(lo, hi):
        p = k + i
        for c in range(nch):
            a = np.int32(srow[p * nch + c]) if p >= 0 and p < sw else np.int32(fill[c])
            b = np.int32(srow[(p + 1) * nch + c]) if p + 1 >= 0 and p + 1 < sw else np.int32(fill[c])
            drow[i * nch + c] = (a * g + b * f + 128) >> 8


@njit(cache=True, nogil=True, inline="always")
def _shear_row(srow, sw, nch, drow, dw, t, fill):
    # drow[i] = srow at (t + i), linear interpolation in 8-bit fixed point; samples
    # outside the source row take the fill colour.
    k = int(math.floor(t))
    f = int((t - k) * 256.0 + 0.5)
    if f == 256:
        k += 1
        f = 0
    g = 256 - f
    # interior: 0 <= k + i and k + i + 1 <= sw - 1; outside it, [0, lf) and
    # [rf, dw) lie wholly beyond the source (plain fill) and at most one pixel on
    # each side blends a source pixel with the fill.
    ia = min(max(0, -k), dw)
    ib = min(dw, sw - 1 - k)
    if ib < ia:
        ib = ia
    lf = min(max(0, -k - 1), ia)
    rf = min(max(sw - k, ib), dw)
    for i in range(lf):
        for c in range(nch):
            drow[i * nch + c] = fill[c]
    _blend_edge(srow, sw, nch, drow, lf, ia, k, g, f, fill)
    n = (ib - ia) * nch
    s0 = (k + ia) * nch
    _blend_run(srow[s0:s0 + n], srow[s0 + nch:s0 + nch + n], drow[ia * nch:ia * nch + n],
               np.int32(g), np.int32(f))
    _blend_edge(srow, sw, nch, drow, ib, rf, k, g, f, fill)
    for i in range(rf, dw):
        for c in range(nch):
            drow[i * nch + c] = fill[c]


@njit(cache=True, nogil=True)
def _three_shear_rows(src, nch, out, x0, y0, a0, a1, b0, b1, alpha, beta, cx, cy, fill, j0, j1):
    # The three passes row by row, so no intermediate page is ever stored.
    # Pass 1 (rows b0..b1 of the horizontal shear, columns a0..a1) goes into a ring
    # of R rows; pass 2 (vertical shear) builds each row from two ring rows per
    # column segment, _BATCH rows at a time; pass 3 (horizontal shear) turns each
    # of those rows into an output row. A batch of output rows j .. j + B - 1 needs
    # pass-1 rows j + kmin .. j + B + kmax, a window of R rows that slides down by B
    # per batch: the ring holds all of them and stays in cache (R x row bytes,
    # ~0.3 MB for a 2.3 degree A4 gray page at 300 dpi).
    # Only output rows j0 .. j1 - 1 are made (a band, with a ring of its own).
    sh, swb = src.shape
    sw = swb // nch
    oh, owb = out.shape
    ow = owb // nch
    pw = a1 - a0
    pwb = pw * nch
    p1h = b1 - b0
    kk = np.empty(pw, np.int64)
    fw = np.zeros(pwb + _LANES, np.uint8)  # f < 256 (f = 256 moves to the next row)
    for i in range(pw):
        t = beta * (a0 + i - cx) + y0 - b0
        k = int(math.floor(t))
        f = int((t - k) * 256.0 + 0.5)
        if f == 256:
            k += 1
            f = 0
        kk[i] = k
        for c in range(nch):
            fw[i * nch + c] = f
    kmin = kk.min()
    kmax = kk.max()
    nseg = 1
    for i in range(1, pw):
        if kk[i] != kk[i - 1]:
            nseg += 1
    s0 = np.empty(nseg, np.int64)
    s1 = np.empty(nseg, np.int64)
    sk = np.empty(nseg, np.int64)
    q = 0
    s0[0] = 0
    sk[0] = kk[0]
    for i in range(1, pw):
        if kk[i] != kk[i - 1]:
            s1[q] = i * nch
            q += 1
            s0[q] = i * nch
            sk[q] = kk[i]
    s1[q] = pwb
    # Pass 2 makes _BATCH output rows at a time, each column segment for all of
    # them in turn: the segment's bounds, ring rows and weights are found once per
    # batch instead of once per row (see _BATCH).
    nring = int(kmax - kmin + 1 + _BATCH)
    fring = np.zeros(nring * pwb + _LANES, np.uint8)
    ring = fring[:nring * pwb].reshape(nring, pwb)
    p2s = pwb + _LANES  # one pass-2 row with its spare bytes
    fp2 = np.empty(_BATCH * p2s, np.uint8)
    fillrow = np.empty(pwb, np.uint8)
    for b in range(pwb):
        fillrow[b] = fill[b % nch]
    done = max(0, j0 + kmin)  # next pass-1 row to compute (local rows; those before are not needed)
    for jb in range(j0, j1, _BATCH):
        nb = min(_BATCH, j1 - jb)
        need = min(jb + nb + kmax + 1, p1h)
        while done < need:
            rr = done % nring
            sy = b0 + done
            if sy < 0 or sy >= sh:
                ring[rr, :] = fillrow
            else:
                _shear_row(src[sy], sw, nch, ring[rr], pw, a0 + alpha * (sy - cy), fill)
            done += 1
        for q in range(nseg):
            a = s0[q]
            e = s1[q]
            r0 = jb + sk[q]
            ra = r0 % nring  # ring slot of pass-1 row r0 (Python's modulo: never negative)
            for jj in range(nb):
                r = r0 + jj
                if r >= 0 and r + 1 < p1h:
                    rb = ra + 1 if ra + 1 < nring else 0
                    ba = np.uint64(ra * pwb)
                    bb = np.uint64(rb * pwb)
                    bo = np.uint64(jj * p2s)
                    x = np.uint64(a)
                    while x < np.uint64(e):  # whole blocks of _LANES (see there)
                        for t in range(_LANES):
                            # a (256 - f) + b f + 128 = 256 a + (b - a) f + 128 lies in
                            # [0, 65408]: taken modulo 2**16 it is exact, and the loop
                            # runs in 16-bit lanes (measured 3.4 -> 1.9 ms for this pass
                            # on a 2.3 degree A4 page at 300 dpi, one core).
                            ux = x + np.uint64(t)
                            va = np.uint16(fring[ba + ux])
                            v = np.uint16((va << np.uint16(8)) + (np.uint16(fring[bb + ux]) - va)
                                          * np.uint16(fw[ux]) + np.uint16(128))
                            fp2[bo + ux] = np.uint8(v >> np.uint16(8))
                        x += np.uint64(_LANES)
                else:
                    for x in range(a, e):
                        f = np.int32(fw[x])
                        fc = np.int32(fillrow[x])
                        va = np.int32(ring[r % nring, x]) if 0 <= r < p1h else fc
                        vb = np.int32(ring[(r + 1) % nring, x]) if 0 <= r + 1 < p1h else fc
                        fp2[jj * p2s + x] = (va * (256 - f) + vb * f + 128) >> 8
                ra = ra + 1 if ra + 1 < nring else 0
        for jj in range(nb):
            j = jb + jj
            _shear_row(fp2[jj * p2s:(jj + 1) * p2s], pw, nch, out[j], ow, x0 + alpha * (y0 + j - cy) - a0, fill)


def source_matrix(angle_deg: float, flip: bool) -> tuple[float, float, float, float]:
    """Return ``(m00, m01, m10, m11)`` mapping corrected-frame offsets to source offsets."""
    a = math.radians(angle_deg)
    c, s = math.cos(a), math.sin(a)
    sign = -1.0 if flip else 1.0
    # Inverse of the forward rotation [[c, -s], [s, c]] is its transpose.
    return sign * c, sign * s, sign * -s, sign * c


def rotate_crop(image: np.ndarray, angle_deg: float, box: tuple[int, int, int, int] | None = None,
                *, flip: bool = False, fill: int | tuple[int, int, int] = 255, threads: int = 1) -> np.ndarray:
    """Rotate a page clockwise by ``angle_deg`` (and a half turn if ``flip``), then crop.

    Parameters
    ----------
    image : ndarray, uint8, shape (H, W) or (H, W, 3)
        The page.
    angle_deg : float
        Clockwise rotation on screen in degrees, within [-45, 45]. A page whose
        text rises to the right by ``a`` degrees is straightened by ``a``.
    box : tuple of int, optional
        ``(x0, y0, x1, y1)`` in the corrected frame (same size as the input),
        end-exclusive; the whole frame if omitted. Must lie inside the frame.
    flip : bool
        Also turn the page by 180 degrees (upside-down correction).
    fill : int or tuple of 3 int
        Colour for areas that come from outside the source (the paper's colour).
    threads : int
        Bands of output rows made side by side on this many threads
        (:mod:`imaging.bands`); the result is the same for any number.

    Returns
    -------
    ndarray, uint8, shape (y1 - y0, x1 - x0) or (y1 - y0, x1 - x0, 3)

    Raises
    ------
    ImageError
        On an invalid page, an angle out of range, a box outside the frame or
        empty, or a fill that does not match the channel count.
    """
    threads = check_int(threads, "threads", 1, 64)
    plan = plan_rotation(image, angle_deg, box, flip=flip, fill=fill)
    bands.run([partial(plan.rows, j0, j1) for j0, j1 in bands.split(plan.height, threads)])
    return plan.result()


def plan_rotation(image: np.ndarray, angle_deg: float, box: tuple[int, int, int, int] | None = None,
                  *, flip: bool = False, fill: int | tuple[int, int, int] = 255) -> "Rotation":
    """:func:`rotate_crop`'s arguments checked, its rows not yet made (see :class:`Rotation`).

    Raises
    ------
    ImageError
        As :func:`rotate_crop`.
    """
    img = check_page(image)
    h, w = img.shape[:2]
    a = float(angle_deg)
    if not (math.isfinite(a) and -45.0 <= a <= 45.0):
        raise ImageError(f"angle {angle_deg!r} is out of range [-45, 45] degrees")
    x0, y0, x1, y1 = (0, 0, w, h) if box is None else (int(v) for v in box)
    if not (0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h):
        raise ImageError(f"crop box {box!r} is empty or outside the {w}x{h} frame")
    nch = 1 if img.ndim == 2 else 3
    fills = np.array([fill] * nch if np.isscalar(fill) else fill, dtype=np.int64).ravel()
    if fills.size != nch or fills.min() < 0 or fills.max() > 255:
        raise ImageError(f"fill {fill!r} must be {nch} value(s) in 0..255")
    if flip and a != 0.0:
        # A half turn about the centre maps box (x0, y0, x1, y1) to its mirror image.
        x0, y0, x1, y1 = w - x1, h - y1, w - x0, h - y0
    return Rotation(img, nch, a, (x0, y0, x1, y1), flip, fills.astype(np.uint8))


class Rotation:
    """One rotation + crop, made a band of output rows at a time (:func:`rotate_crop`
    checks the arguments and makes every band; the pipeline makes some bands beside
    other work). Bands may be made in any order and on any threads."""

    def __init__(self, img: np.ndarray, nch: int, angle: float, box: tuple[int, int, int, int], flip: bool,
                 fill: np.ndarray):
        h, w = img.shape[:2]
        x0, y0, x1, y1 = box
        self._flip = flip
        self.height = y1 - y0
        self._shape = (y1 - y0, x1 - x0) if nch == 1 else (y1 - y0, x1 - x0, 3)
        if angle == 0.0:
            # A pure crop (and half turn) needs no interpolation: rows are copied.
            self._src = img[h - y1:h - y0, w - x1:w - x0][::-1, ::-1] if flip else img[y0:y1, x0:x1]
            self._out = np.empty(self._shape, np.uint8)
            self._shear = None
            return
        cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
        th = math.radians(angle)
        alpha = math.tan(th / 2.0)
        beta = -math.sin(th)
        # Pass 3 reads pass 2 at x + alpha (y - cy): the columns it needs, one spare each side.
        ex = (alpha * (y0 - cy), alpha * (y1 - 1 - cy))
        a0 = int(math.floor(x0 + min(ex))) - 1
        a1 = int(math.ceil(x1 - 1 + max(ex))) + 2
        # Pass 2 reads pass 1 at y + beta (x - cx): the rows it needs.
        ey = (beta * (a0 - cx), beta * (a1 - 1 - cx))
        b0 = int(math.floor(y0 + min(ey))) - 1
        b1 = int(math.ceil(y1 - 1 + max(ey))) + 2
        self._out = np.empty((y1 - y0, (x1 - x0) * nch), np.uint8)
        self._shear = (img.reshape(h, w * nch), nch, self._out, x0, y0, a0, a1, b0, b1, alpha, beta, cx, cy, fill)

    def rows(self, j0: int, j1: int) -> None:
        """Make output rows ``j0 .. j1 - 1`` (before the half turn of ``flip``)."""
        if self._shear is None:
            self._out[j0:j1] = self._src[j0:j1]
        else:
            _three_shear_rows(*self._shear, j0, j1)

    def result(self) -> np.ndarray:
        """The page, once every row is made."""
        out = self._out.reshape(self._shape)
        return np.ascontiguousarray(out[::-1, ::-1]) if self._flip and self._shear is not None else out


@njit(cache=True, nogil=True)
def _turn90(src, nch, out, clockwise):
    # src: (h, w * nch) bytes, out: (w, h * nch). Tiles of 64 x 64 pixels keep both
    # the rows read and the rows written in cache.
    h = src.shape[0]
    w = src.shape[1] // nch
    tile = 64
    for by in range(0, h, tile):
        for bx in range(0, w, tile):
            for y in range(by, min(h, by + tile)):
                srow = src[y]
                for x in range(bx, min(w, bx + tile)):
                    if clockwise:
                        oy = x
                        ox = h - 1 - y
                    else:
                        oy = w - 1 - x
                        ox = y
                    for c in range(nch):
                        out[oy, ox * nch + c] = srow[x * nch + c]


def turn(image: np.ndarray, degrees: int) -> np.ndarray:
    """Turn a page clockwise by a multiple of 90 degrees (exact: pixels are only moved).

    Parameters
    ----------
    image : ndarray, uint8, shape (H, W) or (H, W, 3)
    degrees : int
        0, 90, 180 or 270.

    Returns
    -------
    ndarray, uint8, shape (H, W[, 3]) for 0 and 180, (W, H[, 3]) for 90 and 270
        ``np.rot90(image, -degrees // 90)``, C-contiguous; the input itself for 0.

    Raises
    ------
    ImageError
        On an invalid page or angle.
    """
    img = check_page(image)
    if degrees not in (0, 90, 180, 270):
        raise ImageError(f"turn {degrees!r} must be 0, 90, 180 or 270 degrees")
    if degrees == 0:
        return img
    if degrees == 180:
        return np.ascontiguousarray(img[::-1, ::-1])
    h, w = img.shape[:2]
    nch = 1 if img.ndim == 2 else 3
    out = np.empty((w, h * nch), np.uint8)
    _turn90(img.reshape(h, w * nch), nch, out, degrees == 90)
    return out.reshape((w, h) if nch == 1 else (w, h, 3))
