"""Red seal and stamp ink out of the OCR input: pixels, files, and what real tesseract then reads."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw

from records.fonts import pil_font
from records.ocr import bitonal_copy, run_tesseract
from records.seal_ink import KEEP_TOP, clear_grey_seal, clear_red_ink, ocr_input, red_ink

DPI = 200
# The test page's seal is 460 px across: 58 mm at DPI, past a seal's size; at GREY_DPI a 39 mm seal.
GREY_DPI = 300
RED = (205, 32, 38)
BLUE = (28, 44, 150)
SIGNATURE = ("TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH")


def _seal(d: ImageDraw.ImageDraw, cx: int, cy: int, r: int, text: str, ink: tuple = RED) -> None:
    """A round seal: two rings and the body's name around them, as on the paper's signature block."""
    d.ellipse([cx - r, cy - r, cx + r, cy + r], outline=ink, width=7)
    d.ellipse([cx - r + 45, cy - r + 45, cx + r - 45, cy + r - 45], outline=ink, width=4)
    f = pil_font(26, bold=True)
    for i, ch in enumerate(text):
        a = -math.pi + i * 2 * math.pi / len(text)
        d.text((cx + (r - 24) * math.cos(a), cy + (r - 24) * math.sin(a)), ch, font=f, fill=ink, anchor="mm")


def signed_page(stamp: str = "", seal_ink: tuple = RED) -> np.ndarray:
    """A half page: body lines, then a signature block under a seal in *seal_ink*; *stamp* in red at the top (BGR)."""
    img = Image.new("RGB", (1600, 1300), (250, 248, 242))
    d = ImageDraw.Draw(img)
    if stamp:
        d.rectangle([120, 60, 420, 150], outline=RED, width=6)
        d.text((270, 105), stamp, font=pil_font(52, bold=True), fill=RED, anchor="mm")
    y = 220
    for line in ("Nơi cư trú: xóm Trại, xã Hòa Bình, huyện Đức Hòa", "Nguyên nhân chết: bệnh"):
        d.text((120, y), line, font=pil_font(40, serif=True), fill=(15, 15, 20))
        y += 70
    y = 640
    for line in SIGNATURE:
        d.text((1050, y), line, font=pil_font(40, bold=True, serif=True), fill=(15, 15, 20), anchor="mt")
        y += 62
    d.line([(930, 900), (1000, 860), (1080, 910), (1160, 850)], fill=BLUE, width=5)
    seal = Image.new("RGB", img.size, (255, 255, 255))
    _seal(ImageDraw.Draw(seal), 960, 760, 230, "ỦY BAN NHÂN DÂN XÃ HÒA BÌNH ★ ", seal_ink)
    # the seal's ink is laid over the print (multiply), as a stamp pressed on the paper
    page = np.asarray(img, np.float32) * np.asarray(seal, np.float32) / 255.0
    return cv2.cvtColor(page.astype(np.uint8), cv2.COLOR_RGB2BGR)


def otsu(bgr: np.ndarray) -> np.ndarray:
    return cv2.threshold(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)[1]


def test_red_ink_is_red_excess_only():
    px = np.array([[RED[::-1], BLUE[::-1], (20, 20, 20), (140, 172, 197), (170, 170, 200), (230, 235, 240)]],
                  np.uint8)  # BGR: seal red, blue ink, black, coffee brown, pale pink, paper
    assert red_ink(px).tolist() == [[True, False, False, False, False, False]]
    with pytest.raises(ValueError):
        red_ink(px[..., 0])


def test_clear_red_ink_keeps_print_under_the_seal_and_the_top_band():
    page = signed_page(stamp="MẬT")
    bw = otsu(page)
    out, cleared = clear_red_ink(bw, page)
    top = round(KEEP_TOP * bw.shape[0])
    assert cleared > 5000
    red = red_ink(page)
    # below the band: no red ink left; every black (not red) ink pixel kept
    assert not (red[top:] & (out[top:] == 0)).any()
    assert ((bw[top:] == 0) & ~red[top:] == (out[top:] == 0)).all()
    # the stamp in the top band is untouched (L8 reads secrecy stamps there)
    assert (out[:top] == bw[:top]).all() and (red[:top] & (bw[:top] == 0)).sum() > 1000
    # the input is not written to
    assert (bw == otsu(page)).all()
    with pytest.raises(ValueError):
        clear_red_ink(bw[:-1], page)
    with pytest.raises(ValueError):
        clear_red_ink(bw, page, keep_top=1.5)


def test_ocr_input_writes_a_copy_only_when_seal_ink_was_cleared(tmp_path):
    page = signed_page()
    colour, gray, bitonal = tmp_path / "p.jpg", tmp_path / "g.jpg", tmp_path / "p.png"
    cv2.imwrite(str(colour), page, [cv2.IMWRITE_JPEG_QUALITY, 80])
    cv2.imwrite(str(gray), cv2.cvtColor(page, cv2.COLOR_BGR2GRAY))
    cv2.imwrite(str(bitonal), otsu(page))
    src, cleared = ocr_input(bitonal, colour, tmp_path / "ocr" / "p.png", dpi=DPI)
    assert src == tmp_path / "ocr" / "p.png" and cleared > 5000
    assert (cv2.imread(str(src), cv2.IMREAD_GRAYSCALE) == 0).sum() < (otsu(page) == 0).sum() - 5000
    # a grey page, and three equal channels: the seal by its grey, when it has a seal's size at the page's dpi
    plain = tmp_path / "plain.jpg"
    cv2.imwrite(str(plain), cv2.cvtColor(cv2.cvtColor(page, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR))
    for i, path in enumerate((gray, plain)):
        dst = tmp_path / f"g{i}.png"
        assert ocr_input(bitonal, path, dst, dpi=DPI) == (bitonal, 0) and not dst.exists()  # 58 mm: no seal
        src, cleared = ocr_input(bitonal, path, dst, dpi=GREY_DPI)
        assert src == dst and cleared > 5000
    # a black seal is no red seal in grey: nothing written
    black = signed_page(seal_ink=(30, 30, 30))
    cv2.imwrite(str(tmp_path / "b.jpg"), black)
    cv2.imwrite(str(tmp_path / "b.png"), otsu(black))
    assert ocr_input(tmp_path / "b.png", tmp_path / "b.jpg", tmp_path / "q.png", dpi=GREY_DPI) == (
        tmp_path / "b.png", 0) and not (tmp_path / "q.png").exists()
    with pytest.raises(OSError):
        ocr_input(bitonal, tmp_path / "missing.jpg", tmp_path / "m.png", dpi=DPI)


def test_clear_grey_seal_keeps_print_under_and_beside_the_seal():
    page = signed_page(stamp="MẬT")
    grey = cv2.cvtColor(page, cv2.COLOR_BGR2GRAY)
    bw = otsu(page)
    out, cleared = clear_grey_seal(bw, grey, GREY_DPI)
    assert cleared > 5000
    assert (bw == otsu(page)).all()  # the input is not written to
    changed = out != bw
    assert (bw[changed] == 0).all() and (out[changed] == 255).all()  # ink made paper, never the reverse
    # every dark pixel (print 16, seal 84 here) stays ink; what was cleared is in the seal's box and light
    assert ((grey < 45) & (bw == 0) <= (out == 0)).all()
    ys, xs = np.nonzero(changed)
    # what was cleared is the seal's disc (centre 960, 760; radius 230 and its stroke), bar light print edges in its box
    outside = (ys - 760) ** 2 + (xs - 960) ** 2 > 236 ** 2
    assert outside.sum() < 0.02 * cleared
    assert grey[changed].min() > 45
    # the ring itself is gone: the seal's outer ring at its left, where no print is
    assert (out[745:775, 960 - 232:960 - 224] == 255).all() and (bw[745:775, 960 - 232:960 - 224] == 0).any()
    # the secrecy stamp in the top band is kept
    top = round(KEEP_TOP * bw.shape[0])
    assert (out[:top] == bw[:top]).all()
    # a black seal (a photocopy's, a black stamp) is kept whole; a ring too large for a seal at 200 dpi too
    black = signed_page(seal_ink=(30, 30, 30))
    assert clear_grey_seal(otsu(black), cv2.cvtColor(black, cv2.COLOR_BGR2GRAY), GREY_DPI)[1] == 0
    assert clear_grey_seal(bw, grey, DPI)[1] == 0
    with pytest.raises(ValueError):
        clear_grey_seal(bw[:-1], grey, GREY_DPI)
    with pytest.raises(ValueError):
        clear_grey_seal(bw, page, GREY_DPI)
    with pytest.raises(ValueError):
        clear_grey_seal(bw, grey, GREY_DPI, keep_top=-0.1)


def _words(text: str) -> set[str]:
    return {w.strip(".,:;") for w in text.split()}


def test_tesseract_reads_the_signature_block_once_the_seal_is_out(tmp_path):
    """Real tesseract on the page with and without the seal's ink: the block under it is read, the seal's letters not."""
    page = signed_page(stamp="MẬT")
    cv2.imwrite(str(tmp_path / "page.jpg"), page, [cv2.IMWRITE_JPEG_QUALITY, 85])
    cv2.imwrite(str(tmp_path / "page.png"), otsu(page))
    src, _cleared = ocr_input(tmp_path / "page.png", tmp_path / "page.jpg", tmp_path / "clean.png", dpi=DPI)
    clean = run_tesseract(src, dpi=DPI, niceness=0).text
    words = _words(clean)
    for line in SIGNATURE:
        assert set(line.replace(".", "").split()) <= words, (line, clean)
    assert "MẬT" in words  # the secrecy stamp stays readable
    assert {"Trại", "Hòa", "Bình", "bệnh"} <= words
    # the seal's ring letters are gone: no word of the seal's own in the text beyond the page's print
    printed = set().union(*(_words(x) for x in SIGNATURE), _words("MẬT Nơi cư trú: xóm Trại, xã Hòa Bình, huyện "
                                                                  "Đức Hòa Nguyên nhân chết: bệnh"))
    stray = [w for w in words - printed if len(w) > 1]
    assert len(stray) <= 1, (stray, clean)


def test_bitonal_copy_leaves_red_ink_out_below_the_top_band(tmp_path):
    page = signed_page(stamp="MẬT")
    cv2.imwrite(str(tmp_path / "page.jpg"), page, [cv2.IMWRITE_JPEG_QUALITY, 85])
    out = cv2.imread(str(bitonal_copy(tmp_path / "page.jpg", tmp_path / "bw.png")), cv2.IMREAD_GRAYSCALE)
    red = red_ink(cv2.imread(str(tmp_path / "page.jpg")))
    top = round(KEEP_TOP * out.shape[0])
    assert not (red[top:] & (out[top:] == 0)).any()
    assert (red[:top] & (out[:top] == 0)).sum() > 1000


def test_tesseract_reads_the_signature_block_of_a_grey_page_once_the_seal_is_out(tmp_path):
    """The same page scanned in grey: the seal is found by its grey and the block under it read."""
    grey = cv2.cvtColor(signed_page(), cv2.COLOR_BGR2GRAY)
    cv2.imwrite(str(tmp_path / "page.jpg"), grey, [cv2.IMWRITE_JPEG_QUALITY, 85])
    bw = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)[1]
    cv2.imwrite(str(tmp_path / "page.png"), bw)
    src, cleared = ocr_input(tmp_path / "page.png", tmp_path / "page.jpg", tmp_path / "clean.png", dpi=GREY_DPI)
    assert src == tmp_path / "clean.png" and cleared > 5000
    words = _words(run_tesseract(src, dpi=DPI, niceness=0).text)
    for line in SIGNATURE:
        assert set(line.replace(".", "").split()) <= words, (line, words)


def test_bitonal_copy_leaves_a_grey_seal_out_when_it_knows_the_dpi(tmp_path):
    grey = cv2.cvtColor(signed_page(), cv2.COLOR_BGR2GRAY)
    cv2.imwrite(str(tmp_path / "page.png"), grey)
    whole = cv2.imread(str(bitonal_copy(tmp_path / "page.png", tmp_path / "a.png")), cv2.IMREAD_GRAYSCALE)
    out = cv2.imread(str(bitonal_copy(tmp_path / "page.png", tmp_path / "b.png", GREY_DPI)), cv2.IMREAD_GRAYSCALE)
    assert (whole == otsu(signed_page())).all()  # without the dpi, no seal size: Otsu as it is
    cleared = (whole == 0) & (out == 255)
    assert cleared.sum() > 5000 and not ((out == 0) & (whole == 255)).any()
    assert ((grey < 45) & (whole == 0) <= (out == 0)).all()  # the print stays
