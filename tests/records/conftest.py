"""Fixtures for the records tests: generated Vietnamese pages written as scans."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image

from firmware_agent.records import samples
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


def _nd30_page(**kwargs) -> Image.Image:
    """An A4 first page laid out as Nghị định 30/2020 Phụ lục I draws it (ô 1-5, 10a): the product's renderer."""
    return samples.render_nd30(**kwargs)
