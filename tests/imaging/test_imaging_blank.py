import numpy as np
import pytest

from bench.imaging_pages import cached_page as page
from imaging.blank import detect_blank
from imaging.errors import ImageError
from imaging.pipeline import process_page


@pytest.mark.parametrize("kw", [
    dict(content="stamp"), dict(content="signature"), dict(content="one_line"),
    dict(content="one_line", uneven=True, specks=20, background="light"), dict(content="text"),
    dict(content="photo"), dict(content="stamp", colour=True),
])
def test_pages_with_content_are_not_blank(kw):
    a = process_page(page(seed=50, **kw), 200).analysis
    assert not a.blank, a.blank_measure
    assert a.content_box is not None


@pytest.mark.parametrize("kw", [
    dict(content="blank"), dict(content="blank", specks=40), dict(content="blank", bleed=True),
    dict(content="blank", uneven=True, bleed=True, specks=25), dict(content="blank", background="light"),
    dict(content="blank", background="none", colour=True, black_border_mm=3),
])
def test_blank_pages_are_blank(kw):
    r = process_page(page(seed=51, **kw), 200)
    assert r.analysis.blank, r.analysis.blank_measure
    assert r.analysis.content_box is None
    assert r.colour.size > 0  # kept for review, never dropped


def test_one_line_is_far_above_the_limit():
    a = process_page(page(content="one_line", seed=52), 200).analysis
    assert a.blank_measure > 10 * 4.0


def test_detect_blank_direct():
    mask = np.zeros((300, 200), np.uint8)
    assert detect_blank(mask, 100).blank
    mask[100:104, 20:180] = 1  # a 40 mm rule, 1 mm thick
    r = detect_blank(mask, 100)
    assert not r.blank and r.ink_mm2 > 30
    specks = np.zeros((300, 200), np.uint8)
    specks[10::37, 10::41] = 1
    assert detect_blank(specks, 100).blank


def test_detect_blank_bad_dpi():
    with pytest.raises(ImageError):
        detect_blank(np.zeros((20, 20), np.uint8), 0)
