"""The XML files of a SIP_hoso package: EAD, EAD_DOC and the two METS files.

Strings are assembled directly (no DOM) because the layout is fixed and small;
every value passes through XML escaping. See docs/formats.md §6.5.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

NS = ('xmlns:mets="http://www.loc.gov/METS/" xmlns:xlink="http://www.w3.org/1999/xlink" '
      'xmlns:csip="https://DILCIS.eu/XML/METS/CSIPExtensionMETS" '
      'xmlns:sip="https://DILCIS.eu/XML/METS/SIPExtensionMETS" '
      'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"')
PROFILE = "https://earkcsip.dilcis.eu/profile/E-ARK-CSIP.xml"
SCHEMAS = ("mets1_12.xsd", "xlink.xsd", "DILCISExtensionMETS.xsd", "DILCISExtensionSIPMETS.xsd",
           "ead.xsd", "ead_doc.xsd", "ead_pic.xsd", "ead_media.xsd")
VN = dt.timezone(dt.timedelta(hours=7))


def created_stamp(when: dt.datetime | None = None) -> str:
    """``2026-06-12T11:45:37.690+07:00``: milliseconds, Vietnam offset."""
    when = (when or dt.datetime.now(VN)).astimezone(VN)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}+07:00"


@dataclass(frozen=True)
class Ref:
    """A file a METS file points to, with what it must say about it."""

    href: str       # relative to the METS file
    id: str         # ID of the <file> (ID-...) or of the dmdSec (uuid-...)
    size: int
    sha256: str     # upper-case hex
    created: str
    mimetype: str


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest().upper()


def simpledc(fields: tuple, values: dict, schema_href: str) -> bytes:
    """``<simpledc>`` with one child per field of *fields*, in that order."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<simpledc xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
             f'xsi:noNamespaceSchemaLocation={quoteattr(schema_href)}>']
    for name, _limit in fields:
        lines.append(f"  <{name}>{escape(str(values.get(name, '')))}</{name}>")
    lines.append("</simpledc>")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _file_attrs(ref: Ref) -> str:
    return (f'MIMETYPE={quoteattr(ref.mimetype)} SIZE="{ref.size}" CREATED="{ref.created}" '
            f'CHECKSUM="{ref.sha256}" CHECKSUMTYPE="SHA-256"')


def _link(href: str) -> str:
    return f'LOCTYPE="URL" xlink:type="simple" xlink:href={quoteattr(href)}'


def _md(ref: Ref) -> str:
    return (f'  <mets:dmdSec ID="{ref.id}" CREATED="{ref.created}">\n'
            f'    <mets:mdRef {_link(ref.href)} MDTYPE="DC" MDTYPEVERSION="1.0.0" {_file_attrs(ref)}/>\n'
            f'  </mets:dmdSec>')


def _file(ref: Ref) -> str:
    return (f'      <mets:file ID="{ref.id}" {_file_attrs(ref)}>\n'
            f'        <mets:FLocat {_link(ref.href)}/>\n      </mets:file>')


def _header(objid: str, created: str, schema_prefix: str, agency: str, file_code: str | None,
            software: str) -> list[str]:
    loc = " ".join([
        f"http://www.loc.gov/METS/ {schema_prefix}mets1_12.xsd",
        f"http://www.w3.org/1999/xlink {schema_prefix}xlink.xsd",
        f"https://DILCIS.eu/XML/METS/CSIPExtensionMETS {schema_prefix}DILCISExtensionMETS.xsd",
        f"https://DILCIS.eu/XML/METS/SIPExtensionMETS {schema_prefix}DILCISExtensionSIPMETS.xsd"])
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<mets:mets {NS} xsi:schemaLocation={quoteattr(loc)} OBJID={quoteattr(objid)} TYPE="Mixed" '
           f'PROFILE="{PROFILE}" csip:CONTENTINFORMATIONTYPE="MIXED">',
           f'  <mets:metsHdr CREATEDATE="{created}" RECORDSTATUS="NEW" csip:OAISPACKAGETYPE="SIP">',
           '    <mets:agent ROLE="CREATOR" TYPE="OTHER" OTHERTYPE="SOFTWARE">',
           '      <mets:name>sohoa</mets:name>',
           f'      <mets:note csip:NOTETYPE="SOFTWARE VERSION">{escape(software)}</mets:note>',
           '    </mets:agent>',
           '    <mets:agent ROLE="CREATOR" TYPE="ORGANIZATION">',
           f'      <mets:name>{escape(agency)}</mets:name>',
           '    </mets:agent>']
    if file_code is not None:
        out.append(f'    <mets:altRecordID TYPE="SUBMISSIONAGREEMENT">{escape(file_code)}</mets:altRecordID>')
    out.append("  </mets:metsHdr>")
    return out


