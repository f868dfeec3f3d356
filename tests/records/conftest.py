"""Fixtures for the records tests: generated Vietnamese pages written as scans."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from firmware_agent.records import samples
from records.fonts import pil_font
from records.ocr import OcrResult, Word


@pytest.fixture(scope="session")
def page_jpegs(tmp_path_factory) -> dict[str, Path]:
    """Archival JPEGs (200 dpi) of three generated first pages, keyed by title."""
    out = tmp_path_factory.mktemp("pages")
    paths = {}
    for i in (0, 1, 3):
        spec = samples.SPECS[i]
        img = samples.scanned(samples.render_page(spec, 200), seed=10 + i)
        path = out / f"page{i}.jpg"
        img.save(path, quality=85, dpi=(200, 200))
        paths[spec.title] = path
    return paths


@pytest.fixture(scope="session")
def fake_ocr():
    return _fake_ocr


def _fake_ocr(width: int, height: int, lines: list[str], dpi: int = 200) -> OcrResult:
    """Word boxes laid out on lines, standing in for tesseract where OCR is not under test.

    Each character is 20 px wide, so a run of spaces is a gap on the page (two header columns).
    """
    words = []
    for n, line in enumerate(lines):
        for m in re.finditer(r"\S+", line):
            words.append(Word(m.group(), 150 + 20 * m.start(), 200 + 70 * n, 20 * len(m.group()), 40, 95.0, n))
    return OcrResult(words, width, height, dpi, lines=[" ".join(line.split()) for line in lines])


@pytest.fixture(scope="session")
def nd30_page():
    return _nd30_page


def _nd30_page(*, organ: tuple[str, ...], number: str, place_date: str, title: tuple[str, ...] = (),
               subject: tuple[str, ...] = (), vv: tuple[str, ...] = (), stamp: str = "",
               dpi: int = 200) -> Image.Image:
    """An A4 first page laid out as Nghị định 30/2020 Phụ lục I draws it (ô 1-5, 10a)."""
    mm = dpi / 25.4
    w, h = round(210 * mm), round(297 * mm)
    img = Image.new("RGB", (w, h), (250, 248, 240))
    d = ImageDraw.Draw(img)
    head = pil_font(round(3.4 * mm), serif=True)
    bold = pil_font(round(3.4 * mm), bold=True, serif=True)
    text = pil_font(round(3.9 * mm), serif=True)
    big = pil_font(round(4.6 * mm), bold=True, serif=True)
    lx, rx = round(20 * mm + 31 * mm), w - round(55 * mm)
    y = round(18 * mm)
    for i, line in enumerate(organ):  # parent body in regular type, the issuing body in bold
        d.text((lx, y + i * round(5.5 * mm)), line, font=bold if i == len(organ) - 1 else head, fill="black",
               anchor="mt")
    d.text((rx, y), samples.NATION, font=bold, fill="black", anchor="mt")
    d.text((rx, y + round(5.5 * mm)), samples.MOTTO, font=bold, fill="black", anchor="mt")
    y += max(len(organ), 2) * round(5.5 * mm) + round(5 * mm)
    d.text((lx, y), f"Số: {number}", font=text, fill="black", anchor="mt")
    d.text((rx, y), place_date, font=text, fill="black", anchor="mt")
    y += round(7 * mm)
    for line in vv:
        d.text((lx, y), line, font=head, fill="black", anchor="mt")
        y += round(5 * mm)
    if stamp:
        d.text((lx, y + round(2 * mm)), stamp, font=big, fill=(200, 20, 20), anchor="mt")
        y += round(10 * mm)
    y += round(12 * mm)
    for line in title:
        d.text((w / 2, y), line, font=big, fill="black", anchor="mt")
        y += round(7 * mm)
    for line in subject:
        d.text((w / 2, y), line, font=bold, fill="black", anchor="mt")
        y += round(5.5 * mm)
    y += round(12 * mm)
    for line in ("Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015;",
                 "Xét đề nghị của công chức văn phòng - thống kê xã,"):
        d.text((round(25 * mm), y), line, font=text, fill="black")
        y += round(7.5 * mm)
    return img
