"""Separator sheets on a page: decode them, or recognise their print (docs/design.md §6.2 D1-D6).

A cover sheet carries a QR code between two black banner bands; a PATCHT sheet a
Code 39 symbol of 80 mm tall bars. :func:`detect_page` reads the lossless capture
at full resolution first (before any crop or blur of the clean-up can hide the
sheet), and the cleaned page only when the capture is missing or shows a
separator's print that did not decode. A page that shows that print but decodes
nowhere is a *look-alike*: the splitter holds it, it never becomes content.

zxing-cpp reads both symbologies in any rotation and reports symbols it located
but could not decode (``return_errors``); the look-alike tests below are plain
geometry on a reduced copy, so a sheet whose code is torn or smudged away is
still recognised by its banner bands, its QR corner squares or its bars.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from records.coversheet import PATCH_TEXT, PREFIX, CoverSheetError, SheetDetection, parse_payload

# Show-through of a sheet's back decodes too, but at a tenth of the contrast: the darkest
# tenth of a real symbol lies under half the paper's level (D3).
INK_RATIO = 0.5


@dataclass(frozen=True)
class Symbol:
    """One symbol zxing-cpp located: its format ('qr' or 'code39'), text ('' if not decoded), contrast."""

    fmt: str
    text: str
    decoded: bool
    dark: bool


def _gray(image: np.ndarray) -> np.ndarray:
    import cv2

    if image.ndim == 3:
        return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    if image.ndim != 2:
        raise ValueError("expected a gray or RGB image")
    return image


def _contrast_dark(gray: np.ndarray, points: list[tuple[int, int]], pad: int) -> bool:
    """Is the symbol at *points* printed in dark ink (not show-through from the back)?"""
    h, w = gray.shape
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    x0, x1 = max(0, min(xs) - pad), min(w, max(xs) + pad + 1)
    y0, y1 = max(0, min(ys) - pad), min(h, max(ys) + pad + 1)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return False
    patch = gray[y0:y1, x0:x1]
    ink, paper = np.percentile(patch, (10, 95))
    return bool(ink < INK_RATIO * paper)


def read_symbols(gray: np.ndarray, dpi: float) -> list[Symbol]:
    """QR codes and Code 39 symbols zxing-cpp finds on *gray*, decoded or only located."""
    import zxingcpp

    # QR in any rotation; Code 39 along rows only, which reads a PATCHT sheet fed upright or
    # upside down (a 1-D code reads both ways) at a tenth of the cost of trying every rotation.
    found = list(zxingcpp.read_barcodes(gray, formats=(zxingcpp.BarcodeFormat.QRCode,), try_rotate=True,
                                        try_downscale=True, try_invert=False, return_errors=True))
    found += zxingcpp.read_barcodes(gray, formats=(zxingcpp.BarcodeFormat.Code39,), try_rotate=False,
                                    try_downscale=True, try_invert=False, return_errors=True)
    pad = max(2, round(2 * dpi / 25.4))
    out = []
    for b in found:
        pos = b.position
        points = [(pos.top_left.x, pos.top_left.y), (pos.top_right.x, pos.top_right.y),
                  (pos.bottom_right.x, pos.bottom_right.y), (pos.bottom_left.x, pos.bottom_left.y)]
        fmt = "qr" if b.format == zxingcpp.BarcodeFormat.QRCode else "code39"
        text = b.text if b.valid else ""
        if b.valid and fmt == "qr" and not text.startswith(PREFIX):
            try:  # the payload is UTF-8 bytes; a reader may have guessed another code page
                text = bytes(b.bytes).decode("utf-8")
            except UnicodeDecodeError:
                pass
        out.append(Symbol(fmt, text, bool(b.valid), _contrast_dark(gray, points, pad)))
    return out


def decode(gray: np.ndarray, dpi: float) -> tuple[SheetDetection | None, bool]:
    """(what the symbols on *gray* make of the page or None, clue).

    The clue is True when a QR symbol was located but not decoded, False when none
    was, and None when a QR code of someone else's decoded (its corner squares are
    then no sign of a cover sheet).
    """
    symbols = [s for s in read_symbols(gray, dpi) if s.dark]
    for s in symbols:
        if s.fmt == "qr" and s.decoded and s.text.startswith(PREFIX):
            try:
                return SheetDetection("cover", parse_payload(s.text)), False
            except CoverSheetError as exc:
                return SheetDetection("damaged", None, f"cover: {exc}"), False
    for s in symbols:
        if s.fmt == "code39" and s.decoded and s.text.strip().upper() == PATCH_TEXT:
            return SheetDetection("patch"), False
    if any(s.decoded and s.fmt == "qr" for s in symbols):
        return None, None
    return None, any(not s.decoded and s.fmt == "qr" for s in symbols)


# --------------------------------------------------------------------------- look-alikes (D5)

def _reduced(gray: np.ndarray, dpi: float, target: float) -> tuple[np.ndarray, float]:
    import cv2

    f = target / dpi
    if f >= 1.0:
        return gray, dpi
    return cv2.resize(gray, None, fx=f, fy=f, interpolation=cv2.INTER_AREA), dpi * f


def _dark_mask(small: np.ndarray) -> np.ndarray:
    paper = float(np.percentile(small[::3, ::3], 95))
    return (small < INK_RATIO * paper).astype(np.uint8)


def _components(mask: np.ndarray, min_side: float) -> list[tuple[int, int, int, int, int]]:
    """Bounding boxes (x, y, w, h, label) of dark components at least *min_side* px on a side, not at the edge."""
    import cv2

    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    out = []
    hh, ww = mask.shape
    for i in range(1, n):
        x, y, w, h, _area = (int(v) for v in stats[i])
        if max(w, h) < min_side or x <= 0 or y <= 0 or x + w >= ww or y + h >= hh:
            continue
        out.append((x, y, w, h, i))
    return out, labels


def banners_and_finders(gray: np.ndarray, dpi: float) -> tuple[int, int, int]:
    """(banner bands, QR finder patterns, components taller than 30 mm), from a copy at about 100 dpi."""
    import cv2

    small, sdpi = _reduced(gray, dpi, 100.0)
    mm = sdpi / 25.4
    mask = _dark_mask(small)
    comps, labels = _components(mask, 4 * mm)
    banners = 0
    tall = 0
    finders: list[float] = []
    for x, y, w, h, lab in comps:
        if max(w, h) >= 30 * mm:
            tall += 1
        if min(w, h) < 4 * mm and max(w, h) < 0.4 * small.shape[1]:
            continue
        crop = (labels[y:y + h, x:x + w] == lab).astype(np.uint8)
        padded = np.pad(crop, 1)
        contours, hierarchy = cv2.findContours(padded, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
        if hierarchy is None:
            continue
        outer = max(range(len(contours)), key=lambda k: cv2.contourArea(contours[k]))
        (_cx, _cy), (rw, rh), _a = cv2.minAreaRect(contours[outer])
        long_side, short_side = max(rw, rh), min(rw, rh)
        if short_side <= 0:
            continue
        area = cv2.contourArea(contours[outer])
        filled = area >= 0.8 * rw * rh
        if long_side >= 0.5 * small.shape[1] and 6 * mm <= short_side <= 25 * mm and filled:
            banners += 1
        elif 4 * mm <= short_side <= 25 * mm and long_side <= 1.3 * short_side and filled:
            # a finder pattern: a light ring (a hole of the component) with a dark core
            # (another component) inside it, in the ratio 7 : 5 : 3
            for k in range(len(contours)):
                if hierarchy[0][k][3] != outer:
                    continue
                ring = cv2.contourArea(contours[k])
                if not 0.25 <= ring / area <= 0.8:
                    continue
                hole = np.zeros_like(padded)
                cv2.drawContours(hole, contours, k, 1, -1)
                inner = mask[y:y + h, x:x + w] & hole[1:-1, 1:-1] & (1 - crop)
                if 0.08 <= inner.sum() / area <= 0.45:
                    finders.append(short_side)
                    break
    return banners, _same_size(finders), tall


def _same_size(sides: list[float]) -> int:
    """The largest number of finder patterns whose sides agree within 30 %."""
    best = 0
    for s in sides:
        best = max(best, sum(1 for t in sides if abs(t - s) <= 0.3 * s))
    return best


def barcode_bars(gray: np.ndarray, dpi: float) -> int:
    """The largest number of parallel tall bars side by side (a Code 39 band), on a copy at about 150 dpi."""
    import cv2

    small, sdpi = _reduced(gray, dpi, 150.0)
    mm = sdpi / 25.4
    mask = _dark_mask(small)
    comps, labels = _components(mask, 30 * mm)
    bars: list[tuple[float, float, float]] = []
    for x, y, w, h, lab in comps:
        ys, xs = np.nonzero(labels[y:y + h, x:x + w] == lab)
        pts = np.stack([xs, ys], axis=1).astype(np.float32)
        (cx, cy), (rw, rh), angle = cv2.minAreaRect(pts)
        if max(rw, rh) >= 30 * mm and min(rw, rh) <= 4 * mm:
            direction = (angle if rw >= rh else angle + 90.0) % 180.0
            bars.append((cx + x, cy + y, direction))
    best = 0
    for cx, cy, d in bars:
        near = [b for b in bars if abs(((b[2] - d + 90) % 180) - 90) <= 10
                and abs(b[0] - cx) <= 150 * mm and abs(b[1] - cy) <= 150 * mm]
        best = max(best, len(near))
    return best


def look_alike(gray: np.ndarray, dpi: float, qr_located: bool | None = False) -> SheetDetection | None:
    """A separator's print without a decodable code (D5): 'damaged' (cover) or 'damaged_patch', else None.

    *qr_located* None means a foreign QR code decoded on the page: corner squares
    alone are then its own, and only the banner bands make a cover look-alike.
    """
    banners, finders, tall = banners_and_finders(gray, dpi)
    if banners >= 2 or (banners >= 1 and (finders >= 1 or qr_located)) or (finders >= 2 and qr_located is not None):
        return SheetDetection("damaged", None, f"cover: QR code unreadable ({banners} bands, {finders} corner "
                                               f"squares)")
    if tall:  # bars merged by blur at 100 dpi still leave tall components: count them at 150 dpi
        bars = barcode_bars(gray, dpi)
        if bars >= 12:
            return SheetDetection("damaged_patch", None, f"PATCHT: barcode unreadable ({bars} bars)")
    return None


def _opencv_qr(gray: np.ndarray) -> SheetDetection | None:
    """OpenCV's QR reader as a last try on a look-alike (it succeeds on some blurs zxing-cpp gives up on)."""
    import cv2

    for det in (cv2.QRCodeDetectorAruco(), cv2.QRCodeDetector()):
        try:
            text, _points, _ = det.detectAndDecode(gray)
        except cv2.error:
            continue
        if text and text.startswith(PREFIX):
            try:
                return SheetDetection("cover", parse_payload(text))
            except CoverSheetError as exc:
                return SheetDetection("damaged", None, f"cover: {exc}")
    return None


