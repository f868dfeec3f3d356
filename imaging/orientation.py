"""Upside-down detection (0 or 180 degrees) from the ascender/descender balance.

Method: the ink is projected onto the rows of the deskewed page (the same
sheared projection as skew estimation, at the estimated angle). Each text line
shows as a run of non-empty rows; its *core* (x-height band) is the set of rows
holding at least half the line's peak. In Latin-script text, and even more in
Vietnamese with its stacked diacritics, more ink sits above the core
(ascenders, capitals, accents) than below it (descenders). Summed over all lines,
``(above - below) / (above + below)`` is positive for an upright page and
negative for one turned by 180 degrees.

A second cue is the margins: lines start at one aligned left margin and end
raggedly (short last lines of paragraphs), so the share of lines starting
within ``2 %`` of the page width of the left margin minus the share ending as
close to the right margin is positive upright and negative upside down. The
decision uses ``balance + margins / 2``.

References
----------
D. S. Bloomberg, G. E. Kopec, L. Dasari, "Measuring document image skew and
orientation", Proc. SPIE 2422, 1995 (ascender/descender counts); Leptonica
``flipdetect.c`` uses the same asymmetry with morphological templates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from imaging.checks import check_mask
from imaging.errors import ImageError
from imaging.runs import Runs, find_runs


@dataclass(frozen=True)
class Orientation:
    """Result of :func:`detect_orientation`.

    Attributes
    ----------
    degrees : int
        0 (upright) or 180 (upside down).
    measure : float
        ``balance + margins / 2`` (see the module notes), in [-1.5, 1.5];
        positive for an upright page.
    lines : int
        Number of text lines measured.
    """

    degrees: int
    measure: float
    lines: int


@njit(cache=True, nogil=True)
def _balance(ry, rs, re, h, w, t):
    xc = (w - 1) / 2.0
    off = abs(t) * (w / 2.0 + 1.0) + 1.0
    n = int(h + 2.0 * off) + 2
    prof = np.zeros(n, np.float64)
    for r in range(ry.shape[0]):
        y = ry[r]
        for x in range(rs[r], re[r] + 1):
            prof[int(y + (x - xc) * t + off + 0.5)] += 1.0
    line_of = np.full(n, -1, np.int64)
    above = 0.0
    below = 0.0
    lines = 0
    i = 0
    while i < n:
        if prof[i] <= 0.0:
            i += 1
            continue
        s = i
        peak = 0.0
        while i < n and prof[i] > 0.0:
            if prof[i] > peak:
                peak = prof[i]
            i += 1
        e = i
        if e - s < 4:
            continue  # a rule, a dot row: no ascender/descender structure
        c0 = -1
        c1 = -1
        for j in range(s, e):
            line_of[j] = lines
            if prof[j] >= 0.5 * peak:
                if c0 < 0:
                    c0 = j
                c1 = j
        for j in range(s, c0):
            above += prof[j]
        for j in range(c1 + 1, e):
            below += prof[j]
        lines += 1
    # Line ends, measured along the line (x corrected for the shear).
    left = np.full(lines, 1e18)
    right = np.full(lines, -1e18)
    c = math.sqrt(1.0 + t * t)
    for r in range(ry.shape[0]):
        y = ry[r]
        for x in range(rs[r], re[r] + 1):
            k = line_of[int(y + (x - xc) * t + off + 0.5)]
            if k >= 0:
                u = (x - xc) * c
                if u < left[k]:
                    left[k] = u
                if u > right[k]:
                    right[k] = u
    return above, below, lines, left, right


def _margins(left: np.ndarray, right: np.ndarray, width: int) -> float:
    if left.size < 3:
        return 0.0
    tol = 0.02 * width
    aligned_left = float(np.mean(left <= np.percentile(left, 10) + tol))
    aligned_right = float(np.mean(right >= np.percentile(right, 90) - tol))
    return aligned_left - aligned_right


def detect_orientation(ink: np.ndarray, skew_deg: float, min_lines: int = 3,
                       threshold: float = 0.05) -> Orientation:
    """Tell an upright page from one turned by 180 degrees.

    Parameters
    ----------
    ink : ndarray, bool or uint8, shape (H, W)
        Ink mask (nonzero = ink) of the page as scanned, at about 100 dpi.
    skew_deg : float
        Skew of the text lines (see :func:`imaging.skew.estimate_skew`).
    min_lines : int
        Fewer text lines than this give 0 degrees (not enough evidence).
    threshold : float
        The measure must be below ``-threshold`` to call the page upside down.

    Returns
    -------
    Orientation

    Raises
    ------
    ImageError
        On an invalid mask or angle.
    """
    m = check_mask(ink, "ink")
    return detect_orientation_runs(find_runs(m != 0), skew_deg, min_lines, threshold)


def detect_orientation_runs(runs: Runs, skew_deg: float, min_lines: int = 3,
                            threshold: float = 0.05) -> Orientation:
    """:func:`detect_orientation` on the ink given as runs (:func:`imaging.runs.find_runs`)."""
    a = float(skew_deg)
    if not (math.isfinite(a) and -45.0 <= a <= 45.0):
        raise ImageError(f"skew {skew_deg!r} is out of range [-45, 45] degrees")
    above, below, lines, left, right = _balance(runs.y, runs.x0, runs.x1, runs.height, runs.width,
                                                math.tan(math.radians(a)))
    total = above + below
    balance = 0.0 if total <= 0 else (above - below) / total
    measure = balance + 0.5 * _margins(left, right, runs.width)
    degrees = 180 if (lines >= min_lines and measure < -threshold) else 0
    return Orientation(degrees, float(measure), int(lines))
