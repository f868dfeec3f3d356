"""Cover sheets: the QR payload (docs/formats.md §6.1), the printed sheet, detection.

A cover sheet starts a record file. It carries a QR code with the record file's
fields and the same fields as Vietnamese text, between two solid black bands so
that a sheet whose QR code is torn or smudged is still recognised as a cover
sheet (and held for review) instead of being taken for a content page.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from records import code39
from records.codes import MAINTENANCE, MODE
from records.fonts import pil_font

PREFIX = "SOHOA-CS:"
VERSION = "1"
PATCH_TEXT = "PATCHT"
_FILECODE = re.compile(r"^[A-Za-z0-9.\-_]{1,100}$")


class CoverSheetError(ValueError):
    """A cover-sheet payload that is malformed; the message names the field."""


@dataclass(frozen=True)
class CoverSheet:
    """The fields a cover sheet carries (keys of the QR JSON in brackets)."""

    file_code: str            # "f"
    paper_file_code: str      # "p"
    title: str                # "t"
    maintenance: str = "01"   # "m"
    mode: str = "01"          # "a"
    note: str = ""            # "n"

    def __post_init__(self) -> None:
        if not _FILECODE.match(self.file_code or ""):
            raise CoverSheetError("fileCode: 1..100 characters of A-Z a-z 0-9 . - _")
        if not 1 <= len(self.paper_file_code or "") <= 100:
            raise CoverSheetError("paperFileCode: required, at most 100 characters")
        if not 1 <= len(self.title or "") <= 1000:
            raise CoverSheetError("title: required, at most 1000 characters")
        if self.maintenance not in MAINTENANCE:
            raise CoverSheetError(f"maintenance: {self.maintenance!r} is not a code 01..07")
        if self.mode not in MODE:
            raise CoverSheetError(f"mode: {self.mode!r} is not a code 01..03")
        if len(self.note) > 200:
            raise CoverSheetError("note: at most 200 characters")

    def payload(self) -> str:
        body = {"f": self.file_code, "p": self.paper_file_code, "t": self.title,
                "m": self.maintenance, "a": self.mode, "n": self.note}
        return PREFIX + VERSION + ":" + json.dumps(body, ensure_ascii=False, separators=(",", ":"))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def parse_payload(text: str) -> CoverSheet:
    """Parse a QR payload; raises :class:`CoverSheetError` naming what is wrong."""
    if not text.startswith(PREFIX):
        raise CoverSheetError("not a sohoa cover sheet (prefix SOHOA-CS: missing)")
    version, sep, body = text[len(PREFIX):].partition(":")
    if not sep or version != VERSION:
        raise CoverSheetError(f"unknown cover-sheet version {version!r}")
    try:
        data = json.loads(body)
    except json.JSONDecodeError:
        raise CoverSheetError("cover-sheet JSON is damaged") from None
    if not isinstance(data, dict):
        raise CoverSheetError("cover-sheet JSON is not an object")
    for key in ("f", "p", "t"):
        if not isinstance(data.get(key), str):
            raise CoverSheetError(f"required key {key!r} missing")
    return CoverSheet(file_code=data["f"], paper_file_code=data["p"], title=data["t"],
                      maintenance=str(data.get("m", "01")), mode=str(data.get("a", "01")),
                      note=str(data.get("n", "")))


# --------------------------------------------------------------------------- rendering

def _wrap(draw: ImageDraw.ImageDraw, text: str, font, width: int) -> list[str]:
    lines, cur = [], ""
    for word in text.split():
        trial = f"{cur} {word}".strip()
        if draw.textlength(trial, font=font) <= width or not cur:
            cur = trial
        else:
            lines.append(cur)
            cur = word
    if cur:
        lines.append(cur)
    return lines


def render(sheet: CoverSheet, dpi: int = 200) -> Image.Image:
    """The A4 cover sheet as an RGB image at *dpi*."""
    import segno

    mm = dpi / 25.4
    w, h = round(210 * mm), round(297 * mm)
    img = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(img)
    margin = round(15 * mm)
    band = round(12 * mm)
    d.rectangle([margin, margin, w - margin, margin + band], fill="black")
    d.rectangle([margin, h - margin - band, w - margin, h - margin], fill="black")
    big, mid = pil_font(round(7 * mm), bold=True), pil_font(round(4.2 * mm))
    d.text((w / 2, margin + band / 2), "TỜ BÌA HỒ SƠ / RECORD FILE COVER", font=pil_font(round(5.5 * mm), bold=True),
           fill="white", anchor="mm")
    qr = segno.make(sheet.payload(), error="m", micro=False)
    buf = io.BytesIO()
    qr.save(buf, kind="png", scale=1, border=4)
    qimg = Image.open(io.BytesIO(buf.getvalue())).convert("L")
    side = round(95 * mm)
    qimg = qimg.resize((side, side), Image.NEAREST)
    top = margin + band + round(10 * mm)
    img.paste(qimg.convert("RGB"), ((w - side) // 2, top))
    y = top + side + round(8 * mm)
    d.text((w / 2, y), sheet.file_code, font=big, fill="black", anchor="mt")
    y += round(12 * mm)
    rows = [
        ("Mã hồ sơ giấy / Paper file code", sheet.paper_file_code),
        ("Tiêu đề / Title", sheet.title),
        ("Thời hạn bảo quản / Retention", f"{sheet.maintenance} {MAINTENANCE[sheet.maintenance]}"),
        ("Chế độ sử dụng / Access", f"{sheet.mode} {MODE[sheet.mode]}"),
        ("Ghi chú / Note", sheet.note or "-"),
    ]
    for label, value in rows:
        d.text((margin, y), label + ":", font=mid, fill="black")
        y += round(6 * mm)
        for line in _wrap(d, value, mid, w - 2 * margin - round(8 * mm))[:4]:
            d.text((margin + round(8 * mm), y), line, font=mid, fill="black")
            y += round(6 * mm)
        y += round(2 * mm)
    return img


def render_patch(dpi: int = 200) -> Image.Image:
    """A PATCHT document-separator sheet (Code 39) as an RGB image."""
    mm = dpi / 25.4
    w, h = round(210 * mm), round(297 * mm)
    img = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(img)
    unit = max(2, round(0.6 * mm))
    widths = code39.modules(PATCH_TEXT)
    total = sum(widths) * unit
    x = (w - total) // 2
    y0, y1 = round(60 * mm), round(140 * mm)
    bar = True
    for m in widths:
        if bar:
            d.rectangle([x, y0, x + m * unit - 1, y1], fill="black")
        x += m * unit
        bar = not bar
    d.text((w / 2, y1 + round(8 * mm)), "PATCHT", font=pil_font(round(8 * mm), bold=True), fill="black", anchor="mt")
    d.text((w / 2, y1 + round(22 * mm)), "Tách văn bản / Document separator", font=pil_font(round(5 * mm)),
           fill="black", anchor="mt")
    return img


def sheets_pdf(sheets: list[CoverSheet], dpi: int = 200, patch: int = 0) -> bytes:
    """A printable PDF: one A4 page per cover sheet, then *patch* PATCHT sheets."""
    images = [render(s, dpi).convert("L") for s in sheets] + [render_patch(dpi).convert("L") for _ in range(patch)]
    if not images:
        raise ValueError("nothing to print")
    buf = io.BytesIO()
    images[0].save(buf, format="PDF", save_all=True, append_images=images[1:], resolution=float(dpi))
    return buf.getvalue()


# --------------------------------------------------------------------------- detection

@dataclass(frozen=True)
class SheetDetection:
    """What a page is as a separator: kind is 'cover', 'damaged', 'patch' or ''."""

    kind: str
    sheet: CoverSheet | None = None
    reason: str = ""


def _bands(gray: np.ndarray) -> int:
    """How many solid black horizontal bands (>= 3 % of the height) the page has."""
    h, w = gray.shape
    inner = gray[:, w // 10: w - w // 10] < 100
    full = inner.mean(axis=1) > 0.85
    count, run = 0, 0
    for v in np.concatenate((full, [False])):
        if v:
            run += 1
        else:
            if run >= 0.03 * h:
                count += 1
            run = 0
    return count


def detect(gray: np.ndarray) -> SheetDetection:
    """Classify a page image (2-D uint8, any dpi 100..400) as a separator or not."""
    import cv2

    if gray.ndim != 2:
        raise ValueError("expected a 2-D gray image")
    scale = 1000.0 / max(gray.shape)
    small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else gray
    det = cv2.QRCodeDetector()
    text, points, _ = det.detectAndDecode(small)
    if not text and points is not None:
        text, points, _ = det.detectAndDecode(gray)
    bands = _bands(small)
    if text:
        try:
            return SheetDetection("cover", parse_payload(text))
        except CoverSheetError as exc:
            return SheetDetection("damaged", None, str(exc))
    if bands >= 2 or (points is not None and bands >= 1):
        return SheetDetection("damaged", None, "QR code unreadable")
    small_codes = code39.find_codes(small)
    if PATCH_TEXT in small_codes:
        return SheetDetection("patch")
    return SheetDetection("")
