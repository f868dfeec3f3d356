"""Turn a clean sheet into a scan: paper damage, placement on the scanner's canvas, scanner and copier faults.

Every effect is drawn from the ``Degradation`` it is given (chosen by
``corpus.py`` from the seed), and the function returns the scan together with
where the sheet and its content ended up on the canvas (corner points, in
canvas pixels), which is the ground truth the station's crop and orientation
are judged against.

Conventions (the station's, docs/design.md §4): ``skew_deg > 0`` when text lines
rise to the right (the sheet turned counter-clockwise on screen);
``orientation`` is how far the content is turned clockwise in the scan (0, 90,
180, 270), so a station turn of ``(360 - orientation) % 360`` makes it upright.
"""

from __future__ import annotations

import io
import math
import random
from dataclasses import asdict, dataclass, field

import cv2
import numpy as np
from PIL import Image


@dataclass
class Degradation:
    dpi: int = 300
    orientation: int = 0            # 0, 90, 180, 270 (content turned clockwise)
    skew_deg: float = 0.0
    border: str = "light"           # light, dark, none
    margins_mm: tuple = (3.0, 3.0, 3.0, 3.0)   # canvas beyond the sheet: left, top, right, bottom
    offset_mm: tuple = (0.0, 0.0)
    yellowed: float = 0.0           # 0..1
    bleed: float = 0.0              # 0..1 strength of show-through from the back
    coffee: int = 0                 # stains
    holes: bool = False
    staple: bool = False
    dust: int = 0                   # specks
    stamp_over_text: bool = False
    falloff: float = 0.0            # darkening at the far side, fraction (0.33 = a third)
    falloff_angle: float = 0.0
    blur: float = 0.0               # Gaussian sigma in pixels at 300 dpi
    noise: float = 0.0              # Gaussian sigma, grey levels
    photocopy: bool = False
    fax: bool = False
    colour: str = "rgb"             # rgb, rgb_equal, gray, bitonal
    jpeg: int = 0                   # JPEG quality the copier stored with, 0 = lossless

    def tags(self) -> list[str]:
        """Names of the degradations present, for the per-degradation breakdown."""
        t = [f"dpi_{self.dpi}"]
        if self.orientation in (90, 270):
            t.append("landscape_turned")
        elif self.orientation == 180:
            t.append("upside_down")
        if abs(self.skew_deg) >= 1.5:
            t.append("skew_ge_1.5")
        t += [name for name, on in (
            ("dark_border", self.border == "dark"), ("yellowed", self.yellowed > 0), ("bleed_through", self.bleed > 0),
            ("coffee_stain", self.coffee > 0), ("punched_holes", self.holes), ("staple_shadow", self.staple),
            ("dust", self.dust > 0), ("stamp_over_text", self.stamp_over_text),
            ("falloff_ge_0.25", self.falloff >= 0.25), ("blur", self.blur >= 0.8), ("noise", self.noise >= 6),
            ("photocopy", self.photocopy), ("fax", self.fax), ("rgb_equal", self.colour == "rgb_equal"),
            ("gray", self.colour == "gray"), ("jpeg_le_60", 0 < self.jpeg <= 60)) if on]
        return t

    def to_dict(self) -> dict:
        d = asdict(self)
        d["margins_mm"] = [round(v, 2) for v in self.margins_mm]
        d["offset_mm"] = [round(v, 2) for v in self.offset_mm]
        d["skew_deg"] = round(self.skew_deg, 3)
        d["falloff"] = round(self.falloff, 3)
        d["tags"] = self.tags()
        return d


@dataclass
class Scan:
    pixels: np.ndarray          # what the station receives: H x W (gray/bitonal) or H x W x 3
    stored: bytes | None        # JPEG bytes as the copier wrote them (None: lossless)
    sheet_quad: list            # four corners of the sheet on the canvas (x, y)
    content_quad: list | None   # four corners of the content box, None for a blank page
    extra: dict = field(default_factory=dict)


def _box_corners(box) -> np.ndarray:
    x0, y0, x1, y1 = box
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)


