"""Rotation of a full-resolution page by a small angle (and 180 degrees), fused with crop.

Method: Paeth's three-shear rotation. A rotation is the product of a horizontal
shear by ``tan(a / 2)``, a vertical shear by ``-sin(a)`` and the same horizontal
shear again. Each shear moves whole rows (or columns) by one offset, so each pass
is a 1-D linear interpolation with weights that are constant along a row (or
along a run of columns): contiguous, vectorisable loops over 8-bit samples with
8-bit fixed-point weights. The three passes together differ from OpenCV's
bilinear ``warpAffine`` by about half a grey level on average. Areas that come
from outside the source take the fill colour. Only the region needed for the
crop box is computed in each pass.

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

import numpy as np
from numba import njit

from imaging.checks import check_page
from imaging.errors import ImageError


@njit(cache=True, nogil=True)
def _shear_rows(src, sx0, sy0, nch, dst, dx0, dy0, alpha, cy, fill):
    # dst[j, i] = src at absolute (dx0 + i + alpha * (dy0 + j - cy), dy0 + j); rows are
    # flat runs of nch bytes per pixel, so a whole-pixel shift is a contiguous slice.
    sh, swb = src.shape
    sw = swb // nch
    dh, dwb = dst.shape
    dw = dwb // nch
    for j in range(dh):
        drow = dst[j]
        r = dy0 + j - sy0
        if r < 0 or r >= sh:
            for b in range(dwb):
                drow[b] = fill[b % nch]
            continue
        srow = src[r]
        t = dx0 + alpha * (dy0 + j - cy) - sx0   # src index of dst pixel 0
        k = int(math.floor(t))
        f = int((t - k) * 256.0 + 0.5)
        if f == 256:
            k += 1
            f = 0
        g = 256 - f
        # interior: 0 <= k + i and k + i + 1 <= sw - 1
        ia = max(0, -k)
        ib = min(dw, sw - 1 - k)
        if ib < ia:
            ib = ia
        for i in range(ia):
            p = k + i
            for c in range(nch):
                a = np.int32(srow[p * nch + c]) if p >= 0 and p < sw else np.int32(fill[c])
                b = np.int32(srow[(p + 1) * nch + c]) if p + 1 >= 0 and p + 1 < sw else np.int32(fill[c])
                drow[i * nch + c] = (a * g + b * f + 128) >> 8
        n = (ib - ia) * nch
        s0 = (k + ia) * nch
        sa = srow[s0:s0 + n]
        sb = srow[s0 + nch:s0 + nch + n]
        dd = drow[ia * nch:ia * nch + n]
        g32 = np.int32(g)
        f32 = np.int32(f)
        for q in range(n):
            dd[q] = np.uint8((np.int32(sa[q]) * g32 + np.int32(sb[q]) * f32 + np.int32(128)) >> np.int32(8))
        for i in range(ib, dw):
            p = k + i
            for c in range(nch):
                a = np.int32(srow[p * nch + c]) if p >= 0 and p < sw else np.int32(fill[c])
                b = np.int32(srow[(p + 1) * nch + c]) if p + 1 >= 0 and p + 1 < sw else np.int32(fill[c])
                drow[i * nch + c] = (a * g + b * f + 128) >> 8

@njit(cache=True, nogil=True)
def _shear_cols(src, sx0, sy0, nch, dst, dx0, dy0, beta, cx, fill):
    # dst[j, i] = src at absolute (dx0 + i, dy0 + j + beta * (dx0 + i - cx)). Columns
    # with the same whole-row offset form segments; within one, a row of dst is a
    # blend of two contiguous source rows. Flat unsigned indices keep the inner
    # loop free of views and of negative-index checks, so it vectorises.
    sh, swb = src.shape
    dh, dwb = dst.shape
    dw = dwb // nch
    kk = np.empty(dw, np.int64)
    fw = np.empty(dwb, np.int32)
    for i in range(dw):
        t = beta * (dx0 + i - cx) + dy0 - sy0
        k = int(math.floor(t))
        f = int((t - k) * 256.0 + 0.5)
        if f == 256:
            k += 1
            f = 0
        kk[i] = k
        for c in range(nch):
            fw[i * nch + c] = f
    nseg = 1
    for i in range(1, dw):
        if kk[i] != kk[i - 1]:
            nseg += 1
    s0 = np.empty(nseg, np.int64)
    s1 = np.empty(nseg, np.int64)
    sk = np.empty(nseg, np.int64)
    q = 0
    s0[0] = 0
    sk[0] = kk[0]
    for i in range(1, dw):
        if kk[i] != kk[i - 1]:
            s1[q] = i * nch
            q += 1
            s0[q] = i * nch
            sk[q] = kk[i]
    s1[q] = dw * nch
    xoff = (dx0 - sx0) * nch
    fs = src.ravel()
    fd = dst.ravel()
    for j in range(dh):
        ob = np.uint64(j * dwb)
        for q in range(nseg):
            r = j + sk[q]
            a = s0[q]
            b = s1[q]
            if r >= 0 and r + 1 < sh:
                base = np.uint64(r * swb + xoff)
                for bb in range(a, b):
                    ub = np.uint64(bb)
                    f = fw[ub]
                    fd[ob + ub] = np.uint8((np.int32(fs[base + ub]) * (np.int32(256) - f)
                                            + np.int32(fs[base + ub + np.uint64(swb)]) * f
                                            + np.int32(128)) >> np.int32(8))
            else:
                for bb in range(a, b):
                    f = fw[bb]
                    fc = np.int32(fill[bb % nch])
                    va = np.int32(src[r, bb + xoff]) if 0 <= r < sh else fc
                    vb = np.int32(src[r + 1, bb + xoff]) if 0 <= r + 1 < sh else fc
                    dst[j, bb] = (va * (256 - f) + vb * f + 128) >> 8


def source_matrix(angle_deg: float, flip: bool) -> tuple[float, float, float, float]:
    """Return ``(m00, m01, m10, m11)`` mapping corrected-frame offsets to source offsets."""
    a = math.radians(angle_deg)
    c, s = math.cos(a), math.sin(a)
    sign = -1.0 if flip else 1.0
    # Inverse of the forward rotation [[c, -s], [s, c]] is its transpose.
    return sign * c, sign * s, sign * -s, sign * c


def rotate_crop(image: np.ndarray, angle_deg: float, box: tuple[int, int, int, int] | None = None,
                *, flip: bool = False, fill: int | tuple[int, int, int] = 255) -> np.ndarray:
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

    Returns
    -------
    ndarray, uint8, shape (y1 - y0, x1 - x0) or (y1 - y0, x1 - x0, 3)

    Raises
    ------
    ImageError
        On an invalid page, an angle out of range, a box outside the frame or
        empty, or a fill that does not match the channel count.
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
    if a == 0.0:
        # A pure crop (and half turn) needs no interpolation: copy the slice.
        if flip:
            sub = img[h - y1:h - y0, w - x1:w - x0][::-1, ::-1]
        else:
            sub = img[y0:y1, x0:x1]
        return np.ascontiguousarray(sub)
    if flip:
        # A half turn about the centre maps box (x0, y0, x1, y1) to its mirror image.
        x0, y0, x1, y1 = w - x1, h - y1, w - x0, h - y0
    out = _three_shear(img.reshape(h, w * nch), nch, w, h, a, (x0, y0, x1, y1), fills.astype(np.uint8))
    out = out.reshape((y1 - y0, x1 - x0) if nch == 1 else (y1 - y0, x1 - x0, 3))
    return np.ascontiguousarray(out[::-1, ::-1]) if flip else out


def _three_shear(src: np.ndarray, nch: int, w: int, h: int, angle_deg: float,
                 box: tuple[int, int, int, int], fill: np.ndarray) -> np.ndarray:
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    th = math.radians(angle_deg)
    alpha = math.tan(th / 2.0)
    beta = -math.sin(th)
    x0, y0, x1, y1 = box
    # Pass 3 reads pass 2 at x + alpha (y - cy): the columns it needs, one spare each side.
    ex = (alpha * (y0 - cy), alpha * (y1 - 1 - cy))
    a0 = int(math.floor(x0 + min(ex))) - 1
    a1 = int(math.ceil(x1 - 1 + max(ex))) + 2
    # Pass 2 reads pass 1 at y + beta (x - cx): the rows it needs.
    ey = (beta * (a0 - cx), beta * (a1 - 1 - cx))
    b0 = int(math.floor(y0 + min(ey))) - 1
    b1 = int(math.ceil(y1 - 1 + max(ey))) + 2
    p1 = np.empty((b1 - b0, (a1 - a0) * nch), np.uint8)
    _shear_rows(src, 0, 0, nch, p1, a0, b0, alpha, cy, fill)
    p2 = np.empty((y1 - y0, (a1 - a0) * nch), np.uint8)
    _shear_cols(p1, a0, b0, nch, p2, a0, y0, beta, cx, fill)
    del p1  # lower the peak: pass 3 needs only pass 2
    out = np.empty((y1 - y0, (x1 - x0) * nch), np.uint8)
    _shear_rows(p2, a0, y0, nch, out, x0, y0, alpha, cy, fill)
    return out
