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
from records.ocr import OcrError, OcrResult, Word, read_lines

# Margin around the line's box, in line heights: enough white for tesseract to find the
# line's edges, not so much that the neighbouring lines come in.
_MARGIN = 0.35
# The date's line is read a third time at this many times its size (L5b): its figures are
# small and italic, and at the page's size both reads took an 8 for a 6 or a 5.
_LARGE = 2


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


def reread_header(image: Path, ocr: OcrResult, *, second: Path | None = None, languages: str = "vie",
                  niceness: int = 10) -> OcrResult:
    """Read the number's line of *image* again on its own, and the date's line from *second*.

    *second* is the same page as another image (its colour or gray copy, same size);
    without it the date's line is read again from *image*. Both lines go to one
    tesseract process (:func:`records.ocr.read_lines`). The words go to
    ``ocr.reread["number"]`` and ``ocr.reread["date"]``, in page coordinates. A page
    without such a line is left as it is; so is one whose second read fails (the
    page's own read stands, and the value's confidence says it was read once).
    """
    lay = L.analyse(ocr)
    boxes = {k: b for k, b in (("number", number_box(ocr, lay)), ("date", date_box(ocr, lay))) if b is not None}
    if not boxes:
        return ocr
    if "date" in boxes:
        boxes["date_large"] = boxes["date"]  # the same line, read a third time at _LARGE times its size
    # beside the page (a secret record file's page folder is scrubbed with its pages, design §6.6)
    with tempfile.TemporaryDirectory(prefix=".reread-", dir=image.parent) as tmp:
        crops = []
        with Image.open(image) as img:
            if "number" in boxes:
                crops.append(("number", _crop(img, boxes["number"], Path(tmp, "number.png"))))
            if "date" in boxes:
                other = _same_page(second, img.size)
                try:
                    for key in ("date", "date_large"):
                        crops.append((key, _crop(other or img, boxes[key], Path(tmp, f"{key}.png"), _scale(key))))
                finally:
                    if other is not None:
                        other.close()
        try:
            lines = read_lines([path for _k, path in crops], dpi=ocr.dpi, languages=languages, niceness=niceness)
        except OcrError:
            return ocr
    for (key, _path), words in zip(crops, lines):
        x0, y0 = boxes[key][:2]
        k = _scale(key)
        ocr.reread[key] = [Word(w.text, w.left // k + x0, w.top // k + y0, w.width // k, w.height // k, w.conf, -1)
                           for w in words]
    return ocr


def _scale(key: str) -> int:
    return _LARGE if key == "date_large" else 1


def _crop(img: Image.Image, box: tuple[int, int, int, int], dst: Path, scale: int = 1) -> Path:
    part = img.crop(box)
    if scale != 1:
        part = part.resize((part.width * scale, part.height * scale), Image.LANCZOS)
    part.save(dst)
    return dst


def _same_page(second: Path | None, size: tuple[int, int]) -> Image.Image | None:
    """*second* opened in gray when it is an image of the page's size, else None (read from the page OCR read)."""
    if second is None:
        return None
    try:
        other = Image.open(second)
    except OSError:
        return None
    if other.size != size:
        other.close()
        return None
    other.draft("L", size)  # a JPEG decodes straight to gray
    gray = other.convert("L")
    other.close()
    return gray
