"""Turn a dropped file (PDF, TIFF, JPEG, PNG) into page images.

Used by the hot folder: a network copier's "scan to folder" output becomes the
pages of one job. The type is decided by the file's magic bytes, never by its
name. A PDF page that is exactly one upright image covering the page gives that
image as it is stored (no resampling, no loss); any other page is rendered by
poppler's ``pdftoppm`` at the default dpi and read from its standard output, so
no rendered page is ever written to disk (it may belong to a secret record
file, design §6.6). See docs/design.md section 3.

Pages come out as C-contiguous ``uint8`` arrays, gray ``(H, W)`` or RGB
``(H, W, 3)``; an RGB image whose three channels are equal is given as gray.
"""

from __future__ import annotations

import io
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pikepdf
from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

from firmware_agent.messages import CATALOGUE
from sync.catalogue import Message

MIN_DPI = 50
MAX_DPI = 4800
RENDER_TIMEOUT_S = 300
# Matrix entries may differ from the page box by this fraction and still count as "covers the page".
_COVER_TOLERANCE = 0.02
_PDF_TAIL_BYTES = 2048
# Content-stream operators a plain scanned page uses to place its one image.
_IMAGE_PAGE_OPS = frozenset({"q", "Q", "cm", "Do"})
# What pikepdf raises for content it cannot parse or extract (names differ across versions).
_PIKEPDF_ERRORS = tuple(getattr(pikepdf, name) for name in (
    "PikepdfError", "PdfError", "DependencyError", "DataDecodingError", "UnsupportedImageTypeError",
    "NotExtractableError", "InvalidPdfImageError") if isinstance(getattr(pikepdf, name, None), type))
# Everything an image decoder may raise on a damaged or truncated file.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError)


class IntakeError(Exception):
    """A file that cannot be turned into pages.

    Attributes
    ----------
    message : sync.catalogue.Message
        The operator message (an ``intake.`` code of the station's catalogue, filled).
    detail : str
        What the decoder or the OS said (untranslated), or "".
    code : str
        The message's code.
    vi, en : str
        The operator message in Vietnamese, and in English with the detail after it.
    """

    def __init__(self, message: Message, detail: str = "") -> None:
        self.message = message
        self.detail = detail
        self.code = message.code
        self.vi = message.vi
        self.en = f"{message.en}: {detail}" if detail else message.en
        super().__init__(f"{self.vi} / {self.en}")


def sniff(path: Path) -> str:
    """The file's type from its first bytes: 'pdf', 'tiff', 'jpeg' or 'png'.

    Raises
    ------
    IntakeError
        If the file is unreadable, empty or of another type.
    """
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(1024)
    except OSError as exc:
        raise IntakeError(CATALOGUE["intake.unreadable"], str(exc.strerror or exc)) from exc
    if size == 0:
        raise IntakeError(CATALOGUE["intake.empty"])
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    # The PDF header may follow some junk; readers look within the first kilobyte.
    if b"%PDF-" in head:
        return "pdf"
    raise IntakeError(CATALOGUE["intake.unsupported_type"])


def count_pages(path: Path) -> int:
    """How many pages :func:`split_into_pages` will give, without decoding them.

    Raises
    ------
    IntakeError
        As :func:`split_into_pages` would for the file's structure.
    """
    path = Path(path)
    kind = sniff(path)
    if kind == "pdf":
        with _open_pdf(path) as pdf:
            return len(pdf.pages)
    if kind == "tiff":
        with _open_image(path) as im:
            return int(getattr(im, "n_frames", 1))
    return 1


def split_into_pages(path: Path, default_dpi: int) -> Iterator[tuple[np.ndarray, int]]:
    """Yield each page of a file as ``(image, dpi)``.

    Parameters
    ----------
    path : Path
        A PDF, TIFF (every frame is a page), JPEG or PNG file.
    default_dpi : int
        Resolution for images that do not state one, and for rendering PDF
        pages that are not a single image.

    Yields
    ------
    image : numpy.ndarray
        ``uint8``, shape (H, W) for gray or (H, W, 3) for RGB.
    dpi : int
        The page's horizontal resolution.

    Raises
    ------
    IntakeError
        For an empty, truncated, damaged, encrypted or unsupported file. Pages
        are produced lazily, so the error can come after some pages were
        yielded: treat a file as one unit and drop its pages on error.
    """
    path = Path(path)
    if not MIN_DPI <= default_dpi <= MAX_DPI:
        raise ValueError(f"default_dpi must be within {MIN_DPI}..{MAX_DPI}, got {default_dpi}")
    kind = sniff(path)
    if kind == "pdf":
        yield from _pdf_pages(path, default_dpi)
    else:
        yield from _image_pages(path, default_dpi, kind)


# --------------------------------------------------------------------------- images

