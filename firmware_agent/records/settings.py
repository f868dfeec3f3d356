"""Settings of the records stage (``[records]`` in the config file)."""

from __future__ import annotations

from dataclasses import dataclass

from firmware_agent.settings_base import setting


def _thresholds() -> dict:
    return {"typeName": 0.6, "codeNumber": 0.7, "issuedDate": 0.7, "organName": 0.5, "subject": 0.4}


@dataclass(frozen=True)
class RecordsSettings:
    enabled: bool = setting(True, doc="Group pages into record files and build SIP_hoso packages "
                                      "(false = stage loose pages for upload).")
    separator: str = setting("coversheet", doc="How pages are split into record files: printed cover sheets, "
                                               "a fixed page count, or blank sheets.",
                             choices=("coversheet", "page-count", "blank-sheet"))
    pages_per_document: int = setting(1, doc="page-count mode: pages per document.", minimum=1, maximum=10000)
    documents_per_file: int = setting(20, doc="page-count and blank-sheet modes: documents per record file.",
                                      minimum=1, maximum=100000)
    agency: str = setting("H49.64.33", doc="Agency identifier (archive code) that starts generated fileCodes "
                                           "and is named in every package.")
    agency_name: str = setting("Ủy ban nhân dân xã (demo)", doc="Agency name written as the package's creator.")
    ocr_languages: str = setting("vie", doc="Tesseract languages, e.g. 'vie' or 'vie+eng' "
                                            "(Debian packages tesseract-ocr-vie, tesseract-ocr-eng).")
    ocr_workers: int = setting(2, doc="Tesseract processes run at once (one page each).", minimum=1, maximum=16)
    ocr_nice: int = setting(10, doc="Niceness added to tesseract processes so scanning keeps priority.",
                            minimum=0, maximum=19)
    rules_file: str = setting("", doc="Extra classification rules (TSV, same columns as the shipped "
                                      "rules.tsv); empty = shipped rules only.")
    thresholds: dict = setting(factory=_thresholds, doc="Minimum confidence per extracted field; below it the "
                                                        "document waits for a technician's confirmation.")
    hold_low_confidence: bool = setting(True, doc="Hold record files with low-confidence fields for confirmation "
                                                  "(false = package them and only list the fields).")
    close_after_s: float = setting(30.0, doc="Close the open record file after this many seconds without new "
                                             "pages.", minimum=1.0)
    min_dpi: int = setting(200, doc="Pages below this resolution hold their record file (TT 05/2025: 200 dpi).",
                           minimum=50)
    secret_recipient_key: str = setting("", doc="File with the X25519 public key secret (mode 03) packages are "
                                                "encrypted to (32 raw bytes, or one base64 line); empty = the "
                                                "archive key received at enrollment, and secret record files "
                                                "wait (held) until the station is enrolled.")
