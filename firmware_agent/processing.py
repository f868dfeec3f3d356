"""The processing stage: one captured page in, the archival page (and OCR input) out.

Runs in a worker thread (the imaging kernels release the GIL). Outputs have
deterministic names next to the capture, so running the stage twice for a page
after a crash overwrites rather than duplicates (J2).

A page whose orientation the imaging pipeline could not establish
(``orientation_unsure``) is shown to tesseract's orientation detection as a
second cue (docs/design.md section 4, processing stage); the imaging package
itself runs no program.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from firmware_agent.capture_file import derived_path, read_capture
from firmware_agent.journal import PageRow
from firmware_agent.pageio import encode_image, write_image_atomic
from firmware_agent.thumbnails import write_previews

OSD_TIMEOUT_S = 60.0
_ROTATE = re.compile(r"^Rotate:\s*(\d+)\s*$", re.M)
_CONFIDENCE = re.compile(r"^Orientation confidence:\s*([0-9.]+)\s*$", re.M)


_STAGE_KEYS = ("osd", "osd_min_confidence")


@dataclass(frozen=True)
class ProcessingParams:
    """The pipeline's settings and the stage's own (the [imaging] section sets both by name).

    The pipeline's settings read through, so ``params.sauvola_k`` is the
    pipeline's; the imaging package is imported only when pages are processed.

    Attributes
    ----------
    pipeline : imaging.pipeline.PipelineParams
    osd : str
        Which ``orientation_unsure`` pages tesseract's orientation detection is
        asked about: ``"unsure"`` (all of them, the default), ``"sideways"``
        (only those whose lines run down the page: 90 or 270) or ``"off"``.
    osd_min_confidence : float
        Its answer counts from this "Orientation confidence" on.
    """

    pipeline: Any
    osd: str = "unsure"
    osd_min_confidence: float = 2.0

    def __getattr__(self, name: str) -> Any:
        # Only names that are not the stage's own reach here; special names and a
        # half-built object (copy, pickle) must not recurse into `pipeline`.
        if name == "pipeline" or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.pipeline, name)


@dataclass(frozen=True)
class ProcessedPage:
    colour_path: Path
    bitonal_path: Path | None
    analysis: dict[str, Any]


def new_run_state() -> dict:
    """Per-job state shared by the pages of one feeder run (e.g. the previous page size)."""
    return {}


def pipeline_params(settings: dict | None) -> ProcessingParams:
    """The settings of the pipeline and of this stage from the [imaging] section (field names are shared)."""
    from imaging.pipeline import PipelineParams

    s = dict(settings or {})
    stage = {k: s.pop(k) for k in _STAGE_KEYS if k in s}
    return ProcessingParams(PipelineParams(**s), **stage)


def orientation_by_osd(page: np.ndarray, dpi: float, *, timeout_s: float = OSD_TIMEOUT_S) -> dict:
    """Ask tesseract's orientation detection (``--psm 0``) which way up a page is.

    The page (bitonal or gray, as corrected by the pipeline) goes to tesseract
    at half resolution, as a PNG on its standard input: no file is written.

    Returns
    -------
    dict
        ``{"rotate": int, "confidence": float, "ms": float}``, ``rotate`` the
        clockwise turn (0, 90, 180, 270) that makes the page upright; or
        ``{"error": str, "ms": float}`` when tesseract or its ``osd`` data is
        missing, fails, times out or finds too little text.
    """
    t0 = time.perf_counter()
    half_dpi = max(1, int(round(dpi / 2)))
    data = encode_image(np.ascontiguousarray(page[::2, ::2]), ".png", dpi=half_dpi)
    env = dict(os.environ, OMP_THREAD_LIMIT="1")

    def done(**kw) -> dict:
        return {**kw, "ms": round((time.perf_counter() - t0) * 1e3, 1)}

    try:
        proc = subprocess.run(["tesseract", "stdin", "stdout", "--psm", "0", "--dpi", str(half_dpi)], input=data,
                              capture_output=True, timeout=timeout_s, env=env, check=False)
    except FileNotFoundError:
        return done(error="tesseract is not installed")
    except subprocess.TimeoutExpired:
        return done(error=f"tesseract took more than {timeout_s:.0f} s")
    out = proc.stdout.decode("utf-8", "replace")
    rotate, confidence = _ROTATE.search(out), _CONFIDENCE.search(out)
    if proc.returncode != 0 or rotate is None or confidence is None:
        lines = [ln for ln in proc.stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
        return done(error=(lines[0] if lines else f"tesseract exited with {proc.returncode}")[:200])
    return done(rotate=int(rotate.group(1)) % 360, confidence=float(confidence.group(1)))


def osd_turn(answer: dict, lines_vertical: bool, min_confidence: float) -> int | None:
    """The turn an OSD answer gives, or None: only a sure answer along the lines' direction counts.

    The imaging pipeline knows far better than the page's orientation which way
    its lines run (down the page: 90 or 270; across: 0 or 180), so an answer
    against it is a misreading.
    """
    rotate = answer.get("rotate")
    if rotate is None or answer.get("confidence", 0.0) < min_confidence:
        return None
    return rotate if rotate in ((90, 270) if lines_vertical else (0, 180)) else None


def _second_cue(pixels: np.ndarray, dpi: int, result, pipeline, min_confidence: float, run, run_index: int):
    """On an ``orientation_unsure`` page, ask OSD; process again with its turn when it is sure and
    agrees with the lines' direction. Returns the result to keep and the ``osd`` record."""
    from imaging.gray import to_gray
    from imaging.pipeline import process_page

    answer = orientation_by_osd(result.bitonal if result.bitonal is not None else to_gray(result.colour), dpi)
    rotate = osd_turn(answer, result.analysis.lines_vertical, min_confidence)
    answer["used"] = rotate is not None
    if rotate is not None:
        result = process_page(pixels, dpi, params=pipeline, run=run, run_index=run_index, orientation=rotate)
    return result, answer


