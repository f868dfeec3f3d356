import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays
from skimage.filters import threshold_sauvola

from imaging.errors import ImageError
from imaging.sauvola import sauvola


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
