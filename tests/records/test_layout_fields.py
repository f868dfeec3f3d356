"""Layout-aware fields (design §6.3 L1-L8) from real tesseract word boxes on drawn Nghị định 30/2020 pages."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware_agent.records import samples
from records import classify
from records.layout import Segment, analyse, is_secrecy_stamp, segments
from records.metadata import extract, title_blocks
from records.ocr import OcrResult, Word, run_tesseract
from records.package import analyse_page

DPI = 200
RULES = classify.load_rules()


PAGES = {
    "decision": dict(organ=("UBND HUYỆN ĐỨC HÒA", "ỦY BAN NHÂN DÂN XÃ TÂN PHÚ"), number="12/QĐ-UBND",
                     place_date="Tân Phú, ngày 05 tháng 3 năm 2001", title=("QUYẾT ĐỊNH",),
                     subject=("Về việc cấp giấy chứng nhận quyền sử dụng đất",
                              "cho hộ ông Lê Văn Hùng tại ấp Bình Tả")),
    "letter": dict(organ=("UBND HUYỆN ĐỨC HÒA", "ỦY BAN NHÂN DÂN XÃ HÒA BÌNH"), number="87/UBND-VP",
                   place_date="Hòa Bình, ngày 18 tháng 11 năm 2019",
                   vv=("V/v đề nghị hỗ trợ kinh phí", "số hóa hồ sơ năm 2020")),
    "secret": dict(organ=("CÔNG AN HUYỆN ĐỨC HÒA", "CÔNG AN XÃ TÂN PHÚ"), number="03/BC-CAX",
                   place_date="Tân Phú, ngày 02 tháng 7 năm 2015", title=("BÁO CÁO",),
                   subject=("Tình hình an ninh trật tự quý II năm 2015",), stamp="MẬT"),
    "certificate": dict(organ=("UBND HUYỆN ĐỨC HÒA", "ỦY BAN NHÂN DÂN XÃ TÂN PHÚ"), number="160/2011",
                        place_date="Tân Phú, ngày 20/8/2011",
                        title=("GIẤY CHỨNG NHẬN", "QUYỀN SỬ DỤNG ĐẤT")),
}


@pytest.fixture(scope="module")
def ocr(tmp_path_factory, nd30_page):
    """Tesseract's word boxes of each drawn page (slightly turned and speckled like a scan)."""
    out = tmp_path_factory.mktemp("nd30")
    results = {}
    for i, (name, spec) in enumerate(PAGES.items()):
        path = Path(out) / f"{name}.png"
        samples.scanned(nd30_page(**spec), seed=40 + i, angle=0.4, noise=4.0).save(path, dpi=(DPI, DPI))
        results[name] = run_tesseract(path, dpi=DPI)
    return results


def test_decision_fields_come_from_their_places(ocr):
    e = extract(ocr["decision"], RULES)
    v = e.values
    assert (v["typeName"], v["codeNumber"], v["codeNotation"]) == ("02", "12", "QĐ-UBND")
    assert v["issuedDate"] == "05/03/2001"
    # the parent body printed above it is not the issuing body; the issuing body is whole
    assert v["organName"] == "ỦY BAN NHÂN DÂN XÃ TÂN PHÚ"
    assert v["subject"].startswith("Về việc cấp giấy chứng nhận") and v["subject"].endswith("ấp Bình Tả")
    assert e.features["organName"]["parent"] == 1.0
    assert e.mode == ""
    # every value has the box of its words, inside the page
    for name in ("typeName", "codeNumber", "issuedDate", "organName", "subject"):
        x0, y0, x1, y1 = e.boxes[name]
        assert 0 <= x0 < x1 <= ocr["decision"].width and 0 <= y0 < y1 <= ocr["decision"].height
    assert e.boxes["organName"][1] < e.boxes["codeNumber"][1] < e.boxes["typeName"][1] < e.boxes["subject"][1]


def test_cong_van_subject_is_the_vv_lines_under_the_number(ocr):
    e = extract(ocr["letter"], RULES)
    v = e.values
    assert (v["typeName"], v["label"]) == ("22", "Công văn")  # no title; a V/v under the number
    assert (v["codeNumber"], v["codeNotation"]) == ("87", "UBND-VP")
    assert v["issuedDate"] == "18/11/2019"
    assert v["organName"] == "ỦY BAN NHÂN DÂN XÃ HÒA BÌNH"
    assert v["subject"].startswith("V/v đề nghị hỗ trợ") and v["subject"].endswith("năm 2020")  # both lines


