"""Page previews (firmware_agent/thumbnails.py): made once by the processing stage, beside the page,
mapped boxes that land on the scanned sheet, and gone with the page's files."""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image

from firmware_agent.capture_file import CAPTURE_SUFFIX, write_capture_atomic
from firmware_agent.journal import Journal
from firmware_agent.processing import new_run_state, process_page_file
from firmware_agent.records import samples
from firmware_agent.retention import remove_page_files
from firmware_agent.thumbnails import THUMB_PX, VIEW_PX, frame_box_in_view, preview_paths, reduce

DPI = 150


def scanned_sheet(angle: float) -> np.ndarray:
    """An A4 page laid on a dark scanner background, turned by *angle* degrees (counter-clockwise)."""
    page = samples.render_page(samples.SPECS[0], dpi=DPI)
    w, h = page.size
    frame = Image.new("RGB", (w + 120, h + 160), (40, 40, 45))
    frame.paste(page, (60, 80))
    return np.asarray(samples.scanned(frame, seed=3, angle=angle, noise=2.0))


def test_the_processing_stage_writes_a_thumbnail_and_a_view_beside_the_page(tmp_path):
    journal = Journal(tmp_path)
    job = journal.start_job("scanner:test", "default", "test")
    raw = journal.page_path(job, 1, CAPTURE_SUFFIX)
    pixels = scanned_sheet(2.0)
    write_capture_atomic(raw, pixels)
    pid = journal.add_page(job, 1, raw, width=pixels.shape[1], height=pixels.shape[0], dpi=DPI, channels=3)
    result = process_page_file(journal.page(pid), jpeg_quality=90, run_state=new_run_state())
    thumb, view = preview_paths(raw)
    assert thumb.parent == view.parent == raw.parent
    assert result.analysis["preview"]["thumb"] == thumb.name and result.analysis["preview"]["ms"] > 0
    with Image.open(thumb) as t, Image.open(view) as v, Image.open(result.colour_path) as c:
        assert t.format == v.format == "JPEG" and t.mode == v.mode == "RGB"
        assert max(t.size) == THUMB_PX and max(v.size) == VIEW_PX
        # the thumbnail is the archival page (cropped), the view the page as scanned
        assert abs(t.size[0] / t.size[1] - c.size[0] / c.size[1]) < 0.02
        assert abs(v.size[0] / v.size[1] - pixels.shape[1] / pixels.shape[0]) < 0.01
        view_px = np.asarray(v)
    a = result.analysis
    scale = a["preview"]["view_scale"]
    crop = frame_box_in_view(a["crop_box"], a, scale)
    assert a["angle_applied"] != 0.0
    # The sheet's corners fall on paper in the view (bright), the frame's corners on the dark background.
    inset = [(x + (5 if i in (0, 3) else -5), y + (5 if i in (0, 1) else -5)) for i, (x, y) in enumerate(crop)]
    for x, y in inset:
        assert view_px[int(y), int(x)].mean() > 150, (x, y)
    assert view_px[view_px.shape[0] // 2, 8].mean() < 90  # the dark scanner lid beside the sheet
    assert len(thumb.read_bytes()) < 40_000 and len(view.read_bytes()) < 400_000
    journal.close()


def test_a_box_of_the_corrected_frame_goes_back_onto_the_scanned_page():
    analysis = {"width": 101, "height": 201, "angle_applied": 0.0, "orientation": 180}
    # upside down: the corrected frame's top-left corner is the scanned page's bottom-right
    assert frame_box_in_view([0, 0, 10, 20], analysis, 1.0) == [[100.0, 200.0], [90.0, 200.0], [90.0, 180.0],
                                                                  [100.0, 180.0]]
    turned = {"width": 101, "height": 101, "angle_applied": 90.0, "orientation": 0}
    # a point right of the centre in the corrected frame came from above the centre (content turned clockwise)
    (p, *_rest) = frame_box_in_view([60, 50, 61, 51], turned, 1.0)
    assert math.isclose(p[0], 50.0, abs_tol=0.1) and math.isclose(p[1], 40.0, abs_tol=0.1)
    assert frame_box_in_view([0, 0, 10, 10], turned, 0.5)[0] == [p * 0.5 for p in frame_box_in_view(
        [0, 0, 10, 10], turned, 1.0)[0]]
    assert frame_box_in_view(None, turned, 1.0) is None


def test_reduce_keeps_the_aspect_and_the_tone():
    rng = np.random.default_rng(1)
    page = rng.integers(90, 110, (3000, 2000, 3), dtype=np.uint8)
    page[1000:1500, 500:1500] = 10  # a dark block stays dark, where it was
    small, scale = reduce(page, 300)
    assert small.shape == (300, 200, 3) and math.isclose(scale, 0.1)
    assert abs(float(small[:90].mean()) - 99.5) < 2 and small[110:140, 60:140].max() < 20
    same, one = reduce(np.zeros((100, 50, 3), np.uint8), 300)
    assert same.shape == (100, 50, 3) and one == 1.0


def test_the_previews_go_with_the_page_files(tmp_path):
    journal = Journal(tmp_path)
    job = journal.start_job("scanner:test", "default", "test")
    raw = journal.page_path(job, 1, CAPTURE_SUFFIX)
    write_capture_atomic(raw, np.full((64, 48), 200, np.uint8))
    pid = journal.add_page(job, 1, raw, width=48, height=64, dpi=DPI, channels=1)
    for path in preview_paths(raw):
        buf = io.BytesIO()
        Image.new("L", (4, 4)).save(buf, "JPEG")
        path.write_bytes(buf.getvalue())
    remove_page_files(journal, [pid])
    assert [p.name for p in raw.parent.iterdir()] == []
    journal.close()
