"""Fixtures for the records tests: generated Vietnamese pages written as scans."""

from __future__ import annotations

from pathlib import Path

import pytest

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
    """Word boxes laid out on lines, standing in for tesseract where OCR is not under test."""
    words = []
    for n, line in enumerate(lines):
        x = 150
        for text in line.split():
            w = 28 * len(text)
            words.append(Word(text, x, 200 + 70 * n, w, 40, 95.0, n))
            x += w + 25
    return OcrResult(words, width, height, dpi, lines=list(lines))
