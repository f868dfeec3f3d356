"""The page pipeline: analysis on a small gray copy, one geometric correction at full size.

Order of the steps (the only place that knows it; docs/design.md section 4):

1. validate the page and its dpi;
2. gray + area reduction to about ``analysis_dpi`` (one pass over the page);
3. paper level, block maps (local and wide background, outside blocks), ink mask;
4. the sheet's edges, from the step between scanner background and paper;
5. ink components: the scanner background and what joins it, and debris along
   the sheet's edges, are dropped; blank decision; specks removed;
6. skew of text lines running across the page and down it; the larger score
   gives the lines' direction;
7. orientation (0/180 across, 90/270 down) with a confidence; unsure pages stay
   as scanned and are flagged;
8. sheet box and content box in the corrected frame; a sheet side that would
   come closer to the content than ``crop_margin_mm`` goes back to the frame's
   edge (fail-safe);
9. rotation + crop of the full-resolution page in one pass (skipped below
   ``min_rotation_deg``), in the page's own channels, filled with the paper
   colour, then the quarter turn;
10. Sauvola binarization of the corrected page and speck removal, band by band
    (bitonal for OCR, unless ``PipelineParams.bitonal`` is off);
11. warnings.

Nothing here reads files or settings: the caller passes :class:`PipelineParams`.
``time.perf_counter`` is read only to fill ``timings_ms``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from functools import partial

import numpy as np

from imaging import bands
from imaging.background import block_maps, ink_mask, paper_levels
from imaging.blank import BlankResult, dark_shape_area, detect_blank_runs
from imaging.checks import check_page, check_positive
from imaging.components import label_runs
from imaging.debris import not_content
from imaging.errors import ImageError
from imaging.frame import keep_content, scale_box, turn_box
from imaging.geometry import runs_box
from imaging.gray import reduce, to_gray
from imaging.orientation import Orientation, detect_orientation_runs
from imaging.params import PipelineParams
from imaging.quality import measure_quality
from imaging.record import ANALYSIS_VERSION, PageAnalysis, PageResult, RunContext
from imaging.rotate import plan_rotation, turn
from imaging.runs import Runs, fill_runs, find_runs
from imaging.sauvola import sauvola_bands
from imaging.sheet import find_sheet_edges
from imaging.specks import band_specks, join_specks
from imaging.skew import SkewEstimate, SkewSearch

__all__ = ["ANALYSIS_VERSION", "PageAnalysis", "PageResult", "PipelineParams", "RunContext", "process_page"]


@dataclass(frozen=True)
class _Lines:
    """The text lines' direction, skew and orientation (steps 6 and 7)."""

    skew: SkewEstimate        # of the lines in the frame where they run across
    vertical: bool            # the lines run down the page as scanned
    text: bool                # confident text lines: the page may be rotated (min_skew_confidence)
    turn: int                 # 0, 90, 180, 270 (clockwise), what the correction applies
    orientation: Orientation | None
    unsure: bool              # text whose orientation was not sure enough: left as scanned


# Rounds of the rotation's bands on several threads (bands.split_tapering); each
# band fills a ring of sheared rows afresh (about a hundred rows of the first shear
# on a page turned 2.3 degrees, see imaging.rotate).
ROTATION_ROUNDS = 3


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


@dataclass(frozen=True)
class _Direction:
    """The text lines' direction and skew (step 6)."""

    skew: SkewEstimate        # of the lines in the frame where they run across
    vertical: bool            # the lines run down the page as scanned
    text: bool                # confident text lines: the page may be rotated (min_skew_confidence)
    across: SkewEstimate
    down: SkewEstimate | None


def _swept_down(runs: Runs, p: PipelineParams) -> SkewSearch:
    """The search for lines running down the page, its sweep scored (one thread)."""
    search = SkewSearch(runs, p.max_skew_deg, transpose=True)
    search.prepare()
    search.sweep()
    return search


