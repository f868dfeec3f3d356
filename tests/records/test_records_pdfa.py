"""PDF/A-2b structure and the invisible Vietnamese text layer (synthetic word boxes)."""

from __future__ import annotations

import datetime as dt
import subprocess

import pikepdf
import pytest
from PIL import Image

from records import pdfa
from records.icc import srgb_profile

LINES = ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "QUYẾT ĐỊNH",
         "Về việc cấp giấy chứng nhận quyền sử dụng đất"]


@pytest.fixture(scope="module")
def built(tmp_path_factory, page_jpegs, fake_ocr):
    jpeg = page_jpegs["QUYẾT ĐỊNH"]
    w, h = Image.open(jpeg).size
    ocr = fake_ocr(w, h, LINES)
    out = tmp_path_factory.mktemp("pdf") / "doc.pdf"
    when = dt.datetime(2026, 6, 12, 11, 45, 37, tzinfo=dt.timezone(dt.timedelta(hours=7)))
    pdfa.build_pdfa([pdfa.PageInput(jpeg, 200, ocr), pdfa.PageInput(jpeg, 200, None)], out,
                    title="Quyết định số 12", created=when)
    return out, jpeg, (w, h)


def test_structure_declares_pdfa2b_with_srgb_intent(built):
    out, jpeg, (w, h) = built
    with pikepdf.open(out) as pdf:
        assert pdf.pdf_version >= "1.7"
        assert len(pdf.pages) == 2
        with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as meta:
            assert meta["pdfaid:part"] == "2" and meta["pdfaid:conformance"] == "B"
            assert meta["dc:title"] == "Quyết định số 12"
        # PDF/A: the XMP stream must not be filtered
        assert "/Filter" not in pdf.Root.Metadata
        intent = pdf.Root.OutputIntents[0]
        assert intent.S == "/GTS_PDFA1"
        icc = intent.DestOutputProfile
        assert int(icc.N) == 3 and icc.read_bytes() == srgb_profile()
        assert str(pdf.docinfo.Producer) == pdfa.PRODUCER
        assert str(pdf.docinfo.CreationDate).startswith("D:20260612114537+07'00'")
        page = pdf.pages[0]
        # 100 % scale: the media box is the image size at its dpi
        assert float(page.MediaBox[2]) == pytest.approx(w * 72 / 200, abs=0.01)
        image = page.Resources.XObject.Im0
        assert image.Filter == "/DCTDecode" and image.ColorSpace == "/DeviceRGB" and int(image.BitsPerComponent) == 8
        assert image.read_raw_bytes() == jpeg.read_bytes()  # embedded as scanned, not re-encoded
        font = page.Resources.Font.F1
        assert font.Subtype == "/Type0" and "/ToUnicode" in font
        desc = font.DescendantFonts[0].FontDescriptor
        assert "/FontFile2" in desc
        content = page.Contents.read_bytes().decode("ascii")
        assert "3 Tr" in content and "Tj" in content
        assert "Tj" not in pdf.pages[1].Contents.read_bytes().decode("ascii")


def test_pikepdf_pdfa_validator_approves(built, tmp_path):
    from pikepdf.pdfa import validate_written

    report = validate_written(built[0], "2b")
    assert report.passed, report.findings
    # and it is not a rubber stamp: without the output intent the same file fails
    with pikepdf.open(built[0]) as pdf:
        del pdf.Root.OutputIntents
        pdf.save(tmp_path / "no-intent.pdf")
    assert not validate_written(tmp_path / "no-intent.pdf", "2b").passed


def test_qpdf_finds_no_structural_error(built):
    with pikepdf.open(built[0]) as pdf:
        assert pdf.check_pdf_syntax() == []  # qpdf's structural check (xref, streams, objects)


def test_pdftotext_returns_vietnamese_with_diacritics(built):
    out = built[0]
    text = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(out), "-"], capture_output=True,
                          text=True, check=True).stdout
    for word in ("CỘNG", "HÒA", "NGHĨA", "Hạnh", "QUYẾT", "ĐỊNH", "quyền", "đất"):
        assert word in text
    assert "QUYẾT ĐỊNH" in text  # words of one line come back with their space


def test_rejects_non_jpeg_and_empty(tmp_path, page_jpegs):
    png = tmp_path / "x.png"
    Image.new("RGB", (10, 10)).save(png)
    with pytest.raises(ValueError, match="not a JPEG"):
        pdfa.build_pdfa([pdfa.PageInput(png, 200)], tmp_path / "a.pdf", title="x")
    with pytest.raises(ValueError, match="at least one page"):
        pdfa.build_pdfa([], tmp_path / "b.pdf", title="x")


def test_a_line_keeps_its_dashes_when_their_boxes_are_small(tmp_path, page_jpegs):
    # tesseract boxes a dash tightly: a few pixels high, half way up the line; drawn on its
    # own box it sat above the line's baseline and text extraction broke the line there
    from records.ocr import OcrResult, Word

    jpeg = page_jpegs["QUYẾT ĐỊNH"]
    w, h = Image.open(jpeg).size
    words, x = [], 300
    for text in "Độc lập - Tự do - Hạnh phúc".split():
        dash = text == "-"
        width = 14 if dash else 22 * len(text)
        words.append(Word(text, x, 212 if dash else 196, width, 4 if dash else 34, 95.0, 1))
        x += width + 12
    out = tmp_path / "motto.pdf"
    pdfa.build_pdfa([pdfa.PageInput(jpeg, 200, OcrResult(words, w, h, 200))], out, title="x")
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True).stdout
    assert "Độc lập - Tự do - Hạnh phúc" in text
