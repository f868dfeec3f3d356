"""Quarter turns of pages and boxes, and the crop's fail-safe."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from imaging.errors import ImageError
from imaging.frame import keep_content, scale_box, turn_box
from imaging.rotate import turn


@settings(max_examples=40, deadline=None)
@given(st.one_of(arrays(np.uint8, st.tuples(st.integers(16, 90), st.integers(16, 90))),
                 arrays(np.uint8, st.tuples(st.integers(16, 90), st.integers(16, 90), st.just(3)))),
       st.sampled_from([0, 90, 180, 270]))
def test_turn_matches_numpy(img, degrees):
    out = turn(img, degrees)
    np.testing.assert_array_equal(out, np.rot90(img, -degrees // 90))
    assert out.flags.c_contiguous


def test_turn_refuses_other_angles():
    with pytest.raises(ImageError):
        turn(np.zeros((20, 20), np.uint8), 45)


@settings(max_examples=60, deadline=None)
@given(st.integers(16, 60), st.integers(16, 60), st.data(), st.sampled_from([0, 90, 180, 270]))
def test_turn_box_is_the_box_of_the_turned_pixels(w, h, data, degrees):
    x0 = data.draw(st.integers(0, w - 1))
    x1 = data.draw(st.integers(x0 + 1, w))
    y0 = data.draw(st.integers(0, h - 1))
    y1 = data.draw(st.integers(y0 + 1, h))
    mask = np.zeros((h, w), np.uint8)
    mask[y0:y1, x0:x1] = 1
    turned = turn(mask, degrees)
    ys, xs = np.nonzero(turned)
    assert turn_box([x0, y0, x1, y1], degrees, w, h) == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]


def test_scale_box_reaches_the_dropped_edge():
    # A 4x reduction of a 1003-wide page has 250 columns; a box reaching the last
    # one reaches the page's last column (1003), not 1000.
    assert scale_box((10, 0, 250, 100), 4, 1003, 2000) == [40, 0, 1003, 400]


def test_keep_content_moves_sides_that_graze_the_content():
    sheet, found = (10, 10, 90, 190), (True, True, True, False)
    ok = keep_content(sheet, found, (20, 20, 80, 180), 3, 100, 200)
    assert ok.box == sheet and ok.gap is None and ok.rejected == (False,) * 4
    graze = keep_content(sheet, found, (12, 20, 89, 180), 3, 100, 200)
    assert graze.box == (0, 10, 100, 190) and graze.rejected == (True, False, True, False)
    assert graze.gap == 1.0  # the right side: 90 - 89
    cut = keep_content(sheet, found, (5, 20, 80, 180), 3, 100, 200)
    assert cut.box[0] == 0 and cut.gap == -5.0
    # A side that is the frame's edge is never moved; the bottom was not found.
    assert keep_content(sheet, found, (20, 20, 80, 195), 3, 100, 200).box == sheet
    assert keep_content(sheet, found, None, 3, 100, 200).box == sheet
