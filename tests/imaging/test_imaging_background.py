"""Block maps, ink mask and component contrast against plain numpy references."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from imaging.background import block_maps, darkest_ratio, ink_mask
from imaging.components import label_runs
from imaging.errors import ImageError
from imaging.runs import find_runs


def _max_filter(a, r):
    """Maximum over the (2r+1)^2 neighbourhood, cells beyond the grid left out."""
    h, w = a.shape
    out = np.empty_like(a)
    for y in range(h):
        for x in range(w):
            out[y, x] = a[max(0, y - r):y + r + 1, max(0, x - r):x + r + 1].max()
    return out


def reference_maps(img, block, paper, reach, outside_ratio, floor_ratio):
    h, w = img.shape
    bh, bw = -(-h // block), -(-w // block)
    bmax = np.array([[img[by * block:(by + 1) * block, bx * block:(bx + 1) * block].max() for bx in range(bw)]
                     for by in range(bh)], np.uint8)
    bg = _max_filter(bmax, 1)
    wide = _max_filter(bmax, reach)
    o256, f256 = round(outside_ratio * 256), round(floor_ratio * 256)
    outside = ((bmax.astype(np.int64) * 256 < wide.astype(np.int64) * o256)
               | (bmax.astype(np.int64) * 256 < paper * f256)).astype(np.uint8)
    interior = (_max_filter(outside, 1) == 0).astype(np.uint8)
    return bmax, bg, outside, interior


def reference_ink(img, bg, outside, block, ratio):
    r256 = round(ratio * 256)
    lim = np.kron(bg.astype(np.int64) * r256, np.ones((block, block), np.int64))[:img.shape[0], :img.shape[1]]
    out_px = np.kron(outside, np.ones((block, block), np.uint8))[:img.shape[0], :img.shape[1]]
    return ((img.astype(np.int64) * 256 < lim) | (out_px != 0)).astype(np.uint8)


@settings(max_examples=40, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(16, 70), st.integers(16, 70))), st.integers(2, 9), st.integers(0, 255),
       st.integers(1, 4), st.sampled_from([0.0, 0.6, 1.0]), st.sampled_from([0.0, 0.35, 1.0]))
def test_block_maps_match_reference(img, block, paper, reach, outside_ratio, floor_ratio):
    maps = block_maps(img, block, paper, reach=reach, outside_ratio=outside_ratio, floor_ratio=floor_ratio)
    bmax, bg, outside, interior = reference_maps(img, block, paper, reach, outside_ratio, floor_ratio)
    np.testing.assert_array_equal(maps.maximum, bmax)
    np.testing.assert_array_equal(maps.background, bg)
    np.testing.assert_array_equal(maps.outside, outside)
    np.testing.assert_array_equal(maps.interior, interior)
    ink = ink_mask(img, maps.background, maps.outside, block, 0.7)
    np.testing.assert_array_equal(ink, reference_ink(img, bg, outside, block, 0.7))


def test_dark_background_is_outside_and_light_lid_is_not():
    img = np.full((120, 120), 30, np.uint8)      # a dark lid
    img[20:100, 20:100] = 240                    # the sheet
    maps = block_maps(img, 10, 240)
    assert maps.outside[0, 0] == 1 and maps.outside[5, 5] == 0
    lid = np.full((120, 120), 205, np.uint8)     # a grey lid: 0.85 of the paper
    lid[20:100, 20:100] = 240
    assert block_maps(lid, 10, 240).outside.sum() == 0


def test_light_falling_off_makes_no_block_outside():
    # A third darker at the right: every block is still within 0.6 of the paper near it.
    x = np.linspace(1.0, 0.67, 300)
    img = np.round(np.tile(240 * x, (200, 1))).astype(np.uint8)
    maps = block_maps(img, 9, 240)
    assert maps.outside.sum() == 0
    assert ink_mask(img, maps.background, maps.outside, 9).sum() == 0


def reference_darkest(img, runs, comp, count, bg, block):
    out = np.full(count, np.inf)
    for y, a, b, c in zip(runs.y, runs.x0, runs.x1, comp):
        for x in range(a, b + 1):
            out[c] = min(out[c], img[y, x] / max(int(bg[y // block, x // block]), 1))
    return out


@settings(max_examples=30, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(16, 50), st.integers(16, 50))), st.integers(2, 8))
def test_darkest_ratio_matches_reference(img, block):
    maps = block_maps(img, block, int(np.percentile(img, 95)))
    runs = find_runs(img < 100)
    comp, comps = label_runs(runs)
    got = darkest_ratio(img, runs, comp, comps.count, maps.background, block)
    np.testing.assert_allclose(got, reference_darkest(img, runs, comp, comps.count, maps.background, block))


@pytest.mark.parametrize("kw", [dict(reach=0), dict(outside_ratio=1.5), dict(floor_ratio=-0.1)])
def test_block_maps_bad_parameters(kw):
    with pytest.raises(ImageError):
        block_maps(np.zeros((20, 20), np.uint8), 4, 200, **kw)


def test_ink_mask_refuses_maps_of_another_size():
    maps = block_maps(np.zeros((20, 20), np.uint8), 4, 200)
    with pytest.raises(ImageError):
        ink_mask(np.zeros((40, 40), np.uint8), maps.background, maps.outside, 4)


@settings(max_examples=30, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 40), st.integers(1, 90))))
def test_histogram_counts_every_pixel_once(img):
    from imaging.background import _histogram

    np.testing.assert_array_equal(_histogram(img), np.bincount(img.ravel(), minlength=256))
