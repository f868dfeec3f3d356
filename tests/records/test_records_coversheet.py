"""Cover-sheet payload, printed sheet and detection on generated scans; PATCHT Code 39."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from PIL import ImageDraw

from firmware_agent.records import samples

from records import code39, coversheet
from records.coversheet import CoverSheet, CoverSheetError, detect, parse_payload

DESIGN = Path(__file__).resolve().parents[2] / "docs" / "formats.md"
SHEET = CoverSheet("H49.64.33.2001.160", "H49.1.2.160", "Hồ sơ đăng ký khai sinh năm 2001", "01", "01", "Lô 3, kệ B")


def gray(img) -> np.ndarray:
    return np.asarray(img.convert("L"))


def test_design_example_payload_parses():
    text = DESIGN.read_text(encoding="utf-8")
    line = next(ln.strip() for ln in text.splitlines() if ln.strip().startswith("SOHOA-CS:1:"))
    sheet = parse_payload(line)
    assert sheet == SHEET
    assert parse_payload(sheet.payload()) == sheet


@pytest.mark.parametrize("payload,message", [
    ("HELLO", "prefix"),
    ('SOHOA-CS:2:{"f":"A"}', "version"),
    ("SOHOA-CS:1:{not json", "damaged"),
    ('SOHOA-CS:1:{"f":"A","t":"x"}', "'p'"),
    ('SOHOA-CS:1:{"f":"A B","p":"x","t":"x"}', "fileCode"),
    ('SOHOA-CS:1:{"f":"A","p":"x","t":"x","m":"09"}', "maintenance"),
    ('SOHOA-CS:1:{"f":"A","p":"x","t":"x","a":"04"}', "mode"),
    ('SOHOA-CS:1:{"f":"A","p":"x","t":"' + "x" * 1001 + '"}', "title"),
])
def test_bad_payloads_are_rejected_with_the_reason(payload, message):
    with pytest.raises(CoverSheetError, match=message):
        parse_payload(payload)


@pytest.mark.parametrize("dpi,angle", [(200, 0.8), (300, -1.1)])
def test_printed_sheet_is_read_back_from_a_scan(dpi, angle):
    scan = samples.scanned(coversheet.render(SHEET, dpi), seed=dpi, angle=angle)
    det = detect(gray(scan))
    assert det.kind == "cover"
    assert det.sheet == SHEET


def test_smudged_qr_code_is_a_damaged_sheet_not_a_content_page():
    img = coversheet.render(SHEET, 200)
    d = ImageDraw.Draw(img)
    w = img.width
    # ink over the middle of the QR code: finder patterns stay, the data is gone
    d.rectangle([w * 0.38, 400, w * 0.62, 800], fill="black")
    det = detect(gray(samples.scanned(img, seed=3)))
    assert det.kind == "damaged"
    assert det.reason


def test_patch_sheet_and_content_page():
    assert detect(gray(samples.scanned(coversheet.render_patch(200), seed=5))).kind == "patch"
    page = samples.scanned(samples.render_page(samples.SPECS[1], 200), seed=6)
    assert detect(gray(page)).kind == ""


def test_code39_round_trip_and_rejects():
    widths = code39.modules("PATCHT", ratio=3)
    row = np.concatenate([np.full(w * 4, 0 if i % 2 == 0 else 255, np.uint8) for i, w in enumerate(widths)])
    img = np.full((40, row.size + 80), 255, np.uint8)
    img[:, 40:40 + row.size] = row
    assert "PATCHT" in code39.find_codes(img)
    assert code39.find_codes(np.full((40, 200), 255, np.uint8)) == set()
    with pytest.raises(ValueError):
        code39.modules("a+b")


def test_coversheet_pdf_has_one_page_per_sheet_and_separators():
    data = coversheet.sheets_pdf([SHEET, SHEET], dpi=100, patch=1)
    with pikepdf.open(__import__("io").BytesIO(data)) as pdf:
        assert len(pdf.pages) == 3
        box = [float(v) for v in pdf.pages[0].MediaBox]
        assert box[2] == pytest.approx(595.3, abs=1) and box[3] == pytest.approx(841.9, abs=1)


def test_payload_is_compact_json():
    body = SHEET.payload().split(":", 2)[2]
    assert json.loads(body)["t"] == SHEET.title and " " not in body.replace(SHEET.title, "").replace(SHEET.note, "")
