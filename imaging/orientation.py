"""Upright or upside down (0 or 180 degrees) from two cues of the text lines, with a confidence.

The ink is projected onto the rows of the deskewed page (the same sheared
projection as skew estimation, at the estimated angle), once over the whole
width and once per vertical strip of ``strip`` pixels (about 12 mm).

Cue 1, ascenders against descenders: in each strip, a text line shows as a run
of non-empty rows; its *core* (x-height band) is the set of rows holding at
least half the run's peak. In Latin-script text, and even more in Vietnamese
with its stacked diacritics, more ink sits above the core (ascenders, capitals,
accents) than below it (descenders), so the segment's balance
``(above - below) / (above + below)`` is positive upright and negative upside
down. Working per strip keeps a printed label and the handwritten value beside
it apart (a wavy handwritten line smears a whole-width profile), and gives many
independent votes. Segments far from the typical height (two lines run
together, a seal, a table) or light (a few specks) do not vote. The cue is the
sign test of the votes, ``z_b = (n_up - n_down) / sqrt(n_up + n_down)``.

Cue 2, margins: lines start at one aligned left margin and end raggedly (short
last lines of paragraphs), so over the whole-width lines the share starting
within 2 % of the width of the left margin minus the share ending as close to
the right margin, ``m``, is positive upright and negative upside down; it
counts as ``z_m = m sqrt(lines)``.

The evidence is ``z = z_b + z_m / 2`` (positive: upright) and the confidence
``1 - p``, with ``p = erfc(|z| / sqrt 2)`` the two-sided chance of so large a
``z`` on text without a preferred direction. ``measure`` keeps the older,
bounded form of the same cues: the mean segment balance plus ``m / 2``.

References
----------
D. S. Bloomberg, G. E. Kopec, L. Dasari, "Measuring document image skew and
orientation", Proc. SPIE 2422, 1995 (ascender/descender counts); Leptonica
``flipdetect.c`` uses the same asymmetry with morphological templates.
W. J. Dixon, A. M. Mood, "The statistical sign test", JASA 41(236), 1946.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from imaging.checks import check_int, check_mask
from imaging.errors import ImageError
from imaging.runs import Runs, find_runs


@dataclass(frozen=True)
class Orientation:
    """Result of :func:`detect_orientation`.

    Attributes
    ----------
    degrees : int
        0 (upright) or 180 (upside down): the sign of ``score``, whatever the
        confidence; the caller decides whether to act on it.
    measure : float
        Mean segment balance plus half the margin cue, in [-1.5, 1.5]; positive
        for an upright page.
    lines : int
        Segments of text lines that voted.
    score : float
        The evidence ``z`` (module notes); positive for an upright page.
    confidence : float
        ``1 - erfc(|score| / sqrt 2)``, 0 to 1.
    """

    degrees: int
    measure: float
    lines: int
    score: float
    confidence: float


@njit(cache=True, nogil=True)
def _profiles(ry, rs, re, h, w, t, strip):
    # Sheared row profile of the whole width and of each strip.
    xc = (w - 1) / 2.0
    off = abs(t) * (w / 2.0 + 1.0) + 1.0
    n = int(h + 2.0 * off) + 2
    ns = (w + strip - 1) // strip
    prof = np.zeros(n, np.float64)
    sprof = np.zeros((ns, n), np.float64)
    for r in range(ry.shape[0]):
        y = ry[r]
        for x in range(rs[r], re[r] + 1):
            i = int(y + (x - xc) * t + off + 0.5)
            prof[i] += 1.0
            sprof[x // strip, i] += 1.0
    return prof, sprof, off


@njit(cache=True, nogil=True)
def _segments(sprof):
    # Per strip, each run of non-empty rows at least 4 rows high:
    # (height, mass, ink above the core, ink below it).
    ns, n = sprof.shape
    cap = 16
    out = np.empty((cap, 4), np.float64)
    k = 0
    for s in range(ns):
        p = sprof[s]
        i = 0
        while i < n:
            if p[i] <= 0.0:
                i += 1
                continue
            a = i
            peak = 0.0
            mass = 0.0
            while i < n and p[i] > 0.0:
                peak = max(peak, p[i])
                mass += p[i]
                i += 1
            if i - a < 4:
                continue
            c0 = -1
            c1 = -1
            for j in range(a, i):
                if p[j] >= 0.5 * peak:
                    if c0 < 0:
                        c0 = j
                    c1 = j
            above = 0.0
            below = 0.0
            for j in range(a, c0):
                above += p[j]
            for j in range(c1 + 1, i):
                below += p[j]
            if k == cap:
                cap *= 2
                bigger = np.empty((cap, 4), np.float64)
                bigger[:k] = out[:k]
                out = bigger
            out[k, 0] = i - a
            out[k, 1] = mass
            out[k, 2] = above
            out[k, 3] = below
            k += 1
    return out[:k]


@njit(cache=True, nogil=True)
def _line_ends(ry, rs, re, prof, off, w, t):
    # Whole-width lines (runs of non-empty rows, at least 4 high) and where each
    # starts and ends, measured along the line (x corrected for the shear).
    n = prof.shape[0]
    line_of = np.full(n, -1, np.int64)
    lines = 0
    i = 0
    while i < n:
        if prof[i] <= 0.0:
            i += 1
            continue
        a = i
        while i < n and prof[i] > 0.0:
            i += 1
        if i - a < 4:
            continue
        for j in range(a, i):
            line_of[j] = lines
        lines += 1
    left = np.full(lines, 1e18)
    right = np.full(lines, -1e18)
    xc = (w - 1) / 2.0
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
    return left, right


def _margins(left: np.ndarray, right: np.ndarray, width: int) -> float:
    if left.size < 3:
        return 0.0
    tol = 0.02 * width
    aligned_left = float(np.mean(left <= np.percentile(left, 10) + tol))
    aligned_right = float(np.mean(right >= np.percentile(right, 90) - tol))
    return aligned_left - aligned_right


def _votes(seg: np.ndarray) -> np.ndarray:
    """Balances of the segments that vote: typical height, not light."""
    if seg.shape[0] == 0:
        return np.zeros(0)
    height, mass, above, below = seg[:, 0], seg[:, 1], seg[:, 2], seg[:, 3]
    keep = mass >= 0.3 * np.median(mass)
    if not keep.any():
        return np.zeros(0)
    typical = float(np.median(height[keep]))
    keep &= (height >= 0.6 * typical) & (height <= 1.5 * typical) & (above + below > 0)
    return (above[keep] - below[keep]) / (above[keep] + below[keep])


def detect_orientation(ink: np.ndarray, skew_deg: float, strip: int = 40) -> Orientation:
    """Tell an upright page from one turned by 180 degrees.

    Parameters
    ----------
    ink : ndarray, bool or uint8, shape (H, W)
        Ink mask (nonzero = ink) of the page, at about 75-100 dpi, text lines
        running across it.
    skew_deg : float
        Skew of the text lines (see :func:`imaging.skew.estimate_skew`).
    strip : int
        Width of the vertical strips in pixels (about 12 mm), 4 to 4096.

    Returns
    -------
    Orientation

    Raises
    ------
    ImageError
        On an invalid mask, angle or strip.
    """
    m = check_mask(ink, "ink")
    return detect_orientation_runs(find_runs(m != 0), skew_deg, strip)


def detect_orientation_runs(runs: Runs, skew_deg: float, strip: int = 40) -> Orientation:
    """:func:`detect_orientation` on the ink given as runs (:func:`imaging.runs.find_runs`)."""
    a = float(skew_deg)
    if not (math.isfinite(a) and -45.0 <= a <= 45.0):
        raise ImageError(f"skew {skew_deg!r} is out of range [-45, 45] degrees")
    s = check_int(strip, "strip", 4, 4096)
    t = math.tan(math.radians(a))
    prof, sprof, off = _profiles(runs.y, runs.x0, runs.x1, runs.height, runs.width, t, s)
    b = _votes(_segments(sprof))
    left, right = _line_ends(runs.y, runs.x0, runs.x1, prof, off, runs.width, t)
    margins = _margins(left, right, runs.width)
    up, down = int((b > 0).sum()), int((b < 0).sum())
    z_b = (up - down) / math.sqrt(up + down) if up + down else 0.0
    z = z_b + 0.5 * margins * math.sqrt(left.size)
    measure = (float(b.mean()) if b.size else 0.0) + 0.5 * margins
    confidence = 1.0 - math.erfc(abs(z) / math.sqrt(2.0))
    return Orientation(180 if z < 0 else 0, float(measure), int(b.size), float(z), float(confidence))
