import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from imaging.errors import ImageError
from imaging.gray import reduce, to_gray


def _ref_gray(rgb):
    r, g, b = (rgb[..., i].astype(np.int64) for i in range(3))
    return ((77 * r + 150 * g + 29 * b + 128) >> 8).astype(np.uint8)


@settings(max_examples=40, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(16, 40), st.integers(16, 40), st.just(3))))
def test_to_gray_matches_fixed_point_bt601(rgb):
    assert np.array_equal(to_gray(rgb), _ref_gray(rgb))


def test_to_gray_is_within_one_level_of_opencv():
    cv2 = pytest.importorskip("cv2")
    rgb = np.random.default_rng(0).integers(0, 256, (64, 48, 3), dtype=np.uint8)
    diff = np.abs(to_gray(rgb).astype(int) - cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
    assert diff.max() <= 1


@settings(max_examples=40, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(16, 50), st.integers(16, 50))), st.integers(1, 5))
def test_reduce_matches_block_mean_and_min(img, f):
    h, w = img.shape[0] // f, img.shape[1] // f
    blocks = img[:h * f, :w * f].reshape(h, f, w, f).astype(np.int64)
    mean = (blocks.sum(axis=(1, 3)) + (f * f) // 2) // (f * f)
    assert np.array_equal(reduce(img, f, "area"), mean.astype(np.uint8))
    assert np.array_equal(reduce(img, f, "min"), blocks.min(axis=(1, 3)).astype(np.uint8))


@pytest.mark.parametrize("f", list(range(1, 21)))
def test_reduce_is_exact_at_every_factor_for_the_brightest_and_random_pages(f):
    # The row sums are kept in 16 bits up to f = 16 and in 32 beyond: white pages
    # give the largest sums each can hold.
    rng = np.random.default_rng(f)
    shape = (max(16, 3 * f + 1), max(16, 4 * f + 3))
    for img in (np.full(shape, 255, np.uint8), rng.integers(0, 256, shape, dtype=np.uint8)):
        h, w = img.shape[0] // f, img.shape[1] // f
        blocks = img[:h * f, :w * f].reshape(h, f, w, f).astype(np.int64)
        mean = (blocks.sum(axis=(1, 3)) + (f * f) // 2) // (f * f)
        for threads in (1, 2):
            assert np.array_equal(reduce(img, f, "area", threads=threads), mean.astype(np.uint8))
        rgb = np.repeat(img[:, :, None], 3, axis=2)
        assert np.array_equal(reduce(rgb, f, "area"), mean.astype(np.uint8))


def test_reduce_rgb_equals_reduce_of_gray():
    rgb = np.random.default_rng(1).integers(0, 256, (60, 45, 3), dtype=np.uint8)
    assert np.array_equal(reduce(rgb, 3), reduce(_ref_gray(rgb), 3))


@pytest.mark.parametrize("bad", [
    np.zeros((0, 0), np.uint8), np.zeros((1, 1), np.uint8), np.zeros((20, 20), np.uint16),
    np.zeros((20, 20), np.float32), np.zeros((20, 20, 4), np.uint8), np.zeros((2, 20, 20, 3), np.uint8),
    "not an image",
])
def test_bad_input_raises_image_error(bad):
    with pytest.raises(ImageError):
        to_gray(bad)


def test_bad_factor_and_mode():
    img = np.zeros((20, 20), np.uint8)
    with pytest.raises(ImageError):
        reduce(img, 0)
    with pytest.raises(ImageError):
        reduce(img, 30)
    with pytest.raises(ImageError):
        reduce(img, 2, "median")
    with pytest.raises(ImageError):
        reduce(np.zeros((20, 20, 3), np.uint8), 2, "min")
