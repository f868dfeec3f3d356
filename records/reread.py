"""A second read of the document number's line on its own (design §6.3 L3a).

Tesseract reads a page line by line, and the header's two columns often come out as
one line: "Số: 29/TB-UBND" and "Xã Yên Lạc, ngày 17 tháng 6 năm 2021" side by side
with a wide gap. Read that way its recogniser takes the number's digits in the
context of the whole line and misreads them ("22" for 29, "324" for 394) with a
confidence as high as a right read's. The same line cut out of the page and read
alone (``--psm 7``, one text line) gave the right number on every first page of
the fitting corpora where the two reads differed (design §6.3 L3a has the counts).
The station therefore reads the number's line twice: the words of the second read
are kept beside the page's (``OcrResult.reread["number"]``), in page coordinates,
and field extraction takes the number from them.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from PIL import Image

from records import layout as L
from records.ocr import OcrError, OcrResult, Word, run_tesseract

# Margin around the line's box, in line heights: enough white for tesseract to find the
# line's edges, not so much that the neighbouring lines come in.
_MARGIN = 0.35


def number_box(ocr: OcrResult) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) of the number's line (L3) with its margin, or None when the page has none."""
    lay = L.analyse(ocr)
    s = lay.number
    if s is None:
        return None
    m = int(_MARGIN * (s.y1 - s.y0)) + 2
    return max(0, s.x0 - m), max(0, s.y0 - m), min(ocr.width, s.x1 + m), min(ocr.height, s.y1 + m)


def reread_header(image: Path, ocr: OcrResult, *, languages: str = "vie", niceness: int = 10) -> OcrResult:
    """Read the number's line of *image* again on its own and keep its words in ``ocr.reread``.

    A page without a number line is left as it is; so is one whose second read fails
    (the page's own read stands, and the value's confidence says it was read once).
    """
    box = number_box(ocr)
    if box is None:
        return ocr
    x0, y0 = box[:2]
    # beside the page (a secret record file's page folder is scrubbed with its pages, design §6.6)
    with Image.open(image) as img, tempfile.TemporaryDirectory(prefix=".reread-", dir=image.parent) as tmp:
        crop = Path(tmp) / "number.png"
        img.crop(box).save(crop)
        try:
            line = run_tesseract(crop, dpi=ocr.dpi, languages=languages, psm=7, niceness=niceness, timeout=60.0)
        except OcrError:
            return ocr
    ocr.reread["number"] = [Word(w.text, w.left + x0, w.top + y0, w.width, w.height, w.conf, -1) for w in line.words]
    return ocr
