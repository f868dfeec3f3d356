"""Known answers on what real scans do to a page: light falling off, yellowed paper,
photocopies, dark borders round a skewed sheet, pages fed sideways or upside down,
blank sheets with dust, bleed-through and shadows, RGB scans of black-and-white pages.

Each page is drawn by ``bench.imaging_pages`` with its ground truth (where the sheet
and its content lie in the frame); the pipeline's boxes are read in its corrected
frame as docs/design.md section 4 defines it.
"""

import math

import numpy as np
import pytest

from bench.imaging_pages import PageSpec, cached_page, truth
from imaging.pipeline import process_page

DPI = 200


def _page(**kw):
    kw.setdefault("dpi", DPI)
    return cached_page(**kw), truth(PageSpec(**kw))


def corrected(points, a):
    """Points of the input frame in the corrected frame (design section 4), plain arithmetic."""
    w, h = a.width, a.height
    r = math.radians(a.angle_applied)
    out = []
    for x, y in points:
        dx, dy = x - (w - 1) / 2, y - (h - 1) / 2
        u, v = math.cos(r) * dx - math.sin(r) * dy, math.sin(r) * dx + math.cos(r) * dy
        u, v = {0: (u, v), 90: (-v, u), 180: (-u, -v), 270: (v, -u)}[a.orientation]
        cw, ch = (w, h) if a.orientation in (0, 180) else (h, w)
        out.append((u + (cw - 1) / 2, v + (ch - 1) / 2))
    return out


def _cut_mm(a, t):
    """How far (mm) the true content reaches beyond the crop box, 0 when it is inside."""
    x0, y0, x1, y1 = a.crop_box
    cut = 0.0
    for x, y in corrected(t["content"], a):
        cut = max(cut, x0 - x, x - x1, y0 - y, y - y1)
    return max(cut, 0.0) * 25.4 / a.dpi


def _sheet_share(a, t):
    """Share of the crop box's area covered by the sheet's bounding box (1: no background kept)."""
    pts = corrected(t["sheet"], a)
    x0, y0, x1, y1 = a.crop_box
    sx0, sx1 = max(min(p[0] for p in pts), x0), min(max(p[0] for p in pts), x1)
    sy0, sy1 = max(min(p[1] for p in pts), y0), min(max(p[1] for p in pts), y1)
    return max(sx1 - sx0, 0) * max(sy1 - sy0, 0) / ((x1 - x0) * (y1 - y0))


def _kept(a, t):
    """Share of the sheet's (axis-aligned, corrected) extent that lies inside the crop box."""
    pts = corrected(t["sheet"], a)
    sx0, sx1 = min(p[0] for p in pts), max(p[0] for p in pts)
    sy0, sy1 = min(p[1] for p in pts), max(p[1] for p in pts)
    cw, ch = (a.width, a.height) if a.orientation in (0, 180) else (a.height, a.width)
    sx0, sy0, sx1, sy1 = max(sx0, 0), max(sy0, 0), min(sx1, cw), min(sy1, ch)
    x0, y0, x1, y1 = a.crop_box
    inter = max(min(sx1, x1) - max(sx0, x0), 0) * max(min(sy1, y1) - max(sy0, y0), 0)
    return inter / ((sx1 - sx0) * (sy1 - sy0))


def _codes(a):
    return [w["code"] for w in a.warnings]


# ------------------------------------------------------------------------------------- crop

@pytest.mark.parametrize("background", ["light", "dark", "none"])
@pytest.mark.parametrize("falloff_deg", [0.0, 180.0, 90.0])
def test_light_falling_off_a_third_across_the_page_neither_cuts_nor_shrinks_the_sheet(background, falloff_deg):
    img, t = _page(seed=200, font="serif", background=background, falloff=0.3, falloff_deg=falloff_deg,
                   skew_deg=1.2)
    a = process_page(img, DPI).analysis
    assert _cut_mm(a, t) == 0.0
    assert _kept(a, t) >= 0.99
    assert "crop_unsure" not in _codes(a)
    if background != "none":
        # the sheet shows against the background on every side: cropped to it
        assert a.sheet_edges == [True] * 4
        assert _sheet_share(a, t) >= 0.98


@pytest.mark.parametrize("background", ["light", "dark"])
def test_photocopy_with_speckle_and_dark_edges_is_cropped_to_its_sheet(background):
    img, t = _page(seed=201, font="serif", background=background, photocopy=True, skew_deg=-1.4)
    a = process_page(img, DPI).analysis
    assert a.orientation == 0 and not a.blank
    assert _cut_mm(a, t) == 0.0 and _kept(a, t) >= 0.99 and _sheet_share(a, t) >= 0.98
    # the dark sheet edges are no content
    assert "content_at_edge" not in _codes(a)