def test_secrecy_stamp_marks_the_document_secret(ocr):
    e = extract(ocr["secret"], RULES)
    assert e.mode == "03" and e.boxes["mode"]
    assert e.values["organName"] == "CÔNG AN XÃ TÂN PHÚ"
    assert e.values["typeName"] == "14"
    values, _conf, _needs, boxes = analyse_page(ocr["secret"], RULES, {})
    assert values["mode"] == "03" and boxes["mode"] == e.boxes["mode"]
    # no stamp, no mode
    assert "mode" not in analyse_page(ocr["decision"], RULES, {})[0]


def _segment(text: str) -> Segment:
    return Segment(tuple(Word(t, 120 * i, 40, 100, 30, 95.0, 1) for i, t in enumerate(text.split())))


def test_secrecy_stamp_is_one_of_the_three_in_capitals():
    for stamp in ("MẬT", "MẬT.", "TỐI MẬT", "TUYỆT MẬT", "TUYÊT MẬT"):  # the last one letter off
        assert is_secrecy_stamp(_segment(stamp)), stamp
    # a land certificate's "đất" wrapped onto its own line raised a public record file to secret
    for other in ("đất", "ĐẤT", "MAI", "Mật", "MẬT ĐỘ DÂN SỐ"):
        assert not is_secrecy_stamp(_segment(other)), other


def _line(text: str, left: int, top: int, height: int, line: int) -> list[Word]:
    words, x = [], left
    for t in text.split():
        words.append(Word(t, x, top, 38 * len(t), height, 93.0, line))
        x += 38 * len(t) + 30
    return words


def test_title_lines_whose_boxes_overlap_are_one_block():
    # Word boxes as tesseract gave them on a landscape land-use certificate of the evaluation
    # (300 dpi): the tall capitals' boxes reach into the next line's, and the three title lines
    # came out as three blocks, so "GIẦY CHÚNG NHẬN" alone was taken for "Giấy chứng sinh".
    words = (_line("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 2077, 166, 50, 1)
             + _line("Độc lập - Tự do - Hạnh phúc", 2255, 240, 50, 2)
             + _line("GIẦY CHÚNG NHẬN", 2312, 425, 90, 3)
             + _line("QUYÊN SỬ DỤNG ĐẤT, QUYÊN SỞ HỮU NHÀ Ở", 1974, 491, 97, 4)
             + _line("VÀ TÀI SÁN KHÁC GẮN LIỀN VỚI ĐẤT", 2081, 565, 61, 5))
    ocr = OcrResult(words=words, width=3508, height=2480, dpi=300)
    blocks = [[s.text for s in b] for b in title_blocks(analyse(ocr))]
    assert ["GIẦY CHÚNG NHẬN", "QUYÊN SỬ DỤNG ĐẤT, QUYÊN SỞ HỮU NHÀ Ở", "VÀ TÀI SÁN KHÁC GẮN LIỀN VỚI ĐẤT"] in blocks
    assert extract(ocr, RULES).values["label"] == "Giấy chứng nhận quyền sử dụng đất"


def test_two_line_title_and_numeric_date(ocr):
    e = extract(ocr["certificate"], RULES)
    assert e.values["label"] == "Giấy chứng nhận quyền sử dụng đất"
    assert e.classification.group == "land"
    assert e.classification.title_line <= -2  # matched on the layout's title block, not on one line
    assert e.values["issuedDate"] == "20/08/2011"


def test_a_value_below_its_threshold_is_held_with_its_box(ocr):
    _values, conf, needs, boxes = analyse_page(ocr["decision"], RULES, {name: 1.01 for name in
                                                                        ("typeName", "organName")})
    assert needs == ["typeName", "organName"]
    assert boxes["organName"] and all(0.0 <= c <= 1.0 for c in conf.values())
    assert analyse_page(ocr["decision"], RULES, {"organName": 0.0})[2] == []


def test_a_word_whose_box_took_in_an_underline_keeps_its_place_in_the_line():
    # tesseract's box for "chuẩn" starts where the rule under "xã đạt chuẩn" starts
    boxes = [("Dự", 854, 72), ("lễ", 939, 38), ("công", 993, 107), ("bố", 1114, 55), ("xã", 1184, 45),
             ("đạt", 1254, 71), ("chuẩn", 1212, 267), ("nông", 1495, 112), ("thôn", 1622, 103), ("mới", 1741, 85)]
    words = [Word(t, left, 790, width, 60, 95.0, 6) for t, left, width in boxes]
    segs = segments(OcrResult(words, 2480, 3508, 300))
    assert [s.text for s in segs] == ["Dự lễ công bố xã đạt chuẩn nông thôn mới"]
