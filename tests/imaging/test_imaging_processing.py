"""The processing stage's second orientation cue: tesseract's OSD, real tesseract, real files.

Tesseract's ``osd`` data comes from Debian's tesseract-ocr-osd (``make test`` installs it).
"""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.imaging_pages import cached_page
from firmware_agent.capture_file import write_capture_atomic
from firmware_agent.journal import PageRow
from firmware_agent.processing import (ProcessingParams, orientation_by_osd, osd_turn, pipeline_params,
                                      process_page_file)
from imaging.pipeline import PipelineParams, process_page

DPI = 200


# A landscape page fed a quarter turn clockwise: the content must turn 270 to be upright.
SIDEWAYS = dict(dpi=DPI, seed=300, font="serif", size_mm=(297.0, 210.0), turn=90, skew_deg=0.8, background="dark")
# The imaging cue can never be this sure: every text page is left as scanned and flagged,
# so the stage's second cue decides.
NEVER_SURE = PipelineParams(min_orientation_confidence=1.01)


def _row(tmp_path: Path, img: np.ndarray, seq: int = 1) -> PageRow:
    raw = tmp_path / f"{seq:05d}.raw.npy.zst"
    write_capture_atomic(raw, img)
    h, w = img.shape[:2]
    return PageRow(id=seq, job_id=1, seq=seq, state="captured", raw_path=raw, width=w, height=h, dpi=DPI,
                   channels=1 if img.ndim == 2 else 3, colour_path=None, bitonal_path=None, analysis=None)


def test_osd_tells_the_turn_of_a_sideways_page():
    r = process_page(cached_page(**SIDEWAYS), DPI, NEVER_SURE)
    assert r.analysis.orientation == 0 and r.analysis.lines_vertical
    answer = orientation_by_osd(r.bitonal, DPI)
    assert answer["rotate"] == 270 and answer["confidence"] > 2.0 and answer["ms"] > 0


def test_osd_on_a_blank_page_is_an_error_not_an_answer():
    answer = orientation_by_osd(np.full((2000, 1400), 255, np.uint8), DPI)
    assert "error" in answer and "rotate" not in answer


def test_unsure_page_is_turned_by_the_second_cue(tmp_path):
    row = _row(tmp_path, cached_page(**SIDEWAYS))
    out = process_page_file(row, jpeg_quality=90, run_state={}, params=ProcessingParams(NEVER_SURE))
    a = out.analysis
    assert a["osd"]["used"] is True and a["osd"]["rotate"] == 270
    assert a["orientation"] == 270 and "orientation_unsure" not in [w["code"] for w in a["warnings"]]
    with Image.open(out.colour_path) as im:
        assert im.width > im.height  # landscape, as the document is


# A landscape page fed upside down: its lines run across, so only 0 or 180 can be right.
UPSIDE_DOWN = dict(SIDEWAYS, turn=180)


def test_by_default_an_unsure_upside_down_page_is_turned_too(tmp_path):
    row = _row(tmp_path, cached_page(**UPSIDE_DOWN))
    out = process_page_file(row, jpeg_quality=90, run_state={}, params=ProcessingParams(NEVER_SURE))
    a = out.analysis
    assert a["osd"]["used"] is True and a["osd"]["rotate"] == 180
    assert a["orientation"] == 180 and "orientation_unsure" not in [w["code"] for w in a["warnings"]]


def test_without_the_second_cue_the_page_stays_as_scanned_and_flagged(tmp_path):
    row = _row(tmp_path, cached_page(**SIDEWAYS))
    out = process_page_file(row, jpeg_quality=90, run_state={}, params=ProcessingParams(NEVER_SURE, osd="off"))
    assert "osd" not in out.analysis and out.analysis["orientation"] == 0
    assert "orientation_unsure" in [w["code"] for w in out.analysis["warnings"]]


@pytest.mark.parametrize("answer,vertical,turn", [
    ({"rotate": 270, "confidence": 9.0}, True, 270),
    ({"rotate": 90, "confidence": 2.0}, True, 90),
    ({"rotate": 180, "confidence": 9.0}, True, None),   # lines run down: only 90 or 270 can be right
    ({"rotate": 90, "confidence": 9.0}, False, None),   # lines run across: only 0 or 180
    ({"rotate": 180, "confidence": 1.9}, False, None),  # not sure enough
    ({"rotate": 0, "confidence": 3.0}, False, 0),
    ({"error": "Too few characters. Skipping this page"}, False, None),
])
def test_osd_answer_is_used_only_when_sure_and_along_the_lines(answer, vertical, turn):
    assert osd_turn(answer, vertical, 2.0) == turn


def test_an_unsure_upright_reading_page_is_asked_about_unless_osd_is_sideways(tmp_path):
    # Lines across, orientation unsure: by default (osd = "unsure") tesseract is asked;
    # with osd = "sideways" the page is left as scanned and flagged, not held back.
    img = cached_page(dpi=DPI, seed=302, font="serif", background="dark")
    out = process_page_file(_row(tmp_path, img), jpeg_quality=90, run_state={},
                            params=ProcessingParams(NEVER_SURE, osd="sideways"))
    assert "osd" not in out.analysis and not out.analysis["lines_vertical"]
    assert "orientation_unsure" in [w["code"] for w in out.analysis["warnings"]]
    asked = process_page_file(_row(tmp_path, img, seq=2), jpeg_quality=90, run_state={},
                              params=ProcessingParams(NEVER_SURE))
    assert asked.analysis["osd"]["used"] is True and asked.analysis["osd"]["rotate"] == 0
    assert "orientation_unsure" not in [w["code"] for w in asked.analysis["warnings"]]


def test_sure_pages_cost_no_osd(tmp_path):
    row = _row(tmp_path, cached_page(dpi=DPI, seed=301, font="serif", background="dark"))
    out = process_page_file(row, jpeg_quality=90, run_state={}, params=pipeline_params({}))
    assert "osd" not in out.analysis and out.analysis["orientation_confidence"] >= 0.99


def test_imaging_settings_reach_the_pipeline_and_the_stage():
    params = pipeline_params({"sauvola_k": 0.3, "osd": "unsure", "osd_min_confidence": 5.0,
                              "min_orientation_confidence": 0.95})
    assert params.sauvola_k == 0.3 and params.min_orientation_confidence == 0.95
    assert params.osd == "unsure" and params.osd_min_confidence == 5.0
    assert isinstance(params.pipeline, PipelineParams)
