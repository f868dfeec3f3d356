"""Read one batch member into catalogue rows (design 5.13): the SIP check, the EAD fields, PDFs and OCR text.

Nothing here writes an object or a row. The ingest worker calls
:func:`read_member` for every member of a batch as it is unpacked to a file in
its spool, stores the objects it names (the member's file, and each PDF
extracted to a file of its own in the spool), and keeps the rows for the
batch's one commit. Every read streams from files, so memory does not grow with
a package's size (design 5.13, "Spool and memory").
"""

from __future__ import annotations

import hashlib
import re
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pikepdf

from records.codes import DOC_FIELDS, FILE_FIELDS
from records.sip_verify import verify
from sync.at_rest import READ_ERRORS, open_reader
from sync.fsutil import private_tmp

_IO = 1 << 20

PACKAGE_RE = re.compile(r"(uuid-[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12})\.zip(\.enc)?")
METS = "{http://www.loc.gov/METS/}"


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
    pdf: Path | None             # its spool file; None once stored and removed
    pages: int
    texts: list[str]             # OCR text per page
    sha256: str = ""
    size: int = 0


@dataclass
class Package:
    member: str
    objid: str
    secret: bool
    path: Path | None            # the member's spool file, bytes as in the batch (encrypted when secret)
    file: dict                   # the 18 columns of FILE_COLUMNS (secret: file_code and mode only)
    agency: str | None
    documents: int
    pages: int
    docs: list[Document] = field(default_factory=list)  # empty when secret
    warnings: list[tuple[str, str]] = field(default_factory=list)
    sha256: str = ""
    size: int = 0


def _copy(src, dst, h=None) -> int:
    """Copy *src* to *dst* in 1 MiB blocks, hashing into *h*; the number of bytes."""
    n = 0
    while block := src.read(_IO):
        if h is not None:
            h.update(block)
        dst.write(block)
        n += len(block)
    return n


def _hash_file(path: Path) -> tuple[str, int]:
    h, n = hashlib.sha256(), 0
    with open(path, "rb") as f:
        while block := f.read(_IO):
            h.update(block)
            n += len(block)
    return h.hexdigest(), n


def read_member(name: str, path: Path, archive_key, spool: Path) -> Package | None:
    """The package in member *name*, whose bytes are the file *path* (None when the member is not a package).

    Each PDF of a clear package is extracted to a file in the folder *spool*
    (``Document.pdf``); the caller stores and removes them. Nothing is read
    into memory whole.

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
    path = Path(path)
    sha256, size = _hash_file(path)
    if not secret:
        return _checked(path, name, objid, False, path, Path(spool), sha256, size)
    with tempfile.TemporaryDirectory(prefix="sohoa-ingest-", dir=private_tmp()) as tmp:
        clear = Path(tmp) / (objid + ".zip")
        try:
            with open(path, "rb") as f, open(clear, "wb") as out:
                _copy(open_reader(f, archive_key)[1], out)
        except READ_ERRORS as exc:
            raise PackageRefused(f"{name}: encrypted package does not decrypt ({exc})") from None
        return _checked(clear, name, objid, True, path, Path(tmp), sha256, size)


def _checked(clear: Path, name: str, objid: str, secret: bool, member: Path, spool: Path,
             sha256: str, size: int) -> Package:
    problems = verify(clear, workdir=spool if secret else None)
    if problems:
        raise PackageRefused(f"{name}: " + "; ".join(problems[:5]))
    try:
        with zipfile.ZipFile(clear) as zf:
            package = _rows(zf, name, objid, secret, member, spool)
    except (KeyError, zipfile.BadZipFile, ValueError, SyntaxError, pikepdf.PdfError) as exc:
        # lxml's parse errors are SyntaxErrors; the package passed sip verify, so this is a reader's limit
        raise PackageRefused(f"{name}: cannot be read ({type(exc).__name__}: {exc})") from None
    package.sha256, package.size = sha256, size
    return package


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


def _rows(zf: zipfile.ZipFile, member: str, objid: str, secret: bool, path: Path, spool: Path) -> Package:
    top = objid + "/"
    record = _simpledc(zf, top + "metadata/descriptive/EAD.xml", FILE_FIELDS)
    agent = _xml(zf, top + "METS.xml").find(f"{METS}metsHdr/{METS}agent[@TYPE='ORGANIZATION']/{METS}name")
    agency = (agent.text or "").strip() if agent is not None else None
    docs = []
    prefix = top + "representations/rep1/metadata/descriptive/EAD_DOC_"
    try:
        for info in sorted(zf.infolist(), key=lambda i: i.filename):
            if not (info.filename.startswith(prefix) and info.filename.endswith(".xml")):
                continue
            fields = _simpledc(zf, info.filename, DOC_FIELDS)
            did = fields["doc_id"]
            # a secret package's PDFs go to its private folder (spool is that folder) and are never stored
            pdf = spool / f"pdf-{len(docs)}.pdf"
            h = hashlib.sha256()
            with zf.open(f"{top}representations/rep1/data/{did}.pdf") as src, open(pdf, "wb") as out:
                n = _copy(src, out, h)
            try:
                texts = pdf_texts(pdf)
            except BaseException:
                pdf.unlink(missing_ok=True)
                raise
            docs.append(Document(did, fields, pdf, len(texts), texts, h.hexdigest(), n))
    except BaseException:
        for d in docs:
            d.pdf.unlink(missing_ok=True)
        raise
    pages = sum(_count(d.fields["number_of_page"]) or d.pages for d in docs)
    warnings = []
    if record["format"] == "03":
        warnings.append(("damaged", f"{record['file_code']}: EAD format 03 (damaged)"))
    if secret:
        # ids and counts only (design 5.13, 6.6): nothing of the content leaves the encrypted package
        for d in docs:
            d.pdf.unlink(missing_ok=True)
        kept = {c: None for c in FILE_COLUMNS}
        kept.update(file_code=record["file_code"], mode="03")
        return Package(member, objid, True, path, kept, None, len(docs), pages, [], [])
    return Package(member, objid, False, path, record, agency, len(docs), pages, docs, warnings)


def pdf_texts(pdf: Path) -> list[str]:
    """The OCR text of each page of one of our PDF/A documents (formats 6.4), words one space apart.

    Reads the invisible text layer: every ``Tj`` string is a word in UTF-16BE
    (CID = BMP code point), so no font machinery is needed. The file is read
    as a stream, not mapped, and only the pages' content streams are read,
    never their images.
    """
    out = []
    with pikepdf.open(pdf, access_mode=pikepdf.AccessMode.stream) as doc:
        for page in doc.pages:
            words = []
            for operands, op in pikepdf.parse_content_stream(page, "Tj"):
                raw = bytes(operands[0])
                words.append(raw.decode("utf-16-be", errors="replace"))
            out.append(" ".join(w for w in words if w))
    return out
