import json
import threading

import numpy as np
import pytest

from bench.imaging_pages import cached_page as page
from imaging.errors import ImageError
from imaging.pipeline import PipelineParams, RunContext, process_page


def _codes(result):
    return [w["code"] for w in result.analysis.warnings]


def test_outputs_and_analysis_record_gray():
    img = page(seed=80, skew_deg=2.0)
    r = process_page(img, 200, params=PipelineParams(), run=RunContext())
    assert r.colour.dtype == np.uint8 and r.colour.ndim == 2
    assert r.bitonal.dtype == np.uint8 and r.bitonal.shape == r.colour.shape
    assert set(np.unique(r.bitonal)) <= {0, 255}
    assert 0.01 < (r.bitonal == 0).mean() < 0.2
    d = r.analysis.to_dict()
    json.dumps(d)
    for key in ("skew_deg", "skew_confidence", "angle_applied", "orientation", "blank", "blank_measure",
                "content_box", "crop_box", "warnings", "timings_ms"):
        assert key in d
    assert set(d["timings_ms"]) >= {"analysis", "correction", "binarize", "total"}
    x0, y0, x1, y1 = d["crop_box"]
    assert r.colour.shape == (y1 - y0, x1 - x0)


def test_without_bitonal_the_same_page_and_analysis():
    img = page(seed=80, skew_deg=2.0)
    full = process_page(img, 200)
    lean = process_page(img, 200, params=PipelineParams(bitonal=False))
    assert lean.bitonal is None
    assert np.array_equal(lean.colour, full.colour)
    assert "binarize" not in lean.analysis.timings_ms
    a, b = lean.analysis.to_dict(), full.analysis.to_dict()
    a.pop("timings_ms"), b.pop("timings_ms")
    assert a == b


def test_colour_page_keeps_three_channels_and_paper_fill():
    r = process_page(page(seed=81, colour=True, skew_deg=-5.0, background="none"), 200)
    assert r.colour.ndim == 3 and r.colour.shape[2] == 3
    assert "low_colour_depth" not in _codes(r)
    # Corners uncovered by the rotation are filled with the paper's colour, not black.
    assert r.colour[0, 0].min() > 200


def test_archival_warnings_low_dpi_and_gray():
    img = page(seed=82, dpi=150)
    r = process_page(img, 150)
    codes = _codes(r)
    assert "low_resolution" in codes and "low_colour_depth" in codes
    w = next(w for w in r.analysis.warnings if w["code"] == "low_resolution")
    assert w["measure"] == 150 and w["limit"] == 200
    assert "low_colour_depth" not in _codes(process_page(img, 150, PipelineParams(require_colour=False)))


def test_page_size_change_within_a_run():
    run = RunContext()
    a4 = page(seed=83)
    short = page(seed=83, size_mm=(210.0, 250.0))
    assert "page_size_change" not in _codes(process_page(a4, 200, run=run))
    assert "page_size_change" not in _codes(process_page(a4, 200, run=run))
    r = process_page(short, 200, run=run)
    w = next(w for w in r.analysis.warnings if w["code"] == "page_size_change")
    assert w["measure"] > 0.1
    assert "page_size_change" not in _codes(process_page(short, 200))  # no run, no comparison


def test_page_size_change_found_whatever_the_processing_order():
    a4 = page(seed=83)
    short = page(seed=83, size_mm=(210.0, 250.0))
    # Scan order a4 (0), short (1), a4 (2); two workers may finish them in any order.
    run = RunContext()
    assert "page_size_change" not in _codes(process_page(a4, 200, run=run, run_index=0))
    assert "page_size_change" not in _codes(process_page(a4, 200, run=run, run_index=2))
    assert "page_size_change" in _codes(process_page(short, 200, run=run, run_index=1))
    run = RunContext()
    assert "page_size_change" not in _codes(process_page(short, 200, run=run, run_index=1))
    assert "page_size_change" in _codes(process_page(a4, 200, run=run, run_index=2))
    # Pages 3 and 5 are not neighbours: no comparison.
    run = RunContext()
    process_page(a4, 200, run=run, run_index=3)
    assert "page_size_change" not in _codes(process_page(short, 200, run=run, run_index=5))


