import numpy as np
import pytest

from bench.imaging_pages import cached_page as page
from drivers.sane_process import SaneProcess
from drivers.scanner import ScanSettings
from imaging.blank import dark_shape_area, detect_blank
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


def _sane_grid(width_mm: float, height_mm: float, dpi: int = 200) -> np.ndarray:
    """SANE's test pattern (the test backend's Grid: large solid black squares), scanned as the agent
    scans: through a driver process (design 2.2), so a crash of the test backend ends that process
    and not the pytest worker."""
    pytest.importorskip("sane")
    dev = SaneProcess("test:0", scan_s=30.0)
    try:
        dev.configure(ScanSettings(source="flatbed", mode="gray", resolution=dpi, width_mm=width_mm,
                                   height_mm=height_mm, extra={"test-picture": "Grid"}))
        return dev.scan_one(True).pixels
    finally:
        dev.close()


@pytest.mark.flaky(reruns=1, only_rerun=["DriverFailed"])  # the test backend's own defect, as in tests/drivers
@pytest.mark.parametrize("size", [(60.0, 80.0), (200.0, 200.0)])
def test_sane_test_pattern_is_not_blank(size):
    # its black squares are darker than any paper: the background map calls them outside the
    # sheet, like the scanner background, and their ink was dropped with it
    img = _sane_grid(*size)
    assert img.min() < 40 and img.max() > 200  # the checkerboard, not a blank frame
    a = process_page(img, 200).analysis
    assert not a.blank, a.blank_measure


def _with_shapes(img: np.ndarray, shapes) -> np.ndarray:
    out = np.array(img)
    yy, xx = np.mgrid[:out.shape[0], :out.shape[1]]
    px = 200 / 25.4
    for cx, cy, r, level in shapes:
        disc = (xx - cx * px) ** 2 + (yy - cy * px) ** 2 <= (r * px) ** 2
        out[disc] = level
    return out


def test_a_dark_photograph_on_a_blank_sheet_is_not_blank():
    blank = page(seed=51, content="blank")
    assert process_page(blank, 200).analysis.blank
    # a dark photograph: a 40 mm disc of near-black in the middle of the sheet
    a = process_page(_with_shapes(blank, [(110, 150, 20, 25)]), 200).analysis
    assert not a.blank, a.blank_measure


def test_dark_shapes_count_only_on_the_sheet_and_from_their_size():
    outside = np.zeros((40, 30), np.uint8)
    outside[:, :3] = 1          # the scanner background along the frame's left edge
    outside[0:5, 20:30] = 1     # a dark wedge in a corner
    assert dark_shape_area(outside, 3.0) == 0.0
    outside[10:12, 10:11] = 1   # 2 blocks (18 mm²): a filing hole's size, not counted
    assert dark_shape_area(outside, 3.0) == 0.0
    outside[20:23, 10:13] = 1   # a 9 mm square on the sheet
    outside[23:26, 13:16] = 1   # its diagonal neighbour (a checkerboard): a shape of its own
    assert dark_shape_area(outside, 3.0) == pytest.approx(2 * 9 * 9.0)
