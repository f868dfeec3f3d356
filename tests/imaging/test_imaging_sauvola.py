import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays
from skimage.filters import threshold_sauvola

from imaging.errors import ImageError
from imaging.sauvola import sauvola, sauvola_runs


def _ref(img, window, k):
    return np.where(img > threshold_sauvola(img, window_size=window, k=k), 255, 0).astype(np.uint8)


@settings(max_examples=60, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(16, 48), st.integers(16, 48))),
       st.integers(1, 30).map(lambda n: 2 * n + 1), st.floats(-0.5, 0.8))
def test_matches_scikit_image(img, window, k):
    agree = np.mean(sauvola(img, window, k) == _ref(img, window, k))
    assert agree >= 0.999


def test_matches_scikit_image_on_a_page_at_999_per_mille():
    from bench.imaging_pages import cached_page as page

    img = page(dpi=150, uneven=True, bleed=True)[200:700, 100:700]
    assert np.mean(sauvola(img, 25, 0.2) == _ref(img, 25, 0.2)) >= 0.999


def test_text_is_ink_and_paper_is_white():
    img = np.full((60, 80), 220, np.uint8)
    img[20:25, 10:70] = 30
    out = sauvola(img, 15, 0.2)
    assert (out[20:25, 12:68] == 0).all()
    assert (out[40:, :] == 255).all()


@pytest.mark.parametrize("kw", [dict(window=4), dict(window=1), dict(window=183), dict(k=2.0),
                                dict(r=0.0), dict(k=float("nan"))])
def test_bad_parameters(kw):
    with pytest.raises(ImageError):
        sauvola(np.zeros((20, 20), np.uint8), **kw)


def _plain(img, window, k, r=127.5):
    """The kernel's arithmetic, pixel by pixel with numpy: exact integer window sums
    over the mirrored page, then the same float64 expressions. The kernel skips
    tiles it can prove are paper; its output must be this one to the pixel."""
    half = window // 2
    pad = np.pad(img.astype(np.int64), half, mode="reflect")
    ii = np.zeros((pad.shape[0] + 1, pad.shape[1] + 1), np.int64)
    ii[1:, 1:] = pad.cumsum(0).cumsum(1)
    iq = np.zeros_like(ii)
    iq[1:, 1:] = (pad * pad).cumsum(0).cumsum(1)
    h, w = img.shape

    def box(t):
        return t[window:window + h, window:window + w] - t[:h, window:window + w] - t[window:window + h, :w] + t[:h, :w]

    s1, s2 = box(ii).astype(np.float64), box(iq).astype(np.float64)
    n = float(window * window)
    g = img.astype(np.float64)
    if k >= 0:
        lhs = n * (n * g - (1.0 - k) * s1)
        v = np.maximum(n * s2 - s1 * s1, 0.0)
        c2 = (k / r) * (k / r)
        paper = (lhs > 0.0) & (lhs * lhs > c2 * s1 * s1 * v)
    else:
        m = s1 / n
        t = m * (1.0 + k * ((np.sqrt(np.maximum(s2 / n - m * m, 0.0)) / r) - 1.0))
        paper = g > t
    return np.where(paper, 255, 0).astype(np.uint8)


def _paper_page(rng, h, w):
    # Mostly flat paper (tiles the kernel skips) with strokes, dots and a faint patch.
    img = np.clip(rng.normal(225, 2.5, (h, w)), 0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(0, 12))):
        y, x = int(rng.integers(0, h)), int(rng.integers(0, w))
        img[y:y + int(rng.integers(1, 8)), x:x + int(rng.integers(1, 60))] = int(rng.integers(0, 200))
    return img


@pytest.mark.parametrize("seed", range(12))
def test_equals_the_plain_arithmetic_on_paper_with_ink(seed):
    rng = np.random.default_rng(seed)
    h, w = int(rng.integers(16, 160)), int(rng.integers(16, 220))
    img = _paper_page(rng, h, w)
    window = int(rng.integers(1, 40)) * 2 + 1
    for k in (0.2, 0.5, 0.0, 1.0, -0.3):
        assert np.array_equal(sauvola(img, window, k), _plain(img, window, k)), (h, w, window, k)


