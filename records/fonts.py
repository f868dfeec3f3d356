"""Fonts: DejaVu for rendering pages, a glyphless TrueType for the PDF text layer."""

from __future__ import annotations

import functools
from pathlib import Path

DEJAVU_DIR = Path("/usr/share/fonts/truetype/dejavu")


@functools.lru_cache(maxsize=32)
def pil_font(size: int, bold: bool = False, serif: bool = False):
    """A DejaVu font (Debian fonts-dejavu-core) for Pillow at *size* pixels."""
    from PIL import ImageFont

    name = ("DejaVuSerif" if serif else "DejaVuSans") + ("-Bold" if bold else "") + ".ttf"
    return ImageFont.truetype(str(DEJAVU_DIR / name), size)


@functools.lru_cache(maxsize=1)
def glyphless_ttf() -> bytes:
    """A TrueType program with one empty glyph (GID 1, advance 500/1000).

    The PDF text layer is never painted (text render mode 3), so glyph outlines
    are not needed; CIDToGIDMap sends every CID to GID 1. Built with fontTools.
    """
    import io

    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    fb = FontBuilder(1000, isTTF=True)
    fb.setupGlyphOrder([".notdef", "space"])
    fb.setupCharacterMap({0x20: "space"})
    empty = TTGlyphPen(None).glyph()
    notdef_pen = TTGlyphPen(None)
    notdef_pen.moveTo((50, 0))
    notdef_pen.lineTo((50, 700))
    notdef_pen.lineTo((450, 700))
    notdef_pen.lineTo((450, 0))
    notdef_pen.closePath()
    fb.setupGlyf({".notdef": notdef_pen.glyph(), "space": empty})
    fb.setupHorizontalMetrics({".notdef": (500, 50), "space": (500, 0)})
    fb.setupHorizontalHeader(ascent=800, descent=-200)
    fb.setupNameTable({"familyName": "SohoaGlyphless", "styleName": "Regular"})
    fb.setupOS2(sTypoAscender=800, sTypoDescender=-200, usWinAscent=800, usWinDescent=200)
    fb.setupPost()
    out = io.BytesIO()
    fb.save(out)
    return out.getvalue()
