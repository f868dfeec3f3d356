import cv2
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from imaging.components import components, despeckle


@settings(max_examples=50, deadline=None)
@given(arrays(np.bool_, st.tuples(st.integers(1, 40), st.integers(1, 45))))
def test_components_match_opencv(mask):
    m = mask.astype(np.uint8)
    comps = components(m, ink=1)
    n, _, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    assert comps.count == n - 1
    ours = sorted(zip(comps.area.tolist(), comps.box[:, 0].tolist(), comps.box[:, 1].tolist(),
                      (comps.box[:, 2] - comps.box[:, 0]).tolist(), (comps.box[:, 3] - comps.box[:, 1]).tolist()))
    ref = sorted((int(s[4]), int(s[0]), int(s[1]), int(s[2]), int(s[3])) for s in stats[1:])
    assert ours == ref


@settings(max_examples=50, deadline=None)
@given(arrays(np.bool_, st.tuples(st.integers(1, 40), st.integers(1, 45)), elements=st.booleans()),
       st.integers(0, 6))
def test_despeckle_matches_reference(mask, size):
    bitonal = np.where(mask, 0, 255).astype(np.uint8)
    out, removed = despeckle(bitonal, size)
    n, labels, stats, _ = cv2.connectedComponentsWithStats((bitonal == 0).astype(np.uint8), connectivity=8)
    ref = bitonal.copy()
    if size:
        for i in range(1, n):
            if stats[i, 2] <= size and stats[i, 3] <= size:
                ref[labels == i] = 255
    assert np.array_equal(out, ref)
    assert removed == int((ref != bitonal).sum())
    assert np.array_equal(bitonal, np.where(mask, 0, 255))  # input untouched


def test_despeckle_keeps_text_removes_dots():
    img = np.full((40, 60), 255, np.uint8)
    img[10:30, 10:12] = 0     # a stroke, 20 px tall
    img[5, 40] = 0            # a speck
    img[20:22, 50:52] = 0     # a 2x2 speck
    out, removed = despeckle(img, 3)
    assert removed == 5 and (out[10:30, 10:12] == 0).all() and out[5, 40] == 255


def test_despeckle_inplace_on_an_unaligned_array():
    buf = np.full(40 * 60 + 3, 255, np.uint8)
    img = buf[3:].reshape(40, 60)  # starts 3 bytes into the buffer
    img[5, 40] = 0
    img[10:30, 10:12] = 0
    out, removed = despeckle(img, 3, inplace=True)
    assert out is img and removed == 1 and img[5, 40] == 255 and (img[10:30, 10:12] == 0).all()


@settings(max_examples=40, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 30), st.integers(1, 40)), elements=st.integers(0, 1)),
       st.integers(0, 2**32 - 1))
def test_selected_runs_are_the_runs_of_the_selected_pixels_and_painted_by_flag_alike(mask, seed):
    from imaging.runs import fill_runs, find_runs

    runs = find_runs(mask, 1)
    keep = np.random.default_rng(seed).random(runs.count) < 0.6
    sel = runs.select(keep)
    # as the masked arrays say, and rowstart indexes the kept runs row by row
    assert np.array_equal(sel.y, runs.y[keep]) and np.array_equal(sel.x0, runs.x0[keep])
    assert np.array_equal(sel.x1, runs.x1[keep]) and sel.y.dtype == runs.y.dtype
    for r in range(mask.shape[0]):
        assert np.all(sel.y[sel.rowstart[r]:sel.rowstart[r + 1]] == r)
    assert sel.rowstart[0] == 0 and sel.rowstart[-1] == sel.count
    with pytest.raises(ValueError):
        runs.select(np.ones(runs.count + 1, bool))
    # painting the flagged runs paints the selected runs' pixels and no other
    by_flag, by_select = mask.copy(), mask.copy()
    fill_runs(by_flag, runs, 7, where=keep)
    fill_runs(by_select, sel, 7)
    assert np.array_equal(by_flag, by_select)
    assert (by_flag == 7).sum() == int((runs.x1 - runs.x0 + 1)[keep].sum())
    with pytest.raises(ValueError):
        fill_runs(by_flag, runs, 7, where=np.ones(runs.count + 1, bool))
