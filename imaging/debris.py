"""Ink that is not content: the scanner background and what joins it, and debris along the sheet's edges.

The ink mask (:func:`imaging.background.ink_mask`) marks every pixel of an
outside block, so the scanner background, dark borders and everything dark
joined to them form ink components that touch the frame's border. A component
that touches the border is background when it holds an outside block and lies
for the most part beyond the sheet's found edges (round the sheet, not over it),
or when it reaches only a little way in (a wedge of background beside a skewed sheet, a
dark sheet edge, text cut off by the frame). Along a sheet edge that was found
(:mod:`imaging.sheet`), a component lying (almost) wholly in a narrow band inside
the edge, or beyond it, is debris when it reaches the edge, runs long, or is
faint: the shadow of a scanner lid, a photocopy's dark edge and the pieces noise
breaks its fringe into. A printed letter close to the edge does none of these,
so it stays content.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from imaging.background import BlockMaps, darkest_ratio
from imaging.checks import check_int, check_positive
from imaging.components import Components
from imaging.errors import ImageError
from imaging.runs import Runs
from imaging.sheet import SheetEdges

# Share of a component's pixels in the bands along the edges that puts it in them (edge_debris).
BAND_SHARE = 0.9


@njit(cache=True, nogil=True)
def _bands(ry, rs, re, comp, count, found, offset, slope, band):
    # Per component: pixels, pixels within `band` inside a found edge (or beyond
    # it), and whether a pixel lies within one pixel of an edge (or beyond). Edges
    # in the order left, top, right, bottom; a run is tested against each edge at
    # its own row (left, right) or at its two ends (top, bottom).
    total = np.zeros(count, np.float64)
    within = np.zeros(count, np.float64)
    touch = np.zeros(count, np.bool_)
    for r in range(ry.shape[0]):
        y = float(ry[r])
        x0 = float(rs[r])
        x1 = float(re[r])
        c = comp[r]
        n = x1 - x0 + 1.0
        total[c] += n
        near = False
        very = False
        if found[0]:
            e = offset[0] + slope[0] * y
            near |= x1 <= e + band
            very |= x0 <= e + 1.0
        if found[2]:
            e = offset[2] + slope[2] * y
            near |= x0 >= e - band
            very |= x1 >= e - 1.0
        if found[1]:
            e = min(offset[1] + slope[1] * x0, offset[1] + slope[1] * x1)
            near |= y <= e + band
            very |= y <= max(offset[1] + slope[1] * x0, offset[1] + slope[1] * x1) + 1.0
        if found[3]:
            e = max(offset[3] + slope[3] * x0, offset[3] + slope[3] * x1)
            near |= y >= e - band
            very |= y >= min(offset[3] + slope[3] * x0, offset[3] + slope[3] * x1) - 1.0
        if near:
            within[c] += n
        if very:
            touch[c] = True
    return total, within, touch


@njit(cache=True, nogil=True)
def _touches_outside(ry, rs, comp, count, outside, block):
    # Per component: a run starts in an outside block (one pass over the runs; the
    # numpy indexing and bincount it replaces: 0.32 -> 0.29 ms for the whole test on
    # the bench's 300 dpi page, one core).
    out = np.zeros(count, np.bool_)
    for r in range(ry.shape[0]):
        if outside[ry[r] // block, rs[r] // block]:
            out[comp[r]] = True
    return out


def _band_shares(runs: Runs, component: np.ndarray, count: int, edges: SheetEdges,
                 band: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per component: pixels, pixels in the bands (or beyond the edges), reaching an edge."""
    sides = edges.sides
    if not any(e.found for e in sides):
        return np.ones(count), np.zeros(count), np.zeros(count, bool)
    return _bands(runs.y, runs.x0, runs.x1, np.ascontiguousarray(component, np.int64), count,
                  np.array([e.found for e in sides]), np.array([e.offset for e in sides]),
                  np.array([e.slope for e in sides]), float(band))


