import numpy as np
import pytest

from bench.imaging_pages import cached_page as page
from imaging.pipeline import process_page

A4 = (210.0, 297.0)


def _mm(px, dpi=200):
    return px * 25.4 / dpi


@pytest.mark.parametrize("background", ["dark", "light"])
@pytest.mark.parametrize("skew", [0.0, 3.5])
def test_crop_to_sheet_on_dark_and_light_background(background, skew):
    r = process_page(page(seed=70, background=background, skew_deg=skew), 200)
    x0, y0, x1, y1 = r.analysis.crop_box
    assert abs(_mm(x1 - x0) - A4[0]) < 3.0 and abs(_mm(y1 - y0) - A4[1]) < 3.0
    # The sheet sits 8 mm inside the frame.
    assert abs(_mm(x0) - 8.0) < 2.5 and abs(_mm(y0) - 8.0) < 2.5
    # No scanner background left in the output: the corners are paper.
    c = r.colour
    for corner in (c[5:15, 5:15], c[5:15, -15:-5], c[-15:-5, 5:15], c[-15:-5, -15:-5]):
        assert corner.mean() > 180


def test_black_borders_removed_when_sheet_fills_frame():
    r = process_page(page(seed=71, background="none", black_border_mm=4), 200)
    x0, y0, x1, y1 = r.analysis.crop_box
    assert 3.0 < _mm(x0) < 5.5 and 3.0 < _mm(y0) < 5.5
    # The black strip is gone but for at most one analysis pixel (2 pixels at 200 dpi)
    # on the paper's side of the edge, which the crop never cuts into.
    assert (np.median(r.colour[:, :10], axis=0) < 100).sum() <= 2
    assert (np.median(r.colour[:10, :], axis=1) < 100).sum() <= 2


def test_no_background_keeps_the_whole_frame():
    img = page(seed=72, background="none")
    r = process_page(img, 200)
    assert r.analysis.crop_box == [0, 0, img.shape[1], img.shape[0]]
    assert np.array_equal(r.colour, img)


def test_content_box_inside_crop_box_and_matches_text_block():
    r = process_page(page(seed=73, skew_deg=0.0, background="none"), 200)
    cx0, cy0, cx1, cy1 = r.analysis.content_box
    # Text starts 22 mm from the left edge and 20 mm (plus a line) from the top.
    assert abs(_mm(cx0) - 22.0) < 2.0 and 20.0 < _mm(cy0) < 28.0
    assert cx1 <= r.analysis.crop_box[2] and cy1 <= r.analysis.crop_box[3]
