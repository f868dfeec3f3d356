"""Draw a document's pages as clean sheets and record exactly what was drawn.

Each page comes back as an RGB array on pure white paper, the text lines in
reading order (left column before right, top to bottom) split into what was
printed and what was handwritten, and the content box (every non-white pixel:
text, rules, seal, signature). Degradations are applied later (``degrade.py``).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FAMILIES = {
    "Liberation Serif": ("/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf",
                         "/usr/share/fonts/truetype/liberation2/LiberationSerif-Bold.ttf",
                         "/usr/share/fonts/truetype/liberation2/LiberationSerif-Italic.ttf",
                         "/usr/share/fonts/truetype/liberation2/LiberationSerif-BoldItalic.ttf"),
    "FreeSerif": ("/usr/share/fonts/truetype/freefont/FreeSerif.ttf",
                  "/usr/share/fonts/truetype/freefont/FreeSerifBold.ttf",
                  "/usr/share/fonts/truetype/freefont/FreeSerifItalic.ttf",
                  "/usr/share/fonts/truetype/freefont/FreeSerifBoldItalic.ttf"),
    "DejaVu Serif": ("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
                     "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf",
                     "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Italic.ttf",
                     "/usr/share/fonts/truetype/dejavu/DejaVuSerif-BoldItalic.ttf"),
    "TeX Gyre Termes": ("/usr/share/texmf/fonts/opentype/public/tex-gyre/texgyretermes-regular.otf",
                        "/usr/share/texmf/fonts/opentype/public/tex-gyre/texgyretermes-bold.otf",
                        "/usr/share/texmf/fonts/opentype/public/tex-gyre/texgyretermes-italic.otf",
                        "/usr/share/texmf/fonts/opentype/public/tex-gyre/texgyretermes-bolditalic.otf"),
}
HAND_FONTS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans-Oblique.ttf",
              "/usr/share/fonts/truetype/freefont/FreeSerifItalic.ttf")
SANS_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
INK = (18, 18, 22)
BLUE = (28, 44, 150)
RED = (205, 32, 38)
PT_MM = 25.4 / 72


def missing_fonts() -> list[str]:
    """Font files the generator needs that are not installed (Debian packages in the Makefile's eval deps)."""
    paths = [p for fam in FAMILIES.values() for p in fam] + list(HAND_FONTS) + [SANS_BOLD]
    return [p for p in paths if not Path(p).exists()]


@lru_cache(maxsize=256)
def font(path: str, px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, max(6, px))


@dataclass
class Style:
    family: str
    body_pt: float
    head_pt: float
    title_pt: float
    small_pt: float
    spacing: float          # line height / font size
    margins_mm: tuple       # left, top, right, bottom
    hand_font: str
    para_gap: float         # extra mm between paragraphs

    def path(self, bold: bool, italic: bool) -> str:
        return FAMILIES[self.family][(2 if italic else 0) + (1 if bold else 0)]


def pick_style(rng: random.Random, landscape: bool) -> Style:
    family = rng.choice(tuple(FAMILIES))
    body = rng.choice((13.0, 13.0, 13.5, 14.0, 12.5))
    margins = (rng.uniform(25, 35), rng.uniform(15, 25), rng.uniform(12, 20), rng.uniform(15, 25))
    if landscape:
        margins = (rng.uniform(12, 18), rng.uniform(10, 16), rng.uniform(12, 18), rng.uniform(10, 16))
        body -= 1.5
    return Style(family, body, body - rng.choice((0.0, 0.5, 1.0)), body + rng.choice((0.5, 1.0, 2.0)),
                 body - rng.choice((1.0, 1.5, 2.0)), rng.uniform(1.15, 1.5), margins, rng.choice(HAND_FONTS),
                 rng.uniform(0.0, 2.0))


_STYLE_MAP = {  # style name -> (size key, bold, italic)
    "head": ("head", True, False), "head_plain": ("head", False, False), "title": ("title", True, False),
    "subject": ("body", True, False), "body": ("body", False, False), "italic": ("body", False, True),
    "small": ("small", False, False), "label": ("small", True, True), "bold": ("body", True, False),
    "name": ("body", True, False), "label_value": ("body", False, False),
}


@dataclass
class DrawnLine:
    printed: str            # the printed characters of the line
    text: str               # printed and handwritten, as on the paper
    box: tuple              # x0, y0, x1, y1 in sheet pixels
    hand: bool              # any handwritten part


@dataclass
class RenderedPage:
    image: np.ndarray       # H x W x 3 uint8, white paper
    lines: list = field(default_factory=list)
    content_box: tuple = (0, 0, 0, 0)
    seals: list = field(default_factory=list)   # (cx, cy, r) of the seals drawn


class _Canvas:
    def __init__(self, style: Style, dpi: int, landscape: bool, rng: random.Random):
        self.s = style
        self.dpi = dpi
        self.rng = rng
        self.px_mm = dpi / 25.4
        w_mm, h_mm = (297, 210) if landscape else (210, 297)
        self.w, self.h = round(w_mm * self.px_mm), round(h_mm * self.px_mm)
        self.img = Image.new("RGB", (self.w, self.h), (255, 255, 255))
        self.d = ImageDraw.Draw(self.img)
        ml, mt, mr, mb = (round(m * self.px_mm) for m in style.margins_mm)
        self.left, self.right, self.top, self.bottom = ml, self.w - mr, mt, self.h - mb
        self.lines: list[DrawnLine] = []
        self.seal_layers: list[tuple] = []
        self.seals: list[tuple] = []
        self.limit = self.bottom

    def mm(self, v: float) -> int:
        return round(v * self.px_mm)

    def font_for(self, style: str) -> tuple[ImageFont.FreeTypeFont, int]:
        size_key, bold, italic = _STYLE_MAP[style]
        pt = {"head": self.s.head_pt, "title": self.s.title_pt, "body": self.s.body_pt,
              "small": self.s.small_pt}[size_key]
        px = round(pt * PT_MM * self.px_mm)
        return font(self.s.path(bold, italic), px), px

    def hand_font(self, px: int) -> ImageFont.FreeTypeFont:
        return font(self.s.hand_font, round(px * 1.05))

    # ------------------------------------------------------------------ text
    def _tokens(self, line) -> list[tuple[str, bool]]:
        segs = [(line, False)] if isinstance(line, str) else list(line)
        out = []
        for text, hand in segs:
            for i, word in enumerate(text.split(" ")):
                if word:
                    out.append((word, hand, i == 0 and text[:1] != " " and out != []))
        return [(w, h) for w, h, _ in out]

    def _width(self, tokens, f, hf) -> float:
        if not tokens:
            return 0.0
        total = 0.0
        for i, (w, hand) in enumerate(tokens):
            total += (hf if hand else f).getlength(w) * (1.08 if hand else 1.0)
            if i:
                total += f.getlength(" ")
        return total

    def _wrap(self, tokens, f, hf, width: float, indent: float) -> list[list]:
        lines, cur = [], []
        for tok in tokens:
            trial = cur + [tok]
            limit = width - (indent if not lines else 0)
            if cur and self._width(trial, f, hf) > limit:
                lines.append(cur)
                cur = [tok]
            else:
                cur = trial
        if cur:
            lines.append(cur)
        return lines

    def text_block(self, b: dict, x0: int, x1: int, y: int) -> int:
        f, px = self.font_for(b.get("style", "body"))
        hf = self.hand_font(px)
        lh = round(px * self.s.spacing)
        if b.get("col"):
            c0, c1 = b["col"]
            x0, x1 = x0 + round((x1 - x0) * c0), x0 + round((x1 - x0) * c1)
        y += self.mm(b.get("before", 0) + (self.s.para_gap if b.get("indent") else 0))
        indent = self.mm(b.get("indent", 0))
        widest = 0.0
        drawn_any = False
        for raw in b.get("lines", []):
            tokens = self._tokens(raw)
            if not tokens:
                continue
            rows = self._wrap(tokens, f, hf, x1 - x0, indent) if b.get("wrap") else [tokens]
            for r_i, row in enumerate(rows):
                if y + lh > self.limit:
                    return y
                wdt = self._width(row, f, hf)
                use_f, use_hf = f, hf
                if not b.get("wrap") and wdt > x1 - x0:
                    # offices shrink a header line until it fits its column
                    use_px = max(6, int(px * (x1 - x0) / wdt) - 1)
                    use_f, use_hf = font(f.path, use_px), font(hf.path, use_px)
                    wdt = self._width(row, use_f, use_hf)
                align = b.get("align", "left")
                if align == "center":
                    x = x0 + (x1 - x0 - wdt) / 2
                elif align == "right":
                    x = x1 - wdt
                else:
                    x = x0 + (indent if r_i == 0 else 0)
                self._draw_row(row, x, y, use_f, use_hf, px)
                widest = max(widest, wdt)
                drawn_any = True
                y += lh
        if b.get("rule") and drawn_any:
            rw = widest * b["rule"]
            cx = (x0 + x1) / 2 if b.get("align") == "center" else x0 + widest / 2
            yy = y - lh + round(px * 1.15) + self.mm(0.8)
            self.d.line([(cx - rw / 2, yy), (cx + rw / 2, yy)], fill=INK, width=max(1, self.mm(0.25)))
            y = yy + self.mm(1.5)
        return y

    def _draw_row(self, row, x: float, y: int, f, hf, px: int) -> None:
        start = x
        printed, text, hand_any = [], [], False
        space = f.getlength(" ")
        for i, (word, hand) in enumerate(row):
            if i:
                x += space
            if hand:
                hand_any = True
                x = self._hand_word(word, x, y, hf, px)
            else:
                self.d.text((x, y), word, font=f, fill=INK)
                x += f.getlength(word)
                printed.append(word)
            text.append(word)
        self.lines.append(DrawnLine(" ".join(printed), " ".join(text), (round(start), y, round(x), y + px), hand_any))

    def _hand_word(self, word: str, x: float, y: int, hf, px: int) -> float:
        """Jittered glyphs in blue ink: each letter turned, lifted and sized a little differently."""
        rng = self.rng
        for ch in word:
            size = max(6, round(hf.size * rng.uniform(0.9, 1.12)))
            fnt = font(hf.path, size)
            wch = fnt.getlength(ch)
            tile = Image.new("L", (int(wch + size), int(size * 1.8)), 0)
            ImageDraw.Draw(tile).text((size / 2, size * 0.3), ch, font=fnt, fill=255)
            tile = tile.rotate(rng.uniform(-9, 9), resample=Image.BILINEAR)
            dy = rng.uniform(-0.08, 0.08) * px
            ink = tuple(int(c + rng.uniform(-10, 10)) for c in BLUE)
            self.img.paste(Image.new("RGB", tile.size, ink), (round(x - size / 2), round(y - size * 0.3 + dy)), tile)
            x += wch * rng.uniform(1.0, 1.15)
        return x

    # ------------------------------------------------------------------ marks
    def scrawl(self, cx: float, cy: float, width: float) -> None:
        rng = self.rng
        pts = []
        for i in range(9):
            pts.append((cx - width / 2 + width * i / 8, cy + rng.uniform(-0.35, 0.35) * width / 3))
        self.d.line(pts, fill=BLUE, width=max(2, self.mm(0.45)), joint="curve")
        self.d.arc([cx - width / 3, cy - width / 5, cx + width / 6, cy + width / 6], rng.uniform(0, 90),
                   rng.uniform(200, 330), fill=BLUE, width=max(2, self.mm(0.4)))

    def seal(self, cx: float, cy: float, text: str, diameter_mm: float = 36.0) -> None:
        """A round red seal with the body's name around it, blended over what is below (multiply)."""
        r = self.mm(diameter_mm / 2)
        layer = Image.new("L", (2 * r + 4, 2 * r + 4), 0)
        d = ImageDraw.Draw(layer)
        c = r + 2
        d.ellipse([c - r, c - r, c + r, c + r], outline=255, width=max(2, self.mm(0.9)))
        r2 = r - self.mm(6.5)
        d.ellipse([c - r2, c - r2, c + r2, c + r2], outline=255, width=max(1, self.mm(0.5)))
        fs = self.mm(3.6)
        fnt = font(SANS_BOLD, fs)
        chars = list(text.upper() + " ★ ")
        step = 2 * math.pi / len(chars)
        for i, ch in enumerate(chars):
            ang = -math.pi / 2 + (i - len(chars) / 4) * step
            tile = Image.new("L", (fs * 2, fs * 2), 0)
            ImageDraw.Draw(tile).text((fs, fs), ch, font=fnt, fill=255, anchor="mm")
            tile = tile.rotate(-math.degrees(ang) - 90, resample=Image.BILINEAR)
            rr = r - self.mm(3.4)
            px, py = c + rr * math.cos(ang), c + rr * math.sin(ang)
            layer.paste(255, (round(px - fs), round(py - fs)), tile)
        d.regular_polygon((c, c, self.mm(4)), 5, fill=255, rotation=self.rng.uniform(0, 10))
        self.seal_layers.append((layer, round(cx - c), round(cy - c)))
        self.seals.append((round(cx), round(cy), r))

    def finish(self) -> np.ndarray:
        arr = np.asarray(self.img, dtype=np.float32)
        for layer, x, y in self.seal_layers:
            a = np.asarray(layer, dtype=np.float32) / 255.0 * self.rng.uniform(0.75, 0.95)
            h, w = a.shape
            x0, y0, x1, y1 = max(0, x), max(0, y), min(self.w, x + w), min(self.h, y + h)
            if x1 <= x0 or y1 <= y0:
                continue
            sub = a[y0 - y:y1 - y, x0 - x:x1 - x, None]
            tint = np.array(RED, np.float32) / 255.0
            arr[y0:y1, x0:x1] = arr[y0:y1, x0:x1] * (1 - sub + sub * tint)
        return np.clip(arr, 0, 255).astype(np.uint8)


def render_page(blocks: list[dict], style: Style, dpi: int, landscape: bool, rng: random.Random) -> RenderedPage:
    cv = _Canvas(style, dpi, landscape, rng)
    has_sign = any(b["type"] in ("signature", "hand_sign") or (b["type"] == "cols" and any(
        x["type"] == "hand_sign" for x in b["left"] + b["right"])) for b in blocks)
    y = cv.top
    for i, b in enumerate(blocks):
        later_sign = has_sign and any(x["type"] in ("signature", "hand_sign", "cols") for x in blocks[i + 1:]) \
            and b["type"] == "text"
        cv.limit = cv.bottom - (cv.mm(62) if later_sign else 0)
        y = _block(cv, b, cv.left, cv.right, y)
    return RenderedPage(cv.finish(), cv.lines, _content_box(cv), cv.seals)


def _block(cv: _Canvas, b: dict, x0: int, x1: int, y: int) -> int:
    t = b["type"]
    if t == "text":
        return cv.text_block(b, x0, x1, y)
    if t == "cols":
        split = x0 + round((x1 - x0) * b.get("split", 0.45))
        gap = cv.mm(b.get("gap", 4)) // 2
        yl, yr = y, y
        for sub in b["left"]:
            yl = _block(cv, sub, x0 - cv.mm(6) if not b.get("gap") else x0, split - gap, yl)
        for sub in b["right"]:
            yr = _block(cv, sub, split + gap, x1 + cv.mm(4) if not b.get("gap") else x1, yr)
        return max(yl, yr)
    if t == "signature":
        cv.limit = cv.bottom
        y += cv.mm(cv.rng.uniform(3, 8))
        split = x0 + round((x1 - x0) * b.get("split", 0.45))
        yl = y
        for sub in b["left"]:
            yl = _block(cv, sub, x0, split - cv.mm(2), yl)
        yr = cv.text_block({"type": "text", "lines": b["right"], "style": "head", "align": "center"},
                           split, x1, y)
        space = cv.mm(cv.rng.uniform(20, 28))
        cx = (split + x1) / 2
        cv.scrawl(cx + cv.mm(cv.rng.uniform(-6, 10)), yr + space / 2, cv.mm(30))
        if b.get("stamp"):
            cv.seal(cx - cv.mm(cv.rng.uniform(8, 16)), yr + space / 2 + cv.mm(cv.rng.uniform(-3, 3)), b["stamp"])
        yr = cv.text_block({"type": "text", "lines": [b["name"]], "style": "name", "align": "center"},
                           split, x1, yr + space)
        return max(yl, yr)
    if t == "seal":
        y += cv.mm(b.get("before", 0))
        cv.scrawl((x0 + x1) / 2 + cv.mm(8), y + cv.mm(12), cv.mm(28))
        cv.seal((x0 + x1) / 2 - cv.mm(10), y + cv.mm(12), b["text"], 32.0)
        return y + cv.mm(24)
    if t == "hand_sign":
        cv.limit = cv.bottom
        if b.get("col"):
            c0, c1 = b["col"]
            x0, x1 = x0 + round((x1 - x0) * c0), x0 + round((x1 - x0) * c1)
        y += cv.mm(4)
        cv.scrawl((x0 + x1) / 2, y + cv.mm(8), cv.mm(26))
        return cv.text_block({"type": "text", "lines": [[(b["name"], True)]], "style": "body", "align": "center"},
                             x0, x1, y + cv.mm(18))
    if t == "map":
        y += cv.mm(b.get("before", 0))
        w = (x1 - x0) * 0.6
        h = cv.mm(70)
        rng = cv.rng
        pts = [(x0 + w * 0.2 + rng.uniform(-10, 10), y + rng.uniform(0, 20)),
               (x0 + w * 0.9 + rng.uniform(-10, 10), y + rng.uniform(0, 30)),
               (x0 + w + rng.uniform(-10, 10), y + h - rng.uniform(0, 30)),
               (x0 + w * 0.1 + rng.uniform(-10, 10), y + h - rng.uniform(0, 20))]
        cv.d.polygon(pts, outline=INK, width=max(2, cv.mm(0.4)))
        f, px = cv.font_for("small")
        cx = sum(p[0] for p in pts) / 4
        cy = sum(p[1] for p in pts) / 4
        cv.d.text((cx, cy), b["label"], font=f, fill=INK, anchor="mm")
        wl = f.getlength(b["label"])
        cv.lines.append(DrawnLine(b["label"], b["label"], (round(cx - wl / 2), round(cy - px / 2),
                                                           round(cx + wl / 2), round(cy + px / 2)), False))
        return y + h + cv.mm(4)
    raise ValueError(f"unknown block type {t!r}")


def _content_box(cv: _Canvas) -> tuple:
    arr = np.asarray(cv.img.convert("L"))
    ink = arr < 235
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    boxes = []
    if rows.size:
        boxes.append((int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1))
    for cx, cy, r in cv.seals:
        boxes.append((max(0, cx - r), max(0, cy - r), min(cv.w, cx + r), min(cv.h, cy + r)))
    if not boxes:
        return (0, 0, 0, 0)
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))
