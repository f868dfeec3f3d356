"""The [imaging] config section: the page clean-up settings a technician may tune.

Each field has the name of the ``imaging.pipeline.PipelineParams`` field it sets
(``osd`` and ``osd_min_confidence`` are the processing stage's own, see
``firmware_agent.processing.ProcessingParams``); the rest keep the pipeline's
defaults.
"""

from __future__ import annotations

from dataclasses import dataclass

from firmware_agent.settings_base import setting


@dataclass(frozen=True)
class ImagingSettings:
    max_skew_deg: float = setting(15.0, doc="Skew search range (± degrees).", minimum=1.0, maximum=45.0)
    min_rotation_deg: float = setting(0.05, doc="Smaller skews are left alone (degrees).", minimum=0.0,
                                      maximum=5.0)
    fix_orientation: bool = setting(True, doc="Turn pages found sideways or upside down.")
    min_orientation_confidence: float = setting(0.99, doc="Below this confidence (0-1) a page is left as scanned and "
                                                          "flagged orientation_unsure.", minimum=0.5, maximum=0.9999)
    osd: str = setting("unsure", doc="Which orientation_unsure pages tesseract's orientation detection (Debian "
                                     "tesseract-ocr-osd) is asked about, 1.5 s or more each: 'unsure' (every one), "
                                     "'sideways' (only those whose lines run down the page: 90 or 270 to tell "
                                     "apart; the others stay as scanned, flagged), 'off'.",
                       choices=("off", "sideways", "unsure"))
    osd_min_confidence: float = setting(2.0, doc="Tesseract's orientation answer counts from this confidence on.",
                                        minimum=0.0, maximum=100.0)
    sauvola_window_mm: float = setting(2.0, doc="Sauvola binarization window (mm) for the OCR page.",
                                       minimum=0.5, maximum=20.0)
    sauvola_k: float = setting(0.2, doc="Sauvola k.", minimum=0.01, maximum=1.0)
    speck_mm: float = setting(0.3, doc="Specks up to this size (mm) are removed from the OCR page.",
                              minimum=0.0, maximum=5.0)
    blank_max_ink_mm2: float = setting(4.0, doc="A page with less ink than this (mm²) is blank; blank pages are "
                                               "kept aside for review, never deleted.", minimum=0.0)
    min_dpi: float = setting(200.0, doc="Archival minimum resolution; below it a page warns (TT 05/2025).",
                             minimum=50.0)
    require_colour: bool = setting(True, doc="Warn for gray pages (TT 05/2025 asks 24-bit colour).")
    threads: int = setting(2, doc="Threads that share one page's full-resolution steps (rotation, binarization, "
                                  "speck removal); the page is the same for any number. Pages are also cleaned "
                                  "side by side ([processing] workers).", minimum=1, maximum=16)
