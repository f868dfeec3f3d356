"""Sheet edges: the walks against a plain reference, the line fit and the box."""

import math

import cv2
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from imaging.errors import ImageError
from imaging.sheet import _walk_cols, _walk_rows, find_sheet_edges


def reference_walk(line, step256, offset256, band, limit, skip, flat_levels, flat256):
    """First stop of one walk along ``line`` from its start, as the module notes state it."""
    line = [int(v) for v in line]
    n = min(limit, len(line))
    m = max(line[:min(band, n)], default=0)
    for x in range(band + 1, n):
        m = max(m, line[x - 2])
        v = line[x]
        if v * 256 >= m * step256 + offset256:
            flat = line[:max(0, x - 1 - skip)]
            if flat and (max(flat) - min(flat)) * 256 > max(flat_levels * 256, max(flat) * flat256,
                                                             (v - max(flat)) * 128):
                return -1
            return x - 1 if 2 * line[x - 1] >= m + v else x
    return -1


@settings(max_examples=60, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(6, 30), st.integers(6, 30))), st.integers(1, 3), st.integers(4, 40),
       st.integers(0, 5), st.sampled_from([(24, 51), (255, 256), (0, 0)]))
def test_walks_match_reference(img, band, limit, skip, flat):
    h, w = img.shape
    s256, o256 = 264, 3 * 256
    fl, f256 = flat
    left, right = np.empty(h, np.int32), np.empty(h, np.int32)
    _walk_rows(img, s256, o256, band, limit, skip, fl, f256, left, right)
    top, bottom = np.empty(w, np.int32), np.empty(w, np.int32)
    _walk_cols(img, s256, o256, band, limit, skip, fl, f256, top, bottom)
    args = (s256, o256, band, limit, skip, fl, f256)
    for y in range(h):
        assert left[y] == reference_walk(img[y], *args)
        r = reference_walk(img[y, ::-1], *args)
        assert right[y] == (-1 if r < 0 else w - 1 - r)
    for x in range(w):
        assert top[x] == reference_walk(img[:, x], *args)
        r = reference_walk(img[::-1, x], *args)
        assert bottom[x] == (-1 if r < 0 else h - 1 - r)


def _sheet(w=400, h=560, bg=30, paper=235, angle=0.0, margin=24, falloff=0.0, noise=0.0, seed=0):
    """A blank sheet on a background, turned counter-clockwise by ``angle``, light falling off to the right."""
    rng = np.random.default_rng(seed)
    mask = np.zeros((h, w), np.uint8)
    mask[margin:h - margin, margin:w - margin] = 255
    m = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), angle, 1.0)
    cover = cv2.warpAffine(mask, m, (w, h), flags=cv2.INTER_LINEAR).astype(np.float32) / 255
    img = bg + (paper - bg) * cover
    img *= 1.0 - falloff * np.linspace(0, 1, w)[None, :]
    img += rng.normal(0, noise, img.shape)
    return np.clip(np.round(img), 0, 255).astype(np.uint8), m


@pytest.mark.parametrize("bg", [30, 200])
@pytest.mark.parametrize("angle", [0.0, 2.5, -4.0])
@pytest.mark.parametrize("falloff", [0.0, 0.33])
def test_edges_of_a_turned_sheet_on_dark_and_light_backgrounds(bg, angle, falloff):
    img, m = _sheet(bg=bg, angle=angle, falloff=falloff, noise=2.0)
    e = find_sheet_edges(img, band=2)
    assert all(s.found for s in e.sides)
    # The sheet turned counter-clockwise by `angle`: its left edge runs x = b + t y with t = tan(angle).
    t = math.tan(math.radians(angle))
    for side in e.sides:
        assert abs(side.slope - (t if side in (e.left, e.right) else -t)) < 0.004
    # Each edge passes through the turned corners of the sheet, within a pixel.
    corners = np.array([[24, 24], [375, 24], [375, 535], [24, 535]], np.float64)
    turned = corners @ m[:, :2].T + m[:, 2]
    (lx, ly), (tx, ty), (rx, ry), (bx, by) = turned[0], turned[1], turned[2], turned[3]
    assert abs(e.left.at(ly) - lx) < 1.5 and abs(e.top.at(tx) - ty) < 1.5
    assert abs(e.right.at(ry) - rx) < 1.5 and abs(e.bottom.at(bx) - by) < 1.5


def test_no_background_and_slow_light_find_no_edge():
    img, _ = _sheet(margin=0, falloff=0.33, noise=2.0)
    e = find_sheet_edges(img)
    assert not any(s.found for s in e.sides)
    assert e.box(0.0) == ((0, 0, 400, 560), (False,) * 4)


