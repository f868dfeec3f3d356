"""Red seal and stamp ink cleared from the OCR input (bitonal page), by the colour page.

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
brown or the grey of a photocopy, so they are kept. A grey page (one channel, or
three equal ones) carries no such cue and goes to OCR unchanged.

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


def ocr_input(bitonal_path: Path, colour_path: Path, dst: Path, *, min_excess: int = MIN_EXCESS,
              min_share: float = MIN_SHARE, keep_top: float = KEEP_TOP) -> tuple[Path, int]:
    """The file to OCR for a page: *dst* (written) when its colour page shows red ink, else *bitonal_path*.

    Returns the path and the count of ink pixels cleared (0 when *bitonal_path* is returned).
    A grey colour page returns *bitonal_path* at once; one whose channels are equal has no red
    excess and returns it too.

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
    if colour.ndim != 3 or colour.shape[2] != 3:
        return bitonal_path, 0
    bitonal = cv2.imread(str(bitonal_path), cv2.IMREAD_GRAYSCALE)
    if bitonal is None:
        raise OSError(f"cannot read {bitonal_path.name}")
    cleaned, cleared = clear_red_ink(bitonal, colour, min_excess, keep_top)
    if cleared < min_share * bitonal.size:
        return bitonal_path, 0
    dst.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(dst), cleaned, [cv2.IMWRITE_PNG_BILEVEL, 1]):
        raise OSError(f"cannot write {dst}")
    return dst, cleared