def edge_debris(runs: Runs, component: np.ndarray, boxes: np.ndarray, edges: SheetEdges, band: float,
                long: float, share: float = BAND_SHARE) -> tuple[np.ndarray, np.ndarray]:
    """Which components are debris along a found edge: a shadow, a dark sheet edge, background.

    A component lies *in the band* when at least ``share`` of its pixels lie
    within ``band`` pixels inside a found edge (or beyond it). It is debris when
    it also reaches the edge (a pixel within one pixel of it, or beyond) or runs
    ``long`` pixels or more (along the edge, since the band is narrow): a
    photocopy's dark edge or a lid's shadow does one of these. Noise breaks
    their faint fringe into small pieces that do neither; those are returned
    apart, for the caller to judge by their contrast, since a printed letter
    near the edge does neither either. Each run is tested against the edge at
    its own row (or columns), so a band along a skewed edge is recognised.

    Parameters
    ----------
    runs : Runs
        Ink runs in the frame of ``edges``.
    component : ndarray of int, shape (runs.count,)
        Component of each run (:func:`imaging.components.label_runs`).
    boxes : ndarray of int, shape (n, 4)
        Bounding box of each component (``Components.box``).
    edges : SheetEdges
    band : float
        Width of the band inside each edge, pixels.
    long : float
        Length, pixels, from which a component in the band is debris without
        reaching the edge.
    share : float
        Share of a component's pixels that must lie in the bands (noise and the
        odd streak of a copier carry an edge's shadow a little further in).

    Returns
    -------
    debris, in_band : ndarray of bool, shape (n,)
        ``in_band``: in the band but not debris by reach or length.

    Raises
    ------
    ImageError
        On labels or boxes that do not match the runs, or a band or length that
        is not positive.
    """
    count = boxes.shape[0]
    if component.shape != (runs.count,) or boxes.ndim != 2 or boxes.shape[1] != 4 or (
            runs.count and int(component.max()) >= count):
        raise ImageError("component labels or boxes do not match the runs")
    check_positive(band, "band")
    check_positive(long, "long")
    return _debris(boxes, _band_shares(runs, component, count, edges, band), long, share)


def _debris(boxes: np.ndarray, shares: tuple[np.ndarray, np.ndarray, np.ndarray], long: float,
            share: float) -> tuple[np.ndarray, np.ndarray]:
    """edge_debris from the components' band shares (:func:`_band_shares`)."""
    total, within, touching = shares
    within = within >= share * total
    extent = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    debris = within & (touching | (extent >= long))
    return debris, within & ~debris


def not_content(runs: Runs, component: np.ndarray, comps: Components, gray: np.ndarray, maps: BlockMaps,
                block: int, edges: SheetEdges, *, depth: float, band: float, long: float,
                faint: float = 0.5) -> np.ndarray:
    """Which ink components are scanner background, joined to it, or debris along a found edge.

    Parameters
    ----------
    runs : Runs
        Ink runs of the analysis image (:func:`imaging.runs.find_runs`).
    component : ndarray of int, shape (runs.count,)
        Component of each run (:func:`imaging.components.label_runs`).
    comps : Components
        The components' boxes.
    gray : ndarray, uint8, shape (H, W)
        The analysis image.
    maps : BlockMaps
        From :func:`imaging.background.block_maps` with ``block``.
    block : int
        Block side in pixels.
    edges : SheetEdges
        The sheet's edges in the same image.
    depth : float
        A component touching the frame's border and reaching no further in than
        this many pixels is background.
    band, long : float
        See :func:`edge_debris` (pixels).
    faint : float
        A piece in the band whose darkest pixel is above this fraction of its
        block's background is debris.

    Returns
    -------
    ndarray of bool, shape (comps.count,)

    Raises
    ------
    ImageError
        On labels that do not match the runs or a parameter out of range.
    """
    b = comps.box
    h, w = runs.height, runs.width
    if component.shape != (runs.count,) or maps.outside.shape != (-(-h // block), -(-w // block)):
        raise ImageError("component labels or block maps do not match the runs")
    check_int(block, "block", 2, 256)
    for name, v in (("depth", depth), ("band", band), ("long", long)):
        check_positive(v, name)
    if not 0.0 <= float(faint) <= 1.0:
        raise ImageError(f"faint {faint!r} must be in [0, 1]")
    has_outside = _touches_outside(runs.y, runs.x0, np.ascontiguousarray(component, np.int64), comps.count,
                                   np.ascontiguousarray(maps.outside, np.uint8), block)
    depth_in = np.full(comps.count, np.inf)
    depth_in = np.where(b[:, 0] == 0, np.minimum(depth_in, b[:, 2]), depth_in)
    depth_in = np.where(b[:, 1] == 0, np.minimum(depth_in, b[:, 3]), depth_in)
    depth_in = np.where(b[:, 2] == w, np.minimum(depth_in, w - b[:, 0]), depth_in)
    depth_in = np.where(b[:, 3] == h, np.minimum(depth_in, h - b[:, 1]), depth_in)
    # Outside blocks make background only round the sheet: most of the component
    # lies beyond the found edges (or in the band inside them). Ink filling the
    # frame to its border (a dark photograph, a test pattern) is what was scanned.
    shares = _band_shares(runs, component, comps.count, edges, band)
    total, beyond, _ = shares
    around = beyond >= 0.5 * total
    drop = np.isfinite(depth_in) & ((has_outside & around) | (depth_in <= depth))
    # edge_debris on the same shares (its checks are this function's own)
    debris, in_band = _debris(b, shares, long, BAND_SHARE)
    drop |= debris
    if in_band.any():
        # Small pieces in the band are debris when faint: printed text is far darker.
        sel = in_band[component]
        darkest = darkest_ratio(gray, runs.select(sel), component[sel], comps.count, maps.background, block)
        drop |= in_band & (darkest > faint)
    return drop
