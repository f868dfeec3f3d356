"""Gray conversion and integer-factor downsampling (area mean and min-reduce).

Gray uses the ITU-R BT.601 luma weights in 8-bit fixed point,
``Y = (77 R + 150 G + 29 B + 128) >> 8`` (the weights 0.299, 0.587, 0.114 scaled
by 256), which is within one level of OpenCV's ``COLOR_RGB2GRAY``.

Downsampling by an integer factor ``f`` maps each ``f x f`` block to one pixel:
its rounded mean (area reduction, as OpenCV ``INTER_AREA`` for integer factors)
or its minimum (min-reduce, Bloomberg's rank reduction of Leptonica with rank 1
for dark ink: a thin stroke survives the reduction). The last ``H mod f`` rows and
``W mod f`` columns are dropped.

References
----------
ITU-R Recommendation BT.601-7, section 2.5.1.
D. S. Bloomberg, "Multiresolution analysis", Leptonica documentation
(pixReduceRankBinaryCascade).
"""

from __future__ import annotations

from functools import partial

import numpy as np
from numba import njit

from imaging import bands
from imaging.checks import check_int, check_page
from imaging.errors import ImageError


@njit(cache=True, nogil=True)
def _gray_row(rgb, out):
    # One row: ``rgb`` is its flat R, G, B bytes. A function of its own, called
    # per row, so that the stride-3 loop is vectorised (it is not when inlined
    # into the 3-D loops).
    for x in range(out.shape[0]):
        out[x] = np.uint8((np.int32(77) * np.int32(rgb[3 * x]) + np.int32(150) * np.int32(rgb[3 * x + 1])
                           + np.int32(29) * np.int32(rgb[3 * x + 2]) + np.int32(128)) >> np.int32(8))


@njit(cache=True, nogil=True)
def _to_gray(rgb, out):
    # rgb: the page as (H, 3 W) bytes.
    for y in range(out.shape[0]):
        _gray_row(rgb[y], out[y])


@njit(cache=True, nogil=True)
def _add_row(acc, row):
    # Functions of their own, called per row, so that the loops are vectorised
    # (inlined into the row loop they are not: measured 1.8x slower).
    for x in range(acc.shape[0]):
        acc[x] += row[x]


