"""Reading and durably writing page images.

Writes follow J1 of docs/design.md: temp file in the same folder, fsync, rename,
fsync of the folder. A reader never sees a half-written page, and after a power
cut a page either exists whole or not at all.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from firmware_agent.messages import CATALOGUE
from imaging.checks import MAX_PIXELS  # one limit for decoding and for the pipeline
from sync.catalogue import Message
from sync.fsutil import write_atomic

DEFAULT_DPI = 300


class PageReadError(ValueError):
    """An image file that cannot be used as a page (``str()``: Vietnamese / English, then the detail).

    Attributes
    ----------
    message : sync.catalogue.Message
        The operator message (a ``page_file.`` code of the station's catalogue, filled).
    detail : str
        What the OS or the decoder said (untranslated), or "".
    code : str
        The message's code.
    """

    def __init__(self, message: Message, detail: str = "") -> None:
        self.message = message
        self.detail = detail
        self.code = message.code
        super().__init__(f"{message.text}: {detail}" if detail else message.text)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write *data* to *path* so that it is either absent or complete, also after power loss (J1)."""
    write_atomic(Path(path), data, mode=0o640, make_parents=True)


def _set_jfif_density(data: bytes, dpi: int) -> bytes:
    # JFIF APP0 (ITU T.81 annex B, JFIF 1.02): SOI, FFE0, length, "JFIF\0",
    # version (2 bytes), units (1 = dots per inch), X and Y density (big-endian).
    if data[2:4] != b"\xff\xe0" or data[6:11] != b"JFIF\x00":
        raise ValueError("the JPEG encoder wrote no JFIF header")
    d = max(1, min(int(round(dpi)), 65535)).to_bytes(2, "big")
    return data[:13] + b"\x01" + d + d + data[18:]


def encode_jpeg(array: np.ndarray, *, dpi: int, quality: int = 90) -> bytes:
    """Encode gray or RGB uint8 as baseline JPEG (libjpeg-turbo) with its dpi in the JFIF header.

    Colour keeps full chroma resolution (4:4:4) from quality 90 up: red seals and
    blue ink lose their edges under 4:2:0. simplejpeg reads the array in place,
    where Pillow first unpacks it into its own 4-byte pixels (about a fifth of
    the encoding time for an A4 page at 300 dpi).
    """
    import simplejpeg

    if array.dtype != np.uint8 or array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] != 3):
        raise ValueError(f"expected uint8 gray or RGB image, got {array.dtype} with shape {array.shape}")
    a = np.ascontiguousarray(array)
    if a.ndim == 2:
        data = simplejpeg.encode_jpeg(a[:, :, None], quality=quality, colorspace="GRAY")
    else:
        data = simplejpeg.encode_jpeg(a, quality=quality, colorspace="RGB",
                                      colorsubsampling="444" if quality >= 90 else "420")
    return _set_jfif_density(data, dpi)


def encode_image(array: np.ndarray, suffix: str, *, dpi: int, quality: int = 90) -> bytes:
    """Encode gray (HxW) or RGB (HxWx3) uint8 as PNG, JPEG or TIFF bytes, with its dpi."""
    from PIL import Image  # Pillow writes the dpi into JFIF/PNG/TIFF headers; cv2 does not

    if array.dtype != np.uint8 or array.ndim not in (2, 3):
        raise ValueError(f"expected uint8 gray or RGB image, got {array.dtype} with shape {array.shape}")
    suffix = suffix.lower()
    if suffix in (".jpg", ".jpeg"):
        return encode_jpeg(array, dpi=dpi, quality=quality)
    image = Image.fromarray(array)
    buf = io.BytesIO()
    if suffix == ".png":
        # compress_level 1: page captures are large and written on the hot path; size matters less
        image.save(buf, "PNG", dpi=(dpi, dpi), compress_level=1)
    elif suffix in (".tif", ".tiff"):
        image.save(buf, "TIFF", dpi=(dpi, dpi), compression="tiff_lzw")
    else:
        raise ValueError(f"unsupported image suffix {suffix!r}")
    return buf.getvalue()


def write_image_atomic(path: Path, array: np.ndarray, *, dpi: int, quality: int = 90) -> int:
    """Encode by the file's suffix and write atomically. Returns the byte size."""
    data = encode_image(array, Path(path).suffix, dpi=dpi, quality=quality)
    atomic_write_bytes(Path(path), data)
    return len(data)


def read_image(path: str | os.PathLike, default_dpi: int = DEFAULT_DPI) -> tuple[np.ndarray, int]:
    """Decode an image file into (array, dpi).

    The array is uint8 gray (HxW) or RGB (HxWx3), or uint16 for 16-bit files
    (the imaging core refuses those with its own message). Raises
    :class:`PageReadError` for missing, empty, truncated, corrupt or oversized files.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    name = path.name
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise PageReadError(CATALOGUE["page_file.unreadable"].format(name=name), str(exc.strerror)) from None
    if size == 0:
        raise PageReadError(CATALOGUE["page_file.empty"].format(name=name))
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with Image.open(path) as image:
            dpi_info = image.info.get("dpi")
            dpi = int(round(float(dpi_info[0]))) if dpi_info and float(dpi_info[0]) >= 1 else default_dpi
            if image.width * image.height > MAX_PIXELS:
                raise PageReadError(CATALOGUE["page_file.too_large"].format(name=name, width=image.width,
                                                                           height=image.height))
            image.load()
            array = _to_array(image)
    except PageReadError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise PageReadError(CATALOGUE["page_file.corrupt"].format(name=name), str(exc)) from None
    if array.size == 0:
        raise PageReadError(CATALOGUE["page_file.no_pixels"].format(name=name))
    return array, dpi


def _to_array(image) -> np.ndarray:
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        return np.asarray(image.convert("I")).astype(np.uint16)
    if mode == "1":
        return np.asarray(image.convert("L"))
    if mode in ("L", "RGB"):
        return np.asarray(image)
    if mode in ("LA", "P", "PA", "RGBA", "CMYK", "YCbCr", "LAB", "HSV"):
        return np.asarray(image.convert("RGB"))
    return np.asarray(image.convert("RGB"))
