"""Page previews for the status page, made once in the processing stage (design §4.1).

Two small JPEG files are written beside a page's capture when it is cleaned:

- ``{seq}.thumb.jpg``: the archival page (what the archive receives), longest
  side ``THUMB_PX``: the strip of pages of a job;
- ``{seq}.view.jpg``: the page as it was scanned (before turning and cropping),
  longest side ``VIEW_PX``: the larger view, on which the page draws the sheet
  box and the content box (:func:`frame_box_in_view`), so an operator sees a
  crooked crop, a folded corner or a cut-off text line.

They are made from the pixels the stage already holds in memory, so no file is
read again and a request never decodes a page. They go with the page's other
files (``retention.remove_page_files``): after the archive's receipt, and at
once when a secret record file is scrubbed (design §6.6 C1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from firmware_agent.capture_file import derived_path
from firmware_agent.pageio import encode_jpeg
from sync.fsutil import write_atomic

THUMB_SUFFIX = ".thumb.jpg"
VIEW_SUFFIX = ".view.jpg"
PREVIEW_SUFFIXES = (THUMB_SUFFIX, VIEW_SUFFIX)
THUMB_PX = 240
VIEW_PX = 800
QUALITY = 75


@dataclass(frozen=True)
class Preview:
    """What the stage records of the previews (``analysis["preview"]``)."""

    thumb: Path
    view: Path
    view_scale: float  # view pixels per capture pixel

    def to_dict(self) -> dict:
        return {"thumb": self.thumb.name, "view": self.view.name, "view_scale": round(self.view_scale, 6)}


def preview_paths(capture: Path) -> tuple[Path, ...]:
    """The thumbnail and the view of the page whose capture is *capture*.

    Empty when *capture* is not a capture file's name (a page journalled from an image
    that was never captured here has no previews, and removing it must not fail).
    """
    try:
        return derived_path(capture, THUMB_SUFFIX), derived_path(capture, VIEW_SUFFIX)
    except ValueError:
        return ()


def reduce(pixels: np.ndarray, longest: int) -> tuple[np.ndarray, float]:
    """*pixels* shrunk so the longest side is at most *longest*; returns it and its scale.

    Below half size: a nearest-neighbour pick to exactly twice the target size,
    then a 2×2 area mean, which OpenCV runs on its integer-factor path. Each
    preview pixel is thus the mean of four samples of its area. Averaging the
    whole page instead reads all of its 26 MB (300 dpi A4 colour), and an area
    mean by a factor that is not whole (a stride, then the rest) takes OpenCV's
    general path, several times slower (bench/bench_thumbnails.py); a preview
    only needs to show the sheet, its edges and its lines, not every stroke.
    """
    import cv2

    h, w = pixels.shape[:2]
    scale = min(1.0, longest / max(h, w))
    if scale >= 1.0:
        return np.ascontiguousarray(pixels), 1.0
    out_w, out_h = max(1, round(w * scale)), max(1, round(h * scale))
    src = pixels
    if scale < 0.5:
        src = cv2.resize(pixels, (out_w * 2, out_h * 2), interpolation=cv2.INTER_NEAREST)
    return cv2.resize(src, (out_w, out_h), interpolation=cv2.INTER_AREA), out_w / w


def write_previews(capture: Path, scanned: np.ndarray, archival: np.ndarray, dpi: int) -> Preview:
    """Write the thumbnail of *archival* and the view of *scanned* beside *capture*, atomically."""
    thumb_path, view_path = preview_paths(capture)
    thumb, thumb_scale = reduce(archival, THUMB_PX)
    view, view_scale = reduce(scanned, VIEW_PX)
    # Whole or absent (renamed into place), but not forced to the disk: a preview lost to a power
    # cut costs the page its picture on the status page, never a page; two fsyncs would cost more
    # than making both previews.
    for path, pixels, scale in ((thumb_path, thumb, thumb_scale), (view_path, view, view_scale)):
        write_atomic(path, encode_jpeg(pixels, dpi=max(1, round(dpi * scale)), quality=QUALITY), mode=0o640,
                     sync_file=False, sync_dir=False, make_parents=True)
    return Preview(thumb_path, view_path, view_scale)


def frame_box_in_view(box: list[int] | None, analysis: dict, scale: float) -> list[list[float]] | None:
    """The four corners of a box of the corrected frame, in pixels of the view of the scanned page.

    The corrected frame (design §4) turns each offset ``(dx, dy)`` from the
    centre by ``angle_applied`` clockwise, then negates it when ``orientation``
    is 180; the inverse brings a box drawn on the archival page back onto the
    page as scanned, where it is a turned quadrilateral.
    """
    if not box or len(box) != 4:
        return None
    w, h = analysis.get("width"), analysis.get("height")
    if not w or not h:
        return None
    a = math.radians(float(analysis.get("angle_applied") or 0.0))
    c, s = math.cos(a), math.sin(a)
    flip = -1.0 if int(analysis.get("orientation") or 0) == 180 else 1.0
    cx, cy = (w - 1) / 2, (h - 1) / 2
    x0, y0, x1, y1 = box
    corners = []
    for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1)):
        px, py = flip * (x - cx), flip * (y - cy)
        ix, iy = c * px + s * py + cx, -s * px + c * py + cy
        corners.append([round(ix * scale, 1), round(iy * scale, 1)])
    return corners
