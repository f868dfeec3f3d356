import numpy as np
import pytest

from bench.imaging_pages import cached_page as page
from imaging.errors import ImageError
from imaging.orientation import detect_orientation
from imaging.pipeline import process_page


@pytest.mark.parametrize("seed,content,dpi", [(60, "text", 200), (61, "table", 200), (62, "text", 300)])
def test_upright_and_upside_down(seed, content, dpi):
    up = process_page(page(seed=seed, content=content, skew_deg=1.2, dpi=dpi), dpi)
    down = process_page(page(seed=seed, content=content, skew_deg=1.2, dpi=dpi, upside_down=True), dpi)
    assert up.analysis.orientation == 0 and up.analysis.orientation_measure > 0.05
    assert down.analysis.orientation == 180 and down.analysis.orientation_measure < -0.05


def test_upside_down_page_is_turned_back():
    img = page(seed=63, skew_deg=0.0, background="none", upside_down=True)
    r = process_page(img, 200)
    assert r.analysis.orientation == 180
    # Turning the output back by 180 degrees gives the input (no skew applied).
    assert r.analysis.angle_applied == 0.0
    x0, y0, x1, y1 = r.analysis.crop_box
    h, w = img.shape
    assert np.array_equal(r.colour[::-1, ::-1], img[h - y1:h - y0, w - x1:w - x0])


def test_few_lines_stay_upright():
    mask = np.zeros((100, 100), np.uint8)
    mask[40:48, 10:90] = 1
    assert detect_orientation(mask, 0.0).degrees == 0


def test_bad_angle():
    with pytest.raises(ImageError):
        detect_orientation(np.zeros((20, 20), np.uint8), 90.0)
