"""Quality measures of a page: sharpness (variance of the Laplacian) and grey levels.

Sharpness is the variance of the 4-neighbour Laplacian over the sheet's interior,
on every fourth row (Pech-Pacheco et al. 2000): a blurred scan loses the high frequencies of its
strokes and the variance drops. The paper level is the 95th percentile of the
interior, the ink level the median grey of the pixels of the ink mask; their
difference is the contrast.

References
----------
J. L. Pech-Pacheco, G. Cristobal, J. Chamorro-Martinez, J. Fernandez-Valdivia,
"Diatom autofocusing in brightfield microscopy: a comparative study", ICPR 2000.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from imaging.checks import check_gray, check_int, check_mask
from imaging.errors import ImageError


@dataclass(frozen=True)
class Quality:
    """Measures of :func:`measure_quality`.

    Attributes
    ----------
    sharpness : float
        Variance of the Laplacian over the interior (0 when there is no interior).
    paper_level : int
        95th percentile of the interior grey levels (every fourth row).
    ink_level : int
        Median grey level of the ink pixels (255 when there is no ink).
    """

    sharpness: float
    paper_level: int
    ink_level: int

    @property
    def contrast(self) -> int:
        """``paper_level - ink_level``."""
        return self.paper_level - self.ink_level


@njit(cache=True, nogil=True)
def _measure(img, interior, block, ink):
    h, w = img.shape
    hist = np.zeros(256, np.int64)
    inkhist = np.zeros(256, np.int64)
    n = 0
    s1 = 0.0
    s2 = 0.0
    bw = interior.shape[1]
    # Every fourth row: the ~150 000 pixels of a 75 dpi A4 page give its
    # statistics for a quarter of the cost.
    for y in range(1, h - 1, 4):
        by = y // block
        for bx in range(bw):
            if interior[by, bx] == 0:
                continue
            for x in range(max(1, bx * block), min(w - 1, (bx + 1) * block)):
                v = np.int32(img[y, x])
                hist[v] += 1
                if ink[y, x] != 0:
                    inkhist[v] += 1
                lap = (np.int32(img[y - 1, x]) + np.int32(img[y + 1, x]) + np.int32(img[y, x - 1])
                       + np.int32(img[y, x + 1]) - 4 * v)
                n += 1
                s1 += lap
                s2 += lap * lap
    return n, s1, s2, hist, inkhist


def measure_quality(gray: np.ndarray, interior: np.ndarray, block: int, ink: np.ndarray) -> Quality:
    """Measure sharpness and grey levels over the interior blocks of a page.

    Parameters
    ----------
    gray : ndarray, uint8, shape (H, W)
        Analysis image.
    interior : ndarray, uint8, shape (ceil(H / block), ceil(W / block))
        Interior block flags from :func:`imaging.background.block_maps`.
    block : int
        Block side in pixels.
    ink : ndarray, bool or uint8, shape (H, W)
        Ink mask (nonzero = ink).

    Returns
    -------
    Quality

    Raises
    ------
    ImageError
        On an invalid image, block or map shape.
    """
    img = check_gray(gray)
    b = check_int(block, "block", 2, 256)
    shape = ((img.shape[0] + b - 1) // b, (img.shape[1] + b - 1) // b)
    if interior.shape != shape:
        raise ImageError(f"interior map of shape {interior.shape} does not match {shape}")
    m = check_mask(ink, "ink")
    if m.shape != img.shape:
        raise ImageError(f"ink mask of shape {m.shape} does not match the image {img.shape}")
    n, s1, s2, hist, inkhist = _measure(img, np.ascontiguousarray(interior, np.uint8), b, m)
    if n == 0:
        return Quality(0.0, 0, 255)
    mean = s1 / n
    paper = int(np.searchsorted(np.cumsum(hist), 0.95 * n))
    ni = int(inkhist.sum())
    ink_level = int(np.searchsorted(np.cumsum(inkhist), 0.5 * ni)) if ni else 255
    return Quality(float(s2 / n - mean * mean), paper, ink_level)
