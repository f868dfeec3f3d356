"""Ink that is not content: background joined to the frame's border, debris along found edges."""

import numpy as np

from imaging.background import block_maps, ink_mask
from imaging.components import label_runs
from imaging.debris import edge_debris, not_content
from imaging.runs import find_runs
from imaging.sheet import SheetEdge, SheetEdges, find_sheet_edges


def reference_debris(mask, comp_of_pixel, edges, band, long, faint, share=0.9):
    """Per component: share of pixels in the bands, reaching the edge, extent."""
    out = []
    for c in range(comp_of_pixel.max() + 1):
        ys, xs = np.nonzero(comp_of_pixel == c)
        if ys.size == 0:
            out.append(False)
            continue
        near = np.zeros(ys.size, bool)
        touch = np.zeros(ys.size, bool)
        e = edges.left
        near |= xs <= e.at(ys) + band
        touch |= xs <= e.at(ys) + 1.0
        inband = near.mean() >= share
        extent = max(xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min())
        out.append(bool(inband and (touch.any() or extent >= long or faint[c])))
    return np.array(out)


def test_edge_debris_matches_reference():
    rng = np.random.default_rng(3)
    mask = np.zeros((120, 100), np.uint8)
    mask[10:110, 20:23] = 1                      # a shadow band along the edge (x = 20)
    mask[30:34, 25:28] = 1                       # a speck of it, not touching, faint
    mask[50:56, 26:29] = 1                       # a letter near the edge, dark
    mask[60:66, 60:70] = 1                       # a letter far from it
    mask |= (rng.random(mask.shape) < 0.01).astype(np.uint8)
    runs = find_runs(mask)
    comp, comps = label_runs(runs)
    edges = SheetEdges(SheetEdge(True, 20.0, 0.0, 100, 0, 119), SheetEdge(False), SheetEdge(False),
                       SheetEdge(False), 100, 120)
    faint = np.zeros(comps.count, bool)
    faint[comp[np.flatnonzero((runs.y == 30) & (runs.x0 <= 25) & (runs.x1 >= 25))]] = True
    debris, in_band = edge_debris(runs, comp, comps.box, edges, band=9.0, long=40.0)
    got = debris | (in_band & faint)
    label = np.full(mask.shape, -1)
    for y, a, b, c in zip(runs.y, runs.x0, runs.x1, comp):
        label[y, a:b + 1] = c
    np.testing.assert_array_equal(got, reference_debris(mask, label, edges, 9.0, 40.0, faint))
    assert got[label[50, 26]] == False and got[label[20, 21]] == True and got[label[30, 25]] == True  # noqa: E712


def test_background_wedges_and_shadows_go_text_stays():
    # A dark lid; the sheet reaches the top of the frame and leaves a thin wedge of
    # lid along it; a shadow line inside the sheet's left edge; text inside; a
    # letter 2 px from the left edge; text cut off by the frame's right border.
    h, w = 300, 240
    img = np.full((h, w), 30, np.uint8)
    img[:, 20:] = 235                                   # the sheet: from x = 20 to the right border
    img[:3, 100:] = 30                                  # a wedge of lid along the top, 3 px deep
    img[10:290, 20:22] = 90                             # the shadow just inside the left edge
    for y in range(40, 260, 12):
        img[y:y + 5, 60:200:6] = 20                     # text
    img[100:106, 24:27] = 20                            # a letter close to the left edge
    img[150:156, 236:] = 20                             # a word cut off by the right border
    maps = block_maps(img, 8, 235)
    ink = ink_mask(img, maps.background, maps.outside, 8)
    edges = find_sheet_edges(img, band=2)
    assert edges.left.found and not edges.right.found
    runs = find_runs(ink)
    comp, comps = label_runs(runs)
    drop = not_content(runs, comp, comps, img, maps, 8, edges, depth=20.0, band=10.0, long=30.0)

    def dropped(y, x):
        i = np.flatnonzero((runs.y == y) & (runs.x0 <= x) & (runs.x1 >= x))
        return bool(drop[comp[i[0]]])

    assert dropped(150, 5)        # the lid
    assert dropped(1, 150)        # the wedge along the top
    assert dropped(150, 20)       # the shadow
    assert dropped(152, 238)      # text cut off by the frame
    assert not dropped(102, 25)   # the letter near the edge is dark: content
    assert not dropped(42, 60)    # the text