def _rot90_points(pts: np.ndarray, w: int, h: int, orientation: int) -> np.ndarray:
    """Points of a w x h image after turning the image clockwise by *orientation*."""
    x, y = pts[:, 0], pts[:, 1]
    if orientation == 90:
        return np.stack([h - y, x], axis=1)
    if orientation == 180:
        return np.stack([w - x, h - y], axis=1)
    if orientation == 270:
        return np.stack([y, w - x], axis=1)
    return pts.copy()


def _soft_noise(rng: np.random.Generator, h: int, w: int, scale: int) -> np.ndarray:
    small = rng.random((max(2, h // scale), max(2, w // scale))).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def paper_effects(sheet: np.ndarray, deg: Degradation, rng: random.Random, nrng: np.random.Generator,
                  back: np.ndarray | None, content_box) -> tuple[np.ndarray, np.ndarray, list]:
    """Effects on the paper itself (before it is scanned). Returns (sheet float32, hole mask, extra boxes)."""
    h, w = sheet.shape[:2]
    px_mm = deg.dpi / 25.4
    out = sheet.astype(np.float32)
    holes = np.zeros((h, w), np.uint8)
    extra_boxes: list = []
    if deg.bleed > 0 and back is not None:
        mirrored = cv2.GaussianBlur(cv2.cvtColor(back[:, ::-1], cv2.COLOR_RGB2GRAY) if back.ndim == 3 else back[:, ::-1],
                                    (0, 0), 1.2 * deg.dpi / 300)
        mirrored = cv2.resize(mirrored, (w, h))
        ink = (255.0 - mirrored.astype(np.float32)) / 255.0
        out *= (1.0 - deg.bleed * 0.12 * ink)[..., None]
    if deg.yellowed > 0:
        tint = np.array([1.0, 1.0 - 0.05 * deg.yellowed, 1.0 - 0.17 * deg.yellowed], np.float32)
        mottle = 1.0 - 0.06 * deg.yellowed * _soft_noise(nrng, h, w, int(40 * px_mm))
        out *= tint * mottle[..., None]
    for _ in range(deg.coffee):
        cx, cy = rng.uniform(0.15, 0.85) * w, rng.uniform(0.15, 0.85) * h
        r = rng.uniform(25, 45) * px_mm
        yy, xx = np.ogrid[:h, :w]
        dist = np.sqrt(((xx - cx) / 1.0) ** 2 + ((yy - cy) / rng.uniform(0.85, 1.15)) ** 2)
        ring = np.exp(-((dist - r) / (1.8 * px_mm)) ** 2) * 0.45 + (dist < r) * 0.14
        ring = ring.astype(np.float32) * (0.7 + 0.3 * _soft_noise(nrng, h, w, int(8 * px_mm)))
        stain = np.array([0.62, 0.45, 0.25], np.float32)
        out *= 1.0 - ring[..., None] * (1.0 - stain)
    if deg.stamp_over_text and content_box is not None:
        x0, y0, x1, y1 = content_box
        sw, sh = int(rng.uniform(55, 70) * px_mm), int(rng.uniform(14, 20) * px_mm)
        sx = int(rng.uniform(x0, max(x0 + 1, x1 - sw)))
        sy = int(rng.uniform(y0 + (y1 - y0) * 0.3, max(y0 + 1, y1 - sh)))
        layer = np.zeros((h, w), np.uint8)
        t = max(2, int(0.9 * px_mm))
        cv2.rectangle(layer, (sx, sy), (sx + sw, sy + sh), 255, t)
        cv2.rectangle(layer, (sx + 2 * t, sy + 2 * t), (sx + sw - 2 * t, sy + sh - 2 * t), 255, max(1, t // 2))
        label = rng.choice(("SAO Y BAN CHINH", "DA DOI CHIEU", "DA SO HOA", "BAN SAO"))
        scale = 0.4 * sh / 22.0
        (tw, th), _b = cv2.getTextSize(label, cv2.FONT_HERSHEY_DUPLEX, scale, max(1, t // 2))
        scale *= min(1.0, (sw - 8 * t) / max(tw, 1))
        cv2.putText(layer, label, (sx + 4 * t, sy + sh // 2 + th // 2), cv2.FONT_HERSHEY_DUPLEX,
                    scale, 255, max(1, t // 2), cv2.LINE_AA)
        angle = rng.uniform(-12, 12)
        m = cv2.getRotationMatrix2D((sx + sw / 2, sy + sh / 2), angle, 1.0)
        layer = cv2.warpAffine(layer, m, (w, h))
        a = layer.astype(np.float32)[..., None] / 255.0 * rng.uniform(0.7, 0.9)
        tint = np.array([205, 32, 38], np.float32) / 255.0
        out *= 1.0 - a + a * tint
        ys, xs = np.nonzero(layer)
        if xs.size:
            extra_boxes.append((int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1))
    if deg.holes:
        # two filing holes 80 mm apart, 12 mm from the left edge of the upright sheet
        r = int(3.0 * px_mm)
        cx = int(12 * px_mm) if w < h else int(w / 2 - 40 * px_mm)
        for k in (-1, 1):
            if w < h:
                cv2.circle(holes, (cx, int(h / 2 + k * 40 * px_mm)), r, 255, -1)
            else:
                cv2.circle(holes, (int(w / 2 + k * 40 * px_mm), int(12 * px_mm)), r, 255, -1)
    if deg.staple:
        x0, y0 = int(rng.uniform(6, 12) * px_mm), int(rng.uniform(6, 12) * px_mm)
        length = int(12 * px_mm)
        x1, y1 = x0 + int(length * 0.7), y0 + int(length * 0.7) * (1 if rng.random() < 0.5 else 0) + 1
        shadow = np.zeros((h, w), np.uint8)
        cv2.line(shadow, (x0 + 3, y0 + 4), (x1 + 3, y1 + 4), 255, max(3, int(1.6 * px_mm)))
        shadow = cv2.GaussianBlur(shadow, (0, 0), 1.5 * px_mm).astype(np.float32) / 255.0
        out *= (1.0 - 0.45 * shadow)[..., None]
        metal = np.zeros((h, w), np.uint8)
        cv2.line(metal, (x0, y0), (x1, y1), 255, max(2, int(0.6 * px_mm)))
        out[metal > 0] = (95, 95, 100)
    if deg.dust:
        for _ in range(deg.dust):
            x, y = rng.randrange(w), rng.randrange(h)
            cv2.circle(out, (x, y), rng.randint(1, max(1, int(0.25 * px_mm))), (60, 60, 60), -1)
    return out, holes, extra_boxes


def scan_sheet(sheet: np.ndarray, content_box, deg: Degradation, seed: int,
               back: np.ndarray | None = None) -> Scan:
    """The scan of one clean sheet (RGB uint8 on white) under *deg*."""
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    px_mm = deg.dpi / 25.4
    h0, w0 = sheet.shape[:2]
    paper, holes, extra = paper_effects(sheet, deg, rng, nrng, back, content_box)
    boxes = ([content_box] if content_box is not None else []) + extra
    cbox = None
    if boxes:
        cbox = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))
    gray_needed = deg.colour != "rgb" or deg.photocopy or deg.fax
    if gray_needed:  # the copier keeps one channel: do the rest of the work on one
        paper = (paper @ np.array([0.299, 0.587, 0.114], np.float32))[..., None]
    k = {0: 0, 90: 3, 180: 2, 270: 1}[deg.orientation]  # np.rot90 turns counter-clockwise
    paper = np.ascontiguousarray(np.rot90(paper, k))
    holes = np.ascontiguousarray(np.rot90(holes, k))
    sheet_pts = _rot90_points(_box_corners((0, 0, w0, h0)), w0, h0, deg.orientation)
    content_pts = _rot90_points(_box_corners(cbox), w0, h0, deg.orientation) if cbox else None
    h, w = paper.shape[:2]
    ml, mt, mr, mb = (m * px_mm for m in deg.margins_mm)
    cw, ch = int(round(w + ml + mr)), int(round(h + mt + mb))
    centre = np.array([ml + w / 2 + deg.offset_mm[0] * px_mm, mt + h / 2 + deg.offset_mm[1] * px_mm])
    m = cv2.getRotationMatrix2D((w / 2, h / 2), deg.skew_deg, 1.0)
    m[:, 2] += centre - np.array([w / 2, h / 2])
    if deg.border == "dark":
        bg = np.array([rng.uniform(15, 45)] * 3, np.float32)
    elif deg.border == "none":
        bg = np.array([250, 250, 250], np.float32)
    else:
        bg = np.array([rng.uniform(200, 232)] * 3, np.float32)
    if gray_needed:
        bg = bg[:1]
    mask = cv2.warpAffine(np.full((h, w), 255, np.uint8), m, (cw, ch), flags=cv2.INTER_LINEAR)
    canvas = cv2.warpAffine(paper, m, (cw, ch), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                            borderValue=tuple(float(v) for v in bg) + (0.0,) * (4 - bg.size))
    if canvas.ndim == 2:
        canvas = canvas[..., None]
    if deg.holes:  # the scanner's backing shows through the holes
        hole_c = cv2.warpAffine(holes, m, (cw, ch), flags=cv2.INTER_LINEAR).astype(np.float32)[..., None] / 255.0
        canvas = canvas * (1.0 - hole_c) + bg * hole_c
    if deg.border == "dark":
        outside = (mask < 255)[..., None]
        canvas += nrng.standard_normal(canvas.shape[:2], dtype=np.float32)[..., None] * 4.0 * outside

    def warp(pts):
        # corner points are pixel edges; OpenCV maps pixel centres (edge + 0.5)
        return ((np.hstack([pts - 0.5, np.ones((4, 1))]) @ m.T) + 0.5).tolist()

    sheet_quad = warp(sheet_pts)
    content_quad = warp(content_pts) if content_pts is not None else None
    img = canvas
    if deg.falloff > 0:
        a = math.radians(deg.falloff_angle)
        span = abs(cw * math.cos(a)) + abs(ch * math.sin(a))
        xs = ((np.arange(cw, dtype=np.float32) - cw / 2) * math.cos(a) / span)[None, :]
        ys = ((np.arange(ch, dtype=np.float32) - ch / 2) * math.sin(a) / span)[:, None]
        t = np.clip(xs + ys + 0.5, 0, 1)
        img = img * (1.0 - deg.falloff * t)[..., None]
    if deg.photocopy:
        # toner copy: ink greyer, paper a little darker, grey speckle, dark sheet edges
        img = 38 + img * 0.80
        speck = nrng.random(img.shape[:2]) < 0.004
        img[speck] = nrng.uniform(90, 170, int(speck.sum()))[:, None]
        edge = cv2.distanceTransform((mask > 128).astype(np.uint8), cv2.DIST_L2, 3) / px_mm
        img *= (0.55 + 0.45 * np.clip(edge / 6.0, 0, 1))[..., None]
        streak = nrng.random(cw) < 0.01
        img[:, streak] *= 0.85
    if deg.blur > 0:
        sig = deg.blur * deg.dpi / 300
        img = cv2.GaussianBlur(img, (0, 0), sig)
        if img.ndim == 2:
            img = img[..., None]
    if deg.noise > 0:
        img = img + (nrng.standard_normal(img.shape[:2], dtype=np.float32) * deg.noise)[..., None]
    if deg.fax:
        thr = rng.uniform(135, 165)
        g = img[..., 0] + nrng.standard_normal(img.shape[:2], dtype=np.float32) * 18.0
        bw = np.where(g < thr, 0, 255).astype(np.uint8)
        for _ in range(rng.randint(2, 6)):
            y = rng.randrange(ch)
            bw[y:y + rng.randint(1, 3), :] = 0 if rng.random() < 0.3 else 255
        pixels = bw
    else:
        pixels = np.clip(img, 0, 255).astype(np.uint8)
        if pixels.shape[2] == 1:
            pixels = pixels[..., 0]
        if deg.colour == "rgb_equal":
            pixels = np.repeat(pixels[..., None], 3, axis=2)
    stored = None
    if deg.jpeg:
        buf = io.BytesIO()
        mode = "RGB" if pixels.ndim == 3 else "L"
        Image.fromarray(pixels, mode).save(buf, format="JPEG", quality=deg.jpeg, dpi=(deg.dpi, deg.dpi))
        stored = buf.getvalue()
        pixels = np.asarray(Image.open(io.BytesIO(stored)).convert(mode))
    return Scan(np.ascontiguousarray(pixels), stored, [[round(x, 2), round(y, 2)] for x, y in sheet_quad],
                [[round(x, 2), round(y, 2)] for x, y in content_quad] if content_quad else None)