def test_quality_warnings_dark_blur_and_faint():
    import cv2

    img = page(seed=84, background="none")
    assert not {"blur", "too_dark", "too_light", "low_contrast"} & set(_codes(process_page(img, 200)))
    blurred = cv2.GaussianBlur(img, (0, 0), 4.0)
    assert "blur" in _codes(process_page(blurred, 200))
    dark = (img.astype(np.float32) * 0.5).astype(np.uint8)
    assert "too_dark" in _codes(process_page(dark, 200))
    faint = (255 - (255 - img.astype(np.float32)) * 0.5).astype(np.uint8)  # ink about 145 on 245
    codes = _codes(process_page(faint, 200))
    assert "too_light" in codes or "low_contrast" in codes


def test_content_at_edge_when_page_is_cut_off():
    img = np.array(page(seed=85, background="none"))
    cut = img[:, 250:]  # the scan lost the left part of the sheet: text runs into the edge
    assert "content_at_edge" in _codes(process_page(cut, 200))
    assert "content_at_edge" not in _codes(process_page(img, 200))


def test_thread_pool_gives_same_results_as_serial():
    pages = [page(seed=86 + i, skew_deg=1.0 + i) for i in range(3)]
    serial = [process_page(p, 200).analysis.skew_deg for p in pages]
    out = [None] * 3

    def work(i):
        out[i] = process_page(pages[i], 200).analysis.skew_deg

    threads = [threading.Thread(target=work, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert out == serial


@pytest.mark.parametrize("bad", [
    np.zeros((0, 0), np.uint8), np.zeros((0, 100, 3), np.uint8), np.zeros((1, 1), np.uint8),
    np.zeros((1, 1, 3), np.uint8), np.zeros((300, 200), np.uint16), np.zeros((300, 200), np.float64),
    np.zeros((300, 200, 4), np.uint8), np.zeros((300,), np.uint8), np.zeros((2, 3, 4, 5), np.uint8),
    [[1, 2], [3, 4]], None,
])
def test_bad_images_raise_image_error(bad):
    with pytest.raises(ImageError):
        process_page(bad, 300)


def test_huge_dimensions_refused_without_allocating():
    huge = np.broadcast_to(np.uint8(255), (70_000, 70_000))  # a view: no 4.9 GB buffer
    with pytest.raises(ImageError, match="too large"):
        process_page(huge, 300)
    tall = np.broadcast_to(np.uint8(255), (20_000, 15_000, 3))
    with pytest.raises(ImageError, match="too large"):
        process_page(tall, 300)


@pytest.mark.parametrize("dpi", [0, -300, float("nan"), float("inf"), "abc", None, 100_000])
def test_bad_dpi(dpi):
    with pytest.raises(ImageError):
        process_page(np.full((300, 200), 255, np.uint8), dpi)


def test_tiny_page_at_high_dpi_is_refused_clearly():
    with pytest.raises(ImageError, match="too small"):
        process_page(np.full((40, 40), 255, np.uint8), 600)


def test_image_error_is_a_value_error():
    assert issubclass(ImageError, ValueError)


def test_blur_still_found_on_the_coarser_analysis_copy_of_300_dpi_pages():
    # 300 dpi pages are analysed at 75 dpi (factor 4), where the Laplacian sees a
    # blur of the same size in mm as less: a 0.5 mm blur must still warn, a sharp
    # page must not.
    import cv2

    img = page(dpi=300, seed=85, background="none")
    r = process_page(img, 300)
    assert "blur" not in _codes(r)
    assert "blur" in _codes(process_page(cv2.GaussianBlur(img, (0, 0), 0.5 * 300 / 25.4), 300))


@pytest.mark.parametrize("colour", [False, True])
def test_bitonal_page_is_sauvola_then_despeckle_of_the_corrected_page(colour):
    # The pipeline cuts the ink runs inside the binarization and despeckles from
    # them; the page must be what the two steps give one after the other.
    from imaging.components import despeckle
    from imaging.gray import to_gray
    from imaging.sauvola import sauvola

    img = page(dpi=300, seed=81, skew_deg=-1.7, colour=colour, specks=40, bleed=True)
    p = PipelineParams()
    r = process_page(img, 300, params=p)
    window = int(round(p.sauvola_window_mm * 300 / 25.4))
    window = window if window % 2 else window + 1
    ref, removed = despeckle(sauvola(to_gray(r.colour), window, p.sauvola_k), int(round(p.speck_mm * 300 / 25.4)))
    assert removed > 0
    assert np.array_equal(r.bitonal, ref)
