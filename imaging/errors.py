"""The one error type the imaging package raises for bad input."""

from __future__ import annotations


class ImageError(ValueError):
    """An image or a parameter the imaging kernels cannot work on.

    Raised by every public function of :mod:`imaging` before any kernel runs, so a
    bad page (zero size, 1x1, 16-bit, wrong shape, absurd size) becomes a clear
    message for the caller instead of a crash inside compiled code.
    """
