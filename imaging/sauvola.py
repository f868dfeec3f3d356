"""Sauvola local-threshold binarization with streaming window sums.

For every pixel the mean ``m`` and standard deviation ``s`` of a ``window x
window`` neighbourhood give the threshold ``T = m (1 + k (s / r - 1))`` (Sauvola
and Pietikainen 2000). A pixel brighter than ``T`` is paper (255), the others ink
(0). Image borders are mirrored without repeating the edge pixel (numpy's
``"reflect"`` padding), exactly as scikit-image's ``threshold_sauvola``.

Instead of two full-size integral images (2 x 8 bytes per pixel) the kernel keeps
running column sums over the window's rows and takes a prefix sum along each row:
O(1) work per pixel and O(width) memory. Sum and sum of squares are packed into
one 64-bit word, so a single running sum serves both. Sums are exact integers; the threshold
arithmetic is the same float64 sequence as scikit-image, so both agree on every
pixel up to floating-point ties.

References
----------
J. Sauvola and M. Pietikainen, "Adaptive document image binarization",
Pattern Recognition 33(2), 2000, pp. 225-236.
F. Shafait, D. Keysers, T. M. Breuel, "Efficient implementation of local adaptive
thresholding techniques using integral images", Proc. SPIE 6815, 2008.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from imaging.checks import check_gray, check_int
from imaging.errors import ImageError


@njit(cache=True, nogil=True, inline="always")
def _reflect(i, n):
    if n == 1:
        return 0
    period = 2 * n - 2
    i = i % period
    if i >= n:
        i = period - i
    return i


@njit(cache=True, nogil=True)
def _update_cols(col, add, sub):
    sh = np.uint64(40)
    for x in range(col.shape[0]):
        a = np.uint64(add[x])
        b = np.uint64(sub[x])
        col[x] += ((a << sh) | (a * a)) - ((b << sh) | (b * b))


@njit(cache=True, nogil=True)
def _prefix(colx, ps):
    # ps[i + 1] = colx[0] + ... + colx[i] (ps[0] stays 0).
    acc = np.uint64(0)
    for i in range(colx.shape[0]):
        acc += colx[i]
        ps[i + 1] = acc


@njit(cache=True, nogil=True, fastmath={"nnan", "ninf", "nsz"})
def _threshold_row(row, hi, lo, n, omk, c2, orow):
    # img > m (1 + k (s / r - 1)) without sqrt or division: with S, Q the
    # window sums and V = n Q - S^2 (so s = sqrt(V) / n), it is
    # L = n (n img - (1 - k) S) > (k / r) S sqrt(V)  <=>  L > 0 and L^2 > c^2 S^2 V.
    # ``hi`` and ``lo`` are the packed prefixes at the window's two ends, passed as
    # two aligned slices: indexing one array at ``x + win`` inside the loop keeps
    # it from being vectorised (measured 2.5x slower). Bitwise & of the two tests
    # keeps the loop branch-free.
    sh = np.uint64(40)
    low = np.uint64((1 << 40) - 1)
    for x in range(orow.shape[0]):
        d = hi[x] - lo[x]
        s1 = float(np.int64(d >> sh))
        s2 = float(np.int64(d & low))
        lhs = n * (n * float(row[x]) - omk * s1)
        v = max(n * s2 - s1 * s1, 0.0)
        orow[x] = np.uint8(255) * np.uint8((lhs > 0.0) & (lhs * lhs > c2 * s1 * s1 * v))


@njit(cache=True, nogil=True, fastmath={"nnan", "ninf", "nsz"})
def _sauvola(img, win, k, r, out):
    h, w = img.shape
    half = win // 2
    n = float(win * win)
    omk = 1.0 - k
    # Sum and sum of squares travel packed in one uint64, ``v << 40 | v * v``: one
    # running sum instead of two. The packing is linear modulo 2**64, so a window
    # difference of packed prefixes is exactly ``S << 40 | Q`` however the prefixes
    # wrap, because the window's Q (at most 181**2 * 255**2 < 2**31) fits in the low
    # 40 bits and its S (< 2**24) in the high 24.
    sh = np.uint64(40)
    low = np.uint64((1 << 40) - 1)
    ext = w + 2 * half
    colx = np.zeros(ext, np.uint64)  # column sums, with ``half`` mirrored columns each side
    col = colx[half:half + w]
    for dy in range(-half, half + 1):
        row = img[_reflect(dy, h)]
        for x in range(w):
            v = np.uint64(row[x])
            col[x] += (v << sh) | (v * v)
    ps = np.zeros(ext + 1, np.uint64)
    c2 = (k / r) * (k / r)
    for y in range(h):
        if y > 0:
            add = img[_reflect(y + half, h)]
            sub = img[_reflect(y - half - 1, h)]
            _update_cols(colx[half:half + w], add, sub)
        # Mirror the column sums into the margins, then one prefix sum over the
        # padded row (functions of their own: faster than the same loops inlined).
        for i in range(half):
            colx[i] = colx[half + _reflect(i - half, w)]
            colx[half + w + i] = colx[half + _reflect(w + i, w)]
        _prefix(colx, ps)
        row = img[y]
        orow = out[y]
        if k >= 0.0:
            _threshold_row(row, ps[win:win + w], ps[:w], n, omk, c2, orow)
        else:
            for x in range(w):
                d = ps[x + win] - ps[x]
                m = float(np.int64(d >> sh)) / n
                g2 = float(np.int64(d & low)) / n
                t = m * (1.0 + k * ((math.sqrt(max(g2 - m * m, 0.0)) / r) - 1.0))
                orow[x] = 255 if row[x] > t else 0


def sauvola(gray: np.ndarray, window: int = 25, k: float = 0.2, r: float = 127.5) -> np.ndarray:
    """Binarize a gray page with Sauvola's local threshold.

    Parameters
    ----------
    gray : ndarray, uint8, shape (H, W)
        The page.
    window : int
        Odd side of the square neighbourhood in pixels, 3 to 181.
    k : float
        Sauvola's sensitivity, -1 to 1 (0.2 is the usual value for text; larger
        keeps less ink).
    r : float
        Dynamic range of the standard deviation; 127.5 for 8-bit images, as
        scikit-image's default for uint8.

    Returns
    -------
    ndarray, uint8, shape (H, W)
        255 where ``gray > T`` (paper), 0 elsewhere (ink). Equal to
        ``np.where(gray > skimage.filters.threshold_sauvola(gray, window, k, r), 255, 0)``.

    Raises
    ------
    ImageError
        On an invalid page, an even or out-of-range window, or k / r out of range.
    """
    img = check_gray(gray)
    win = check_int(window, "window", 3, 181)
    if win % 2 == 0:
        raise ImageError(f"window must be odd, got {win}")
    kf = float(k)
    rf = float(r)
    if not (math.isfinite(kf) and -1.0 <= kf <= 1.0):
        raise ImageError(f"k must be within [-1, 1], got {k!r}")
    if not (math.isfinite(rf) and rf > 0):
        raise ImageError(f"r must be positive, got {r!r}")
    out = np.empty_like(img)
    _sauvola(img, win, kf, rf, out)
    return out