def process_page_file(page: PageRow, *, jpeg_quality: int, run_state: dict, params=None) -> ProcessedPage:
    """Decode the capture, clean it (imaging pipeline), write the archival JPEG and the bitonal PNG.

    The analysis record (docs/design.md section 4) goes to the journal with
    ``stage`` and the stage's wall time ``ms`` (decoding and encoding included),
    and ``osd`` when tesseract's orientation detection was asked;
    ``preview``: the status page's thumbnail and view (``firmware_agent.thumbnails``)
    with the time they took.
    ``run_state`` carries the feeder run's ``RunContext`` (double-feed warning).
    Raises ``PageReadError`` or ``imaging.errors.ImageError`` (a ``ValueError``).
    """
    from imaging.pipeline import RunContext, process_page

    # A plain PipelineParams (or none) gets the stage's defaults.
    stage = params if isinstance(params, ProcessingParams) else ProcessingParams(params)
    t0 = time.perf_counter()
    pixels, dpi = read_capture(page.raw_path, page.dpi)
    run = run_state.setdefault("imaging_run", RunContext())
    result = process_page(pixels, dpi, params=stage.pipeline, run=run, run_index=page.seq)
    osd = None
    a = result.analysis
    unsure = any(w["code"] == "orientation_unsure" for w in a.warnings)
    # Each answer costs 1.5 s or more, and the records task waits for the page (it
    # splits in capture order). Asked by default for every unsure page: separators are
    # read on the capture first, so a cover turned by the answer is still found, and an
    # unsure page left as scanned needs a technician; 'sideways' saves the time.
    if unsure and (stage.osd == "unsure" or (stage.osd == "sideways" and a.lines_vertical)):
        result, osd = _second_cue(pixels, dpi, result, stage.pipeline, stage.osd_min_confidence, run, page.seq)
    colour = derived_path(page.raw_path, ".jpg")
    bitonal = derived_path(page.raw_path, ".bitonal.png")
    write_image_atomic(colour, result.colour, dpi=dpi, quality=jpeg_quality)
    write_image_atomic(bitonal, result.bitonal, dpi=dpi)
    t1 = time.perf_counter()
    preview = {**write_previews(page.raw_path, pixels, result.colour, dpi).to_dict(),
               "ms": round((time.perf_counter() - t1) * 1000, 1)}
    analysis = {"stage": "imaging", **result.analysis.to_dict(), "dpi": dpi, "preview": preview,
                "ms": round((time.perf_counter() - t0) * 1000, 1)}
    if osd is not None:
        analysis["osd"] = osd
    return ProcessedPage(colour, bitonal, analysis)
