"""Build a SIP_hoso package (TT 05/2025 Phụ lục III) as a ZIP stream.

One package per record file; layout, IDs and checksums as docs/formats.md §6.5.
The ZIP goes to any binary writer, so a secret record file (mode 03) can be
streamed through the at-rest encryption writer and never touch the disk in
clear; ``zipfile`` handles unseekable writers with data descriptors.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from records.codes import DOC_FIELDS, FILE_FIELDS
from records.sip_xml import SCHEMAS, Ref, created_stamp, digest, rep_mets, root_mets, simpledc

SOFTWARE_VERSION = "0.1.0"
_NAMESPACE = uuid.UUID("6f0f3c1e-9c7a-5d2b-8f47-50484f414f31")  # fixed: IDs are stable across rebuilds


class SipError(ValueError):
    """A package that cannot be built from these fields; the message names the field."""


@dataclass(frozen=True)
class SipDocument:
    """One document: its EAD_DOC values (``docId`` at least) and its PDF/A."""

    fields: dict
    pdf: bytes | Path


def make_uuid(seed: str, part: str) -> str:
    """Upper-case UUID5 of *seed* and *part* (stable for the same record file)."""
    return str(uuid.uuid5(_NAMESPACE, f"{seed}\x00{part}")).upper()


def doc_id(file_code: str, n: int) -> str:
    """``{fileCode}.{n}``, e.g. ``H49.64.33.2001.160.1``."""
    return f"{file_code}.{n}"


def doc_code(file_code: str, n: int) -> str:
    """``{fileCode}.{n:07d}``, e.g. ``H49.64.33.2001.160.0000001``."""
    return f"{file_code}.{n:07d}"


def schema_bytes(name: str) -> bytes:
    return resources.files("records").joinpath("schemas", name).read_bytes()


def _pdf_digest(pdf: bytes | Path) -> tuple[int, str]:
    if isinstance(pdf, bytes):
        return len(pdf), digest(pdf)
    h = hashlib.sha256()
    size = 0
    with open(pdf, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
            size += len(chunk)
    return size, h.hexdigest().upper()


def build_sip(record: dict, documents: list[SipDocument], out, *, agency: str, seed: str,
              created: dt.datetime | None = None) -> str:
    """Write the zipped package to *out* (path or binary writer); return its folder name.

    *record* holds the 18 EAD fields; *seed* (e.g. the journal's record-file id)
    makes the UUIDs stable, so a rebuild after a crash names the same package.

    Raises
    ------
    SipError
        If there is no document, a docId is missing, duplicated or too long.
    """
    if not documents:
        raise SipError("a package needs at least one document")
    stamp = created_stamp(created)
    objid = "uuid-" + make_uuid(seed, "OBJID")
    root = objid + "/"
    files: dict[str, bytes] = {}
    seen: set[str] = set()
    rep_docs = []
    for n, doc in enumerate(documents, 1):
        did = str(doc.fields.get("docId", ""))
        if not did or len(did) > 25 or "/" in did:
            raise SipError(f"document {n}: docId {did!r} missing, longer than 25 or has '/'")
        if did in seen:
            raise SipError(f"document {n}: docId {did!r} used twice")
        seen.add(did)
        md_name = f"EAD_DOC_{did}.xml"
        md = simpledc(DOC_FIELDS, doc.fields, "../../../../schemas/ead_doc.xsd")
        files[f"representations/rep1/metadata/descriptive/{md_name}"] = md
        size, sha = _pdf_digest(doc.pdf)
        md_ref = Ref(f"metadata/descriptive/{md_name}", "uuid-" + make_uuid(seed, "dmd:" + did), len(md),
                     digest(md), stamp, "application/xml")
        pdf_ref = Ref(f"data/{did}.pdf", "ID-" + make_uuid(seed, "file:" + did), size, sha, stamp,
                      "application/pdf")
        rep_docs.append((did, md_ref, pdf_ref))
    rep_ids = {k: "uuid-" + make_uuid(seed, "rep:" + k)
               for k in ("amd", "filesec", "grp_data", "structmap", "div_root")}
    rep_ids.update({"div_" + d: "uuid-" + make_uuid(seed, "repdiv:" + d) for d, _m, _p in rep_docs})
    rep = rep_mets(created=stamp, agency=agency, software=SOFTWARE_VERSION, docs=rep_docs, ids=rep_ids)
    files["representations/rep1/METS.xml"] = rep
    ead = simpledc(FILE_FIELDS, record, "../../schemas/ead.xsd")
    files["metadata/descriptive/EAD.xml"] = ead
    schema_refs = []
    for name in SCHEMAS:
        data = schema_bytes(name)
        files[f"schemas/{name}"] = data
        schema_refs.append(Ref(f"schemas/{name}", "ID-" + make_uuid(seed, "schema:" + name), len(data),
                               digest(data), stamp, "application/xml"))
    ids = {k: "uuid-" + make_uuid(seed, "root:" + k) for k in
           ("amd", "filesec", "grp_schemas", "grp_rep", "structmap", "div_root", "div_md", "div_schemas", "div_rep")}
    root_xml = root_mets(
        objid=objid, created=stamp, agency=agency, file_code=str(record.get("fileCode", "")),
        software=SOFTWARE_VERSION,
        ead=Ref("metadata/descriptive/EAD.xml", "uuid-" + make_uuid(seed, "dmd:EAD"), len(ead), digest(ead),
                stamp, "application/xml"),
        schemas=schema_refs,
        rep_mets=Ref("representations/rep1/METS.xml", "ID-" + make_uuid(seed, "file:rep1"), len(rep), digest(rep),
                     stamp, "application/xml"),
        ids=ids)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        zf.writestr(root + "METS.xml", root_xml)
        for name, data in files.items():
            zf.writestr(root + name, data)
        for doc, (did, _md, _pdf) in zip(documents, rep_docs):
            arc = f"{root}representations/rep1/data/{did}.pdf"
            if isinstance(doc.pdf, bytes):
                zf.writestr(arc, doc.pdf, compress_type=zipfile.ZIP_STORED)
            else:
                zf.write(doc.pdf, arc, compress_type=zipfile.ZIP_STORED)
    return objid


def record_fields(*, file_code: str, title: str, paper_file_code: str, maintenance: str, mode: str,
                  documents: list[dict], pages: int, sheets: int, description: str = "",
                  keyword: str = "", damaged: bool = False) -> dict:
    """The 18 EAD values of a digitized record file from its cover sheet and documents."""
    dates = sorted((d["issuedDate"] for d in documents if d.get("issuedDate")),
                   key=lambda s: (s[6:], s[3:5], s[:2]))
    return {
        "fileCode": file_code, "title": title, "maintenance": maintenance, "mode": mode, "language": "01",
        "startDate": dates[0] if dates else "", "endDate": dates[-1] if dates else "",
        "keyword": keyword, "totalDoc": str(len(documents)), "numberOfPaper": str(sheets),
        "numberOfPage": str(pages), "format": "03" if damaged else "01", "inforSign": "",
        "confidenceLevel": "02", "paperFileCode": paper_file_code, "riskRecovery": "0",
        "riskRecoveryStatus": "", "description": description,
    }


def document_fields(*, file_code: str, n: int, record: dict, extracted: dict, pages: int) -> dict:
    """The 21 EAD_DOC values of document *n* (1-based) of a record file."""
    return {
        "docId": doc_id(file_code, n), "docCode": doc_code(file_code, n),
        "maintenance": record.get("maintenance", "01"), "typeName": extracted.get("typeName", "32"),
        "codeNumber": extracted.get("codeNumber", "")[:11], "codeNotation": extracted.get("codeNotation", "")[:30],
        "issuedDate": extracted.get("issuedDate", ""), "organName": extracted.get("organName", "")[:200],
        "subject": extracted.get("subject", "")[:500], "language": "01", "numberOfPage": str(pages),
        "inforSign": "", "keyword": "", "mode": record.get("mode", "01"), "confidenceLevel": "02",
        "autograph": "", "format": record.get("format", "01"), "riskRecovery": "0",
        "riskRecoveryStatus": "", "process": "", "description": "",
    }
