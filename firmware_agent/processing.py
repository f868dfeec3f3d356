"""The processing stage: one captured page in, the archival page (and OCR input) out.

Runs in a worker thread (the imaging kernels release the GIL). Outputs have
deterministic names next to the capture, so running the stage twice for a page
after a crash overwrites rather than duplicates (J2).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from firmware_agent.journal import PageRow
from firmware_agent.capture_file import derived_path, read_capture
from firmware_agent.pageio import write_image_atomic
from firmware_agent.thumbnails import write_previews


@dataclass(frozen=True)
class ProcessedPage:
    colour_path: Path
    bitonal_path: Path | None
    analysis: dict[str, Any]


def new_run_state() -> dict:
    """Per-job state shared by the pages of one feeder run (e.g. the previous page size)."""
    return {}


def pipeline_params(settings: dict | None):
    """PipelineParams from the [imaging] section (field names are shared)."""
    from imaging.pipeline import PipelineParams

    return PipelineParams(**(settings or {}))


def process_page_file(page: PageRow, *, jpeg_quality: int, run_state: dict, params=None) -> ProcessedPage:
    """Decode the capture, clean it (imaging pipeline), write the archival JPEG and the bitonal PNG.

    The analysis record (docs/design.md section 4) goes to the journal with
    ``stage`` and the stage's wall time ``ms`` (decoding and encoding included),
    and ``preview``: the status page's thumbnail and view (``firmware_agent.thumbnails``)
    with the time they took.
    ``run_state`` carries the feeder run's ``RunContext`` (double-feed warning).
    Raises ``PageReadError`` or ``imaging.errors.ImageError`` (a ``ValueError``).
    """
    from imaging.pipeline import RunContext, process_page

    t0 = time.perf_counter()
    pixels, dpi = read_capture(page.raw_path, page.dpi)
    kwargs = {"params": params} if params is not None else {}
    result = process_page(pixels, dpi, run=run_state.setdefault("imaging_run", RunContext()), run_index=page.seq,
                          **kwargs)
    colour = derived_path(page.raw_path, ".jpg")
    bitonal = derived_path(page.raw_path, ".bitonal.png")
    write_image_atomic(colour, result.colour, dpi=dpi, quality=jpeg_quality)
    write_image_atomic(bitonal, result.bitonal, dpi=dpi)
    t1 = time.perf_counter()
    preview = {**write_previews(page.raw_path, pixels, result.colour, dpi).to_dict(),
               "ms": round((time.perf_counter() - t1) * 1000, 1)}
    analysis = {"stage": "imaging", **result.analysis.to_dict(), "dpi": dpi, "preview": preview,
                "ms": round((time.perf_counter() - t0) * 1000, 1)}
    return ProcessedPage(colour, bitonal, analysis)
