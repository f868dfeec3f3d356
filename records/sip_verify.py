"""`sohoa sip verify`: check a SIP_hoso package and name every problem.

Checks V1-V8 of docs/formats.md §6.5. The station runs it on what it built and the
central receiver on every package that arrives (``central.sip_check``).
XML is validated against the schemas shipped with this code, not the copies in
the package, so a package cannot loosen its own rules.
"""

from __future__ import annotations

import functools
import hashlib
import re
import tempfile
import zipfile
import zlib
from importlib import resources
from pathlib import Path, PurePosixPath

from records.codes import (DOC_FIELDS, DOC_REQUIRED, FIELD_CODES, FILE_FIELDS, FILE_REQUIRED)
from records.sip_xml import PROFILE, SCHEMAS

METS = "{http://www.loc.gov/METS/}"
XLINK = "{http://www.w3.org/1999/xlink}"
CSIP = "{https://DILCIS.eu/XML/METS/CSIPExtensionMETS}"
_UUID = r"[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}"
_OBJID = re.compile(rf"^uuid-{_UUID}$")
_FILEID = re.compile(rf"^ID-{_UUID}$")
_CREATED = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+07:00$")
_DATE = re.compile(r"^\d{2}/\d{2}/\d{4}$")
MAX_UNPACKED = 8 << 30


@functools.lru_cache(maxsize=8)
def _schema(name: str):
    from lxml import etree

    path = resources.files("records").joinpath("schemas", name)
    with resources.as_file(path) as real:
        return etree.XMLSchema(etree.parse(str(real)))


def verify(path: str | Path, workdir: str | Path | None = None) -> list[str]:
    """Problems found in the package at *path* (a .zip or an unpacked folder); [] = valid.

    A .zip's members are unpacked for the checks into a temporary folder in *workdir* (the system's
    temporary folder when None): a secret package's caller names a memory-backed one, so its clear
    pages never reach a disk (design 6.6).
    """
    path = Path(path)
    if path.is_dir():
        return _verify_tree(path)
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        return [f"V1 {path.name}: not a readable ZIP or folder ({exc})"]
    with zf, tempfile.TemporaryDirectory(prefix="sip-verify-", dir=workdir) as tmp:
        problems = []
        total = 0
        for info in zf.infolist():
            p = PurePosixPath(info.filename)
            if p.is_absolute() or ".." in p.parts or "\\" in info.filename:
                problems.append(f"V1 {info.filename}: unsafe path in ZIP")
            total += info.file_size
        if total > MAX_UNPACKED:
            problems.append("V1 ZIP unpacks to more than 8 GiB")
        if problems:
            return problems
        for info in zf.infolist():
            try:
                zf.extract(info, tmp)
            except (zipfile.BadZipFile, OSError, zlib.error) as exc:
                # a CRC failure means the member's bytes changed after packing
                problems.append(f"V4 {info.filename}: damaged in the ZIP ({exc})")
        tops = list(Path(tmp).iterdir())
        if len(tops) != 1 or not tops[0].is_dir():
            names = ", ".join(sorted(p.name for p in tops))
            return problems + [f"V1 ZIP must hold exactly one top-level folder, found: {names}"]
        return problems + _verify_tree(tops[0])


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest().upper()