@settings(max_examples=40, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(16, 70), st.integers(16, 90))),
       st.integers(1, 30).map(lambda n: 2 * n + 1), st.floats(-1.0, 1.0))
def test_equals_the_plain_arithmetic_on_any_image(img, window, k):
    assert np.array_equal(sauvola(img, window, k), _plain(img, window, k))


def test_equals_the_plain_arithmetic_on_a_page():
    from bench.imaging_pages import cached_page as page

    img = page(dpi=150, uneven=True, bleed=True, specks=20)
    assert np.array_equal(sauvola(img, 13, 0.2), _plain(img, 13, 0.2))


@pytest.mark.parametrize("seed", range(6))
def test_runs_are_those_of_the_bitonal_page(seed):
    from imaging.runs import find_runs

    rng = np.random.default_rng(100 + seed)
    img = _paper_page(rng, int(rng.integers(16, 120)), int(rng.integers(16, 300)))
    bitonal, runs = sauvola_runs(img, 15, 0.2)
    assert np.array_equal(bitonal, sauvola(img, 15, 0.2))
    ref = find_runs(bitonal, 0)
    for name in ("y", "x0", "x1", "rowstart"):
        assert np.array_equal(getattr(runs, name), getattr(ref, name)), name
    assert (runs.height, runs.width) == (ref.height, ref.width)


def test_runs_are_those_of_the_bitonal_page_on_a_page():
    # A whole page: long stretches that are not sure paper, with words of plain paper
    # between the ink (cut without looking at their pixels one by one) and runs that
    # cross from one 64-pixel block to the next.
    from bench.imaging_pages import cached_page as page
    from imaging.runs import find_runs

    img = page(dpi=150, uneven=True, bleed=True, specks=20)
    bitonal, runs = sauvola_runs(img, 13, 0.2)
    ref = find_runs(bitonal, 0)
    assert ref.count > 1000
    for name in ("y", "x0", "x1", "rowstart"):
        assert np.array_equal(getattr(runs, name), getattr(ref, name)), name


@pytest.mark.parametrize("h,w", [(16, 16), (40, 37), (33, 250), (100, 17), (5, 3)])
def test_tile_ranges_are_each_tiles_least_and_greatest_value(h, w):
    # The sure-paper test stands on these ranges: a range too wide only costs time,
    # one too narrow would skip ink; both are checked against numpy.
    from imaging.sauvola import TILE_COLS, TILE_ROWS, _tile_ranges

    img = np.random.default_rng(h * w).integers(0, 256, (h, w), dtype=np.uint8)
    th, tw = TILE_ROWS, TILE_COLS
    nty, ntx = -(-h // th), -(-w // tw)
    tmin = np.empty((nty, ntx), np.int64)
    tmax = np.empty((nty, ntx), np.int64)
    _tile_ranges(img, th, tw, tmin, tmax)
    for ty in range(nty):
        for tx in range(ntx):
            tile = img[ty * th:(ty + 1) * th, tx * tw:(tx + 1) * tw]
            assert (tmin[ty, tx], tmax[ty, tx]) == (tile.min(), tile.max()), (ty, tx)


@pytest.mark.parametrize("half", [1, 12, 20, 40])
def test_each_bands_sure_paper_tiles_are_the_whole_pages(half):
    # Each binarization band tests its own tiles from its rows' ranges and its
    # neighbours' within the window; the flags must be those of the whole page
    # (too few only costs time, too many would skip ink).
    from bench.imaging_pages import cached_page as page
    from imaging.sauvola import TILE_ROWS, _band_paper, _paper_tiles

    img = page(dpi=150, uneven=True, bleed=True, specks=20)
    whole = _paper_tiles(img, half, 0.2, 127.5)
    assert whole.any() and not whole.all()
    nty = whole.shape[0]
    for cuts in ([0, 7, nty], [0, 1, 2, nty - 1, nty], [0, nty // 3, 2 * nty // 3, nty]):
        banded = np.zeros_like(whole)
        for ta, tb in zip(cuts, cuts[1:]):
            _band_paper(img, half, 0.2, 127.5, ta, tb, banded)
        assert np.array_equal(banded, whole), (cuts, img.shape, TILE_ROWS)
