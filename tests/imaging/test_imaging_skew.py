import numpy as np
import pytest

from bench.imaging_pages import cached_page as page
from imaging.background import block_maps, ink_mask, paper_levels
from imaging.errors import ImageError
from imaging.gray import reduce
from imaging.pipeline import PipelineParams, process_page
from imaging.skew import estimate_skew

ANGLES = [(-14.3, "text", "dark"), (-7.9, "table", "light"), (-1.3, "text", "none"), (-0.21, "table", "dark"),
          (0.0, "text", "dark"), (0.07, "text", "light"), (0.5, "table", "none"), (2.75, "text", "dark"),
          (6.1, "text", "none"), (11.6, "table", "dark")]


def test_known_angles_within_error_bounds():
    errors = []
    for i, (angle, content, bg) in enumerate(ANGLES):
        img = page(skew_deg=angle, content=content, background=bg, seed=i, specks=10, uneven=i % 2 == 0,
                   bleed=i % 3 == 0)
        a = process_page(img, 200).analysis
        assert a.skew_confidence >= PipelineParams().min_skew_confidence, (angle, a.skew_confidence)
        errors.append(abs(a.skew_deg - angle))
    assert max(errors) <= 0.1, errors
    assert float(np.mean(errors)) <= 0.03, errors


def test_sign_convention_text_rising_right_is_positive():
    a = process_page(page(skew_deg=3.0, seed=40), 200).analysis
    assert 2.9 < a.skew_deg < 3.1 and a.angle_applied == a.skew_deg


@pytest.mark.parametrize("content", ["stamp", "signature", "photo", "blank"])
def test_pages_without_text_have_low_confidence_and_are_not_rotated(content):
    a = process_page(page(content=content, skew_deg=2.0, seed=41), 200).analysis
    assert a.skew_confidence < PipelineParams().min_skew_confidence
    assert a.angle_applied == 0.0


def test_small_skew_is_not_corrected():
    a = process_page(page(skew_deg=0.03, seed=42, background="none"), 200).analysis
    assert abs(a.skew_deg - 0.03) < 0.05 and a.angle_applied == 0.0


def test_estimate_skew_on_mask_directly():
    small = reduce(page(skew_deg=-4.0, seed=43), 2)
    levels = paper_levels(small)
    _, bg, interior = block_maps(small, 12, levels.mid)
    est = estimate_skew(ink_mask(small, bg, interior, 12))
    assert abs(est.angle_deg + 4.0) < 0.1 and est.confidence > 0.8 and est.ink_pixels > 10_000


def test_too_little_ink_gives_zero_confidence():
    mask = np.zeros((100, 100), np.uint8)
    mask[50, 10:60] = 1
    assert estimate_skew(mask).confidence == 0.0


@pytest.mark.parametrize("kw", [dict(max_angle=0.0), dict(sweep_step=5.0), dict(precision=0.0)])
def test_bad_parameters(kw):
    with pytest.raises(ImageError):
        estimate_skew(np.zeros((20, 20), np.uint8), **kw)


def test_bad_mask():
    with pytest.raises(ImageError):
        estimate_skew(np.zeros((20, 20), np.float32))
    with pytest.raises(ImageError):
        estimate_skew(np.zeros((0, 5), np.uint8))
