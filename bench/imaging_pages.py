"""Deterministic synthetic scanned pages for the imaging tests and benchmark.

A page is an A4 (or given size) sheet drawn at the requested dpi: text lines
(OpenCV's Hershey font, lower-case words with ascenders and descenders and a
mark over half the vowels; or, with ``font="serif"``, real Vietnamese words in
DejaVu Serif through Pillow), optionally a table, a round stamp, a signature,
faint bleed-through from the back side, specks, paper texture and uneven light.
The sheet is turned by a known skew (positive: text rises to the right, i.e.
the content is turned counter-clockwise) and laid on the scanner's dark or
light background, or fills the frame. What real scans add, each on request:
light falling off across the frame, yellowed paper, a photocopy (greyer ink,
darker paper, grey speckle, dark sheet edges, streaks), a shadow along the
sheet's edges, the content turned by a quarter or half turn, an RGB page with
three equal channels. Same arguments, same pixels.
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
    font: str = "hershey"           # "hershey" (OpenCV) or "serif" (Vietnamese words, DejaVu Serif)
    turn: int = 0                   # content turned clockwise in the scan: 0, 90, 180, 270
    falloff: float = 0.0            # light falls off by this fraction towards one side of the frame
    falloff_deg: float = 0.0        # direction the light falls off to (0: to the right, 90: down)
    yellowed: float = 0.0           # 0..1: paper yellowed (blue falls most), mottled
    photocopy: bool = False         # a copy of a copy: greyer ink, speckle, dark sheet edges, streaks
    edge_shadow: bool = False       # a dark shadow outside the sheet's right and bottom edges
    equal_rgb: bool = False         # an RGB scan whose three channels are equal
    bg_level: int = -1              # background grey, overriding the background's default


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


VIET_WORDS = ("Căn cứ Luật Tổ chức chính quyền địa phương ngày tháng năm Ủy ban nhân dân xã huyện tỉnh "
              "Quyết định về việc cấp giấy chứng nhận quyền sử dụng đất hộ tịch khai sinh đăng ký kết hôn "
              "trích lục bản sao Điều thi hành kể từ ngày ký Chủ tịch Văn phòng các cơ quan đơn vị có liên "
              "quan chịu trách nhiệm hồ sơ lưu trữ được giải quyết đúng hạn tiếp nhận phối hợp với "
              "Mặt trận Tổ quốc tuyên truyền đến từng hộ gia đình").split()
SERIF = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"  # Debian fonts-dejavu-core


def _serif_block(img, rng, dpi, x0, y0, x1, y1, ink, size_pt=13.0):
    """Vietnamese words in paragraphs (indented first line, short last line), drawn with Pillow."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(SERIF, int(round(size_pt * dpi / 72.0)))
    step = int(round(size_pt * 1.5 * dpi / 72.0))
    pil = Image.fromarray(img)
    draw = ImageDraw.Draw(pil)
    y = y0
    n = 0
    while y + step < y1:
        indent = _mm(10, dpi) if n % 6 == 0 else 0
        words: list[str] = []
        while True:
            wd = VIET_WORDS[int(rng.integers(len(VIET_WORDS)))]
            if x0 + indent + draw.textlength(" ".join(words + [wd]), font=font) > x1:
                break
            words.append(wd)
        if n % 6 == 5:  # paragraph end: a short line
            words = words[: max(1, len(words) // 2)]
        draw.text((x0 + indent, y), " ".join(words), font=font, fill=tuple(ink))
        y += step
        n += 1
    img[:] = np.asarray(pil)
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
    block = _serif_block if spec.font == "serif" else _text_block
    if spec.bleed:
        back = np.full((h, w), 255, np.uint8)
        if spec.font == "serif":
            back3 = np.full((h, w, 3), 255, np.uint8)
            _serif_block(back3, rng, dpi, mx, my, w - mx, h - my, (0, 0, 0))
            back = back3[:, :, 0]
        else:
            _text_block(back, rng, dpi, mx, my, w - mx, h - my, 0)
        back = cv2.GaussianBlur(back[:, ::-1], (0, 0), dpi / 150.0)
        img = (img.astype(np.float32) * (0.9 + 0.1 * back[:, :, None] / 255.0)).astype(np.uint8)
    c = spec.content
    if c in ("text", "table"):
        y = block(img, rng, dpi, mx, my, w - mx, min(my + _mm(60 if c == "table" else 240, dpi), h - my), ink)
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
    elif c == "short":  # a few lines at the top: a short letter
        block(img, rng, dpi, mx, my, w - mx, my + _mm(45, dpi), ink)
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
    if spec.yellowed > 0:
        # Old paper: blue falls most, then green, in blotches a few centimetres wide.
        blot = cv2.resize(rng.random((max(2, h // _mm(30, dpi)), max(2, w // _mm(30, dpi)))).astype(np.float32),
                          (w, h), interpolation=cv2.INTER_CUBIC)
        tint = np.array([1.0, 1.0 - 0.06 * spec.yellowed, 1.0 - 0.2 * spec.yellowed], np.float32)
        img = np.clip(img.astype(np.float32) * tint * (1.0 - 0.06 * spec.yellowed * blot)[:, :, None], 0, 255)
        img = img.astype(np.uint8)
    turn = 180 if spec.upside_down else spec.turn
    if turn not in (0, 90, 180, 270):
        raise ValueError(f"turn {turn!r} must be 0, 90, 180 or 270")
    img = np.ascontiguousarray(np.rot90(img, -turn // 90))  # clockwise
    return img


def _placement(spec: PageSpec, sw: int, sh: int) -> tuple[np.ndarray, int, int, int]:
    """The affine map of sheet pixels onto the frame, the frame's size and the margin."""
    m = _mm(spec.margin_mm, spec.dpi) if spec.background != "none" else 0
    fh, fw = sh + 2 * m, sw + 2 * m
    # Turn the sheet counter-clockwise by skew_deg about the frame centre.
    M = cv2.getRotationMatrix2D(((fw - 1) / 2.0, (fh - 1) / 2.0), spec.skew_deg, 1.0)
    T = np.array([[1, 0, m], [0, 1, m], [0, 0, 1]], np.float64)
    return np.vstack([M, [0, 0, 1]]) @ T, fw, fh, m


def truth(spec: PageSpec) -> dict:
    """Where the sheet and its content lie in the frame of ``make_page(spec)``.

    ``sheet`` and ``content`` are four corners ``(x, y)`` each, in pixel-edge
    coordinates of the frame (``content`` is None on a sheet without ink);
    ``frame`` is ``(width, height)``.
    """
    sheet = render_sheet(spec)
    sh, sw = sheet.shape[:2]
    A, fw, fh, _ = _placement(spec, sw, sh)

    def place(box):
        x0, y0, x1, y1 = box
        pts = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64) - 0.5  # pixel centres
        return (pts @ A[:2, :2].T + A[:2, 2] + 0.5).tolist()

    dark = sheet.mean(axis=2) < 160  # ink, seal, signature; not yellowed paper
    rows, cols = np.flatnonzero(dark.any(axis=1)), np.flatnonzero(dark.any(axis=0))
    content = None if rows.size == 0 else place((cols[0], rows[0], cols[-1] + 1, rows[-1] + 1))
    return {"sheet": place((0, 0, sw, sh)), "content": content, "frame": (fw, fh)}


def make_page(spec: PageSpec) -> np.ndarray:
    """Return the scanned frame (HxW gray or HxWx3 RGB uint8) for ``spec``."""
    rng = np.random.default_rng(spec.seed + 7919)
    dpi = spec.dpi
    sheet = render_sheet(spec)
    sh, sw = sheet.shape[:2]
    A, fw, fh, m = _placement(spec, sw, sh)
    bgv = spec.bg_level if spec.bg_level >= 0 else {"dark": 28, "light": 196, "none": 236}[spec.background]
    frame = np.full((fh, fw, 3), bgv, np.uint8)
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
    if spec.edge_shadow and spec.background != "none":
        # The lid does not press the sheet flat: a shadow just outside its right and bottom edges.
        outside = cover < 128
        d = _mm(1.2, dpi)
        near = cv2.dilate((~outside).astype(np.uint8), np.ones((2 * d + 1, 2 * d + 1), np.uint8)) > 0
        below_right = np.zeros_like(outside)
        below_right[d:, d:] = ~outside[:-d, :-d]
        shadow = outside & near & below_right
        frame[shadow] *= 0.45
    if spec.uneven:
        yy, xx = np.mgrid[0:fh, 0:fw].astype(np.float32)
        frame *= (1.0 - 0.22 * (xx / fw) * (yy / fh))[:, :, None]
    if spec.falloff > 0:
        # Light falling off linearly across the whole frame towards falloff_deg.
        yy, xx = np.mgrid[0:fh, 0:fw].astype(np.float32)
        ca, sa = math.cos(math.radians(spec.falloff_deg)), math.sin(math.radians(spec.falloff_deg))
        t = (xx - fw / 2) * ca + (yy - fh / 2) * sa
        t = (t - t.min()) / max(float(t.max() - t.min()), 1.0)
        frame *= (1.0 - spec.falloff * t)[:, :, None]
    if spec.photocopy:
        # Toner: ink greyer and paper a little darker, grey speckle, the sheet's
        # edges darker for about 6 mm, a few streaks down the page.
        frame = 38.0 + 0.8 * frame
        speck = rng.random((fh, fw)) < 0.004
        frame[speck] = rng.uniform(90, 170, (int(speck.sum()), 1)).astype(np.float32)
        inside = cv2.distanceTransform((cover >= 128).astype(np.uint8), cv2.DIST_L2, 3) * 25.4 / dpi
        frame *= (0.55 + 0.45 * np.clip(inside / 6.0, 0, 1))[:, :, None]
        frame[:, rng.random(fw) < 0.01] *= 0.85
    frame += rng.normal(0, 2.5, (fh, fw, 1)).astype(np.float32)
    frame = np.clip(frame, 0, 255).astype(np.uint8)
    for _ in range(spec.specks):
        p = (int(rng.integers(m + 10, fw - m - 10)), int(rng.integers(m + 10, fh - m - 10)))
        cv2.circle(frame, p, max(1, _mm(float(rng.uniform(0.1, 0.3)), dpi)), (20, 20, 20), -1)
    if spec.black_border_mm > 0:
        b = _mm(spec.black_border_mm, dpi)
        frame[:, :b] = 8
        frame[:b, :] = 8
    if spec.equal_rgb:
        return np.ascontiguousarray(np.repeat(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)[:, :, None], 3, axis=2))
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
