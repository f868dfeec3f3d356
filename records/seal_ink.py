"""Seal and stamp ink cleared from the OCR input (bitonal page): red by the colour page, seals' grey by the grey page.

Vietnamese official papers carry red ink over black print: the body's round seal
over the signer's title and name, and red stamps (\"SAO Y BẢN CHÍNH\", \"ĐÃ ĐỐI
CHIẾU\") anywhere on the page. In the bitonal page red ink is ink like any other,
and it costs the OCR twice: tesseract's page layout takes a seal over a signature
block for a picture and drops the whole block (the title lines and the signer's
name under it go unread), and the seal's curved letters and rings that it does
read come out as stray characters. On a short page such as a civil-status form the
signature block is a tenth of the text.

The colour page says which ink is red: a pixel whose red channel exceeds both
others by at least ``min_excess`` (of 255). Black print under a seal stays black
(the seal is laid over it: the print's pixels are dark in every channel), blue
handwriting has no red excess, and neither has yellowed paper, a coffee stain's
brown or the grey of a photocopy, so they are kept.

A grey page (one channel, or three equal ones) has no colour cue, but a red seal
scanned in grey is mid-grey where print is black: a ring of a seal's size whose
grey is well above the print's has its light ink cleared, the print under it kept
(``clear_grey_seal``; design §6.3.1 R5).

Red ink in the top ``keep_top`` of the page stays: the secrecy stamps (MẬT, TỐI
MẬT, TUYỆT MẬT) are red too, and the layout reads them there (design §6.3, L8: a
stamp starting in the top third); clearing one would leave a secret page in clear.
Seals sit at the signature, below the text; a stamp that starts in the top band
keeps its print in the OCR input.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

# Red excess (R - max(G, B), 0..255) from which a pixel counts as red ink. Seal and stamp ink
# laid on white paper is 120 or more, its anti-aliased edges 60-100; JPEG colour bleed at the
# edge of black print next to a seal stays under 50, a coffee stain's brown under 30.
MIN_EXCESS = 60
# Fewer red pixels than this share of the page: no seal or stamp worth a copy of the page.
MIN_SHARE = 1e-4
# Share of the page's height, from its top, where red ink is kept: L8's top third and a stamp's
# height (up to 20 mm of an A4 page's 297) below it.
KEEP_TOP = 0.4
# Grey pages (design §6.3.1): a red seal scanned in grey is mid-grey (red ink's luminance is a
# third of the paper's), print black. Seal diameters in mm: commune seals are 32-36 mm, a
# ministry's up to 42; with the ring's thickness and blur a component's box.
SEAL_MM = (18.0, 48.0)
# A seal's ring touches the signer's title or signature beside it, which widens its component.
SEAL_WIDE_MM = 64.0
# A ring's ink fills under this share of its box (a filled disc or a photograph fills more).
MAX_RING_FILL = 0.3
# Grey levels (0..255) by which a seal's median must be lighter than the page's print.
MIN_GREY_GAP = 35
# An ink's level is this percentile of its pixels' grey: the core of its strokes. Most pixels
# of a thin letter are its anti-aliased, blurred edges, whose median says more about the
# stroke's width than its ink; a seal's ring is thicker, so medians would set them apart
# less than their inks are.
LEVEL_PERCENTILE = 30
# Fewer pixels of print than this (a few lines of text): no print level to compare a seal with.
MIN_PRINT_PIXELS = 1000


def red_ink(colour: np.ndarray, min_excess: int = MIN_EXCESS) -> np.ndarray:
    """Mask (bool, H x W) of the red-ink pixels of a colour page in OpenCV's BGR order.

    Raises
    ------
    ValueError
        If *colour* is not an H x W x 3 uint8 array.
    """
    if colour.ndim != 3 or colour.shape[2] != 3 or colour.dtype != np.uint8:
        raise ValueError(f"red_ink: an H x W x 3 uint8 page is needed, not {colour.shape} {colour.dtype}")
    b, g, r = colour[..., 0], colour[..., 1], colour[..., 2]
    # r - max(g, b) >= min_excess without int16 copies of the page: compare in uint8.
    other = np.maximum(g, b)
    return (r >= other) & (r - other >= min_excess)


def clear_red_ink(bitonal: np.ndarray, colour: np.ndarray, min_excess: int = MIN_EXCESS,
                  keep_top: float = KEEP_TOP) -> tuple[np.ndarray, int]:
    """The bitonal page (0 ink, 255 paper) with its red-ink pixels below the top *keep_top* of its
    height made paper, and how many were cleared.

    Raises
    ------
    ValueError
        If the two pages differ in height or width, *colour* is not H x W x 3 uint8, or
        *keep_top* is outside 0..1.
    """
    if bitonal.shape[:2] != colour.shape[:2]:
        raise ValueError(f"clear_red_ink: bitonal {bitonal.shape[:2]} and colour {colour.shape[:2]} differ")
    if not 0.0 <= keep_top <= 1.0:
        raise ValueError(f"clear_red_ink: keep_top {keep_top} is not a share of the height")
    top = int(round(keep_top * bitonal.shape[0]))
    mask = red_ink(colour[top:], min_excess) & (bitonal[top:] == 0)
    cleared = int(np.count_nonzero(mask))
    if not cleared:
        return bitonal, 0
    out = bitonal.copy()
    out[top:][mask] = 255
    return out, cleared


def clear_grey_seal(bitonal: np.ndarray, grey: np.ndarray, dpi: int, keep_top: float = KEEP_TOP,
                    min_gap: int = MIN_GREY_GAP) -> tuple[np.ndarray, int]:
    """The bitonal page with the light ink of its round seals made paper, found on the grey
    page, and how many pixels were cleared.

    A seal is an ink component of a seal's height (``SEAL_MM``; the signer's title or
    signature it touches may widen it to ``SEAL_WIDE_MM``) whose ink fills little of its box
    (a ring, not a blot or a photograph), centred below the top *keep_top* of the page. Its
    box is cleared only where the grey page is lighter than halfway between the seal's own
    grey and the page's print (each the ``LEVEL_PERCENTILE`` of its pixels): black print
    under the seal and beside it stays. A seal whose
    grey is within *min_gap* of the print (a photocopy made all ink alike, a black stamp) is
    left whole: tesseract takes a whole ring for a picture, half a ring for letters.

    Raises
    ------
    ValueError
        If the two pages differ in height or width, *grey* is not H x W uint8, or *keep_top*
        is outside 0..1.
    """
    import cv2

    if grey.ndim != 2 or grey.dtype != np.uint8:
        raise ValueError(f"clear_grey_seal: an H x W uint8 grey page is needed, not {grey.shape} {grey.dtype}")
    if bitonal.shape[:2] != grey.shape[:2]:
        raise ValueError(f"clear_grey_seal: bitonal {bitonal.shape[:2]} and grey {grey.shape[:2]} differ")
    if not 0.0 <= keep_top <= 1.0:
        raise ValueError(f"clear_grey_seal: keep_top {keep_top} is not a share of the height")
    ink = (bitonal == 0).view(np.uint8)
    _n, labels, stats, centres = cv2.connectedComponentsWithStats(ink, connectivity=8)
    px_mm = dpi / 25.4
    lo, hi, wide = SEAL_MM[0] * px_mm, SEAL_MM[1] * px_mm, SEAL_WIDE_MM * px_mm
    w, h, area = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT], stats[:, cv2.CC_STAT_AREA]
    ring = ((w >= lo) & (w <= wide) & (h >= lo) & (h <= hi) & (area <= MAX_RING_FILL * w * h)
            & (centres[:, 1] >= keep_top * bitonal.shape[0]))
    ring[0] = False  # the background
    seals = np.flatnonzero(ring)
    if seals.size == 0:
        return bitonal, 0
    # The page's print: components of a letter's size.
    letter = (h >= 1.2 * px_mm) & (h <= 6.0 * px_mm) & (w <= 40.0 * px_mm)
    letter[0] = False
    printed = grey[letter[labels]]
    if printed.size < MIN_PRINT_PIXELS:
        return bitonal, 0
    print_level = float(np.percentile(printed, LEVEL_PERCENTILE))
    out, cleared = bitonal, 0
    for i in seals:
        x, y, bw, bh = (int(v) for v in stats[i, :4])
        box = (slice(y, y + bh), slice(x, x + bw))
        g = grey[box]
        seal_level = float(np.percentile(g[labels[box] == i], LEVEL_PERCENTILE))
        if seal_level - print_level < min_gap:
            continue
        mask = (bitonal[box] == 0) & (g > (seal_level + print_level) / 2.0)
        k = int(np.count_nonzero(mask))
        if not k:
            continue
        if out is bitonal:
            out = bitonal.copy()
        out[box][mask] = 255
        cleared += k
    return out, cleared


def clear_seal_ink(bitonal: np.ndarray, page: np.ndarray, dpi: int | None, *, min_excess: int = MIN_EXCESS,
                   min_share: float = MIN_SHARE, keep_top: float = KEEP_TOP) -> tuple[np.ndarray, int]:
    """The bitonal page with its seal ink made paper, by *page* (colour BGR or grey, uint8), and the count.

    Red ink first (``clear_red_ink``) on a colour page; when that clears under *min_share* of
    the page (a grey page, three equal channels, no red seal), round seals by their grey
    (``clear_grey_seal``) on what is left, unless *dpi* is None (no seal size to look for).

    Raises
    ------
    ValueError
        If the pages differ in height or width or *page* is neither H x W nor H x W x 3 uint8.
    """
    import cv2

    out, cleared = bitonal, 0
    if page.ndim == 3 and page.shape[2] == 3 and page.dtype == np.uint8:
        out, cleared = clear_red_ink(bitonal, page, min_excess, keep_top)
        grey = None if cleared >= min_share * bitonal.size else cv2.cvtColor(page, cv2.COLOR_BGR2GRAY)
    elif page.ndim == 2 and page.dtype == np.uint8:
        grey = page
    else:
        raise ValueError(f"clear_seal_ink: an H x W or H x W x 3 uint8 page is needed, not {page.shape} {page.dtype}")
    if grey is not None and dpi is not None:
        out, more = clear_grey_seal(out, grey, dpi, keep_top)
        cleared += more
    return out, cleared


def ocr_input(bitonal_path: Path, colour_path: Path, dst: Path, *, dpi: int, min_excess: int = MIN_EXCESS,
              min_share: float = MIN_SHARE, keep_top: float = KEEP_TOP) -> tuple[Path, int]:
    """The file to OCR for a page: *dst* (written) when seal ink was cleared from it, else *bitonal_path*.

    Seal ink as ``clear_seal_ink`` finds it (*dpi* gives a seal's size). Returns the
    path and the count of ink pixels cleared (0 when *bitonal_path* is returned).

    Raises
    ------
    OSError
        If a page cannot be read or *dst* cannot be written.
    ValueError
        If the two pages differ in height or width.
    """
    import cv2

    colour = cv2.imread(str(colour_path), cv2.IMREAD_UNCHANGED)
    if colour is None:
        raise OSError(f"cannot read {colour_path.name}")
    bitonal = cv2.imread(str(bitonal_path), cv2.IMREAD_GRAYSCALE)
    if bitonal is None:
        raise OSError(f"cannot read {bitonal_path.name}")
    if colour.dtype != np.uint8 or not (colour.ndim == 2 or (colour.ndim == 3 and colour.shape[2] == 3)):
        return bitonal_path, 0  # 16-bit or alpha archival pages are not made by the station
    cleaned, cleared = clear_seal_ink(bitonal, colour, dpi, min_excess=min_excess, min_share=min_share,
                                      keep_top=keep_top)
    if cleared < min_share * bitonal.size:
        return bitonal_path, 0
    dst.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(dst), cleaned, [cv2.IMWRITE_PNG_BILEVEL, 1]):
        raise OSError(f"cannot write {dst}")
    return dst, cleared
