"""Sauvola local-threshold binarization with streaming window sums.

For every pixel the mean ``m`` and standard deviation ``s`` of a ``window x
window`` neighbourhood give the threshold ``T = m (1 + k (s / r - 1))`` (Sauvola
and Pietikainen 2000). A pixel brighter than ``T`` is paper (255), the others ink
(0). Image borders are mirrored without repeating the edge pixel (numpy's
``"reflect"`` padding), exactly as scikit-image's ``threshold_sauvola``.

Instead of two full-size integral images (2 x 8 bytes per pixel) the kernel keeps
running column sums over the window's rows and takes a prefix sum along each row:
O(1) work per pixel and O(width) memory. Sums are exact integers; the threshold
arithmetic is the same float64 sequence as scikit-image, so both agree on every
pixel up to floating-point ties.

Most of a page is plain paper, far from any ink. The page is first cut into
tiles, and a tile whose darkest pixel is brighter than any threshold its
neighbourhood's range allows (see ``_paper_tiles``) is paper without a window
sum: only the other tiles get column sums, prefix sums and the test. The ink
runs the despeckling needs are cut in the same pass, from the row just made.

References
----------
J. Sauvola and M. Pietikainen, "Adaptive document image binarization",
Pattern Recognition 33(2), 2000, pp. 225-236.
F. Shafait, D. Keysers, T. M. Breuel, "Efficient implementation of local adaptive
thresholding techniques using integral images", Proc. SPIE 6815, 2008.
T. Popoviciu, "Sur les equations algebriques ayant toutes leurs racines reelles",
Mathematica 9, 1935 (variance of values in [a, b] is at most (b - a)^2 / 4).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import TypeVar

import numpy as np
from numba import njit

from imaging import bands
from imaging.checks import check_gray, check_int
from imaging.errors import ImageError
from imaging.runs import Runs, _grow, cut_word_runs, join_runs, lowest_bit_table

T = TypeVar("T")

# Rows and columns of the tiles tested for sure paper. Smaller tiles find more
# paper between text lines but cost more to test and to walk: on the bench's 300
# dpi page 8 x 16 tiles find 61 % paper and 16 x 16 ones 52 %, in the same time.
# TILE_COLS is 16: the tile ranges fold each tile's columns in four halvings.
TILE_ROWS = 16
TILE_COLS = 16
# Narrower gaps of sure paper between tiles to test are tested too. A stretch
# ends with a prefix sum over ``window - 1`` extra columns and a new one starts
# with loop heads and tails: on the bench's 300 dpi text and table pages a gap
# of up to five tiles costs less tested than split (6: 10.8 ms, 2: 11.3 ms).
MIN_GAP = 6
# Rounds of bands when the page is binarized on several threads: 4, 4, 2, 2, 1, 1
# fourteenths of the page on two (bands.split_tapering). On the bench's 300 dpi page,
# with the second core shared with a process busy a quarter of the time, two halves
# took 7.0 ms and these bands 6.4 (equal sixths 6.7); with both cores idle 5.1-5.2
# ms each (equal sixths 5.3: every band costs its window's first rows and its
# neighbours' tile ranges again, and the join more runs).
BAND_ROUNDS = 3


@njit(cache=True, nogil=True, inline="always")
def _reflect(i, n):
    if n == 1:
        return 0
    period = 2 * n - 2
    i = i % period
    if i >= n:
        i = period - i
    return i


# Sum and sum of squares travel packed in one uint64, ``v << 40 | v * v``: one
# running sum instead of two. The packing is linear modulo 2**64, so a window
# difference of packed prefixes is exactly ``S << 40 | Q`` however the prefixes
# wrap, because the window's Q (at most 181**2 * 255**2 < 2**31) fits in the low
# 40 bits and its S (< 2**24) in the high 24. (Column sums kept as two int32
# arrays update faster but make the prefix sums slower: no gain overall.)
_SH = 40
_LOW = (1 << 40) - 1


@njit(cache=True, nogil=True)
def _add_cols(col, add):
    sh = np.uint64(_SH)
    for x in range(col.shape[0]):
        a = np.uint64(add[x])
        col[x] += (a << sh) | (a * a)


@njit(cache=True, nogil=True)
def _update_cols(col, add, sub):
    sh = np.uint64(_SH)
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
    sh = np.uint64(_SH)
    low = np.uint64(_LOW)
    for x in range(orow.shape[0]):
        d = hi[x] - lo[x]
        s1 = float(np.int64(d >> sh))
        s2 = float(np.int64(d & low))
        lhs = n * (n * float(row[x]) - omk * s1)
        v = max(n * s2 - s1 * s1, 0.0)
        orow[x] = np.uint8(255) * np.uint8((lhs > 0.0) & (lhs * lhs > c2 * s1 * s1 * v))


@njit(cache=True, nogil=True, fastmath={"nnan", "ninf", "nsz"})
def _threshold_row_sqrt(row, hi, lo, n, k, r, orow):
    # The test for k < 0, where the sqrt-free form does not hold: scikit-image's
    # arithmetic as it is.
    sh = np.uint64(_SH)
    low = np.uint64(_LOW)
    for x in range(orow.shape[0]):
        d = hi[x] - lo[x]
        m = float(np.int64(d >> sh)) / n
        g2 = float(np.int64(d & low)) / n
        t = m * (1.0 + k * ((math.sqrt(max(g2 - m * m, 0.0)) / r) - 1.0))
        orow[x] = 255 if row[x] > t else 0


@njit(cache=True, nogil=True)
def _band_range(img, y0, y1, cmin, cmax):
    # Per column, the least and greatest value of rows y0 .. y1 - 1.
    first = img[y0]
    for x in range(first.shape[0]):
        cmin[x] = first[x]
        cmax[x] = first[x]
    for y in range(y0 + 1, y1):
        row = img[y]
        for x in range(row.shape[0]):
            cmin[x] = min(cmin[x], row[x])
            cmax[x] = max(cmax[x], row[x])


@njit(cache=True, nogil=True)
def _pair_min(a, out, s, n):
    # out[x] = the least of a[x] and a[x + s]: one step of a tree over each tile.
    for x in range(n):
        out[x] = min(a[x], a[x + s])


@njit(cache=True, nogil=True)
def _pair_max(a, out, s, n):
    for x in range(n):
        out[x] = max(a[x], a[x + s])


@njit(cache=True, nogil=True)
def _tile_ranges(img, th, tw, tmin, tmax):
    # Least and greatest value of each tile of img, one row of tmin per tile row (tw is 16).
    # Per tile row: each column's range over the tile's rows, then four whole-row
    # halvings, after which column x holds the range of columns x .. x + 15
    # (vectorised; a loop over each tile's columns is not, and took 0.4 of the
    # 0.65 ms of these ranges). Written out step by step: the same steps in a
    # loop, or with the buffers swapped by variable, ran over ten times slower.
    h, w = img.shape
    ntx = tmin.shape[1]
    n = ntx * tw
    # Columns past the page hold the values that change no least or greatest.
    cmin = np.full(n + tw, 255, np.uint8)
    cmax = np.zeros(n + tw, np.uint8)
    t1 = np.empty(n + tw, np.uint8)
    t2 = np.empty(n + tw, np.uint8)
    for ty in range(tmin.shape[0]):
        _band_range(img, ty * th, min(h, ty * th + th), cmin[:w], cmax[:w])
        _pair_min(cmin, t1, 1, n)
        _pair_min(t1, t2, 2, n)
        _pair_min(t2, t1, 4, n)
        _pair_min(t1, t2, 8, n)
        for tx in range(ntx):
            tmin[ty, tx] = t2[tx * tw]
        _pair_max(cmax, t1, 1, n)
        _pair_max(t1, t2, 2, n)
        _pair_max(t2, t1, 4, n)
        _pair_max(t1, t2, 8, n)
        for tx in range(ntx):
            tmax[ty, tx] = t2[tx * tw]


def _paper_tiles(img: np.ndarray, half: int, k: float, r: float) -> np.ndarray:
    """Sure-paper tiles of ``img`` (see ``_paper_of``)."""
    th, tw = TILE_ROWS, TILE_COLS
    paper = np.empty((-(-img.shape[0] // th), -(-img.shape[1] // tw)), np.bool_)
    _band_paper(img, half, k, r, 0, paper.shape[0], paper)
    return paper


def _band_paper(img: np.ndarray, half: int, k: float, r: float, ta: int, tb: int, paper: np.ndarray) -> None:
    """Fill tile rows ``ta .. tb - 1`` of ``paper`` (a band's, made on its own thread):
    from the ranges of those tile rows and of the ``half`` pixels' worth of tile rows
    round them, the same rows the whole page's test gives."""
    th, tw = TILE_ROWS, TILE_COLS
    nty, ntx = paper.shape
    ry = (half + th - 1) // th
    a, b = max(0, ta - ry), min(nty, tb + ry)
    tmin = np.empty((b - a, ntx), np.int64)
    tmax = np.empty((b - a, ntx), np.int64)
    _tile_ranges(img[a * th:min(img.shape[0], b * th)], th, tw, tmin, tmax)
    paper[ta:tb] = _paper_of(tmin, tmax, th, tw, half, k, r)[ta - a:tb - a]


@njit(cache=True, nogil=True)
def _paper_of(tmin, tmax, th, tw, half, k, r):
    # True for a tile whose every pixel is paper whatever its window holds. With M
    # and L the greatest and least value within ``half`` of the tile (mirrored
    # pixels are among them), every window there has m <= M and, its values lying
    # in [L, M], s <= (M - L) / 2 (Popoviciu); T grows with m and, for k >= 0, with
    # s, so for 0 <= k <= 1 T <= M (1 - k) + M k (M - L) / (2 r), and for k < 0
    # T <= M (1 - k). A tile whose least value exceeds that bound by a full grey
    # level is paper; the margin dwarfs the rounding of the exact test, so a skipped
    # pixel is one the exact test would have made paper too.
    nty, ntx = tmin.shape
    # Range over the tiles within ``half`` pixels: across, then down (separable),
    # each a whole row of tiles at a time (vectorised).
    ry = (half + th - 1) // th
    rx = (half + tw - 1) // tw
    amin = tmin.copy()
    amax = tmax.copy()
    for i in range(1, rx + 1):
        for ty in range(nty):
            _reach(amin[ty], amax[ty], tmin[ty], tmax[ty], i)
    least = amin.copy()
    big = amax.copy()
    for j in range(1, ry + 1):
        for ty in range(nty - j):
            _meet(least[ty], big[ty], amin[ty + j], amax[ty + j])
            _meet(least[ty + j], big[ty + j], amin[ty], amax[ty])
    paper = np.empty((nty, ntx), np.bool_)
    for ty in range(nty):
        for tx in range(ntx):
            bound = big[ty, tx] * (1.0 - k)
            if k > 0.0:
                bound += big[ty, tx] * k * (big[ty, tx] - least[ty, tx]) / (2.0 * r)
            paper[ty, tx] = tmin[ty, tx] > bound + 1.0
    return paper


@njit(cache=True, nogil=True)
def _reach(lo, hi, smin, smax, i):
    # Tiles i apart within a row of tiles take in each other's range.
    for tx in range(lo.shape[0] - i):
        lo[tx] = min(lo[tx], smin[tx + i])
        hi[tx] = max(hi[tx], smax[tx + i])
        lo[tx + i] = min(lo[tx + i], smin[tx])
        hi[tx + i] = max(hi[tx + i], smax[tx])


@njit(cache=True, nogil=True)
def _meet(lo, hi, smin, smax):
    # A row of tiles takes in another's range.
    for tx in range(lo.shape[0]):
        lo[tx] = min(lo[tx], smin[tx])
        hi[tx] = max(hi[tx], smax[tx])


@njit(cache=True, nogil=True)
def _sauvola(img, win, k, r, th, tw, gap, paper, out, words, want_runs, y0, y1):
    # Row by row: running column sums over the window's rows, then for each
    # stretch of tiles that are not sure paper a prefix sum of the column sums, the
    # threshold test and (``want_runs``) its ink runs while the row is in cache;
    # sure-paper stretches are set to 255. Column sums are kept for every column:
    # keeping only those a band needs saved nothing on text pages (the tiles near
    # ink, a window away on each side, and the sums made afresh cost as much).
    # Only rows y0 .. y1 - 1 are made (a band: the rows above and below it are
    # read, never written); ``rowstart`` is the band's own, from 0.
    h, w = img.shape
    half = win // 2
    n = float(win * win)
    omk = 1.0 - k
    c2 = (k / r) * (k / r)
    ext = w + 2 * half
    colx = np.zeros(ext, np.uint64)  # column sums, with ``half`` mirrored columns each side
    col = colx[half:half + w]
    # The columns the margins mirror, found once (_reflect divides).
    left = np.empty(half, np.int64)
    right = np.empty(half, np.int64)
    for i in range(half):
        left[i] = half + _reflect(i - half, w)
        right[i] = half + _reflect(w + i, w)
    ps = np.zeros(ext + 1, np.uint64)
    nty, ntx = paper.shape
    prow = np.zeros(ntx, np.bool_)  # this band's sure paper (a copy: see below)
    table = lowest_bit_table()
    per_row = (w + 1) // 2 if want_runs else 0
    cap = 4 * (y1 - y0) + per_row if want_runs else 1
    ry = np.empty(cap, np.int32)
    rs = np.empty(cap, np.int32)
    re = np.empty(cap, np.int32)
    rowstart = np.zeros(y1 - y0 + 1, np.int64)
    kk = 0
    for dy in range(-half, half + 1):
        _add_cols(col, img[_reflect(y0 + dy, h)])
    for y in range(y0, y1):
        if y > y0:
            _update_cols(col, img[_reflect(y + half, h)], img[_reflect(y - half - 1, h)])
        # Mirror the column sums into the margins.
        for i in range(half):
            colx[i] = colx[left[i]]
            colx[half + w + i] = colx[right[i]]
        if y % th == 0 or y == y0:
            # A copy, not a view of ``paper``: with a view the compiled loops must
            # allow for the row writes reaching it (measured 40 % slower). Gaps of
            # sure paper narrower than ``gap`` tiles are tested all the same (see
            # MIN_GAP): only the gap's pixels are tested for nothing.
            prow[:] = paper[y // th]
            tx = 0
            while tx < ntx:
                t0 = tx
                while tx < ntx and prow[tx]:
                    tx += 1
                if 0 < t0 and tx < ntx and tx - t0 < gap:
                    prow[t0:tx] = False
                tx += 1
        row = img[y]
        orow = out[y]
        if want_runs:
            rowstart[y - y0] = kk
            if kk + per_row > cap:
                cap = 2 * cap + per_row
                ry = _grow(ry, cap)
                rs = _grow(rs, cap)
                re = _grow(re, cap)
        tx = 0
        while tx < ntx:
            t0 = tx
            sure = prow[tx]
            while tx < ntx and prow[tx] == sure:
                tx += 1
            xa = t0 * tw
            xb = min(w, tx * tw)
            if sure:
                orow[xa:xb] = 255
                continue
            m = xb - xa
            # ps[i] = colx[xa] + ... + colx[xa + i - 1]: the window of pixel xa + j
            # is colx[xa + j .. xa + j + win - 1], its sum ps[j + win] - ps[j].
            _prefix(colx[xa:xb + win - 1], ps)
            if k >= 0.0:
                _threshold_row(row[xa:xb], ps[win:win + m], ps[:m], n, omk, c2, orow[xa:xb])
            else:
                _threshold_row_sqrt(row[xa:xb], ps[win:win + m], ps[:m], n, k, r, orow[xa:xb])
            if want_runs:
                kk = cut_word_runs(words, y * w, xa, xb, y, ry, rs, re, kk, table)
    rowstart[y1 - y0] = kk
    return ry[:kk], rs[:kk], re[:kk], rowstart


def _check(gray: np.ndarray, window: int, k: float, r: float) -> tuple[np.ndarray, int, float, float]:
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
    return img, win, kf, rf


def _binarize(img: np.ndarray, win: int, k: float, r: float, want_runs: bool,
              threads: int = 1, then: Callable | None = None) -> tuple[np.ndarray, list]:
    """The bitonal page and, per band in row order, its runs ``(y, x0, x1, rowstart)``
    (``rowstart`` the band's own, from 0), or what ``then(out, runs, a, b)`` made of
    them on the band's thread."""
    h, w = img.shape
    th, tw = TILE_ROWS, TILE_COLS
    # Each band tests its own tiles for sure paper (from its tile rows' ranges and
    # those of its neighbours' rows within the window), then makes its rows: one
    # hand-over to the helpers instead of two.
    paper = np.empty((-(-h // th), -(-w // tw)), np.bool_)
    # The run cutter reads the page as 8-byte words: the page starts on a word,
    # and the buffer has whole words to its end. A band's first and last word may
    # hold bytes of its neighbours' rows, which it masks off unread (so another
    # thread writing them does not matter).
    size = h * w
    buf = np.empty(size + 16, np.uint8)
    lead = (-buf.ctypes.data) % 8
    out = buf[lead:lead + size].reshape(h, w)
    words = buf[lead:lead + (size + 7) // 8 * 8].view(np.uint64)

    def band(a: int, b: int):
        _band_paper(img, win // 2, k, r, a // th, -(-b // th), paper)
        runs = _sauvola(img, win, k, r, th, tw, MIN_GAP, paper, out, words, want_runs, a, b)
        return runs if then is None else then(out, runs, a, b)

    # On several threads the page is cut into more bands than threads, each taken
    # by whichever thread is free (bands.share): a helper that starts late or runs
    # slower (its core shared with the OCR processes) takes fewer (see BAND_ROUNDS).
    parts = bands.split_tapering(h, threads, BAND_ROUNDS, th) if threads > 1 else [(0, h)]
    return out, bands.share([partial(band, a, b) for a, b in parts], threads)


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
    img, win, kf, rf = _check(gray, window, k, r)
    return _binarize(img, win, kf, rf, False)[0]


def sauvola_runs(gray: np.ndarray, window: int = 25, k: float = 0.2,
                 r: float = 127.5, *, threads: int = 1) -> tuple[np.ndarray, Runs]:
    """:func:`sauvola`, and the ink runs of its result cut in the same pass.

    threads : int
        Bands of rows made side by side on this many threads (:mod:`imaging.bands`);
        the result is the same for any number.

    Returns
    -------
    bitonal : ndarray, uint8, shape (H, W)
        As :func:`sauvola`.
    Runs
        The runs of ink (0) in ``bitonal``, as ``imaging.runs.find_runs(bitonal, 0)``
        gives them.

    Raises
    ------
    ImageError
        As :func:`sauvola`.
    """
    img, win, kf, rf = _check(gray, window, k, r)
    out, parts = _binarize(img, win, kf, rf, True, check_int(threads, "threads", 1, 64))
    return out, join_runs(parts, *out.shape)


def sauvola_bands(gray: np.ndarray, window: int, k: float, then: Callable[[np.ndarray, tuple, int, int], T],
                  r: float = 127.5, *, threads: int = 1) -> tuple[np.ndarray, list[T]]:
    """:func:`sauvola` in bands of rows, each band's ink runs handed on while they are in cache.

    ``then(bitonal, runs, a, b)`` runs on the band's thread once its rows ``a .. b - 1``
    are made, with their ink runs ``runs = (y, x0, x1, rowstart)``: ``y`` the page's
    rows, ``rowstart`` the band's own (``runs`` of row ``a + i`` are
    ``rowstart[i]:rowstart[i + 1]``). It may change the band's own rows of
    ``bitonal``, never another band's (they are being made beside it).

    Returns
    -------
    bitonal : ndarray, uint8, shape (H, W)
        As :func:`sauvola`, after every ``then``.
    list
        What ``then`` returned for each band, in row order.

    Raises
    ------
    ImageError
        As :func:`sauvola`.
    """
    img, win, kf, rf = _check(gray, window, k, r)
    return _binarize(img, win, kf, rf, True, check_int(threads, "threads", 1, 64), then)