def _open_image(path: Path) -> Image.Image:
    try:
        return Image.open(path)
    except Image.DecompressionBombError as exc:
        raise IntakeError(CATALOGUE["intake.image_too_large"], str(exc)) from exc
    except (UnidentifiedImageError, *_DECODE_ERRORS) as exc:
        raise IntakeError(CATALOGUE["intake.image_damaged"], str(exc)) from exc


def _image_pages(path: Path, default_dpi: int, kind: str) -> Iterator[tuple[np.ndarray, int]]:
    with _open_image(path) as im:
        frames = ImageSequence.Iterator(im) if kind == "tiff" else [im]
        index = 0
        while True:
            try:
                frame = frames[index]
            except IndexError:
                break
            except (Image.DecompressionBombError, *_DECODE_ERRORS) as exc:
                raise _damaged(index, exc) from exc
            try:
                frame.load()
                dpi = _dpi(frame.info, default_dpi)
                if kind == "jpeg":
                    # Phones and some copiers store the page sideways plus an EXIF rotation.
                    frame = ImageOps.exif_transpose(frame)
                page = to_array(frame)
            except (Image.DecompressionBombError, *_DECODE_ERRORS) as exc:
                raise _damaged(index, exc) from exc
            yield page, dpi
            index += 1
        if index == 0:
            raise IntakeError(CATALOGUE["intake.image_no_pages"])


def _damaged(index: int, exc: BaseException) -> IntakeError:
    if isinstance(exc, Image.DecompressionBombError):
        return IntakeError(CATALOGUE["intake.image_too_large"], str(exc))
    return IntakeError(CATALOGUE["intake.image_page_damaged"].format(page=index + 1), str(exc))


def _dpi(info: dict, default_dpi: int) -> int:
    value = info.get("dpi")
    try:
        x = float(value[0]) if value else 0.0
    except (TypeError, ValueError, IndexError, ZeroDivisionError):
        x = 0.0
    # Files often say 1 or 72 dpi when they mean "unknown"; trust only plausible scan values.
    if MIN_DPI <= x <= MAX_DPI and round(x) != 72:
        return int(round(x))
    return default_dpi


def to_array(img: Image.Image) -> np.ndarray:
    """A PIL image as a ``uint8`` gray or RGB array (alpha composited on white)."""
    mode = img.mode
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # 16-bit samples: keep the high byte.
        arr = (np.clip(np.asarray(img, dtype=np.int64), 0, 65535) >> 8).astype(np.uint8)
        return np.ascontiguousarray(arr)
    if mode == "F":
        return np.ascontiguousarray(np.clip(np.asarray(img), 0, 255).astype(np.uint8))
    if mode in ("LA", "La", "PA", "RGBA", "RGBa"):
        flat = Image.new("RGBA", img.size, (255, 255, 255, 255))
        flat.alpha_composite(img.convert("RGBA"))
        img = flat.convert("L" if mode in ("LA", "La") else "RGB")
    elif mode == "1":
        img = img.convert("L")
    elif mode not in ("L", "RGB"):
        img = img.convert("RGB")
    arr = np.asarray(img, dtype=np.uint8)
    if arr.ndim == 3 and _is_gray(arr):
        arr = arr[:, :, 0]
    return np.ascontiguousarray(arr)


