"""The settings of the page pipeline (:func:`imaging.pipeline.process_page`).

The caller builds them (the agent from its config's [imaging] section); nothing
in the imaging package reads them from a file.
"""

from __future__ import annotations

from dataclasses import dataclass


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
    wide_background_mm : float
        Reach of the wide background (the brightest block within this distance).
    outside_ratio, outside_floor : float
        A block is scanner background when its brightest pixel is below
        ``outside_ratio`` times the wide background or ``outside_floor`` times
        the paper level.
    sheet_step : float
        Relative step up from the scanner background to the paper at a sheet edge.
    sheet_offset : int
        ... plus this many grey levels.
    sheet_band_mm : float
        Background a walk must cross before it can stop at an edge.
    sheet_min_share : float
        Share of the frame's rows (columns) that must stop on one line for a
        sheet edge to count.
    sheet_shadow_mm : float
        Background just outside a sheet edge left out of the flatness test (the
        lid's shadow).
    sheet_flat_levels, sheet_flat_ratio : int, float
        The background a walk crosses must vary by no more than this many grey
        levels, this fraction of its brightest pixel or half the step up to the
        paper, whichever is most.
    border_depth_mm : float
        Ink touching the frame's border and reaching no further in than this is
        background (a wedge beside a skewed sheet, a dark edge).
    edge_band_mm : float
        Ink lying within this distance inside a found sheet edge is edge debris
        (shadow, a photocopy's dark edge).
    faint_ratio : float
        Ink in that band whose darkest pixel is lighter than this fraction of its
        background is debris even in small pieces (printed text is darker).
    crop_margin_mm : float
        A found sheet side must leave this much room round the content, or it
        goes back to the frame's edge (``crop_unsure``).
    text_max_mm : float
        Ink components taller than this (seals, stamps, tables, photos) do not
        count for skew and orientation.
    max_skew_deg : float
        Skew search range (±).
    min_skew_confidence : float
        Below this confidence the page is not rotated (no text lines found).
    min_text_confidence : float
        From this confidence on, the lines are text enough for the orientation
        to be measured (a page may be turned without being deskewed).
    min_rotation_deg : float
        Smaller skews are not corrected.
    fix_orientation : bool
        Turn pages found sideways or upside down.
    orientation_strip_mm : float
        Width of the strips the orientation cue measures text lines in.
    min_orientation_confidence : float
        Below this confidence a page is left as scanned and flagged
        ``orientation_unsure``.
    min_orientation_lines : int
        Pages with fewer voting line segments are not judged (left as scanned,
        no warning).
    min_direction_ratio : float
        The lines' direction counts only when one direction's score is this many
        times the other's.
    lines_across_sure : float
        Lines across with at least this skew confidence settle the direction
        without measuring lines down the page.
    sauvola_window_mm, sauvola_k : float
        Sauvola window side (mm, made odd in pixels) and k.
    speck_mm : float
        Specks up to this size are removed from the bitonal page and ignored by
        the blank test.
    blank_max_ink_mm2 : float
        A page with less ink is blank.
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
        Also make the bitonal page for OCR (step 10); without it ``PageResult.bitonal``
        is None.
    threads : int
        Threads one page's full-resolution steps share (:mod:`imaging.bands`); the
        results are the same for any number.
    """

    analysis_dpi: float = 85.0
    block_mm: float = 3.0
    ink_ratio: float = 0.7
    wide_background_mm: float = 12.0
    outside_ratio: float = 0.6
    outside_floor: float = 0.35
    sheet_step: float = 0.03
    sheet_offset: int = 3
    sheet_band_mm: float = 0.7
    sheet_min_share: float = 0.25
    sheet_shadow_mm: float = 1.5
    sheet_flat_levels: int = 24
    sheet_flat_ratio: float = 0.2
    border_depth_mm: float = 10.0
    edge_band_mm: float = 3.0
    faint_ratio: float = 0.5
    crop_margin_mm: float = 1.0
    text_max_mm: float = 10.0
    max_skew_deg: float = 15.0
    min_skew_confidence: float = 0.75
    min_text_confidence: float = 0.5
    min_rotation_deg: float = 0.05
    fix_orientation: bool = True
    orientation_strip_mm: float = 12.0
    min_orientation_confidence: float = 0.99
    min_orientation_lines: int = 20
    min_direction_ratio: float = 1.25
    lines_across_sure: float = 0.7
    sauvola_window_mm: float = 2.0
    sauvola_k: float = 0.2
    speck_mm: float = 0.3
    blank_max_ink_mm2: float = 4.0
    blur_min: float = 150.0
    dark_paper_max: int = 140
    light_ink_min: int = 150
    contrast_min: int = 60
    edge_margin_mm: float = 1.5
    min_dpi: float = 200.0
    require_colour: bool = True
    size_change_tolerance: float = 0.04
    bitonal: bool = True
    threads: int = 1