def _direction(across: SkewSearch, runs: Runs, p: PipelineParams, given: int | None) -> _Direction:
    """Step 6 on the text-like ink's runs, ``across`` their search with the lines across, swept."""
    across_est = across.result()
    down = down_search = None
    if given is not None:
        vertical = given in (90, 270)
    else:
        # The lines' direction from the sweep alone (its score is at most a few per
        # cent below the refined one); the search refines only the direction that
        # wins. Lines across this sure are never a page turned sideways (whose lines
        # read across at a confidence of 0.45 at most on the development and
        # evaluation pages; pages the right way 0.68 at least).
        if p.fix_orientation and across_est.confidence < p.lines_across_sure:
            down_search = _swept_down(runs, p)
            down = down_search.result(refine=False)
        vertical = down is not None and down.score > across_est.score * p.min_direction_ratio
    if vertical:
        down = (down_search or _swept_down(runs, p)).result()
        # The page turned a quarter turn has the skew -angle (skew.estimate_skew_runs).
        skew = SkewEstimate(-down.angle_deg, down.confidence, down.ink_pixels, down.score)
    else:
        skew = across_est
    # As _lines has it: text lines need both confidences (min_text_confidence: any
    # lines at all); a blank page has none (see process_page).
    text = skew.confidence >= max(p.min_skew_confidence, p.min_text_confidence)
    return _Direction(skew, vertical, text, across_est, down)


def _lines(ink: np.ndarray, runs: Runs, way: _Direction, blank: bool, p: PipelineParams, strip: int,
           given: int | None) -> _Lines:
    """Step 7 on the text-like ink (``ink`` holds exactly ``runs``)."""
    skew, vertical, text = way.skew, way.vertical, way.text
    if skew.confidence < p.min_text_confidence or blank:
        return _Lines(skew, vertical, False, given or 0, None, False)
    if vertical:
        # Orientation is measured with the lines running across: on the mask turned
        # a quarter turn clockwise, where 0 means a turn of 90 and 180 one of 270.
        turned = find_runs(np.ascontiguousarray(np.rot90(ink, -1)))
        orient = detect_orientation_runs(turned, skew.angle_deg, strip)
        base = 90
    else:
        orient = detect_orientation_runs(runs, skew.angle_deg, strip)
        base = 0
    if given is not None:
        return _Lines(skew, vertical, text, given, orient, False)
    if not p.fix_orientation or orient.lines < p.min_orientation_lines:
        # Too little text to tell (a separator sheet, two lines and a signature):
        # left as scanned, and nothing for anyone to review.
        return _Lines(skew, vertical, text, 0, orient, False)
    # The direction is sure when one score clearly wins (down only counts when it
    # wins by min_direction_ratio; across must win by as much to be sure).
    down = way.down
    sure_direction = vertical or way.across.score >= (down.score if down else 0.0) * p.min_direction_ratio
    if sure_direction and orient.confidence >= p.min_orientation_confidence:
        return _Lines(skew, vertical, text, (base + orient.degrees) % 360, orient, False)
    return _Lines(skew, vertical, text, 0, orient, True)