def detect_page(capture: np.ndarray | None, cleaned: Callable[[], np.ndarray | None], dpi: float) -> SheetDetection:
    """What a page is as a separator (D1-D5): kind 'cover', 'damaged', 'damaged_patch', 'patch' or ''.

    *capture* is the lossless page as scanned (None when it is gone or unreadable);
    *cleaned* returns the archival page after the clean-up (None if unreadable), and
    is called only when needed. Images are gray or RGB uint8 at *dpi*.

    Raises
    ------
    ValueError
        If *dpi* is not positive or an image is neither gray nor RGB.
    """
    if dpi <= 0:
        raise ValueError("dpi must be positive")
    if capture is None:
        page = cleaned()
        first = _gray(page) if page is not None else None
    else:
        first = _gray(capture)
    if first is None:
        return SheetDetection("", None, "no image")
    det, located = decode(first, dpi)
    if det is not None:
        return det
    suspect = look_alike(first, dpi, located)
    if capture is None or (suspect is None and located is not True):
        return suspect or SheetDetection("")
    # D4: the capture shows a separator's print that did not decode: the straightened page may
    page = cleaned()
    if page is not None:
        second = _gray(page)
        det, _ = decode(second, dpi)
        if det is not None:
            return det
        det = _opencv_qr(second)
        if det is not None:
            return det
    det = _opencv_qr(first)
    if det is not None:
        return det
    return suspect or SheetDetection("damaged", None, "cover: QR code located but unreadable")
