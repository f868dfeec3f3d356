"""SIP_hoso packages: build, verify, and tampering that verify must name."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from records import pdfa, sip
from records.sip_verify import verify

FILE_CODE = "H49.64.33.2001.160"


@pytest.fixture(scope="module")
def package(tmp_path_factory, page_jpegs, fake_ocr):
    d = tmp_path_factory.mktemp("sip")
    pdfs = []
    for n, title in enumerate(("BÁO CÁO", "QUYẾT ĐỊNH"), 1):
        out = d / f"{n}.pdf"
        pdfa.build_pdfa([pdfa.PageInput(page_jpegs[title], 200, fake_ocr(1654, 2339, [title]))], out, title=title)
        pdfs.append(out)
    extracted = [{"typeName": "14", "issuedDate": "05/03/2001", "organName": "ỦY BAN NHÂN DÂN XÃ TÂN PHÚ",
                  "subject": "Kết quả đăng ký khai sinh"},
                 {"typeName": "02", "codeNumber": "12", "codeNotation": "QĐ-UBND", "issuedDate": "07/04/2001",
                  "subject": "Về việc cấp giấy chứng nhận"}]
    record = sip.record_fields(file_code=FILE_CODE, title="Hồ sơ hộ tịch năm 2001", paper_file_code="H49.1.2.160",
                               maintenance="01", mode="01", documents=extracted, pages=2, sheets=2)
    docs = [sip.SipDocument(sip.document_fields(file_code=FILE_CODE, n=n, record=record, extracted=e, pages=1), p)
            for n, (e, p) in enumerate(zip(extracted, pdfs), 1)]
    zpath = d / "pkg.zip"
    objid = sip.build_sip(record, docs, zpath, agency="H49.64.33", seed="test-1")
    return zpath, objid


def unpack(zpath: Path, dest: Path) -> Path:
    with zipfile.ZipFile(zpath) as zf:
        zf.extractall(dest)
    (root,) = list(dest.iterdir())
    return root


def test_layout_ids_and_checksums(package, tmp_path):
    zpath, objid = package
    assert re.fullmatch(r"uuid-[0-9A-F]{8}(-[0-9A-F]{4}){3}-[0-9A-F]{12}", objid)
    with zipfile.ZipFile(zpath) as zf:
        names = set(zf.namelist())
        assert zf.getinfo(f"{objid}/representations/rep1/data/{FILE_CODE}.1.pdf").compress_type == zipfile.ZIP_STORED
    expected = {f"{objid}/{p}" for p in (
        "METS.xml", "metadata/descriptive/EAD.xml", "representations/rep1/METS.xml",
        f"representations/rep1/metadata/descriptive/EAD_DOC_{FILE_CODE}.1.xml",
        f"representations/rep1/metadata/descriptive/EAD_DOC_{FILE_CODE}.2.xml",
        f"representations/rep1/data/{FILE_CODE}.1.pdf", f"representations/rep1/data/{FILE_CODE}.2.pdf",
        *[f"schemas/{s}" for s in ("mets1_12.xsd", "xlink.xsd", "DILCISExtensionMETS.xsd",
                                   "DILCISExtensionSIPMETS.xsd", "ead.xsd", "ead_doc.xsd", "ead_pic.xsd",
                                   "ead_media.xsd")])}
    assert names == expected
    root = unpack(zpath, tmp_path)
    mets = etree.parse(str(root / "METS.xml")).getroot()
    ns = {"m": "http://www.loc.gov/METS/", "csip": "https://DILCIS.eu/XML/METS/CSIPExtensionMETS"}
    assert mets.get("OBJID") == objid and mets.get("TYPE") == "Mixed"
    hdr = mets.find("m:metsHdr", ns)
    assert hdr.get("RECORDSTATUS") == "NEW"
    assert hdr.get("{https://DILCIS.eu/XML/METS/CSIPExtensionMETS}OAISPACKAGETYPE") == "SIP"
    assert mets.find("m:metsHdr/m:altRecordID", ns).text == FILE_CODE
    md = mets.find("m:dmdSec/m:mdRef", ns)
    assert md.get("MDTYPE") == "DC" and md.get("MDTYPEVERSION") == "1.0.0"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+07:00", md.get("CREATED"))
    assert re.fullmatch(r"[0-9A-F]{64}", md.get("CHECKSUM"))
    rep = etree.parse(str(root / "representations/rep1/METS.xml")).getroot()
    assert rep.get("OBJID") == "rep1"
    assert rep.get("{https://DILCIS.eu/XML/METS/CSIPExtensionMETS}CONTENTINFORMATIONTYPE") == "MIXED"
    assert all(f.get("ID").startswith("ID-") for f in rep.iterfind(".//m:file", ns))
    ead = etree.parse(str(root / "metadata/descriptive/EAD.xml")).getroot()
    assert ead.tag == "simpledc" and len(ead) == 18
    assert ead.findtext("startDate") == "05/03/2001" and ead.findtext("endDate") == "07/04/2001"
    doc = etree.parse(str(root / f"representations/rep1/metadata/descriptive/EAD_DOC_{FILE_CODE}.2.xml")).getroot()
    assert len(doc) == 21
    assert doc.findtext("docCode") == f"{FILE_CODE}.0000002" and doc.findtext("codeNotation") == "QĐ-UBND"


def test_rebuild_names_the_same_package(package, tmp_path):
    zpath, objid = package
    root = unpack(zpath, tmp_path)
    assert sip.make_uuid("test-1", "OBJID") == objid[5:]
    assert root.name == objid


def test_valid_package_passes_as_zip_and_folder(package, tmp_path):
    zpath, _ = package
    assert verify(zpath) == []
    assert verify(unpack(zpath, tmp_path)) == []


def test_one_changed_byte_of_a_pdf_is_named(package, tmp_path):
    root = unpack(package[0], tmp_path)
    pdf = root / f"representations/rep1/data/{FILE_CODE}.1.pdf"
    data = bytearray(pdf.read_bytes())
    data[len(data) // 2] ^= 0x01
    pdf.write_bytes(bytes(data))
    problems = verify(root)
    assert any(p.startswith("V4 ") and f"{FILE_CODE}.1.pdf" in p and "SHA-256" in p for p in problems), problems


def test_changed_byte_inside_the_zip_is_named(package, tmp_path):
    zpath = tmp_path / "t.zip"
    shutil.copy(package[0], zpath)
    blob = bytearray(zpath.read_bytes())
    with zipfile.ZipFile(zpath) as zf:
        info = zf.getinfo(f"{package[1]}/representations/rep1/data/{FILE_CODE}.2.pdf")
    blob[info.header_offset + 30 + len(info.filename) + 5000] ^= 0xFF
    zpath.write_bytes(bytes(blob))
    problems = verify(zpath)
    assert any(f"{FILE_CODE}.2.pdf" in p for p in problems), problems


def test_removed_file_is_a_dangling_pointer(package, tmp_path):
    root = unpack(package[0], tmp_path)
    (root / f"representations/rep1/data/{FILE_CODE}.2.pdf").unlink()
    (root / "schemas/xlink.xsd").unlink()
    problems = verify(root)
    assert any("dangling" in p and f"data/{FILE_CODE}.2.pdf" in p for p in problems), problems
    assert any(p.startswith("V2 schemas/xlink.xsd") for p in problems), problems


def test_orphan_file_is_named(package, tmp_path):
    root = unpack(package[0], tmp_path)
    (root / "representations/rep1/data/extra.pdf").write_bytes(b"%PDF-1.7\n")
    problems = verify(root)
    assert problems == ["V5 representations/rep1/data/extra.pdf: file not referenced by any METS (orphan)"]


def test_field_too_long_is_named_even_with_fixed_checksums(package, tmp_path):
    root = unpack(package[0], tmp_path)
    ead = root / "metadata/descriptive/EAD.xml"
    text = ead.read_text(encoding="utf-8")
    text = re.sub(r"<title>.*?</title>", "<title>" + "Hồ sơ " * 200 + "</title>", text)
    ead.write_text(text, encoding="utf-8")
    # re-sign the METS reference so only the field itself is wrong
    mets = root / "METS.xml"
    m = mets.read_text(encoding="utf-8")
    from records.sip_xml import digest

    new = ead.read_bytes()
    m = re.sub(r'(xlink:href="metadata/descriptive/EAD.xml"[^>]*?SIZE=")\d+(")', rf"\g<1>{len(new)}\2", m)
    m = re.sub(r'(xlink:href="metadata/descriptive/EAD.xml"[^>]*?CHECKSUM=")[0-9A-F]+(")', rf"\g<1>{digest(new)}\2", m)
    mets.write_text(m, encoding="utf-8")
    problems = verify(root)
    assert any(p.startswith("V7 metadata/descriptive/EAD.xml: field title is") and "longer than 1000" in p
               for p in problems), problems
    assert not any(p.startswith("V4") for p in problems), problems


def test_bad_code_value_and_broken_structmap(package, tmp_path):
    root = unpack(package[0], tmp_path)
    rep = root / "representations/rep1/METS.xml"
    text = rep.read_text(encoding="utf-8")
    text = text.replace('DMDID="uuid-', 'DMDID="uuid-0', 1)
    rep.write_text(text, encoding="utf-8")
    problems = verify(root)
    assert any(p.startswith("V6 representations/rep1/METS.xml") and "points to no dmdSec" in p for p in problems)


def test_cli_verify_exit_codes(package, tmp_path):
    ok = subprocess.run([sys.executable, "-m", "firmware_agent", "sip", "verify", str(package[0])],
                        capture_output=True, text=True)
    assert ok.returncode == 0 and "hợp lệ / valid" in ok.stdout
    root = unpack(package[0], tmp_path)
    (root / "metadata/descriptive/EAD.xml").unlink()
    bad = subprocess.run([sys.executable, "-m", "firmware_agent", "sip", "verify", str(root)],
                         capture_output=True, text=True)
    assert bad.returncode == 1
    assert "V2 metadata/descriptive/EAD.xml: required file missing" in bad.stderr


def test_build_refuses_bad_doc_ids(tmp_path):
    with pytest.raises(sip.SipError, match="longer than 25"):
        sip.build_sip({}, [sip.SipDocument({"docId": "X" * 26}, b"%PDF")], tmp_path / "a.zip", agency="A", seed="s")
    with pytest.raises(sip.SipError, match="used twice"):
        sip.build_sip({}, [sip.SipDocument({"docId": "A.1"}, b"%PDF"), sip.SipDocument({"docId": "A.1"}, b"%PDF")],
                      tmp_path / "b.zip", agency="A", seed="s")