def root_mets(*, objid: str, created: str, agency: str, file_code: str, software: str, ead: Ref,
              schemas: list[Ref], rep_mets: Ref, ids: dict) -> bytes:
    """The package's root METS.xml. *ids* holds the uuid-... IDs of its sections."""
    out = _header(objid, created, "schemas/", agency, file_code, software)
    out.append(_md(ead))
    out.append(f'  <mets:amdSec ID="{ids["amd"]}"/>')
    out.append(f'  <mets:fileSec ID="{ids["filesec"]}">')
    out.append(f'    <mets:fileGrp ID="{ids["grp_schemas"]}" USE="Schemas">')
    out += [_file(r) for r in schemas]
    out.append("    </mets:fileGrp>")
    out.append(f'    <mets:fileGrp ID="{ids["grp_rep"]}" USE="Representations/rep1">')
    out.append(_file(rep_mets))
    out.append("    </mets:fileGrp>")
    out.append("  </mets:fileSec>")
    out.append(f'  <mets:structMap ID="{ids["structmap"]}" TYPE="PHYSICAL" LABEL="CSIP">')
    out.append(f'    <mets:div ID="{ids["div_root"]}" LABEL={quoteattr(objid)}>')
    out.append(f'      <mets:div ID="{ids["div_md"]}" LABEL="Metadata" DMDID="{ead.id}"/>')
    out.append(f'      <mets:div ID="{ids["div_schemas"]}" LABEL="Schemas">')
    out += [f'        <mets:fptr FILEID="{r.id}"/>' for r in schemas]
    out.append("      </mets:div>")
    out.append(f'      <mets:div ID="{ids["div_rep"]}" LABEL="Representations/rep1">')
    out.append(f'        <mets:mptr {_link(rep_mets.href)} xlink:title="{ids["grp_rep"]}"/>')
    out.append(f'        <mets:fptr FILEID="{rep_mets.id}"/>')
    out.append("      </mets:div>")
    out.append("    </mets:div>")
    out.append("  </mets:structMap>")
    out.append("</mets:mets>")
    return ("\n".join(out) + "\n").encode("utf-8")


def rep_mets(*, created: str, agency: str, software: str, docs: list[tuple[str, Ref, Ref]], ids: dict) -> bytes:
    """rep1's METS.xml. *docs* is (docId, EAD_DOC ref, PDF ref) per document."""
    out = _header("rep1", created, "../../schemas/", agency, None, software)
    out += [_md(md) for _doc_id, md, _pdf in docs]
    out.append(f'  <mets:amdSec ID="{ids["amd"]}"/>')
    out.append(f'  <mets:fileSec ID="{ids["filesec"]}">')
    out.append(f'    <mets:fileGrp ID="{ids["grp_data"]}" USE="Data">')
    out += [_file(pdf) for _doc_id, _md_ref, pdf in docs]
    out.append("    </mets:fileGrp>")
    out.append("  </mets:fileSec>")
    out.append(f'  <mets:structMap ID="{ids["structmap"]}" TYPE="PHYSICAL" LABEL="CSIP">')
    out.append(f'    <mets:div ID="{ids["div_root"]}" LABEL="rep1">')
    for doc_id, md, pdf in docs:
        out.append(f'      <mets:div ID="{ids["div_" + doc_id]}" LABEL={quoteattr(doc_id)} DMDID="{md.id}">')
        out.append(f'        <mets:fptr FILEID="{pdf.id}"/>')
        out.append("      </mets:div>")
    out.append("    </mets:div>")
    out.append("  </mets:structMap>")
    out.append("</mets:mets>")
    return ("\n".join(out) + "\n").encode("utf-8")
