"""Analysis and packaging of a closed record file.

``analyse`` turns the OCR of each document's first page into EAD_DOC fields and
decides whether a technician must confirm them; ``build_package`` writes the
PDF/A documents and the SIP zip. Secret record files (mode 03) are built in
memory and leave this module only as ciphertext (docs/design.md §6.6).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from records.classify import Rule, classify
from records.metadata import extract
from records.ocr import OcrResult
from records.pdfa import PageInput, build_pdfa
from records.sip import SipDocument, build_sip, document_fields, record_fields
from sync.fsutil import durable_file

@dataclass(frozen=True)
class DocPages:
    """One document: its pages as (archival JPEG, dpi, OCR or None)."""

    seq: int
    pages: list[PageInput]


def analyse(first_page: OcrResult | None, rules: list[Rule], thresholds: dict) -> tuple[dict, dict, list[str]]:
    """(values, confidences, fields below threshold) for a document's first page."""
    lines = first_page.lines if first_page else []
    cls = classify(lines, rules)
    ext = extract(lines, cls)
    values = dict(ext.values)
    values["label"] = cls.label
    needs = [name for name, minimum in thresholds.items()
             if ext.confidence.get(name, 0.0) < float(minimum)]
    return values, dict(ext.confidence), needs


def build_package(*, file_id: int, cover: dict, docs: list[DocPages], doc_values: list[dict], agency: str,
                  out_dir: Path, work_dir: Path, recipient_key: bytes | None) -> tuple[Path, str, int]:
    """Write the package for one record file; returns (path, folder name, page count).

    The file is written through ``sync.fsutil.durable_file`` (a temporary name,
    fsync, rename), so a crash leaves no half package under the final name. A secret file (mode 03) is only written
    through the at-rest encryption writer, with its PDFs kept in memory.
    """
    file_code = cover["file_code"]
    secret = cover.get("mode") == "03"
    if secret and recipient_key is None:
        raise PermissionError("secret record file without an encryption key")
    pages = sum(len(d.pages) for d in docs)
    record = record_fields(file_code=file_code, title=cover.get("title") or file_code,
                           paper_file_code=cover.get("paper_file_code") or file_code,
                           maintenance=cover.get("maintenance", "01"), mode=cover.get("mode", "01"),
                           documents=doc_values, pages=pages, sheets=pages, description=cover.get("note", ""))
    entries = []
    work_dir.mkdir(parents=True, exist_ok=True)
    for doc, values in zip(docs, doc_values):
        fields = document_fields(file_code=file_code, n=doc.seq, record=record, extracted=values,
                                 pages=len(doc.pages))
        title = values.get("subject") or values.get("label") or file_code
        if secret:
            buf = io.BytesIO()
            build_pdfa(doc.pages, buf, title=title)
            entries.append(SipDocument(fields, buf.getvalue()))
        else:
            pdf_path = work_dir / f"{fields['docId']}.pdf"
            build_pdfa(doc.pages, pdf_path, title=title)
            entries.append(SipDocument(fields, pdf_path))
    out_dir.mkdir(parents=True, exist_ok=True)
    seed = f"{agency}/{file_id}/{file_code}"
    if secret:
        from sync.age import AgeWriter

        final = out_dir / f"rf-{file_id:06d}.zip.enc"
        with durable_file(final) as raw:
            writer = AgeWriter(raw, recipient_key)
            name = build_sip(record, entries, writer, agency=agency, seed=seed)
            writer.close()
    else:
        final = out_dir / f"rf-{file_id:06d}.zip"
        with durable_file(final) as raw:
            name = build_sip(record, entries, raw, agency=agency, seed=seed)
        for e in entries:
            if isinstance(e.pdf, Path):
                e.pdf.unlink(missing_ok=True)
    return final, name, pages
