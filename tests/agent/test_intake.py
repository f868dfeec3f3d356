"""Intake of dropped files: real PDFs (pikepdf, Pillow), TIFF, JPEG, PNG, poppler rendering."""

from __future__ import annotations

import io

import numpy as np
import pikepdf
import pytest
from PIL import Image

from firmware_agent.intake import IntakeError, count_pages, sniff, split_into_pages, to_array

DPI = 100  # low default keeps pdftoppm renders small and quick


def page_image(w: int, h: int, mode: str = "RGB", mark: int = 0) -> Image.Image:
    """A white page with a dark block whose position encodes ``mark``."""
    arr = np.full((h, w, 3), 255, np.uint8)
    y = 5 + 10 * mark
    arr[y:y + 8, 10:40] = (20, 40, 200)
    img = Image.fromarray(arr)
    return img.convert(mode) if mode != "RGB" else img


def pages_of(path, dpi=DPI):
    return list(split_into_pages(path, dpi))


def vector_pdf(path, pages=1):
    """A PDF whose pages are drawn (a filled rectangle and text), so they must be rendered."""
    pdf = pikepdf.new()
    font = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                                BaseFont=pikepdf.Name.Helvetica))
    for _ in range(pages):
        content = b"0 0 0 rg 72 600 144 72 re f BT /F1 24 Tf 72 500 Td (Ho tich) Tj ET"
        page = pdf.add_blank_page(page_size=(612, 792))
        page.obj.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
        page.obj.Contents = pdf.make_stream(content)
    pdf.save(path)


def test_jpeg_gray_and_dpi(tmp_path):
    p = tmp_path / "a.jpg"
    page_image(120, 160, "L").save(p, dpi=(200, 200), quality=95)
    (arr, dpi), = pages_of(p)
    assert arr.dtype == np.uint8 and arr.shape == (160, 120)
    assert dpi == 200
    assert arr[8, 20] < 128 and arr[100, 100] > 200


def test_jpeg_without_dpi_uses_default_and_exif_rotation_applies(tmp_path):
    p = tmp_path / "b.jpeg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways; viewers rotate 90° clockwise
    page_image(160, 100).save(p, exif=exif)
    (arr, dpi), = pages_of(p, dpi=300)
    assert dpi == 300
    assert arr.shape == (160, 100, 3)


def test_png_alpha_palette_and_16_bit(tmp_path):
    rgba = page_image(50, 60, "RGBA")
    px = np.asarray(rgba).copy()
    px[30:, :, 3] = 0  # transparent half becomes white
    Image.fromarray(px).save(tmp_path / "a.png", dpi=(300, 300))
    (arr, dpi), = pages_of(tmp_path / "a.png")
    assert arr.shape == (60, 50, 3) and dpi == 300
    assert (arr[40:] == 255).all()

    page_image(50, 60).convert("P").save(tmp_path / "p.png")
    (arr, dpi), = pages_of(tmp_path / "p.png")
    assert arr.ndim == 3 and dpi == DPI

    g16 = Image.fromarray(np.full((20, 30), 0x8000, np.uint16))
    g16.save(tmp_path / "g16.png")
    (arr, _), = pages_of(tmp_path / "g16.png")
    assert arr.shape == (20, 30) and arr.dtype == np.uint8 and (arr == 0x80).all()


def test_multipage_tiff_counts_every_frame(tmp_path):
    p = tmp_path / "scan.tif"
    frames = [page_image(80, 100, "1"), page_image(80, 100, "L", 1), page_image(80, 100, "RGB", 2)]
    frames[0].save(p, save_all=True, append_images=frames[1:], dpi=(300, 300), compression="tiff_lzw")
    pages = pages_of(p)
    assert count_pages(p) == 3
    assert [a.ndim for a, _ in pages] == [2, 2, 3]
    assert all(d == 300 for _, d in pages)
    # The block moves down by 10 rows per page: pages keep their order.
    assert pages[1][0][16, 20] < 128 and pages[1][0][6, 20] > 200


