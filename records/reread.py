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

The issued date's line is read a second time too (L5a), from the page's colour or gray
image rather than the bitonal one OCR read: its errors are a different image's, so two
reads that agree are worth more than one, and a date on which they disagree is held
for a technician (``OcrResult.reread["date"]``).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from PIL import Image

from records import layout as L
from records.dates import issued_date
from records.ocr import OcrError, OcrResult, Word, run_tesseract

# Margin around the line's box, in line heights: enough white for tesseract to find the
# line's edges, not so much that the neighbouring lines come in.
_MARGIN = 0.35


def _with_margin(ocr: OcrResult, s: L.Segment) -> tuple[int, int, int, int]:
    m = int(_MARGIN * (s.y1 - s.y0)) + 2
    return max(0, s.x0 - m), max(0, s.y0 - m), min(ocr.width, s.x1 + m), min(ocr.height, s.y1 + m)


def number_box(ocr: OcrResult, lay: L.PageLayout | None = None) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) of the number's line (L3) with its margin, or None when the page has none."""
    s = (lay or L.analyse(ocr)).number
    return None if s is None else _with_margin(ocr, s)


def date_box(ocr: OcrResult, lay: L.PageLayout | None = None) -> tuple[int, int, int, int] | None:
    """The issued date's line (L5) with its margin, when it is one under the motto or after a place.

    None for a page without one, a date wrapped over two lines, or one found in the text
    (never trusted anyway: not worth a second read on every page of a document).
    """
    value, feats, parts = issued_date(lay or L.analyse(ocr))
    if not value or len(parts) != 1 or not (feats.get("header") or feats.get("place")):
        return None
    return _with_margin(ocr, parts[0])


def _read_line(img: Image.Image, box: tuple[int, int, int, int], ocr: OcrResult, tmp: Path, *,
               languages: str, niceness: int) -> list[Word] | None:
    crop = tmp / "line.png"
    img.crop(box).save(crop)
    try:
        line = run_tesseract(crop, dpi=ocr.dpi, languages=languages, psm=7, niceness=niceness, timeout=60.0)
    except OcrError:
        return None
    x0, y0 = box[:2]
    return [Word(w.text, w.left + x0, w.top + y0, w.width, w.height, w.conf, -1) for w in line.words]


def reread_header(image: Path, ocr: OcrResult, *, second: Path | None = None, languages: str = "vie",
                  niceness: int = 10) -> OcrResult:
    """Read the number's line of *image* again on its own, and the date's line from *second*.

    *second* is the same page as another image (its colour or gray copy, same size);
    without it the date's line is read again from *image*. The words go to
    ``ocr.reread["number"]`` and ``ocr.reread["date"]``. A page without such a line is
    left as it is; so is one whose second read fails (the page's own read stands, and
    the value's confidence says it was read once).
    """
    lay = L.analyse(ocr)
    boxes = {"number": number_box(ocr, lay), "date": date_box(ocr, lay)}
    if not any(boxes.values()):
        return ocr
    # beside the page (a secret record file's page folder is scrubbed with its pages, design §6.6)
    with tempfile.TemporaryDirectory(prefix=".reread-", dir=image.parent) as tmp:
        with Image.open(image) as img:
            if boxes["number"] is not None:
                words = _read_line(img, boxes["number"], ocr, Path(tmp), languages=languages, niceness=niceness)
                if words is not None:
                    ocr.reread["number"] = words
            if boxes["date"] is not None:
                other = None
                if second is not None:
                    try:
                        other = Image.open(second)
                    except OSError:
                        other = None
                    if other is not None and other.size != img.size:
                        other.close()
                        other = None  # not the same page's frame: read the line from the page OCR read
                try:
                    source = img if other is None else other.convert("L")
                    words = _read_line(source, boxes["date"], ocr, Path(tmp), languages=languages,
                                       niceness=niceness)
                finally:
                    if other is not None:
                        other.close()
                if words is not None:
                    ocr.reread["date"] = words
    return ocr