def process_page(image: np.ndarray, dpi: float, params: PipelineParams | None = None,
                 run: RunContext | None = None, run_index: int | None = None, *,
                 orientation: int | None = None) -> PageResult:
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
    orientation : int, optional
        Turn the page clockwise by this much (0, 90, 180 or 270) instead of the
        pipeline's own decision (an answer from another cue, e.g. the caller's
        OCR engine); the skew is then measured with the lines running the way
        this turn implies.

    Returns
    -------
    PageResult
        ``colour``: corrected and cropped page, same channels as the input;
        ``bitonal``: 0 = ink, 255 = paper (None when ``params.bitonal`` is off);
        ``analysis``: :class:`PageAnalysis`.

    Raises
    ------
    ImageError
        On an invalid page, dpi or orientation (see :func:`imaging.checks.check_page`).
    """
    p = params or PipelineParams()
    t_start = time.perf_counter()
    img = check_page(image)
    d = check_positive(dpi, "dpi", upper=4800)
    if orientation is not None and orientation not in (0, 90, 180, 270):
        raise ImageError(f"orientation {orientation!r} must be 0, 90, 180 or 270")
    h, w = img.shape[:2]
    f = max(1, int(round(d / p.analysis_dpi)))
    if h // f < 16 or w // f < 16:
        raise ImageError(f"a {w}x{h} page at {d:g} dpi is too small to analyse")
    sdpi = d / f
    mm_px = 25.4 / sdpi
    timings: dict[str, float] = {}

    par = p.threads > 1
    small = reduce(img, f, "area", threads=p.threads)
    sh, sw = small.shape
    block = max(4, int(round(p.block_mm / mm_px)))

    def ink_runs():
        levels = paper_levels(small)
        maps = block_maps(small, block, levels.paper, reach=max(1, int(round(p.wide_background_mm / p.block_mm))),
                          outside_ratio=p.outside_ratio, floor_ratio=p.outside_floor)
        ink = ink_mask(small, maps.background, maps.outside, block, p.ink_ratio)
        # The ink is cut into runs and labelled once (in bands, the second on the
        # helper once it has found the edges); the blank test, speck removal,
        # skew, orientation and content box all work from those runs.
        runs = find_runs(ink, threads=p.threads)
        return levels, maps, ink, runs, *label_runs(runs, threads=p.threads)

    # The sheet's edges need only the analysis copy: found beside the ink.
    (levels, maps, ink, runs, component, comps), edges = bands.run([ink_runs, partial(
        find_sheet_edges, small, step=p.sheet_step, offset=p.sheet_offset,
        band=max(1, int(round(p.sheet_band_mm / mm_px))), min_share=p.sheet_min_share,
        skip=int(round(p.sheet_shadow_mm / mm_px)), flat_levels=p.sheet_flat_levels,
        flat_ratio=p.sheet_flat_ratio)], par)
    drop = not_content(runs, component, comps, small, maps, block, edges,
                       depth=p.border_depth_mm / mm_px, band=p.edge_band_mm / mm_px, long=p.text_max_mm / mm_px,
                       faint=p.faint_ratio)[component]
    fill_runs(ink, runs, 0, where=drop)
    runs, component = runs.select(~drop), component[~drop]
    kept_runs, kept_component = runs, component  # the blank test's, specks and all
    speck = comps.fits(int(round(max(p.speck_mm, 0.5) / mm_px)))[component]
    fill_runs(ink, runs, 0, where=speck)
    runs, component = runs.select(~speck), component[~speck]
    # Seals, stamps, tables and photos have long straight or round strokes of their
    # own: skew and orientation read the text-like ink only (its mask is made where
    # it is read, beside the rotation).
    tall = ((comps.box[:, 3] - comps.box[:, 1]) > p.text_max_mm / mm_px)[component]
    text_runs = runs.select(~tall)

    def blank_and_quality():
        blank = detect_blank_runs(kept_runs, comps, kept_component, sdpi, speck_mm=max(p.speck_mm, 1.0),
                                  max_ink_mm2=p.blank_max_ink_mm2, block=block)
        if blank.blank:
            # solid dark shapes on the sheet (a photograph, a test chart's squares) are outside
            # blocks whose ink was dropped with the scanner background: content all the same
            dark = dark_shape_area(maps.outside, block * mm_px)
            if dark > 0:
                blank = BlankResult(False, blank.ink_mm2 + dark, blank.content_blocks)
        interior = maps.interior & edges.inside_blocks(block, maps.interior.shape)
        return blank, measure_quality(small, interior, block, ink)

    with bands.Helpers(par) as helpers:
        # The blank test and the quality measures need no skew: one call on a helper
        # while this thread searches (step 6), so that a helper that runs slower
        # than this thread (its core shared) holds nothing up until the end.
        side = helpers.start(blank_and_quality)
        across = SkewSearch(text_runs, p.max_skew_deg)
        across.prepare()
        across.sweep()
        way = _direction(across, text_runs, p, orientation)  # its result() picks the search's subsample
        # The content box at the angle a page with content is turned by, while the
        # helper finishes the blank test (a blank page has no box, and no angle).
        angle = way.skew.angle_deg if (way.text and abs(way.skew.angle_deg) >= p.min_rotation_deg) else 0.0
        content = runs_box(runs, angle)
        blank, quality = side.result()
    if blank.blank:
        way, angle, content = replace(way, text=False), 0.0, None
    skew = way.skew
    # The angle, sheet and crop need the skew only: the full page can be rotated
    # while the orientation is measured (the quarter turn comes after).
    sheet, found = edges.box(angle)
    safe = keep_content(sheet, found, content, max(1, int(round(p.crop_margin_mm / mm_px))), sw, sh)
    # Boxes at full size in the frame turned by the angle only.
    crop_a = scale_box(safe.box, f, w, h)
    content_a = None if content is None else scale_box(content, f, w, h)
    if content_a is not None:
        # The content lies inside the crop (the fail-safe); the reduction's rounding
        # must not put its scaled box a pixel beyond it.
        content_a = [max(content_a[0], crop_a[0]), max(content_a[1], crop_a[1]),
                     min(content_a[2], crop_a[2]), min(content_a[3], crop_a[3])]
    timings["analysis"] = (time.perf_counter() - t_start) * 1e3

    t = time.perf_counter()
    rotation = plan_rotation(img, angle, tuple(crop_a), fill=_paper_fill(img, small, f, levels.paper))

    def measure():
        # Step 7, on the analysis copy.
        text_ink = ink.copy()
        fill_runs(text_ink, runs, 0, where=tall)
        return _lines(text_ink, text_runs, way, blank.blank, p, max(4, int(round(p.orientation_strip_mm / mm_px))),
                      orientation)

    if par:
        # The measures and bands of the full page's rows, each taken by whichever
        # thread is free (bands.share): the one that measures makes fewer rows.
        parts = bands.split_tapering(rotation.height, p.threads, ROTATION_ROUNDS)
        lines = bands.share([measure] + [partial(rotation.rows, a, b) for a, b in parts], p.threads)[0]
    else:
        rotation.rows(0, rotation.height)
        lines = measure()
    colour = turn(rotation.result(), lines.turn)
    crop = turn_box(crop_a, lines.turn, w, h)
    content_box = None if content_a is None else turn_box(content_a, lines.turn, w, h)
    timings["correction"] = (time.perf_counter() - t) * 1e3

    bitonal = None
    if p.bitonal:
        t = time.perf_counter()
        gray = to_gray(colour)
        # The binarization cuts the ink runs as it goes, and each band removes the
        # specks that lie within it while its runs are in cache; "despeckle" is the
        # join of those that reach a row where two bands meet.
        size = int(round(p.speck_mm * d / 25.4))
        bitonal, parts = sauvola_bands(gray, _odd(p.sauvola_window_mm * d / 25.4), p.sauvola_k,
                                       partial(band_specks, size=size, height=gray.shape[0]), threads=p.threads)
        timings["binarize"] = (time.perf_counter() - t) * 1e3
        t = time.perf_counter()
        join_specks(bitonal, parts, size)
        timings["despeckle"] = (time.perf_counter() - t) * 1e3

    warnings: list[dict] = []
    if content_box is not None:
        gap = min(content_box[0] - crop[0], content_box[1] - crop[1],
                  crop[2] - content_box[2], crop[3] - content_box[3]) * 25.4 / d
        if gap < p.edge_margin_mm:
            warnings.append(_warn("content_at_edge", gap, p.edge_margin_mm))
    if safe.gap is not None:
        warnings.append(_warn("crop_unsure", safe.gap * mm_px, p.crop_margin_mm))
    if lines.unsure:
        warnings.append(_warn("orientation_unsure", lines.orientation.confidence, p.min_orientation_confidence))
    if lines.text:
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

    orient = lines.orientation
    analysis = PageAnalysis(
        width=w, height=h, dpi=d, channels=1 if img.ndim == 2 else 3,
        skew_deg=skew.angle_deg, skew_confidence=skew.confidence, angle_applied=angle,
        orientation=lines.turn, orientation_measure=0.0 if orient is None else orient.measure,
        blank=blank.blank, blank_measure=blank.ink_mm2,
        content_box=content_box, crop_box=crop, paper_level=levels.paper,
        sharpness=quality.sharpness, warnings=warnings, timings_ms=timings,
        orientation_confidence=0.0 if orient is None else orient.confidence,
        orientation_lines=0 if orient is None else orient.lines,
        lines_vertical=lines.vertical, sheet_edges=[bool(v) and not r for v, r in zip(found, safe.rejected)])
    return PageResult(colour=colour, bitonal=bitonal, analysis=analysis)