def _is_gray(rgb: np.ndarray) -> bool:
    # A strided look first: a colour page is almost always caught by it, cheaply.
    sample = rgb[::16, ::16]
    if not ((sample[..., 0] == sample[..., 1]).all() and (sample[..., 1] == sample[..., 2]).all()):
        return False
    return bool((rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all())


# --------------------------------------------------------------------------- PDF

def _open_pdf(path: Path) -> pikepdf.Pdf:
    with open(path, "rb") as fh:
        fh.seek(0, 2)
        fh.seek(max(0, fh.tell() - _PDF_TAIL_BYTES))
        tail = fh.read()
    # qpdf would quietly repair a cut-off file; a copier's complete PDF always ends in %%EOF.
    if b"%%EOF" not in tail:
        raise IntakeError(CATALOGUE["intake.pdf_truncated"])
    try:
        pdf = pikepdf.open(path)
    except pikepdf.PasswordError as exc:
        raise IntakeError(CATALOGUE["intake.pdf_encrypted"]) from exc
    except (*_PIKEPDF_ERRORS, *_DECODE_ERRORS) as exc:
        raise IntakeError(CATALOGUE["intake.pdf_damaged"], str(exc)) from exc
    try:
        count = len(pdf.pages)
    except (*_PIKEPDF_ERRORS, *_DECODE_ERRORS) as exc:
        pdf.close()
        raise IntakeError(CATALOGUE["intake.pdf_damaged"], str(exc)) from exc
    if count == 0:
        pdf.close()
        raise IntakeError(CATALOGUE["intake.pdf_no_pages"])
    return pdf


def _pdf_pages(path: Path, default_dpi: int) -> Iterator[tuple[np.ndarray, int]]:
    with _open_pdf(path) as pdf:
        for index, page in enumerate(pdf.pages):
            try:
                found = _single_image(page)
            except (*_PIKEPDF_ERRORS, *_DECODE_ERRORS):
                found = None  # anything odd about the page: let poppler draw it
            got = _extract(found, index + 1) if found is not None else None
            yield got if got is not None else _render(path, index + 1, default_dpi)


def _extract(found: tuple[pikepdf.PdfImage, float], page_no: int) -> tuple[np.ndarray, int] | None:
    """Decode the page's image; None if pikepdf cannot (poppler then draws it)."""
    image, width_pt = found
    try:
        pil = image.as_pil_image()
    except _PIKEPDF_ERRORS:
        return None  # e.g. JBIG2 without a decoder: poppler has its own
    dpi = int(round(pil.width * 72.0 / width_pt))
    if not MIN_DPI <= dpi <= MAX_DPI:
        return None
    try:
        return to_array(pil), dpi
    except _DECODE_ERRORS as exc:
        # The image data itself is broken; poppler would quietly draw a blank page.
        raise IntakeError(CATALOGUE["intake.pdf_image_damaged"].format(page=page_no), str(exc)) from exc


def _page_box(page: pikepdf.Page) -> tuple[float, float, float, float]:
    box = [float(v) for v in page.cropbox]
    return min(box[0], box[2]), min(box[1], box[3]), abs(box[2] - box[0]), abs(box[3] - box[1])


def _single_image(page: pikepdf.Page) -> tuple[pikepdf.PdfImage, float] | None:
    """The page's one image and its drawn width (pt), or None if the page must be rendered."""
    if int(page.obj.get("/Rotate", 0)) % 360 != 0 or float(page.obj.get("/UserUnit", 1)) != 1:
        return None
    # Direct resources only: an image inside a form XObject is drawn through that form, so render it.
    images = dict(page.get_images(recursive=False)) if hasattr(page, "get_images") else dict(page.images)
    if len(images) != 1:
        return None
    (name, stream), = images.items()
    ctm = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
    stack: list[tuple[float, ...]] = []
    drawn: tuple[float, ...] | None = None
    for operands, operator in pikepdf.parse_content_stream(page):
        op = str(operator)
        if op not in _IMAGE_PAGE_OPS:
            return None
        if op == "q":
            stack.append(ctm)
        elif op == "Q":
            ctm = stack.pop() if stack else ctm
        elif op == "cm":
            ctm = _multiply(tuple(float(v) for v in operands), ctm)
        elif op == "Do":
            if drawn is not None or str(operands[0]) != name:
                return None
            drawn = ctm
    if drawn is None:
        return None
    a, b, c, d, e, f = drawn
    x0, y0, width, height = _page_box(page)
    tol = _COVER_TOLERANCE * max(width, height)
    if b != 0 or c != 0 or a <= 0 or d <= 0:
        return None
    if abs(a - width) > tol or abs(d - height) > tol or abs(e - x0) > tol or abs(f - y0) > tol:
        return None
    if any(key in stream for key in ("/SMask", "/Mask", "/Decode")) or bool(stream.get("/ImageMask", False)):
        return None
    image = pikepdf.PdfImage(stream)
    if image.bits_per_component not in (1, 8) or image.mode not in ("1", "L", "RGB", "P"):
        return None
    return image, a


def _multiply(m: tuple[float, ...], n: tuple[float, ...]) -> tuple[float, ...]:
    """PDF matrix product m × n (``cm`` pre-multiplies the current matrix)."""
    a, b, c, d, e, f = m
    a2, b2, c2, d2, e2, f2 = n
    return (a * a2 + b * c2, a * b2 + b * d2, c * a2 + d * c2, c * b2 + d * d2,
            e * a2 + f * c2 + e2, e * b2 + f * d2 + f2)


def _render(path: Path, page_no: int, dpi: int) -> tuple[np.ndarray, int]:
    # No output root: pdftoppm writes the one page as PPM to its standard output.
    cmd = ["pdftoppm", "-r", str(dpi), "-f", str(page_no), "-l", str(page_no), str(path)]
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=RENDER_TIMEOUT_S, check=False)
    except FileNotFoundError as exc:
        raise IntakeError(CATALOGUE["intake.pdftoppm_missing"]) from exc
    except subprocess.TimeoutExpired as exc:
        raise IntakeError(CATALOGUE["intake.render_timeout"].format(page=page_no)) from exc
    if done.returncode != 0 or not done.stdout:
        detail = done.stderr.decode(errors="replace").strip().splitlines()
        raise IntakeError(CATALOGUE["intake.render_failed"].format(page=page_no),
                          str(detail[-1] if detail else done.returncode))
    try:
        with Image.open(io.BytesIO(done.stdout)) as im:
            im.load()
            return to_array(im), dpi
    except (UnidentifiedImageError, *_DECODE_ERRORS) as exc:
        raise IntakeError(CATALOGUE["intake.render_failed"].format(page=page_no), str(exc)) from exc