def test_yellowed_colour_page_on_a_grey_lid_is_cropped_to_its_sheet():
    img, t = _page(seed=202, font="serif", colour=True, yellowed=1.0, background="light", skew_deg=0.8)
    a = process_page(img, DPI).analysis
    assert _cut_mm(a, t) == 0.0 and _kept(a, t) >= 0.99 and _sheet_share(a, t) >= 0.98


def test_sheet_filling_the_frame_with_light_falling_off_keeps_the_whole_scan():
    img, t = _page(seed=203, font="serif", background="none", falloff=0.33, falloff_deg=180.0)
    r = process_page(img, DPI)
    assert r.analysis.crop_box == [0, 0, img.shape[1], img.shape[0]]
    assert np.array_equal(r.colour, img)


def test_text_close_to_a_found_edge_is_kept_and_warned():
    # The sheet's text comes within 1.2 mm of its left edge (a page cut short when
    # it was copied), on a dark background: the edge is found, the text is content,
    # the crop keeps it (1.2 mm is more than the fail-safe's 1 mm) and the page
    # warns content_at_edge (less than 1.5 mm).
    img = np.array(cached_page(dpi=DPI, seed=204, background="none"))
    cut = img[:, int(20.8 * DPI / 25.4):]
    framed = np.full((cut.shape[0] + 80, cut.shape[1] + 80), 28, np.uint8)
    framed[40:-40, 40:-40] = cut
    a = process_page(framed, DPI).analysis
    assert a.sheet_edges[0]
    assert a.content_box[0] - a.crop_box[0] < int(1.5 * DPI / 25.4)
    assert a.crop_box[0] <= 40 + 2
    assert "content_at_edge" in _codes(a)


def test_an_edge_found_too_close_to_the_content_goes_back_to_the_frame():
    # A black band down the frame's left side ends 0.5 mm before the text starts:
    # the step from it to the paper looks like the sheet's edge, but a crop there
    # would graze the text. The fail-safe keeps that side of the scan whole.
    img = np.array(cached_page(dpi=DPI, seed=205, background="none"))
    band = int(21.5 * DPI / 25.4)
    img[:, :band] = 20
    a = process_page(img, DPI).analysis
    assert a.crop_box[0] == 0 and a.sheet_edges[0] is False
    w = next(w for w in a.warnings if w["code"] == "crop_unsure")
    assert w["measure"] < 1.0 and w["limit"] == 1.0
    assert a.content_box[0] > 0


# ------------------------------------------------------------------------------ orientation

@pytest.mark.parametrize("turn", [90, 270])
def test_landscape_page_scanned_sideways_is_turned_upright(turn):
    img, t = _page(seed=210, font="serif", size_mm=(297.0, 210.0), turn=turn, skew_deg=1.5,
                   background="dark")
    r = process_page(img, DPI)
    a = r.analysis
    assert a.orientation == (360 - turn) % 360 and a.lines_vertical
    assert a.orientation_confidence >= 0.99 and "orientation_unsure" not in _codes(a)
    assert abs(a.skew_deg - 1.5) < 0.1
    # landscape out: wider than high, the crop's shape
    assert r.colour.shape[1] > r.colour.shape[0]
    x0, y0, x1, y1 = a.crop_box
    assert r.colour.shape == (y1 - y0, x1 - x0)
    assert _cut_mm(a, t) == 0.0 and _kept(a, t) >= 0.99


def test_quarter_turn_without_skew_moves_pixels_exactly():
    img, _ = _page(seed=211, font="serif", size_mm=(297.0, 210.0), turn=90, background="none")
    r = process_page(img, DPI)
    a = r.analysis
    assert a.orientation == 270 and a.angle_applied == 0.0
    assert np.array_equal(r.colour, np.rot90(img, 1))  # 270 clockwise = 90 counter-clockwise


@pytest.mark.parametrize("background", ["light", "dark"])
def test_upright_photocopy_is_not_turned(background):
    img, _ = _page(seed=212, font="serif", photocopy=True, background=background, skew_deg=0.7)
    a = process_page(img, DPI).analysis
    assert a.orientation == 0 and a.orientation_confidence >= 0.99


def test_upside_down_photocopy_is_turned_back():
    img, t = _page(seed=213, font="serif", photocopy=True, background="dark", turn=180, skew_deg=-0.9)
    a = process_page(img, DPI).analysis
    assert a.orientation == 180 and a.orientation_confidence >= 0.99
    assert _cut_mm(a, t) == 0.0


