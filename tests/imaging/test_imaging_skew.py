from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.imaging_pages import cached_page as page
from imaging.background import block_maps, ink_mask, paper_levels
from imaging.errors import ImageError
from imaging.gray import reduce
from imaging.pipeline import PipelineParams, process_page
from imaging.runs import find_runs
from imaging.skew import _ink_points, estimate_skew, estimate_skew_runs

DATA = Path(__file__).parent / "data"

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
    # No scanner background: the ink mask marks every pixel of it as ink, which the
    # pipeline drops before the skew estimate; this calls the estimator directly.
    small = reduce(page(skew_deg=-4.0, seed=43, background="none"), 2)
    levels = paper_levels(small)
    maps = block_maps(small, 12, levels.paper)
    est = estimate_skew(ink_mask(small, maps.background, maps.outside, 12))
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


def test_text_page_whose_sweep_subsample_takes_every_8th_pixel():
    # The ink of a 200 dpi page of small Vietnamese text turned 2.75 degrees, as the
    # analysis sees it (100 dpi). It has 67,369 ink pixels, so the sweep keeps every
    # 8th one; when the dither was laid over every pixel before that subsample,
    # the kept points' phases crept by 0.944 of a bin per point, a false peak at
    # 0.5 degrees won the sweep and the page was left crooked.
    mask = (np.asarray(Image.open(DATA / "ink_mask_text_2_75deg.png")) == 0).astype(np.uint8)  # black = ink
    assert int(mask.sum()) // 8_000 == 8
    est = estimate_skew(mask)
    assert abs(est.angle_deg - 2.75) < 0.05, est
    assert est.confidence >= PipelineParams().min_skew_confidence, est


@pytest.mark.parametrize("stride", [1, 3, 8, 13])
def test_ink_points_keep_every_stride_th_pixel_with_its_own_dither(stride):
    rng = np.random.default_rng(stride)
    mask = (rng.random((40, 57)) < 0.3).astype(np.uint8)
    runs = find_runs(mask != 0)
    ys, xs = _ink_points(runs.y, runs.x0, runs.x1, runs.pixels, runs.width, stride)
    ry, rx = np.nonzero(mask)  # raster order, the plain reference
    np.testing.assert_array_equal(np.floor(ys), ry[::stride])
    np.testing.assert_array_equal(xs, rx[::stride] - (mask.shape[1] - 1) / 2.0)
    # the kept points' phases are the golden-ratio sequence itself, whatever the stride
    golden = np.mod(np.arange(ys.size) * 0.6180339887498949, 1.0)
    np.testing.assert_allclose(ys - np.floor(ys), golden, atol=1e-9)


def test_lines_running_down_the_page_are_measured_transposed():
    # A page of text turned a quarter turn clockwise: its lines run down the page.
    # Read transposed, the score beats the across reading, and the page turned
    # back has the skew -angle of the transposed estimate.
    img = page(skew_deg=2.0, seed=44, background="none")
    small = reduce(np.ascontiguousarray(np.rot90(img, -1)), 2)
    levels = paper_levels(small)
    maps = block_maps(small, 12, levels.paper)
    runs = find_runs(ink_mask(small, maps.background, maps.outside, 12))
    across = estimate_skew_runs(runs)
    down = estimate_skew_runs(runs, transpose=True)
    assert down.score > 3 * across.score and down.confidence > 0.8
    assert abs(-down.angle_deg - 2.0) < 0.05


def test_transposed_points_are_the_mask_transposed():
    from imaging.skew import _ink_points_t

    rng = np.random.default_rng(7)
    mask = (rng.random((30, 41)) < 0.3).astype(np.uint8)
    runs = find_runs(mask)
    ys, xs = _ink_points_t(runs.y, runs.x0, runs.x1, runs.pixels, runs.height, 1)
    ry, rx = np.nonzero(mask)  # raster order of the mask, as the runs give them
    np.testing.assert_array_equal(np.floor(ys), rx)
    np.testing.assert_array_equal(xs, ry - (mask.shape[0] - 1) / 2.0)


@pytest.mark.parametrize("cut", [0, 1, 30, 60, 61])
def test_a_sweep_scored_in_parts_gives_the_estimate_of_one_sweep(cut):
    # The pipeline scores half the sweep's steps on a helper thread: any split of
    # the steps, in any order, gives the same estimate to the bit.
    from imaging.skew import SkewSearch

    img = page(skew_deg=-3.1, seed=45, background="none")
    small = reduce(img, 4)
    levels = paper_levels(small)
    maps = block_maps(small, 12, levels.paper)
    runs = find_runs(ink_mask(small, maps.background, maps.outside, 12))
    whole = estimate_skew_runs(runs)
    search = SkewSearch(runs)
    assert search.steps == 61
    with pytest.raises(RuntimeError):
        search.sweep()  # its subsample is not picked yet
    search.prepare(fine=True)
    search.prepare()
    search.sweep(cut)
    search.sweep(0, cut)
    assert search.result() == whole
    assert search.result(refine=False) == estimate_skew_runs(runs, refine=False)
    assert abs(whole.angle_deg + 3.1) < 0.05
