"""Deterministic synthetic scanned pages for the imaging tests and benchmark.

A page is an A4 (or given size) sheet drawn at the requested dpi with OpenCV:
text lines (lower-case words with ascenders and descenders), optionally a
table, a round stamp, a signature, faint bleed-through from the back side,
specks, paper texture and uneven light. The sheet is turned by a known skew
(positive: text rises to the right, i.e. the content is turned counter-clockwise)
and laid on the scanner's dark or light background, or fills the frame. Same
arguments, same pixels.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np

WORDS = ("hop dong chuyen nhuong quyen su dung dat giay khai sinh bien ban quyet dinh "
         "ngay thang nam uy ban nhan dan xa cong hoa xa hoi chu nghia viet nam doc lap "
         "tu do hanh phuc kinh gui phong tai nguyen moi truong so ho tich lap theo yeu "
         "cau cua gia dinh ong ba thuong tru tai thon ap tinh huyen quy phep").split()


@dataclass(frozen=True)
class PageSpec:
    """What to draw. All lengths in millimetres."""

    dpi: int = 300
    colour: bool = False
    skew_deg: float = 0.0
    seed: int = 0
    background: str = "dark"        # "dark", "light" or "none" (sheet fills the frame)
    content: str = "text"           # text, table, stamp, signature, one_line, blank, photo
    upside_down: bool = False
    specks: int = 0                 # number of dust specks (0.1-0.3 mm)
    bleed: bool = False             # faint mirrored text from the back side
    uneven: bool = False            # light falls off towards one corner
    black_border_mm: float = 0.0    # black strip along the left and top edges
    size_mm: tuple = (210.0, 297.0)
    margin_mm: float = 8.0          # background visible around the sheet


def _mm(v: float, dpi: int) -> int:
    return int(round(v * dpi / 25.4))


def _text_block(img, rng, dpi, x0, y0, x1, y1, ink, scale_pt=12.0, lines=None):
    scale = scale_pt / 12.0 * dpi / 300.0 * 1.45
    thick = max(1, int(round(dpi / 150.0)))
    step = _mm(scale_pt * 0.353 * 1.9, dpi)
    y = y0 + step
    n = 0
    while y < y1 and (lines is None or n < lines):
        x = x0
        words = []
        while True:
            wd = WORDS[int(rng.integers(len(WORDS)))]
            (tw, _), _ = cv2.getTextSize(" ".join(words + [wd]), cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
            if x0 + tw > x1:
                break
            words.append(wd)
        if n % 7 == 6:  # paragraph end: a short line
            words = words[: max(1, len(words) // 2)]
        if n % 7 == 0 and words:  # sentence start: a capital
            words[0] = words[0].capitalize()
        text = " ".join(words)
        cv2.putText(img, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, ink, thick, cv2.LINE_AA)
        # Vietnamese tone and vowel marks sit above the x-height (acute, grave,
        # hook, tilde, circumflex): draw one short mark over about half the vowels.
        (_, cap), _ = cv2.getTextSize("H", cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
        xh = int(cap * 0.67)  # Hershey simplex: x-height 14 of 21 units
        for i, ch in enumerate(text):
            if ch in "aeiouy" and rng.random() < 0.5:
                (px, _), _ = cv2.getTextSize(text[:i], cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
                (cw, _), _ = cv2.getTextSize(ch, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
                mx0 = x + px + cw // 4
                my0 = y - xh - max(2, cap // 8)
                cv2.line(img, (mx0, my0), (mx0 + max(2, cw // 2), my0 - max(2, cap // 4)), ink, thick,
                         cv2.LINE_AA)
        y += step
        n += 1
    return y


def _stamp(img, rng, dpi, cx, cy, colour):
    r = _mm(18, dpi)
    t = max(2, _mm(0.6, dpi))
    cv2.circle(img, (cx, cy), r, colour, t, cv2.LINE_AA)
    cv2.circle(img, (cx, cy), int(r * 0.72), colour, max(1, t // 2), cv2.LINE_AA)
    cv2.drawMarker(img, (cx, cy), colour, cv2.MARKER_STAR, int(r * 0.6), t)
    for k in range(24):  # letters around the ring
        a = 2 * math.pi * k / 24
        p = (int(cx + 0.86 * r * math.cos(a)), int(cy + 0.86 * r * math.sin(a)))
        cv2.circle(img, p, max(1, _mm(0.7, dpi)), colour, -1, cv2.LINE_AA)


def _signature(img, rng, dpi, cx, cy, ink):
    pts = []
    for k in range(160):
        t = k / 159.0
        x = cx + _mm(45, dpi) * (t - 0.5) + _mm(4, dpi) * math.sin(t * 37 + rng.uniform(0, 0.3))
        y = cy + _mm(7, dpi) * math.sin(t * 19) * math.cos(t * 5)
        pts.append((int(x), int(y)))
    cv2.polylines(img, [np.array(pts, np.int32)], False, ink, max(1, _mm(0.35, dpi)), cv2.LINE_AA)


def render_sheet(spec: PageSpec) -> np.ndarray:
    """Draw the sheet itself (no skew, no background), HxWx3 uint8."""
    rng = np.random.default_rng(spec.seed)
    dpi = spec.dpi
    w, h = _mm(spec.size_mm[0], dpi), _mm(spec.size_mm[1], dpi)
    paper = (236, 233, 226)
    img = np.empty((h, w, 3), np.uint8)
    img[:] = paper
    ink = (35, 32, 40)
    mx, my = _mm(22, dpi), _mm(20, dpi)
    if spec.bleed:
        back = np.full((h, w), 255, np.uint8)
        _text_block(back, rng, dpi, mx, my, w - mx, h - my, 0)
        back = cv2.GaussianBlur(back[:, ::-1], (0, 0), dpi / 150.0)
        img = (img.astype(np.float32) * (0.9 + 0.1 * back[:, :, None] / 255.0)).astype(np.uint8)
    c = spec.content
    if c in ("text", "table"):
        y = _text_block(img, rng, dpi, mx, my, w - mx, my + _mm(60 if c == "table" else 240, dpi), ink)
        if c == "table":
            rows, cols = 12, 4
            tx0, tx1, ty0 = mx, w - mx, y + _mm(5, dpi)
            rh = _mm(10, dpi)
            lt = max(1, _mm(0.3, dpi))
            for r in range(rows + 1):
                cv2.line(img, (tx0, ty0 + r * rh), (tx1, ty0 + r * rh), ink, lt)
            for k in range(cols + 1):
                x = tx0 + (tx1 - tx0) * k // cols
                cv2.line(img, (x, ty0), (x, ty0 + rows * rh), ink, lt)
            for r in range(rows):
                for k in range(cols):
                    x = tx0 + (tx1 - tx0) * k // cols
                    _text_block(img, rng, dpi, x + _mm(2, dpi), ty0 + r * rh - _mm(2.5, dpi),
                                x + (tx1 - tx0) // cols - _mm(2, dpi), ty0 + (r + 1) * rh, ink, 10, 1)
        _stamp(img, rng, dpi, w - mx - _mm(40, dpi), h - my - _mm(35, dpi),
               (200, 40, 40) if spec.colour else (110, 110, 110))
        _signature(img, rng, dpi, w - mx - _mm(40, dpi), h - my - _mm(12, dpi), (30, 40, 120))
    elif c == "one_line":
        _text_block(img, rng, dpi, mx, my, w - mx, h - my, ink, 12, 1)
    elif c == "stamp":
        _stamp(img, rng, dpi, w // 2, h // 3, (200, 40, 40) if spec.colour else (110, 110, 110))
    elif c == "signature":
        _signature(img, rng, dpi, w // 2, h // 2, (30, 40, 120))
    elif c == "photo":
        ph = rng.integers(0, 255, (h // 64, w // 64, 3)).astype(np.uint8)
        ph = cv2.resize(ph, (w - 2 * mx, h // 2), interpolation=cv2.INTER_CUBIC)
        img[my:my + ph.shape[0], mx:mx + ph.shape[1]] = ph
    elif c != "blank":
        raise ValueError(f"unknown content {c!r}")
    if spec.upside_down:
        img = np.ascontiguousarray(img[::-1, ::-1])
    return img


def make_page(spec: PageSpec) -> np.ndarray:
    """Return the scanned frame (HxW gray or HxWx3 RGB uint8) for ``spec``."""
    rng = np.random.default_rng(spec.seed + 7919)
    dpi = spec.dpi
    sheet = render_sheet(spec)
    sh, sw = sheet.shape[:2]
    m = _mm(spec.margin_mm, dpi) if spec.background != "none" else 0
    fh, fw = sh + 2 * m, sw + 2 * m
    bgv = {"dark": 28, "light": 196, "none": 236}[spec.background]
    frame = np.full((fh, fw, 3), bgv, np.uint8)
    # Turn the sheet counter-clockwise by skew_deg about the frame centre.
    M = cv2.getRotationMatrix2D(((fw - 1) / 2.0, (fh - 1) / 2.0), spec.skew_deg, 1.0)
    T = np.array([[1, 0, m], [0, 1, m], [0, 0, 1]], np.float64)
    A = np.vstack([M, [0, 0, 1]]) @ T
    # With no background (the sheet fills the frame) the uncovered corners take the
    # paper's colour, as a scanner that crops to the sheet would deliver them.
    fillc = (236, 233, 226) if spec.background == "none" else (0, 0, 0)
    warped = cv2.warpAffine(sheet, A[:2], (fw, fh), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=fillc)
    cover = cv2.warpAffine(np.full((sh, sw), 255, np.uint8), A[:2], (fw, fh), flags=cv2.INTER_LINEAR)
    if spec.background == "none":
        cover[:] = 255
    a = cover.astype(np.float32)[:, :, None] / 255.0
    frame = (warped.astype(np.float32) * a + frame.astype(np.float32) * (1 - a))
    if spec.uneven:
        yy, xx = np.mgrid[0:fh, 0:fw].astype(np.float32)
        frame *= (1.0 - 0.22 * (xx / fw) * (yy / fh))[:, :, None]
    frame += rng.normal(0, 2.5, (fh, fw, 1)).astype(np.float32)
    frame = np.clip(frame, 0, 255).astype(np.uint8)
    for _ in range(spec.specks):
        p = (int(rng.integers(m + 10, fw - m - 10)), int(rng.integers(m + 10, fh - m - 10)))
        cv2.circle(frame, p, max(1, _mm(float(rng.uniform(0.1, 0.3)), dpi)), (20, 20, 20), -1)
    if spec.black_border_mm > 0:
        b = _mm(spec.black_border_mm, dpi)
        frame[:, :b] = 8
        frame[:b, :] = 8
    if spec.colour:
        return frame
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)


@functools.lru_cache(maxsize=64)
def _cached(spec: PageSpec) -> np.ndarray:
    page = make_page(spec)
    page.setflags(write=False)
    return page


def cached_page(**kw) -> np.ndarray:
    """A read-only page for ``PageSpec(**kw)``, made once per process (dpi defaults to 200)."""
    kw.setdefault("dpi", 200)
    return _cached(PageSpec(**kw))