def test_little_text_is_not_judged_and_not_flagged():
    # A few lines: not enough to tell up from down, so left as scanned without a warning.
    img, _ = _page(seed=214, content="one_line", turn=180)
    a = process_page(img, DPI).analysis
    assert a.orientation == 0 and "orientation_unsure" not in _codes(a)
    assert a.orientation_lines < 20


def test_given_orientation_is_applied():
    img, _ = _page(seed=215, font="serif", size_mm=(297.0, 210.0), turn=270, skew_deg=-1.0)
    a = process_page(img, DPI, orientation=90).analysis
    assert a.orientation == 90 and abs(a.skew_deg + 1.0) < 0.1
    b = process_page(img, DPI, orientation=270).analysis  # wrong, but given: applied as given
    assert b.orientation == 270


# ------------------------------------------------------------------------------------ blank

@pytest.mark.parametrize("kw", [
    dict(background="dark", skew_deg=2.5, margin_mm=2.0, specks=60, bleed=True),
    dict(background="dark", skew_deg=-3.0, margin_mm=1.0, specks=30),
    dict(background="light", edge_shadow=True, skew_deg=2.0, specks=40),
    dict(background="light", photocopy=True, skew_deg=1.0, specks=20),
    dict(background="dark", photocopy=True, skew_deg=-1.5),
    dict(background="light", yellowed=1.0, colour=True, falloff=0.3, bleed=True, specks=25),
    dict(background="dark", yellowed=0.8, falloff=0.3, falloff_deg=45.0, bleed=True, skew_deg=1.0),
])
def test_blank_sheets_on_real_scanners_are_blank(kw):
    img, _ = _page(seed=220, content="blank", **kw)
    a = process_page(img, DPI).analysis
    assert a.blank, a.blank_measure
    assert a.content_box is None


@pytest.mark.parametrize("kw", [
    dict(background="dark", skew_deg=2.5, margin_mm=2.0, specks=60, bleed=True),
    dict(background="light", edge_shadow=True, skew_deg=2.0, specks=40),
    dict(background="light", photocopy=True, skew_deg=1.0, specks=20),
    dict(background="light", yellowed=1.0, colour=True, falloff=0.3, bleed=True, specks=25),
])
def test_one_line_on_the_same_sheets_is_not_blank(kw):
    img, _ = _page(seed=221, content="one_line", **kw)
    a = process_page(img, DPI).analysis
    assert not a.blank and a.blank_measure > 10 * 4.0


# ----------------------------------------------------------------------------------- colour

def test_rgb_scan_with_equal_channels_stays_rgb_through_intake_and_pipeline(tmp_path):
    from PIL import Image

    from firmware_agent.intake import split_into_pages
    from firmware_agent.pageio import encode_jpeg

    img, _ = _page(seed=230, font="serif", equal_rgb=True, background="dark")
    assert img.ndim == 3 and (img[..., 0] == img[..., 2]).all()
    path = tmp_path / "scan.png"
    Image.fromarray(img).save(path, dpi=(DPI, DPI))
    (page, dpi), = list(split_into_pages(path, 300))
    assert page.shape == img.shape and dpi == DPI
    r = process_page(page, dpi)
    assert r.colour.ndim == 3 and r.analysis.channels == 3
    assert "low_colour_depth" not in _codes(r.analysis)
    jpeg = tmp_path / "page.jpg"
    jpeg.write_bytes(encode_jpeg(r.colour, dpi=dpi))
    with Image.open(jpeg) as im:
        assert im.mode == "RGB"


def test_gray_scan_stays_gray_and_warns():
    img, _ = _page(seed=231, font="serif", background="dark")
    r = process_page(img, DPI)
    assert r.colour.ndim == 2 and "low_colour_depth" in _codes(r.analysis)


# --------------------------------------------------------------------------------- invariant

@pytest.mark.parametrize("kw", [
    dict(font="serif", background="light", falloff=0.3, skew_deg=1.2),
    dict(font="serif", photocopy=True, background="dark", turn=180),
    dict(font="serif", size_mm=(297.0, 210.0), turn=90, background="light", edge_shadow=True),
    dict(content="table", background="dark", skew_deg=-3.0, specks=30),
])
def test_content_box_lies_inside_the_crop_box(kw):
    img, t = _page(seed=240, **kw)
    r = process_page(img, DPI)
    a = r.analysis
    x0, y0, x1, y1 = a.crop_box
    cx0, cy0, cx1, cy1 = a.content_box
    assert x0 <= cx0 < cx1 <= x1 and y0 <= cy0 < cy1 <= y1
    assert r.colour.shape[:2] == (y1 - y0, x1 - x0)
    assert _cut_mm(a, t) == 0.0