class _Check:
    def __init__(self, root: Path):
        self.root = root
        self.problems: list[str] = []
        self.referenced: set[Path] = set()

    def add(self, code: str, where: str, msg: str) -> None:
        self.problems.append(f"{code} {where}: {msg}")

    def rel(self, p: Path) -> str:
        return p.relative_to(self.root).as_posix()

    def parse(self, path: Path, schema: str):
        from lxml import etree

        try:
            doc = etree.parse(str(path))
        except (etree.XMLSyntaxError, OSError) as exc:
            self.add("V3", self.rel(path), f"not well-formed XML ({exc})")
            return None
        xsd = _schema(schema)
        if not xsd.validate(doc):
            for err in list(xsd.error_log)[:5]:
                self.add("V3", self.rel(path), f"line {err.line}: {err.message}")
        return doc

    def ref(self, mets_path: Path, el, ids: dict) -> None:
        """Check one <file> (via its FLocat) or <mdRef>: resolves, size, checksum."""
        loc = el if el.tag == METS + "mdRef" else el.find(METS + "FLocat")
        where = self.rel(mets_path)
        href = loc.get(XLINK + "href") if loc is not None else None
        if not href:
            self.add("V6", where, f"{el.tag.split('}')[1]} {el.get('ID') or el.getparent().get('ID')} has no xlink:href")
            return
        target = (mets_path.parent / href).resolve()
        try:
            target.relative_to(self.root.resolve())
        except ValueError:
            self.add("V4", where, f"reference {href} points outside the package")
            return
        self.referenced.add(target)
        if not target.is_file():
            self.add("V4", where, f"reference {href} points to a missing file (dangling pointer)")
            return
        if el.get("CHECKSUMTYPE") != "SHA-256":
            self.add("V4", where, f"{href}: CHECKSUMTYPE must be SHA-256")
        size = target.stat().st_size
        if el.get("SIZE") != str(size):
            self.add("V4", self.rel(target), f"size {size} does not match METS SIZE={el.get('SIZE')}")
        sha = _sha256(target)
        if el.get("CHECKSUM") != sha:
            self.add("V4", self.rel(target), f"SHA-256 {sha} does not match METS CHECKSUM={el.get('CHECKSUM')}")
        if not _CREATED.match(el.get("CREATED") or ""):
            self.add("V4", where, f"{href}: CREATED {el.get('CREATED')!r} is not YYYY-MM-DDThh:mm:ss.fff+07:00")
        ids[el.get("ID") or el.getparent().get("ID")] = target

    def mets(self, path: Path, expect_objid: str) -> tuple[dict, dict, list]:
        """Check a METS file; returns (dmd id -> file, file id -> file, structMap divs)."""
        doc = self.parse(path, "mets1_12.xsd")
        if doc is None:
            return {}, {}, []
        root = doc.getroot()
        where = self.rel(path)
        if root.get("OBJID") != expect_objid:
            self.add("V1", where, f"OBJID {root.get('OBJID')!r} must be {expect_objid!r}")
        if root.get("TYPE") != "Mixed" or root.get("PROFILE") != PROFILE:
            self.add("V3", where, "TYPE must be Mixed and PROFILE the E-ARK CSIP profile")
        hdr = root.find(METS + "metsHdr")
        if hdr is None or hdr.get(CSIP + "OAISPACKAGETYPE") != "SIP" or hdr.get("RECORDSTATUS") != "NEW":
            self.add("V3", where, "metsHdr must carry csip:OAISPACKAGETYPE=SIP and RECORDSTATUS=NEW")
        all_ids = [e.get("ID") for e in root.iter() if e.get("ID")]
        for i in all_ids:
            if not (_OBJID.match(i) or _FILEID.match(i)):
                self.add("V3", where, f"ID {i!r} is not uuid-{{UUID}} / ID-{{UUID}} upper case")
        for f in root.iter(METS + "file"):
            if not _FILEID.match(f.get("ID") or ""):
                self.add("V3", where, f"file ID {f.get('ID')!r} must be ID-{{UUID}}")
        dmd: dict = {}
        files: dict = {}
        for md in root.iter(METS + "mdRef"):
            self.ref(path, md, dmd)
        for f in root.iter(METS + "file"):
            self.ref(path, f, files)
        divs = list(root.iter(METS + "div"))
        known = set(all_ids)
        used_dmd, used_files = set(), set()
        for div in divs:
            for d in (div.get("DMDID") or "").split():
                used_dmd.add(d)
                if d not in dmd:
                    self.add("V6", where, f"div {div.get('LABEL')!r} DMDID {d} points to no dmdSec")
            for fp in div.findall(METS + "fptr"):
                used_files.add(fp.get("FILEID"))
                if fp.get("FILEID") not in known:
                    self.add("V6", where, f"fptr FILEID {fp.get('FILEID')} points to nothing")
        for d in set(dmd) - used_dmd:
            self.add("V6", where, f"dmdSec {d} is not linked from the structMap")
        for f in set(files) - used_files:
            self.add("V6", where, f"file {f} is not linked from the structMap")
        return dmd, files, divs

    def fields(self, path: Path, fields: tuple, required: tuple, schema: str) -> dict:
        doc = self.parse(path, schema)
        values: dict = {}
        if doc is None:
            return values
        where = self.rel(path)
        root = doc.getroot()
        for child in root:
            if isinstance(child.tag, str):
                values[child.tag] = (child.text or "").strip()
        for name, limit in fields:
            v = values.get(name)
            if v is None:
                self.add("V7", where, f"field {name} missing")
                continue
            if name in required and not v:
                self.add("V7", where, f"required field {name} is empty")
            if len(v) > limit:
                self.add("V7", where, f"field {name} is {len(v)} characters, longer than {limit}")
            if v and name in FIELD_CODES and v not in FIELD_CODES[name]:
                self.add("V7", where, f"field {name} value {v!r} is not in its code table")
            if v and name in ("startDate", "endDate", "issuedDate") and not _DATE.match(v):
                self.add("V7", where, f"field {name} {v!r} is not DD/MM/YYYY")
        if values.get("riskRecovery") == "1" and not values.get("riskRecoveryStatus"):
            self.add("V7", where, "riskRecoveryStatus is required when riskRecovery = 1")
        return values


