"""Input validation shared by the public imaging functions."""

from __future__ import annotations

import math

import numpy as np

from imaging.errors import ImageError

# Smallest page side we analyse: below this there is nothing a scanner produced.
MIN_SIDE = 16
# An A0 sheet at 400 dpi is about 13 250 x 18 700 = 248 Mpx; beyond 250 Mpx the
# working buffers alone would exhaust a 4 GB Raspberry Pi, so refuse early.
MAX_PIXELS = 250_000_000
MAX_SIDE = 65_500  # the largest side a JPEG can hold (libjpeg), and the archival page is a JPEG


def check_page(image: object, name: str = "image") -> np.ndarray:
    """Return ``image`` as a C-contiguous uint8 array of shape HxW or HxWx3.

    Raises
    ------
    ImageError
        If ``image`` is not a numpy array, is not uint8, has the wrong number of
        dimensions or channels, is smaller than ``MIN_SIDE`` on a side, or larger
        than ``MAX_SIDE`` / ``MAX_PIXELS``.
    """
    if not isinstance(image, np.ndarray):
        raise ImageError(f"{name}: expected a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        hint = "; convert 16-bit scans to 8 bits before processing" if image.dtype.itemsize == 2 else ""
        raise ImageError(f"{name}: expected 8-bit samples (uint8), got {image.dtype}{hint}")
    if image.ndim == 3:
        if image.shape[2] == 1:
            image = image[:, :, 0]
        elif image.shape[2] != 3:
            raise ImageError(f"{name}: expected 1 or 3 channels, got {image.shape[2]}")
    elif image.ndim != 2:
        raise ImageError(f"{name}: expected HxW or HxWx3, got {image.ndim} dimensions")
    h, w = image.shape[:2]
    if h < MIN_SIDE or w < MIN_SIDE:
        raise ImageError(f"{name}: {w}x{h} pixels is too small (minimum {MIN_SIDE}x{MIN_SIDE})")
    if h > MAX_SIDE or w > MAX_SIDE or h * w > MAX_PIXELS:
        raise ImageError(f"{name}: {w}x{h} pixels is too large (maximum {MAX_PIXELS} pixels, "
                         f"{MAX_SIDE} per side)")
    return np.ascontiguousarray(image)


def check_gray(image: object, name: str = "image") -> np.ndarray:
    """Like :func:`check_page` but require a single-channel HxW image."""
    arr = check_page(image, name)
    if arr.ndim != 2:
        raise ImageError(f"{name}: expected a gray HxW image, got shape {arr.shape}")
    return arr


def check_mask(mask: object, name: str = "mask") -> np.ndarray:
    """Return a 2-D boolean/uint8 mask as C-contiguous uint8 (nonzero = set)."""
    if not isinstance(mask, np.ndarray):
        raise ImageError(f"{name}: expected a numpy array, got {type(mask).__name__}")
    if mask.ndim != 2 or mask.shape[0] < 1 or mask.shape[1] < 1:
        raise ImageError(f"{name}: expected a non-empty 2-D mask, got shape {mask.shape}")
    if mask.dtype == np.bool_:
        return np.ascontiguousarray(mask.view(np.uint8))
    if mask.dtype != np.uint8:
        raise ImageError(f"{name}: expected bool or uint8, got {mask.dtype}")
    return np.ascontiguousarray(mask)


def check_positive(value: object, name: str, *, upper: float = math.inf) -> float:
    """Return ``value`` as a finite float in (0, upper], else raise ImageError."""
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ImageError(f"{name}: expected a number, got {value!r}") from None
    if not math.isfinite(v) or v <= 0 or v > upper:
        raise ImageError(f"{name}: {value!r} is out of range (0, {upper}]")
    return v


def check_int(value: object, name: str, low: int, high: int) -> int:
    """Return ``value`` as an int in [low, high], else raise ImageError."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ImageError(f"{name}: expected an integer, got {value!r}")
    if not low <= int(value) <= high:
        raise ImageError(f"{name}: {value} is out of range [{low}, {high}]")
    return int(value)
