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
from firmware_agent.pageio import read_image, write_image_atomic


@dataclass(frozen=True)
class ProcessedPage:
    colour_path: Path
    bitonal_path: Path | None
    analysis: dict[str, Any]


def new_run_state() -> dict:
    """Per-job state shared by the pages of one feeder run (e.g. the previous page size)."""
    return {}


def process_page_file(page: PageRow, *, jpeg_quality: int, run_state: dict) -> ProcessedPage:
    """Plain stage: decode the capture and encode it as the archival JPEG."""
    t0 = time.perf_counter()
    pixels, dpi = read_image(page.raw_path, default_dpi=page.dpi)
    colour = page.raw_path.with_name(page.raw_path.name.replace(".raw.png", ".jpg"))
    write_image_atomic(colour, pixels, dpi=dpi, quality=jpeg_quality)
    return ProcessedPage(colour, None, {"stage": "plain", "dpi": dpi,
                                        "ms": round((time.perf_counter() - t0) * 1000, 1)})