def test_image_pdf_gives_stored_images_at_their_dpi(tmp_path):
    p = tmp_path / "copier.pdf"
    imgs = [page_image(200, 280, "L", i) for i in range(4)]
    imgs[0].save(p, save_all=True, append_images=imgs[1:], resolution=200)
    pages = pages_of(p)
    assert count_pages(p) == 4 and len(pages) == 4
    for i, (arr, dpi) in enumerate(pages):
        assert dpi == 200
        assert arr.shape == (280, 200)  # as stored, not resampled to DPI
        assert arr[5 + 10 * i + 4, 20] < 100


def test_drawn_pdf_pages_are_rendered_at_default_dpi(tmp_path):
    p = tmp_path / "vector.pdf"
    vector_pdf(p, pages=2)
    pages = pages_of(p)
    assert len(pages) == 2
    arr, dpi = pages[0]
    assert dpi == DPI
    assert abs(arr.shape[0] - 792 * DPI / 72) <= 1 and abs(arr.shape[1] - 612 * DPI / 72) <= 1
    # The filled rectangle at x 72..216, y 600..672 (from the bottom) is dark.
    top = (792 - 636) * DPI // 72
    assert arr[top, 144 * DPI // 72].max() < 60
    assert arr[20, 20].min() > 240


def test_small_image_on_a_big_page_is_rendered_with_its_margins(tmp_path):
    p = tmp_path / "small.pdf"
    buf = io.BytesIO()
    page_image(100, 100, "L").save(buf, "PDF", resolution=100)
    pdf = pikepdf.open(io.BytesIO(buf.getvalue()))
    page = pdf.pages[0]
    name = next(iter(page.get_images(recursive=False)))
    page.obj.MediaBox = [0, 0, 300, 300]
    page.obj.Contents = pdf.make_stream(f"q 72 0 0 72 10 10 cm {name} Do Q".encode())
    pdf.save(p)
    (arr, dpi), = pages_of(p)
    side = 300 * DPI / 72
    assert dpi == DPI and all(abs(n - side) <= 1 for n in arr.shape[:2])


def test_mixed_pdf_keeps_page_order(tmp_path):
    img_pdf, vec_pdf, out = tmp_path / "i.pdf", tmp_path / "v.pdf", tmp_path / "mixed.pdf"
    page_image(150, 200, "RGB").save(img_pdf, resolution=150)
    vector_pdf(vec_pdf)
    merged = pikepdf.new()
    for src in (img_pdf, vec_pdf, img_pdf):
        merged.pages.extend(pikepdf.open(src).pages)
    merged.save(out)
    pages = pages_of(out)
    assert [d for _, d in pages] == [150, DPI, 150]
    assert pages[0][0].shape == (200, 150, 3)


@pytest.mark.parametrize("maker,needle", [
    (lambda p: p.write_bytes(b""), "Empty file"),
    (lambda p: p.write_bytes(b"GIF89a" + b"\0" * 40), "Unsupported"),
    (lambda p: p.write_bytes(b"PK\x03\x04 a docx"), "Unsupported"),
    (lambda p: p.write_bytes(b"%PDF-1.7\n garbage without structure \n%%EOF\n"), "PDF"),
])
def test_bad_files_raise_intake_error(tmp_path, maker, needle):
    p = tmp_path / "bad.bin"
    maker(p)
    with pytest.raises(IntakeError, match=needle) as info:
        pages_of(p)
    assert info.value.vi and info.value.en


def test_truncated_files_are_refused(tmp_path):
    src = tmp_path / "full.pdf"
    page_image(300, 400).save(src, resolution=150)
    data = src.read_bytes()
    (tmp_path / "cut.pdf").write_bytes(data[: len(data) // 2])
    with pytest.raises(IntakeError, match="Truncated PDF") as info:
        pages_of(tmp_path / "cut.pdf")
    assert "cắt cụt" in info.value.vi

    rng = np.random.default_rng(1)
    noisy = Image.fromarray(rng.integers(0, 255, (300, 300, 3), dtype=np.uint8))
    for fmt, suffix in (("JPEG", "jpg"), ("PNG", "png"), ("TIFF", "tif")):
        buf = io.BytesIO()
        noisy.save(buf, fmt)
        p = tmp_path / f"cut.{suffix}"
        p.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 3])
        with pytest.raises(IntakeError, match="(?i)damaged|truncated"):
            pages_of(p)


def test_damaged_image_inside_a_pdf_is_refused_not_drawn_blank(tmp_path):
    rng = np.random.default_rng(2)
    noisy = Image.fromarray(rng.integers(0, 255, (200, 160, 3), dtype=np.uint8))
    noisy.save(tmp_path / "ok.pdf", resolution=100)
    buf = io.BytesIO()
    noisy.save(buf, "JPEG")
    with pikepdf.open(tmp_path / "ok.pdf") as pdf:
        stream = next(iter(pdf.pages[0].get_images(recursive=False).values()))
        stream.write(buf.getvalue()[: len(buf.getvalue()) // 3], filter=pikepdf.Name.DCTDecode)
        pdf.save(tmp_path / "bad-image.pdf")
    with pytest.raises(IntakeError, match="Damaged image on PDF page 1"):
        pages_of(tmp_path / "bad-image.pdf")


def test_image_pikepdf_cannot_extract_is_drawn_by_poppler(tmp_path):
    page_image(144, 144, "1").save(tmp_path / "bw.pdf", resolution=144)
    with pikepdf.open(tmp_path / "bw.pdf") as pdf:
        stream = next(iter(pdf.pages[0].get_images(recursive=False).values()))
        # JBIG2 data pikepdf cannot turn into a PIL image; poppler decodes JBIG2 itself.
        stream.write(b"\x00\x00\x00\x00\x30\x00\x01\x00\x00\x00\x13", filter=pikepdf.Name.JBIG2Decode)
        pdf.save(tmp_path / "jbig2.pdf")
    (arr, dpi), = pages_of(tmp_path / "jbig2.pdf")
    assert dpi == DPI and abs(arr.shape[0] - DPI) <= 1  # a 1-inch page drawn at DPI


def test_password_protected_pdf(tmp_path):
    src = tmp_path / "plain.pdf"
    page_image(50, 50).save(src)
    with pikepdf.open(src) as pdf:
        pdf.save(tmp_path / "locked.pdf", encryption=pikepdf.Encryption(user="mk", owner="mk2"))
    with pytest.raises(IntakeError, match="Password"):
        pages_of(tmp_path / "locked.pdf")


def test_type_comes_from_content_not_name(tmp_path):
    p = tmp_path / "scan.pdf"
    page_image(40, 40).save(p, "PNG")
    assert sniff(p) == "png"
    assert len(pages_of(p)) == 1


def test_default_dpi_is_checked(tmp_path):
    p = tmp_path / "a.png"
    page_image(10, 10).save(p)
    with pytest.raises(ValueError):
        pages_of(p, dpi=0)


def test_to_array_modes():
    assert to_array(Image.new("CMYK", (4, 3), (200, 0, 0, 0))).shape == (3, 4, 3)
    # Equal channels are still an RGB scan: the archive copy must stay 24-bit colour.
    gray_rgb = to_array(Image.new("RGB", (4, 3), (9, 9, 9)))
    assert gray_rgb.shape == (3, 4, 3) and (gray_rgb == 9).all()
    assert to_array(Image.new("1", (4, 3), 1)).max() == 255
    la = to_array(Image.new("LA", (2, 2), (0, 0)))
    assert la.shape == (2, 2) and (la == 255).all()