def _verify_tree(root: Path) -> list[str]:
    c = _Check(root)
    if not _OBJID.match(root.name):
        c.add("V1", root.name, "folder name must be uuid-{UUID} (upper case)")
    required = ["METS.xml", "metadata/descriptive/EAD.xml", "representations/rep1/METS.xml"]
    required += [f"schemas/{s}" for s in SCHEMAS]
    for r in required:
        if not (root / r).is_file():
            c.add("V2", r, "required file missing")
    if not (root / "METS.xml").is_file():
        return c.problems
    c.referenced.add((root / "METS.xml").resolve())
    dmd, files, _divs = c.mets(root / "METS.xml", root.name)
    ead_path = root / "metadata/descriptive/EAD.xml"
    record = c.fields(ead_path, FILE_FIELDS, FILE_REQUIRED, "ead.xsd") if ead_path.is_file() else {}
    if ead_path.resolve() not in dmd.values():
        c.add("V6", "METS.xml", "EAD.xml is not referenced by a dmdSec")
    rep = root / "representations/rep1/METS.xml"
    docs: list[dict] = []
    if rep.is_file():
        rdmd, rfiles, _rdivs = c.mets(rep, "rep1")
        for md_path in sorted(set(rdmd.values())):
            if md_path.is_file():
                docs.append(c.fields(md_path, DOC_FIELDS, DOC_REQUIRED, "ead_doc.xsd"))
        for doc in docs:
            did = doc.get("docId", "")
            pdf = (rep.parent / "data" / f"{did}.pdf").resolve()
            if pdf not in rfiles.values():
                c.add("V6", "representations/rep1/METS.xml", f"document {did} has metadata but no data/{did}.pdf")
        for pdf in sorted(set(rfiles.values())):
            if pdf.is_file():
                _check_pdf(c, pdf)
    file_code = record.get("fileCode", "")
    for doc in docs:
        code = doc.get("docCode", "")
        if file_code and not re.fullmatch(re.escape(file_code) + r"\.\d{7}", code):
            c.add("V7", f"EAD_DOC_{doc.get('docId')}.xml", f"docCode {code!r} must be fileCode + '.' + 7 digits")
    if record and record.get("totalDoc") != str(len(docs)):
        c.add("V7", "metadata/descriptive/EAD.xml", f"totalDoc {record.get('totalDoc')} but the package holds {len(docs)} documents")
    alt = _alt_record_id(root / "METS.xml")
    if file_code and alt != file_code:
        c.add("V7", "METS.xml", f"altRecordID SUBMISSIONAGREEMENT {alt!r} must equal fileCode {file_code!r}")
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.resolve() not in c.referenced:
            c.add("V5", c.rel(p), "file not referenced by any METS (orphan)")
    return c.problems


def _alt_record_id(path: Path) -> str:
    from lxml import etree

    try:
        el = etree.parse(str(path)).getroot().find(f"{METS}metsHdr/{METS}altRecordID")
    except (etree.XMLSyntaxError, OSError):
        return ""
    return (el.text or "").strip() if el is not None and el.get("TYPE") == "SUBMISSIONAGREEMENT" else ""


def _check_pdf(c: _Check, pdf: Path) -> None:
    """V8: the PDF opens and passes pikepdf's allowlist PDF/A-2b validator."""
    import pikepdf

    try:
        with pikepdf.open(pdf):
            pass
    except pikepdf.PdfError as exc:
        c.add("V8", c.rel(pdf), f"PDF cannot be opened ({exc})")
        return
    from pikepdf.pdfa import validate_written

    report = validate_written(pdf, "2b")
    if not report.passed:
        first = "; ".join(str(f) for f in report.findings[:3])
        c.add("V8", c.rel(pdf), f"not PDF/A-2b: {first}")