def test_bars_and_text_inside_the_sheet_make_no_edge():
    # The sheet fills the frame; a thick black bar and text-like strokes inside it.
    img = np.full((500, 400), 235, np.uint8)
    img[:, 120:130] = 10
    for y in range(40, 460, 14):
        img[y:y + 6, 60:340:7] = 20
    e = find_sheet_edges(img)
    assert not any(s.found for s in e.sides)


def test_a_pattern_filling_the_frame_makes_no_edge():
    # Bright and dark lines to the frame's border (a test pattern, a photograph):
    # the walks cross no flat background, so no edge is found and nothing is cut.
    img = np.zeros((400, 300), np.uint8)
    img[::3] = 200
    img[1::3] = 90
    img[:, 200:] //= 2
    assert not any(s.found for s in find_sheet_edges(img).sides)


def test_a_shadow_just_outside_the_edge_still_lets_it_show():
    img, _ = _sheet(bg=200, noise=1.0)
    img[24:536, 376:379] = 90  # the lid's shadow beside the right edge
    e = find_sheet_edges(img, band=2, skip=4)
    assert e.right.found and abs(e.right.at(300) - 375) < 1.5


def test_a_grey_lid_behind_yellowed_paper_shows_no_edge():
    img, _ = _sheet(bg=222, paper=228, noise=2.0)
    assert not any(s.found for s in find_sheet_edges(img).sides)


def test_box_in_the_turned_frame_holds_the_whole_sheet():
    img, m = _sheet(angle=3.0, noise=1.0)
    e = find_sheet_edges(img, band=2)
    (x0, y0, x1, y1), found = e.box(3.0)
    assert found == (True,) * 4
    # Turned clockwise by 3 degrees, the sheet is upright again: 352 x 512 at the same centre.
    assert abs((x1 - x0) - 352) <= 3 and abs((y1 - y0) - 512) <= 3
    assert abs((x0 + x1) / 2 - 200) <= 2 and abs((y0 + y1) / 2 - 280) <= 2


def test_bad_parameters():
    for kw in (dict(step=-0.1), dict(offset=100), dict(band=0), dict(limit_fraction=0.9), dict(min_share=0),
               dict(skip=-1), dict(flat_levels=300), dict(flat_ratio=2.0)):
        with pytest.raises(ImageError):
            find_sheet_edges(np.zeros((20, 20), np.uint8), **kw)


def reference_line(p, q, tolerance=1.5):
    """The line fit as the module notes state it, in plain numpy: sweep, then least squares."""
    tmax = math.tan(math.radians(15.5))
    lo = -tmax * q.max() - 4.0
    hi = p.max() + tmax * q.max() + 4.0
    nb = int((hi - lo) / 4.0) + 2
    best, bt, bb = -1, 0.0, 0.0
    for t in np.linspace(-math.tan(math.radians(15.0)), math.tan(math.radians(15.0)), 61):
        hist = np.zeros(nb, np.int64)
        j = np.floor((p - t * q - lo) / 4.0).astype(int)
        ok = (j >= 0) & (j < nb)
        np.add.at(hist, j[ok], 1)
        win = np.concatenate([[0], np.cumsum(hist)])
        sums = win[2:] - win[:-2]  # windows of two bins ending at each bin
        k = int(np.argmax(sums))
        if sums[k] > best:
            best, bt, bb = sums[k], t, lo + (k + 1) * 4.0
    t, b = bt, bb
    for it in range(4):
        on = np.abs(p - (b + t * q)) <= (4.0 if it == 0 else tolerance)
        if it == 3 or on.sum() < 2 or np.ptp(q[on]) == 0:
            break
        t, b = np.polyfit(q[on], p[on], 1)
    return b, t, on


@settings(max_examples=40, deadline=None)
@given(st.floats(-14.0, 14.0), st.floats(10.0, 300.0), st.integers(0, 2**31 - 1))
def test_line_fit_matches_reference(angle, offset, seed):
    from imaging.sheet import _line_kernel

    rng = np.random.default_rng(seed)
    q = np.arange(0, 600, dtype=np.float64)
    p = offset + math.tan(math.radians(angle)) * q + rng.normal(0, 0.4, q.size)
    wild = rng.random(q.size) < 0.3  # text, wedges, noise: stops off the line
    p[wild] = rng.uniform(0, 500, int(wild.sum()))
    b, t, on = _line_kernel(p, q, 15.0, 0.5, 1.5)
    rb, rt, ron = reference_line(p, q)
    assert abs(t - rt) < 1e-6 and abs(b - rb) < 1e-4
    np.testing.assert_array_equal(on, ron)
    assert abs(t - math.tan(math.radians(angle))) < 0.002
