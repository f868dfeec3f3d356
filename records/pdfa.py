"""PDF/A-2b documents: the archival colour page plus an invisible OCR text layer.

Layout and conformance points are in docs/formats.md §6.4. Built directly with
pikepdf (qpdf), no Ghostscript: the JPEG is embedded as it is (no re-encoding),
streams we write are deflated here so that the XMP stream stays unfiltered as
PDF/A requires, and a glyphless CID font with a ToUnicode CMap carries the text.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import zlib
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import pikepdf
from PIL import Image

from records.fonts import glyphless_ttf
from records.icc import srgb_profile
from records.ocr import OcrResult

PRODUCER = "sohoa records"
FONT_NAME = "SohoaGlyphless"
_ADVANCE = 0.5  # glyph advance in text space units (500/1000)


@dataclass(frozen=True)
class PageInput:
    """One page: the archival JPEG, its dpi and the OCR words (or None)."""

    jpeg: Path
    dpi: int
    ocr: OcrResult | None = None


@functools.lru_cache(maxsize=1)
def _cid_to_gid() -> bytes:
    # every 2-byte CID maps to glyph 1; the .notdef glyph is never referenced
    return zlib.compress(b"\x00\x01" * 65536, 9)


@functools.lru_cache(maxsize=1)
def _to_unicode() -> bytes:
    ranges = [f"<{hi:02X}00> <{hi:02X}FF> <{hi:02X}00>" for hi in range(256) if not 0xD8 <= hi <= 0xDF]
    body = []
    for i in range(0, len(ranges), 100):
        chunk = ranges[i:i + 100]
        body.append(f"{len(chunk)} beginbfrange\n" + "\n".join(chunk) + "\nendbfrange")
    cmap = ("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
            "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
            "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
            + "\n".join(body) + "\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n")
    return zlib.compress(cmap.encode("ascii"), 9)


def _deflated(pdf: pikepdf.Pdf, data: bytes, **extra) -> pikepdf.Stream:
    stream = pikepdf.Stream(pdf, data)
    stream.Filter = pikepdf.Name.FlateDecode
    for key, value in extra.items():
        stream[f"/{key}"] = value
    return stream


def _font(pdf: pikepdf.Pdf) -> pikepdf.Object:
    ttf = glyphless_ttf()
    font_file = _deflated(pdf, zlib.compress(ttf, 9), Length1=len(ttf))
    descriptor = pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.FontDescriptor, FontName=pikepdf.Name("/" + FONT_NAME), Flags=32,
        FontBBox=[0, -200, 500, 800], ItalicAngle=0, Ascent=800, Descent=-200, CapHeight=700,
        StemV=80, FontFile2=font_file))
    cid_font = pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.CIDFontType2, BaseFont=pikepdf.Name("/" + FONT_NAME),
        CIDSystemInfo=pikepdf.Dictionary(Registry=pikepdf.String("Adobe"), Ordering=pikepdf.String("Identity"),
                                         Supplement=0),
        FontDescriptor=descriptor, DW=500, CIDToGIDMap=_deflated(pdf, _cid_to_gid())))
    return pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type0, BaseFont=pikepdf.Name("/" + FONT_NAME),
        Encoding=pikepdf.Name("/Identity-H"), DescendantFonts=[cid_font],
        ToUnicode=_deflated(pdf, _to_unicode())))


def _hex_utf16(text: str) -> str:
    # CID = BMP code point; characters beyond the BMP become U+FFFD
    return "".join(f"{ord(c):04X}" if ord(c) <= 0xFFFF and not 0xD800 <= ord(c) <= 0xDFFF else "FFFD"
                   for c in text)


def text_layer(ocr: OcrResult, page_h_pt: float, scale: float) -> bytes:
    """Content-stream operators drawing every OCR word invisibly on its box.

    *scale* converts OCR pixels to points (72 / dpi of the OCR image).
    """
    ops = ["BT", "3 Tr"]
    # Every word of a line sits on the line's bottom at the line's height: a word's own box
    # puts a dash (a few pixels high, half way up) above the others' baseline, and readers
    # of the text (search, copy, pdftotext) then break the line there.
    bottom: dict[int, int] = {}
    tall: dict[int, int] = {}
    for w in ocr.words:
        if w.text and w.width > 0 and w.height > 0:
            bottom[w.line] = max(bottom.get(w.line, 0), w.top + w.height)
            tall[w.line] = max(tall.get(w.line, 0), w.height)
    for w in ocr.words:
        if not w.text or w.width <= 0 or w.height <= 0:
            continue
        size = max(1.0, tall[w.line] * scale)
        x = w.left * scale
        y = page_h_pt - bottom[w.line] * scale + 0.15 * size
        natural = len(w.text) * _ADVANCE * size
        tz = 100.0 * (w.width * scale) / natural if natural else 100.0
        ops.append(f"/F1 {size:.2f} Tf {tz:.1f} Tz 1 0 0 1 {x:.2f} {y:.2f} Tm <{_hex_utf16(w.text)}> Tj")
    ops.append("ET")
    return "\n".join(ops).encode("ascii")


def _xmp(title: str, created: str) -> bytes:
    xmp = f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:pdf="http://ns.adobe.com/pdf/1.3/">
   <pdfaid:part>2</pdfaid:part>
   <pdfaid:conformance>B</pdfaid:conformance>
   <dc:format>application/pdf</dc:format>
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{escape(title)}</rdf:li></rdf:Alt></dc:title>
   <xmp:CreateDate>{created}</xmp:CreateDate>
   <xmp:ModifyDate>{created}</xmp:ModifyDate>
   <xmp:MetadataDate>{created}</xmp:MetadataDate>
   <xmp:CreatorTool>{PRODUCER}</xmp:CreatorTool>
   <pdf:Producer>{PRODUCER}</pdf:Producer>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""
    return xmp.encode("utf-8")


def _pdf_date(when: dt.datetime) -> str:
    off = when.utcoffset() or dt.timedelta(0)
    sign = "+" if off >= dt.timedelta(0) else "-"
    mins = abs(int(off.total_seconds())) // 60
    return when.strftime("D:%Y%m%d%H%M%S") + f"{sign}{mins // 60:02d}'{mins % 60:02d}'"


def _jpeg_info(data: bytes) -> tuple[int, int, str]:
    with Image.open(io.BytesIO(data)) as im:
        if im.format != "JPEG":
            raise ValueError("archival page is not a JPEG")
        if im.mode not in ("RGB", "L"):
            raise ValueError(f"archival JPEG colour mode {im.mode} not supported (RGB or gray)")
        return im.width, im.height, "/DeviceRGB" if im.mode == "RGB" else "/DeviceGray"


def build_pdfa(pages: list[PageInput], out, *, title: str, created: dt.datetime | None = None) -> None:
    """Write a PDF/A-2b document of *pages* to *out* (a path or a binary file object).

    Raises
    ------
    ValueError
        If there are no pages or a page is not an RGB/gray JPEG.
    """
    if not pages:
        raise ValueError("a document needs at least one page")
    created = created or dt.datetime.now(dt.timezone(dt.timedelta(hours=7)))
    pdf = pikepdf.new()
    font = _font(pdf)
    for page in pages:
        data = Path(page.jpeg).read_bytes()
        width, height, space = _jpeg_info(data)
        w_pt, h_pt = width * 72.0 / page.dpi, height * 72.0 / page.dpi
        image = pikepdf.Stream(pdf, data)
        image.Type, image.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
        image.Width, image.Height, image.BitsPerComponent = width, height, 8
        image.ColorSpace, image.Filter = pikepdf.Name(space), pikepdf.Name.DCTDecode
        content = f"q {w_pt:.3f} 0 0 {h_pt:.3f} 0 0 cm /Im0 Do Q\n".encode("ascii")
        if page.ocr is not None and page.ocr.words:
            ocr_scale = (72.0 / page.ocr.dpi) if page.ocr.width == width else (w_pt / max(page.ocr.width, 1))
            content += text_layer(page.ocr, h_pt, ocr_scale)
        resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image), Font=pikepdf.Dictionary(F1=font))
        pdf.pages.append(pikepdf.Page(pikepdf.Dictionary(
            Type=pikepdf.Name.Page, MediaBox=[0, 0, round(w_pt, 3), round(h_pt, 3)],
            Resources=resources, Contents=_deflated(pdf, zlib.compress(content, 6)))))
    icc = srgb_profile()
    intent = pikepdf.Dictionary(
        Type=pikepdf.Name.OutputIntent, S=pikepdf.Name.GTS_PDFA1,
        OutputConditionIdentifier=pikepdf.String("sRGB IEC61966-2.1"), Info=pikepdf.String("sRGB IEC61966-2.1"),
        RegistryName=pikepdf.String("http://www.color.org"),
        DestOutputProfile=_deflated(pdf, zlib.compress(icc, 9), N=3))
    pdf.Root.OutputIntents = pdf.make_indirect(pikepdf.Array([intent]))
    iso = created.isoformat(timespec="seconds")
    meta = pikepdf.Stream(pdf, _xmp(title, iso))
    meta.Type, meta.Subtype = pikepdf.Name.Metadata, pikepdf.Name.XML
    pdf.Root.Metadata = pdf.make_indirect(meta)
    pdf.docinfo = pdf.make_indirect(pikepdf.Dictionary(
        Title=pikepdf.String(title), Producer=pikepdf.String(PRODUCER), Creator=pikepdf.String(PRODUCER),
        CreationDate=pikepdf.String(_pdf_date(created)), ModDate=pikepdf.String(_pdf_date(created))))
    pdf.save(out, min_version="1.7", compress_streams=False, stream_decode_level=pikepdf.StreamDecodeLevel.none,
             object_stream_mode=pikepdf.ObjectStreamMode.generate, fix_metadata_version=False)
