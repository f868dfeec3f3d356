"""The page pipeline: analysis on a small gray copy, one geometric correction at full size.

Order of the steps (the only place that knows it):

1. validate the page and its dpi;
2. gray + area reduction to about ``analysis_dpi`` (one pass over the page);
3. paper and background levels, block background map, ink mask;
4. speck removal on the ink mask, blank decision;
5. skew (projection profiles) and, on text, orientation (0/180);
6. sheet box and content box in the corrected frame;
7. rotation + crop of the full-resolution page in one pass (skipped below
   ``min_rotation_deg``), in the page's own channels, filled with the paper colour;
8. Sauvola binarization of the corrected page and speck removal (bitonal for OCR,
   unless ``PipelineParams.bitonal`` is off);
9. quality warnings.

Nothing here reads files or settings: the caller passes :class:`PipelineParams`.
``time.perf_counter`` is read only to fill ``timings_ms``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from imaging.background import block_maps, ink_mask, paper_levels
from imaging.blank import detect_blank_runs
from imaging.checks import check_page, check_positive
from imaging.components import despeckle, label_runs
from imaging.errors import ImageError
from imaging.geometry import project_box, runs_box
from imaging.gray import reduce, to_gray
from imaging.orientation import detect_orientation_runs
from imaging.quality import measure_quality
from imaging.rotate import rotate_crop
from imaging.sauvola import sauvola
from imaging.runs import fill_runs, find_runs
from imaging.skew import estimate_skew_runs


# Version of the analysis record (docs/design.md section 4); later versions only add keys.
ANALYSIS_VERSION = 1


@dataclass(frozen=True)
class PipelineParams:
    """Settings of :func:`process_page` (the agent builds them from its config).

    Attributes
    ----------
    analysis_dpi : float
        Target resolution of the analysis copy (integer reduction factor,
        rounded): 85 gives 75 dpi for 300 dpi scans (factor 4: about half the
        analysis work of 100 dpi, skew still within a few thousandths of a degree)
        and keeps 100 dpi for 200 dpi scans (factor 2), where 67 dpi would lose
        thin black borders.
    block_mm : float
        Side of the background blocks.
    ink_ratio : float
        Ink is darker than this fraction of the local background.
    max_skew_deg : float
        Skew search range (±).
    min_skew_confidence : float
        Below this confidence the page is not rotated (no text lines found).
    min_rotation_deg : float
        Smaller skews are not corrected.
    fix_orientation : bool
        Turn pages found upside down.
    sauvola_window_mm, sauvola_k : float
        Sauvola window side (mm, made odd in pixels) and k.
    speck_mm : float
        Specks up to this size are removed from the bitonal page and ignored by
        the blank test.
    blank_max_ink_mm2 : float
        A page with less ink is blank.
    min_background_contrast : int
        Grey levels between paper and scanner background to crop to the sheet.
    blur_min : float
        Smallest acceptable variance of the Laplacian (``blur`` warning).
    dark_paper_max : int
        Paper darker than this warns ``too_dark``.
    light_ink_min : int
        Ink lighter than this warns ``too_light``.
    contrast_min : int
        Paper minus ink below this warns ``low_contrast``.
    edge_margin_mm : float
        Content closer than this to the sheet's edge warns ``content_at_edge``.
    min_dpi : float
        Archival minimum resolution (TT 05/2025: 200 dpi).
    require_colour : bool
        Warn ``low_colour_depth`` for gray pages (TT 05/2025: 24-bit colour).
    size_change_tolerance : float
        Relative change of sheet size within a run that warns ``page_size_change``.
    bitonal : bool
        Also make the bitonal page for OCR (step 8); without it ``PageResult.bitonal``
        is None.
    """

    analysis_dpi: float = 85.0
    block_mm: float = 3.0
    ink_ratio: float = 0.7
    max_skew_deg: float = 15.0
    min_skew_confidence: float = 0.75
    min_rotation_deg: float = 0.05
    fix_orientation: bool = True
    sauvola_window_mm: float = 2.0
    sauvola_k: float = 0.2
    speck_mm: float = 0.3
    blank_max_ink_mm2: float = 4.0
    min_background_contrast: int = 24
    blur_min: float = 150.0
    dark_paper_max: int = 140
    light_ink_min: int = 150
    contrast_min: int = 60
    edge_margin_mm: float = 1.5
    min_dpi: float = 200.0
    require_colour: bool = True
    size_change_tolerance: float = 0.04
    bitonal: bool = True


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
    """What the pipeline found and did. Boxes are ``[x0, y0, x1, y1]`` (end-exclusive)
    in input pixels of the corrected frame: the input canvas turned by
    ``angle_applied`` (and 180 degrees if ``orientation`` is 180) about its centre;
    with no correction they are plain input coordinates."""

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
    """Outputs of :func:`process_page`."""

    colour: np.ndarray
    bitonal: np.ndarray | None
    analysis: PageAnalysis


def _warn(code: str, measure: float, limit: float) -> dict:
    return {"code": code, "measure": round(float(measure), 4), "limit": float(limit)}


def _odd(v: float) -> int:
    n = max(3, int(round(v)))
    return n if n % 2 else n + 1


def _paper_fill(img: np.ndarray, small: np.ndarray, f: int, paper_level: int) -> tuple[int, ...] | int:
    if img.ndim == 2:
        return int(paper_level)
    # Colour of the sheet: median of full-resolution samples where the analysis copy is paper.
    ys, xs = np.nonzero(small[::4, ::4] >= max(paper_level - 12, 0))
    if ys.size == 0:
        return (255, 255, 255)
    samples = img[ys * 4 * f, xs * 4 * f]
    return tuple(int(v) for v in np.median(samples, axis=0))


def _scale_box(box: tuple[int, int, int, int], f: int, w: int, h: int) -> list[int]:
    x0, y0, x1, y1 = box
    # A box that reaches the analysis copy's last row or column reaches the page's
    # (the reduction dropped the last w mod f columns and h mod f rows).
    x1 = w if x1 >= w // f else x1 * f
    y1 = h if y1 >= h // f else y1 * f
    return [min(x0 * f, w - 1), min(y0 * f, h - 1), max(x1, x0 * f + 1), max(y1, y0 * f + 1)]


def process_page(image: np.ndarray, dpi: float, params: PipelineParams | None = None,
                 run: RunContext | None = None, run_index: int | None = None) -> PageResult:
    """Clean one scanned page.

    Parameters
    ----------
    image : ndarray, uint8, shape (H, W) or (H, W, 3)
        The page as scanned (gray or RGB).
    dpi : float
        Its resolution (dots per inch).
    params : PipelineParams, optional
        Settings; defaults if omitted.
    run : RunContext, optional
        The feeder run the page belongs to (enables ``page_size_change``).
    run_index : int, optional
        The page's place in the run in scan order; without it, pages are taken
        in the order they are processed.

    Returns
    -------
    PageResult
        ``colour``: corrected and cropped page, same channels as the input;
        ``bitonal``: 0 = ink, 255 = paper (None when ``params.bitonal`` is off);
        ``analysis``: :class:`PageAnalysis`.

    Raises
    ------
    ImageError
        On an invalid page or dpi (see :func:`imaging.checks.check_page`).
    """
    p = params or PipelineParams()
    t_start = time.perf_counter()
    img = check_page(image)
    d = check_positive(dpi, "dpi", upper=4800)
    h, w = img.shape[:2]
    f = max(1, int(round(d / p.analysis_dpi)))
    if h // f < 16 or w // f < 16:
        raise ImageError(f"a {w}x{h} page at {d:g} dpi is too small to analyse")
    sdpi = d / f
    mm_px = 25.4 / sdpi
    timings: dict[str, float] = {}

    small = reduce(img, f, "area")
    levels = paper_levels(small, p.min_background_contrast)
    block = max(4, int(round(p.block_mm / mm_px)))
    _, bg, interior = block_maps(small, block, levels.mid)
    ink = ink_mask(small, bg, interior, block, p.ink_ratio)
    # The ink is cut into runs and labelled once; the blank test, speck removal,
    # skew, orientation and content box all work from those runs.
    runs = find_runs(ink)
    component, comps = label_runs(runs)
    blank = detect_blank_runs(runs, comps, component, sdpi, speck_mm=max(p.speck_mm, 1.0),
                              max_ink_mm2=p.blank_max_ink_mm2, block=block)
    speck = comps.fits(int(round(max(p.speck_mm, 0.5) / mm_px)))[component]
    fill_runs(ink, runs.select(speck), 0)
    runs = runs.select(~speck)
    skew = estimate_skew_runs(runs, p.max_skew_deg)
    text = skew.confidence >= p.min_skew_confidence and not blank.blank
    angle = skew.angle_deg if (text and abs(skew.angle_deg) >= p.min_rotation_deg) else 0.0
    orient = detect_orientation_runs(runs, skew.angle_deg) if (text and p.fix_orientation) else None
    flip = orient is not None and orient.degrees == 180
    # Every other row is enough to find the sheet's long straight edges.
    sheet = project_box(small, angle, flip=flip, lo=levels.mid, hi=255, fraction=0.5, step=2)
    if sheet is None:
        sheet = (0, 0, small.shape[1], small.shape[0])
    content = None if blank.blank else runs_box(runs, angle, flip=flip)
    quality = measure_quality(small, interior, block, ink)
    crop = _scale_box(sheet, f, w, h)
    timings["analysis"] = (time.perf_counter() - t_start) * 1e3

    t = time.perf_counter()
    fill = _paper_fill(img, small, f, levels.paper)
    colour = rotate_crop(img, angle, tuple(crop), flip=flip, fill=fill)
    timings["correction"] = (time.perf_counter() - t) * 1e3

    bitonal = None
    if p.bitonal:
        t = time.perf_counter()
        gray = to_gray(colour)
        bitonal = sauvola(gray, _odd(p.sauvola_window_mm * d / 25.4), p.sauvola_k)
        timings["binarize"] = (time.perf_counter() - t) * 1e3
        t = time.perf_counter()
        bitonal, _ = despeckle(bitonal, int(round(p.speck_mm * d / 25.4)), inplace=True)
        timings["despeckle"] = (time.perf_counter() - t) * 1e3

    warnings: list[dict] = []
    content_full = None if content is None else _scale_box(content, f, w, h)
    if content_full is not None:  # content is reported within the sheet
        content_full = [max(content_full[0], crop[0]), max(content_full[1], crop[1]),
                        min(content_full[2], crop[2]), min(content_full[3], crop[3])]
        if content_full[0] >= content_full[2] or content_full[1] >= content_full[3]:
            content_full = None
    if content_full is not None:
        gap = min(content_full[0] - crop[0], content_full[1] - crop[1],
                  crop[2] - content_full[2], crop[3] - content_full[3]) * 25.4 / d
        if gap < p.edge_margin_mm:
            warnings.append(_warn("content_at_edge", gap, p.edge_margin_mm))
    if text:
        # Sharpness and ink levels mean something only where there is text.
        if quality.sharpness < p.blur_min:
            warnings.append(_warn("blur", quality.sharpness, p.blur_min))
        if quality.ink_level > p.light_ink_min:
            warnings.append(_warn("too_light", quality.ink_level, p.light_ink_min))
        if quality.contrast < p.contrast_min:
            warnings.append(_warn("low_contrast", quality.contrast, p.contrast_min))
    if levels.paper < p.dark_paper_max:
        warnings.append(_warn("too_dark", levels.paper, p.dark_paper_max))
    if d < p.min_dpi:
        warnings.append(_warn("low_resolution", d, p.min_dpi))
    if p.require_colour and img.ndim == 2:
        warnings.append(_warn("low_colour_depth", 8, 24))
    if run is not None:
        size = ((crop[2] - crop[0]) * 25.4 / d, (crop[3] - crop[1]) * 25.4 / d)
        change = run.size_change(size, run_index)
        if change > p.size_change_tolerance:
            warnings.append(_warn("page_size_change", change, p.size_change_tolerance))
    timings["total"] = (time.perf_counter() - t_start) * 1e3

    analysis = PageAnalysis(
        width=w, height=h, dpi=d, channels=1 if img.ndim == 2 else 3,
        skew_deg=skew.angle_deg, skew_confidence=skew.confidence, angle_applied=angle,
        orientation=180 if flip else 0,
        orientation_measure=0.0 if orient is None else orient.measure,
        blank=blank.blank, blank_measure=blank.ink_mm2,
        content_box=content_full, crop_box=crop, paper_level=levels.paper,
        sharpness=quality.sharpness, warnings=warnings, timings_ms=timings)
    return PageResult(colour=colour, bitonal=bitonal, analysis=analysis)