def _row_sums(w: int, f: int) -> np.ndarray:
    """The area kernels' row accumulator: sums of f rows of 8-bit samples, in 16
    bits while the fold's sums (f * f * 255 + f * f / 2) fit, which halves the
    reduction of a 300 dpi page (f = 4: 0.51 -> 0.24 ms in isolation, one core)."""
    return np.zeros(w, np.uint16 if f * f * 255 + f * f // 2 < 65536 else np.int32)


@njit(cache=True, nogil=True)
def _set_row(acc, row):
    for x in range(acc.shape[0]):
        acc[x] = row[x]


@njit(cache=True, nogil=True)
def _fold_row(acc, f, orow, half, mul):
    # Sum f neighbouring columns and divide by f*f with a multiply and shift
    # (exact for these sums, < 2**24). The usual factors are spelled out so the
    # loop has a fixed shape and is vectorised. For f = 2 and 4 the multiply is a
    # shift (mul = 2**32 / f**2) and the sums fit in 16 bits (at most 16 * 255 +
    # 8): 16-bit lanes, twice as many per instruction (_row_sums always gives them
    # 16-bit sums; an accumulator of 32 bits takes the general loop).
    if f == 2 and acc.itemsize == 2:
        for ox in range(orow.shape[0]):
            s = np.uint16(acc[2 * ox] + acc[2 * ox + 1] + np.uint16(2))
            orow[ox] = np.uint8(s >> np.uint16(2))
    elif f == 4 and acc.itemsize == 2:
        for ox in range(orow.shape[0]):
            s = np.uint16(acc[4 * ox] + acc[4 * ox + 1] + acc[4 * ox + 2] + acc[4 * ox + 3] + np.uint16(8))
            orow[ox] = np.uint8(s >> np.uint16(4))
    elif f == 3:
        for ox in range(orow.shape[0]):
            s = np.int64(acc[3 * ox]) + acc[3 * ox + 1] + acc[3 * ox + 2]
            orow[ox] = ((s + half) * mul) >> 32
    else:
        for ox in range(orow.shape[0]):
            s = np.int64(0)
            for dx in range(f):
                s += acc[ox * f + dx]
            orow[ox] = ((s + half) * mul) >> 32


@njit(cache=True, nogil=True)
def _reduce_area_gray(img, f, out, acc):
    # Sum f rows into a row accumulator (contiguous, vectorised), then f columns.
    oh, ow = out.shape
    n = f * f
    half = n // 2
    mul = ((1 << 32) + n - 1) // n
    for oy in range(oh):
        _set_row(acc, img[oy * f, : ow * f])
        for dy in range(1, f):
            _add_row(acc, img[oy * f + dy, : ow * f])
        _fold_row(acc, f, out[oy], half, mul)


@njit(cache=True, nogil=True)
def _reduce_area_rgb(img, f, out, acc):
    # Fused gray conversion + area reduction: one pass over the colour page (each
    # row goes to gray in a one-row buffer, then into the row accumulator).
    oh, ow = out.shape
    n = f * f
    half = n // 2
    mul = ((1 << 32) + n - 1) // n
    g = np.empty(img.shape[1] // 3, np.uint8)
    for oy in range(oh):
        for dy in range(f):
            _gray_row(img[oy * f + dy], g)
            if dy == 0:
                _set_row(acc, g[: ow * f])
            else:
                _add_row(acc, g[: ow * f])
        _fold_row(acc, f, out[oy], half, mul)


@njit(cache=True, nogil=True)
def _reduce_min(img, f, out):
    oh, ow = out.shape
    for oy in range(oh):
        for ox in range(ow):
            out[oy, ox] = 255
        for dy in range(f):
            row = img[oy * f + dy]
            for ox in range(ow):
                m = out[oy, ox]
                base = ox * f
                for dx in range(f):
                    v = row[base + dx]
                    if v < m:
                        m = v
                out[oy, ox] = m


def to_gray(image: np.ndarray) -> np.ndarray:
    """Convert an RGB page to 8-bit gray (BT.601 luma, fixed point).

    Parameters
    ----------
    image : ndarray, uint8, shape (H, W, 3) or (H, W)
        The page. A gray page is returned unchanged (not copied).

    Returns
    -------
    ndarray, uint8, shape (H, W)
        ``(77 R + 150 G + 29 B + 128) >> 8`` per pixel.

    Raises
    ------
    ImageError
        If the image is not a valid page (see :func:`imaging.checks.check_page`).
    """
    img = check_page(image)
    if img.ndim == 2:
        return img
    out = np.empty(img.shape[:2], np.uint8)
    h, w = out.shape
    _to_gray(np.ascontiguousarray(img).reshape(h, 3 * w), out)
    return out


def reduce(image: np.ndarray, factor: int, mode: str = "area", *, threads: int = 1) -> np.ndarray:
    """Downsample a page by an integer factor into a gray image.

    Parameters
    ----------
    image : ndarray, uint8, shape (H, W) or (H, W, 3)
        The page; an RGB page is converted to gray in the same pass.
    factor : int
        Reduction factor, 1 to 64. ``1`` returns a gray copy.
    mode : {"area", "min"}
        ``"area"``: rounded mean of each block (RGB allowed). ``"min"``: darkest
        pixel of each block (gray only), so thin dark strokes survive.
    threads : int
        Bands of output rows made side by side on this many threads
        (:mod:`imaging.bands`); the result is the same for any number.

    Returns
    -------
    ndarray, uint8, shape (H // factor, W // factor)

    Raises
    ------
    ImageError
        On an invalid page, a factor out of range or larger than a side, an
        unknown mode, or ``"min"`` on an RGB page.
    """
    img = check_page(image)
    f = check_int(factor, "factor", 1, 64)
    h, w = img.shape[:2]
    if h // f < 1 or w // f < 1:
        raise ImageError(f"factor {f} is larger than the {w}x{h} image")
    threads = check_int(threads, "threads", 1, 64)
    if mode == "area":
        kernel, src = ((_reduce_area_rgb, np.ascontiguousarray(img).reshape(h, 3 * w)) if img.ndim == 3
                       else (_reduce_area_gray, img))
    elif mode == "min":
        if img.ndim == 3:
            raise ImageError("min-reduce needs a gray image")
        kernel, src = _reduce_min, img
    else:
        raise ImageError(f"unknown reduction mode {mode!r} (expected 'area' or 'min')")
    out = np.empty((h // f, w // f), np.uint8)
    # Each band reads only its own f input rows per output row (and has its own
    # row accumulator).
    def band(a: int, b: int):
        if mode == "area":
            return partial(kernel, src[a * f:b * f], f, out[a:b], _row_sums((w // f) * f, f))
        return partial(kernel, src[a * f:b * f], f, out[a:b])

    bands.run([band(a, b) for a, b in bands.split(h // f, threads)])
    return out
