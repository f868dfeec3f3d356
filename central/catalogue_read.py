"""Read one batch member into catalogue rows (design 5.13): the SIP check, the EAD fields, PDFs and OCR text.

Pure reading: nothing here writes an object or a row. The ingest worker calls
:func:`read_member` for every member of a batch as it is unpacked, stores the
objects it names, and keeps the rows for the batch's one commit.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pikepdf

from records.codes import DOC_FIELDS, FILE_FIELDS
from records.sip_verify import verify
from sync.at_rest import READ_ERRORS, open_reader

PACKAGE_RE = re.compile(r"(uuid-[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12})\.zip(\.enc)?")
METS = "{http://www.loc.gov/METS/}"
# Secret packages are decrypted for the SIP check into memory-backed files where the system has them,
# so their clear bytes never reach a disk (design 6.6); the folder is removed at once.
_PRIVATE_TMP = "/dev/shm"


def snake(name: str) -> str:
    """``numberOfPage`` -> ``number_of_page``: an EAD element name as its catalogue column."""
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)


FILE_COLUMNS = tuple(snake(n) for n, _limit in FILE_FIELDS)   # 18, file_code first
DOC_COLUMNS = tuple(snake(n) for n, _limit in DOC_FIELDS)     # 21, doc_id first


class PackageRefused(ValueError):
    """A package that fails the SIP check or cannot be read: its batch's ingest job fails (Q5)."""


@dataclass
class Document:
    doc_id: str
    fields: dict                 # the 21 columns of DOC_COLUMNS
    pdf: bytes                   # emptied once stored (a batch's rows are kept until its commit)
    pages: int
    texts: list[str]             # OCR text per page
    sha256: str = ""
    size: int = 0

    def __post_init__(self):
        self.sha256, self.size = hashlib.sha256(self.pdf).hexdigest(), len(self.pdf)


@dataclass
class Package:
    member: str
    objid: str
    secret: bool
    data: bytes                  # the member's bytes as in the batch (kept encrypted when secret)
    file: dict                   # the 18 columns of FILE_COLUMNS (secret: file_code and mode only)
    agency: str | None
    documents: int
    pages: int
    docs: list[Document] = field(default_factory=list)  # empty when secret
    warnings: list[tuple[str, str]] = field(default_factory=list)
    sha256: str = ""
    size: int = 0

    def __post_init__(self):
        self.sha256, self.size = hashlib.sha256(self.data).hexdigest(), len(self.data)


def read_member(name: str, data: bytes, archive_key) -> Package | None:
    """The package in member *name* (None when the member is not a package).

    Raises
    ------
    PackageRefused
        When a ``.enc`` member does not decrypt, the package fails ``sip verify``
        (6.5, V1-V8), or its folder is not the member's name.
    """
    m = PACKAGE_RE.fullmatch(name)
    if m is None:
        return None
    objid, secret = m.group(1), m.group(2) is not None
    clear = data
    if secret:
        try:
            clear = open_reader(io.BytesIO(data), archive_key)[1].read()
        except READ_ERRORS as exc:
            raise PackageRefused(f"{name}: encrypted package does not decrypt ({exc})") from None
    problems = _verify(objid + ".zip", clear, private=secret)
    if problems:
        raise PackageRefused(f"{name}: " + "; ".join(problems[:5]))
    try:
        with zipfile.ZipFile(io.BytesIO(clear)) as zf:
            return _rows(zf, name, objid, secret, data)
    except (KeyError, zipfile.BadZipFile, ValueError, SyntaxError, pikepdf.PdfError) as exc:
        # lxml's parse errors are SyntaxErrors; the package passed sip verify, so this is a reader's limit
        raise PackageRefused(f"{name}: cannot be read ({type(exc).__name__}: {exc})") from None
    finally:
        del clear


def _verify(name: str, data: bytes, *, private: bool) -> list[str]:
    where = _PRIVATE_TMP if private and os.path.isdir(_PRIVATE_TMP) and os.access(_PRIVATE_TMP, os.W_OK) else None
    with tempfile.TemporaryDirectory(prefix="sohoa-ingest-", dir=where) as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        return verify(path)


def _xml(zf: zipfile.ZipFile, path: str):
    from lxml import etree
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    return etree.fromstring(zf.read(path), parser)


def _simpledc(zf: zipfile.ZipFile, path: str, fields: tuple) -> dict:
    root = _xml(zf, path)
    values = {child.tag: (child.text or "").strip() for child in root if isinstance(child.tag, str)}
    return {snake(n): values.get(n, "") for n, _limit in fields}


def _count(text: str) -> int:
    return int(text) if text.isdigit() else 0


def _rows(zf: zipfile.ZipFile, member: str, objid: str, secret: bool, data: bytes) -> Package:
    top = objid + "/"
    record = _simpledc(zf, top + "metadata/descriptive/EAD.xml", FILE_FIELDS)
    agent = _xml(zf, top + "METS.xml").find(f"{METS}metsHdr/{METS}agent[@TYPE='ORGANIZATION']/{METS}name")
    agency = (agent.text or "").strip() if agent is not None else None
    docs = []
    prefix = top + "representations/rep1/metadata/descriptive/EAD_DOC_"
    for info in sorted(zf.infolist(), key=lambda i: i.filename):
        if not (info.filename.startswith(prefix) and info.filename.endswith(".xml")):
            continue
        fields = _simpledc(zf, info.filename, DOC_FIELDS)
        did = fields["doc_id"]
        pdf = zf.read(f"{top}representations/rep1/data/{did}.pdf")
        texts = pdf_texts(pdf)
        docs.append(Document(did, fields, pdf, len(texts), texts))
    pages = sum(_count(d.fields["number_of_page"]) or d.pages for d in docs)
    warnings = []
    if record["format"] == "03":
        warnings.append(("damaged", f"{record['file_code']}: EAD format 03 (damaged)"))
    if secret:
        # ids and counts only (design 5.13, 6.6): nothing of the content leaves the encrypted package
        kept = {c: None for c in FILE_COLUMNS}
        kept.update(file_code=record["file_code"], mode="03")
        return Package(member, objid, True, data, kept, None, len(docs), pages, [], [])
    return Package(member, objid, False, data, record, agency, len(docs), pages, docs, warnings)


def pdf_texts(pdf: bytes) -> list[str]:
    """The OCR text of each page of one of our PDF/A documents (formats 6.4), words one space apart.

    Reads the invisible text layer: every ``Tj`` string is a word in UTF-16BE
    (CID = BMP code point), so no font machinery is needed.
    """
    out = []
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        for page in doc.pages:
            words = []
            for operands, op in pikepdf.parse_content_stream(page, "Tj"):
                raw = bytes(operands[0])
                words.append(raw.decode("utf-16-be", errors="replace"))
            out.append(" ".join(w for w in words if w))
    return out
