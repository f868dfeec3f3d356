"""What the pipeline reports about a page, and the state a feeder run shares between its pages.

The analysis record's format is specified in docs/design.md section 4.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field

import numpy as np

# Version of the analysis record (docs/design.md section 4); later revisions only add keys.
ANALYSIS_VERSION = 1

# The codes a page's ``warnings`` may carry, in the order of the design's table
# (docs/design.md section 4); the station words each one for its operators.
WARNING_CODES = ("content_at_edge", "crop_unsure", "orientation_unsure", "blur", "too_light", "low_contrast",
                 "too_dark", "low_resolution", "low_colour_depth", "page_size_change")


class RunContext:
    """State of one feeder run: the sheet sizes seen so far, for the double-feed warning.

    Thread-safe: pages of one run may be processed by several workers, and not
    necessarily in the order they were scanned. Each page is compared with its
    neighbours in scan order (``index - 1`` and ``index + 1``) among the pages
    already recorded, so of two neighbouring pages the one processed second
    reports a change between them, whatever the order of processing.
    """

    _KEEP = 64  # recent pages kept; a run's neighbours are processed close together

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sizes: dict[int, tuple[float, float]] = {}
        self._next = 0

    def size_change(self, size_mm: tuple[float, float], index: int | None = None) -> float:
        """Record page ``index``'s ``(width, height)`` in mm; return the largest relative
        change from its recorded neighbours (0 when none is recorded yet).

        Without ``index`` the page is taken to follow the previous call's page.
        """
        with self._lock:
            if index is None:
                index = self._next
            self._next = max(self._next, index + 1)
            self._sizes[index] = size_mm
            while len(self._sizes) > self._KEEP:
                self._sizes.pop(min(self._sizes))
            neighbours = [self._sizes[i] for i in (index - 1, index + 1) if i in self._sizes]
        return max((_relative_change(size_mm, n) for n in neighbours), default=0.0)


def _relative_change(a: tuple[float, float], b: tuple[float, float]) -> float:
    return max(abs(a[0] - b[0]) / max(b[0], 1e-9), abs(a[1] - b[1]) / max(b[1], 1e-9))


@dataclass
class PageAnalysis:
    """What the pipeline found and did (docs/design.md section 4).

    Boxes are ``[x0, y0, x1, y1]`` (end-exclusive) in input pixels of the
    corrected frame: the input canvas turned clockwise by ``angle_applied``
    about its centre, then clockwise by ``orientation`` (0, 90, 180 or 270)
    about its centre; for 90 and 270 the frame is ``height`` wide and ``width``
    high. With no correction they are plain input coordinates.
    """

    width: int
    height: int
    dpi: float
    channels: int
    skew_deg: float
    skew_confidence: float
    angle_applied: float
    orientation: int
    orientation_measure: float
    blank: bool
    blank_measure: float
    content_box: list[int] | None
    crop_box: list[int]
    paper_level: int
    sharpness: float
    warnings: list[dict] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    orientation_confidence: float = 0.0
    orientation_lines: int = 0
    lines_vertical: bool = False
    sheet_edges: list[bool] = field(default_factory=lambda: [False, False, False, False])

    def to_dict(self) -> dict:
        """JSON-serialisable dict of all fields, with ``version`` first."""
        d = {"version": ANALYSIS_VERSION, **asdict(self)}
        for k, v in list(d.items()):
            if isinstance(v, float):
                d[k] = round(v, 4)
        d["timings_ms"] = {k: round(v, 3) for k, v in self.timings_ms.items()}
        return d


@dataclass
class PageResult:
    """Outputs of :func:`imaging.pipeline.process_page`."""

    colour: np.ndarray
    bitonal: np.ndarray | None
    analysis: PageAnalysis
