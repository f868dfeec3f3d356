import math

import cv2
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from imaging.errors import ImageError
from imaging.rotate import rotate_crop


def _cv_rotate(img, angle, flip=False):
    """OpenCV's bilinear warp with the same geometry; outside the source is 255."""
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), -angle + (180.0 if flip else 0.0), 1.0)
    return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=(255, 255, 255))


def _smooth(seed, shape):
    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.integers(0, 256, shape, dtype=np.uint8), (0, 0), 1.5)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.floats(-15, 15).filter(lambda a: abs(a) > 1e-3),
       st.integers(20, 90), st.integers(20, 90), st.booleans())
def test_matches_opencv_bilinear_within_tolerance(seed, angle, h, w, flip):
    img = _smooth(seed, (h, w))
    ours = rotate_crop(img, angle, flip=flip).astype(int)
    ref = _cv_rotate(img, angle, flip).astype(int)
    # Compare where both read well inside the source: along the source's edges the
    # two methods mix page and fill differently.
    inside = _cv_rotate(np.zeros_like(img), angle, flip) == 0
    inside = cv2.erode(inside.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    if inside.sum() < 20:
        return
    diff = np.abs(ours - ref)[inside]
    assert diff.mean() < 1.5
    assert np.percentile(diff, 99) <= 12


def test_colour_channels_rotate_like_gray():
    g = _smooth(3, (120, 90))
    rgb = np.stack([g, 255 - g, g // 2], axis=2)
    out = rotate_crop(rgb, 4.0, (5, 6, 80, 110), fill=(255, 0, 127))
    assert out.shape == (104, 75, 3)
    assert np.array_equal(out[:, :, 0], rotate_crop(g, 4.0, (5, 6, 80, 110), fill=255))
    assert np.array_equal(out[:, :, 1], rotate_crop(255 - g, 4.0, (5, 6, 80, 110), fill=0))


def test_crop_is_a_window_of_the_full_rotation():
    g = _smooth(4, (100, 70))
    full = rotate_crop(g, -6.0, flip=True)
    assert np.array_equal(rotate_crop(g, -6.0, (10, 20, 60, 90), flip=True), full[20:90, 10:60])


def test_zero_angle_is_an_exact_crop_and_half_turn():
    g = _smooth(5, (40, 30))
    assert np.array_equal(rotate_crop(g, 0.0, (2, 3, 20, 30)), g[3:30, 2:20])
    assert np.array_equal(rotate_crop(g, 0.0, flip=True), g[::-1, ::-1])


def test_fill_colour_outside_the_source():
    g = np.full((50, 50), 10, np.uint8)
    out = rotate_crop(g, 15.0, fill=200)
    assert out[0, 0] == 200 and out[25, 25] == 10


def test_line_straightened():
    # A line rising to the right by 5 degrees becomes horizontal after rotate_crop(+5).
    img = np.full((200, 300), 255, np.uint8)
    for x in range(40, 260):
        y = int(round(100 - (x - 149.5) * math.tan(math.radians(5.0))))
        img[y - 1:y + 2, x] = 0
    out = rotate_crop(img, 5.0)
    rows = np.flatnonzero((out[:, 60:240] < 128).sum(axis=1) > 60)
    assert rows.size and rows.max() - rows.min() <= 4


@pytest.mark.parametrize("kw", [dict(angle_deg=50.0), dict(angle_deg=float("nan")),
                                dict(angle_deg=1.0, box=(0, 0, 0, 10)), dict(angle_deg=1.0, box=(0, 0, 30, 10)),
                                dict(angle_deg=1.0, fill=(1, 2, 3)), dict(angle_deg=1.0, fill=300)])
def test_bad_parameters(kw):
    with pytest.raises(ImageError):
        rotate_crop(np.zeros((20, 20), np.uint8), **kw)


def _shear_ref(rows, t, fill, width):
    """Row i resampled at t[i] + 0, 1, ..., width - 1 (linear, the kernel's 8-bit fixed point), fill outside."""
    h, w = rows.shape
    pad = np.full((h, w + 2), fill, np.int64)
    pad[:, 1:-1] = rows
    pos = t[:, None] + np.arange(width)[None, :]
    k = np.floor(pos).astype(np.int64)
    f = np.floor((pos - k) * 256.0 + 0.5).astype(np.int64)
    k = np.where(f == 256, k + 1, k)
    f = np.where(f == 256, 0, f)
    a = np.take_along_axis(pad, np.clip(k + 1, 0, w + 1), axis=1)  # pad[:, 0] and pad[:, -1] are fill
    b = np.take_along_axis(pad, np.clip(k + 2, 0, w + 1), axis=1)
    return (a * (256 - f) + b * f + 128) >> 8


def _three_shear_ref(img, angle, fill):
    """Paeth's three shears on whole intermediate pages (no ring, no segments): the plain reference."""
    h, w = img.shape
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    th = math.radians(angle)
    alpha, beta = math.tan(th / 2.0), -math.sin(th)
    # pass-1 columns a0..a1 and rows b0..b1 around the page: enough for any output pixel
    ex = (alpha * (0 - cy), alpha * (h - 1 - cy))
    a0 = int(math.floor(min(ex))) - 1
    a1 = int(math.ceil(w - 1 + max(ex))) + 2
    ey = (beta * (a0 - cx), beta * (a1 - 1 - cx))
    b0 = int(math.floor(min(ey))) - 1
    b1 = int(math.ceil(h - 1 + max(ey))) + 2
    ys = np.arange(b0, b1)
    src = np.full((b1 - b0, w), fill, np.int64)
    inside = (ys >= 0) & (ys < h)
    src[inside] = img[ys[inside]]
    p1 = _shear_ref(src, a0 + alpha * (ys - cy), fill, a1 - a0)     # horizontal shear
    p1[~inside] = fill
    p2 = _shear_ref(p1.T, beta * (np.arange(a0, a1) - cx) - b0, fill, h).T  # vertical shear
    return _shear_ref(p2, alpha * (np.arange(h) - cy) - a0, fill, w).astype(np.uint8)  # horizontal again


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.floats(-45, 45).filter(lambda a: abs(a) > 1e-3),
       st.integers(16, 120), st.integers(16, 160))
def test_equals_the_plain_three_shear_reference(seed, angle, h, w):
    img = np.random.default_rng(seed).integers(0, 256, (h, w), dtype=np.uint8)
    fill = seed % 256
    assert np.array_equal(rotate_crop(img, angle, fill=fill), _three_shear_ref(img, angle, fill))
