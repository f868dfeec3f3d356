"""Folding, fuzzy matching, the rules table, classification and metadata (no OCR)."""

from __future__ import annotations

from pathlib import Path

import pytest

from records import classify, metadata
from records.text import best_substring_distance, fold, fuzzy_score

DESIGN = Path(__file__).resolve().parents[2] / "docs" / "design.md"
RULES = classify.load_rules()


def test_fold_strips_vietnamese_diacritics_and_d_bar():
    assert fold("Cộng hòa  xã hội   ĐỘC LẬP") == "CONG HOA XA HOI DOC LAP"
    assert fold("giấy khai sinh") == fold("GIAY KHAI SINH")


def test_substring_distance_counts_edits():
    assert best_substring_distance("KHAI SINH", "XXX KHAI SINH YYY") == 0
    assert best_substring_distance("KHAI SINH", "XXX KHA1 SlNH YYY") == 2
    assert fuzzy_score("GIẤY KHAI SINH", "GIAY KHAl SINH") == pytest.approx(1 - 1 / 14)


@pytest.mark.parametrize("title,code,group", [
    ("GIẤY KHAI SINH", "32", "civil_status"),
    ("GIAY KHAI SINH", "32", "civil_status"),          # diacritics lost
    ("GIẤY KHAl SlNH", "32", "civil_status"),          # OCR l/I confusion
    ("QUYẾT ĐỊNH", "02", "other"),
    ("TỜ TRÌNH", "15", "other"),
    ("BIEN BAN", "20", "other"),
    ("HỢP ĐỒNG CHUYỂN NHƯỢNG QUYỀN SỬ DỤNG ĐẤT", "21", "land"),
    ("GIẤY CHỨNG NHẬN KẾT HÔN", "32", "civil_status"),
])
def test_classify_titles(title, code, group):
    lines = ["ỦY BAN NHÂN DÂN XÃ TÂN PHÚ", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
             title, "Nội dung"]
    c = classify.classify(lines, RULES)
    assert (c.type_code, c.group) == (code, group)
    assert c.type_conf >= 0.6
    assert c.title_line == 3


def test_title_in_capitals_beats_the_same_words_in_the_subject_line():
    lines = ["ỦY BAN NHÂN DÂN XÃ TÂN PHÚ", "QUYẾT ĐỊNH", "Về việc cấp giấy chứng nhận quyền sử dụng đất"]
    c = classify.classify(lines, RULES)
    assert c.type_code == "02"
    assert c.group == "land"  # from the keyword rows


def test_unknown_page_has_low_confidence():
    from records.package import analyse
    from records.ocr import OcrResult

    lines = ["một trang không có tiêu đề", "chỉ có vài dòng chữ thường"]
    c = classify.classify(lines, RULES)
    assert c.type_conf < 0.6
    _values, _conf, needs = analyse(OcrResult([], 10, 10, 200, lines=lines), RULES,
                                    {"typeName": 0.6, "issuedDate": 0.7})
    # an empty page (no words) has nothing to classify: every field waits for a technician
    assert needs == ["typeName", "issuedDate"]  # flagged for a technician, never silently guessed


def test_rules_table_errors_name_the_line():
    with pytest.raises(classify.RulesError, match=r"x.tsv:2: type_code '99'"):
        classify.parse_rules("pattern\ttype_code\tgroup\tweight\tlabel\nABC\t99\tland\t0.5\tx\n", "x.tsv")
    with pytest.raises(classify.RulesError, match="header"):
        classify.parse_rules("a\tb\nABC\t01\tland\t0.5\tx\n", "y.tsv")
    with pytest.raises(classify.RulesError, match="5 tab-separated columns"):
        classify.parse_rules("pattern\ttype_code\tgroup\tweight\tlabel\nABC 01 land\n")


def test_technician_rules_file_extends_the_table(tmp_path):
    extra = tmp_path / "mine.tsv"
    extra.write_text("pattern\ttype_code\tgroup\tweight\tlabel\nSỔ HỘ KHẨU\t32\tcivil_status\t0.9\tSổ hộ khẩu\n",
                     encoding="utf-8")
    rules = classify.load_rules(extra)
    assert len(rules) == len(RULES) + 1
    c = classify.classify(["UBND XÃ", "SO HO KHAU", "chủ hộ"], rules)
    assert (c.type_code, c.group, c.label) == ("32", "civil_status", "Sổ hộ khẩu")
    assert classify.classify(["UBND XÃ", "SO HO KHAU"], RULES).label != "Sổ hộ khẩu"


def test_design_rules_example_parses():
    text = DESIGN.read_text(encoding="utf-8")
    block = text[text.index("Example rows (parsed by the test):"):]
    rows = [ln.strip() for ln in block.splitlines()[1:8] if ln.startswith("    ") and ln.strip()]
    rules = classify.parse_rules("\n".join(rows), "design.md")
    assert [(r.type_code, r.group) for r in rules] == [("32", "civil_status"), ("02", "*"), ("*", "land")]


def test_number_notation_date_organ_subject_from_word_boxes(fake_ocr):
    # the two header columns on one tesseract line, cut apart at the gap (L1)
    def row(left: str, right: str = "", centre: str = "") -> str:
        """A line of 20 px characters on a 2480 px page: left column, right column at 44, or centred."""
        if centre:
            return " " * (55 - len(centre) // 2) + centre
        return left.ljust(44) + right

    lines = [row("ỦY BAN NHÂN DÂN XÃ TÂN PHÚ", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"),
             row("", "   Độc lập - Tự do - Hạnh phúc"),
             row("Số: 12/QĐ-UBND", "Tân Phú, ngày 05 tháng 3 năm 2001"),
             row("", centre="QUYẾT ĐỊNH"),
             row("", centre="Về việc cấp giấy chứng nhận quyền sử dụng đất")]
    e = metadata.extract(fake_ocr(2480, 3508, lines), RULES)
    assert e.values["typeName"] == "02"
    assert e.values["codeNumber"] == "12" and e.values["codeNotation"] == "QĐ-UBND"
    assert e.values["issuedDate"] == "05/03/2001"
    assert e.values["organName"] == "ỦY BAN NHÂN DÂN XÃ TÂN PHÚ"
    assert e.values["subject"].startswith("Về việc cấp giấy")
    assert all(e.features[k]["found"] == 1.0 for k in ("codeNumber", "issuedDate", "organName", "subject"))


def test_metadata_tolerates_lost_diacritics_and_rejects_impossible_dates(fake_ocr):
    lines = ["UY BAN NHAN DAN XA HOA BINH".ljust(44) + "CONG HOA XA HOI CHU NGHIA VIET NAM",
             " " * 47 + "Doc lap - Tu do - Hanh phuc",
             "So 07/TTr-UBND".ljust(44) + "Hoa Binh, ngay 31 thang 2 nam 2019",
             " " * 51 + "TO TRINH"]
    e = metadata.extract(fake_ocr(2480, 3508, lines), RULES)
    assert (e.values["codeNumber"], e.values["codeNotation"]) == ("07", "TTr-UBND")
    assert e.features["codeNumber"]["accent"] == 0.0      # "So" without its accent is measured as such
    assert e.values["issuedDate"] == "31/02/2019"
    assert e.features["issuedDate"]["valid"] == 0.0        # no 31 February: the model sees it
    assert metadata.extract(fake_ocr(2480, 3508, ["không có số"]), RULES).values["codeNumber"] == ""


def test_header_columns_read_as_one_line_are_cut_at_the_motto_and_ocr_misreadings_of_the_number(fake_ocr):
    # one space between the columns: no gap to cut at, the national motto's first words cut it (L1)
    lines = ["ỦY BAN NHÂN DÂN XÃ PHƯỚC CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
             "LỘC".center(26) + " " * 21 + "Độc lập - Tự do - Hạnh phúc",
             "5Ô: Z5/TTr-UBND".ljust(44) + "Phước Lộc, ngày 12 tháng 6 năm 202]",
             " " * 38 + "TỜ TRÌNH"]
    e = metadata.extract(fake_ocr(2000, 2830, lines), RULES)  # a narrower page: the motto starts right of 30 %
    assert e.values["organName"] == "ỦY BAN NHÂN DÂN XÃ PHƯỚC LỘC"
    assert (e.values["codeNumber"], e.values["codeNotation"]) == ("25", "TTr-UBND")
    assert e.values["issuedDate"] == "12/06/2021"
    assert e.features["codeNumber"]["fixed_digits"] == 1.0  # the model knows digits were mended


def test_a_vv_subject_without_title_is_a_cong_van_whatever_its_words_match(fake_ocr):
    lines = ["ỦY BAN NHÂN DÂN XÃ ĐƯỜNG LÂM".ljust(44) + "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
             " " * 47 + "Độc lập - Tự do - Hạnh phúc",
             "Số: 192/UBND-ĐC".ljust(44) + "Đường Lâm, ngày 19 tháng 10 năm 2021",
             "V/v góp ý dự thảo Kế hoạch",
             "phát triển kinh tế - xã hội",
             "",
             "Kính gửi: Ủy ban nhân dân huyện"]
    e = metadata.extract(fake_ocr(2480, 3508, lines), RULES)
    assert (e.values["typeName"], e.values["label"]) == ("22", "Công văn")
    assert e.values["subject"] == "V/v góp ý dự thảo Kế hoạch phát triển kinh tế - xã hội"


def test_a_wrapped_body_name_is_not_taken_for_the_number(fake_ocr):
    lines = ["ỦY BAN NHÂN DÂN XÃ KIM".ljust(44) + "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
             "SƠN".center(22) + " " * 22 + "   Độc lập - Tự do - Hạnh phúc",
             "Số: 161/QĐ-UBND".ljust(44) + "Xã Kim Sơn, ngày 24 tháng 08 năm 2021",
             " " * 50 + "QUYẾT ĐỊNH"]
    e = metadata.extract(fake_ocr(2480, 3508, lines), RULES)
    assert (e.values["codeNumber"], e.values["codeNotation"]) == ("161", "QĐ-UBND")
    assert e.values["organName"] == "ỦY BAN NHÂN DÂN XÃ KIM SƠN"


def test_the_subject_stops_at_the_body_and_a_form_has_none(fake_ocr):
    head = ["ỦY BAN NHÂN DÂN XÃ TÂN PHÚ".ljust(44) + "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
            " " * 47 + "Độc lập - Tự do - Hạnh phúc",
            "Số: 30/TB-UBND".ljust(44) + "Tân Phú, ngày 05 tháng 3 năm 2021"]
    notice = head + [" " * 50 + "THÔNG BÁO",
                     " " * 30 + "Về việc lịch cắt điện trên địa bàn xã",
                     " " * 2 + "Bà Tạ Thanh Linh, sinh năm 1961, thường trú tại ấp Bình Tả, xã Tân Phú, huyện Đức"]
    assert metadata.extract(fake_ocr(2480, 3508, notice), RULES).values["subject"] == \
        "Về việc lịch cắt điện trên địa bàn xã"
    form = head + [" " * 47 + "GIẤY KHAI SINH", " " * 36 + "Họ, chữ đệm, tên: LÊ THU OANH"]
    assert metadata.extract(fake_ocr(2480, 3508, form), RULES).values["subject"] == ""


def test_a_speck_read_before_the_body_name_does_not_hide_its_parent(fake_ocr):
    # a scan's speck left of "ỦY" comes out of tesseract glued to the word (".ỦY")
    lines = ["UBND HUYỆN ĐỨC HÒA".ljust(44) + "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
             ".ỦY BAN NHÂN DÂN XÃ TÂN PHÚ".ljust(47) + "Độc lập - Tự do - Hạnh phúc",
             "Số: 31/TB-UBND".ljust(44) + "Tân Phú, ngày 20 tháng 8 năm 2001",
             " " * 50 + "THÔNG BÁO"]
    e = metadata.extract(fake_ocr(2480, 3508, lines), RULES)
    assert e.values["organName"] == "ỦY BAN NHÂN DÂN XÃ TÂN PHÚ"
    f = e.features["organName"]
    assert (f["parent"], f["prefix"], f["place_same"]) == (1.0, 1.0, 1.0)


def test_body_name_fixed_words_are_spelt_right_and_its_place_checked_against_the_date_line(fake_ocr):
    def page(organ: str, place: str):
        return fake_ocr(2480, 3508, [organ.ljust(44) + "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
                                     " " * 47 + "Độc lập - Tự do - Hạnh phúc",
                                     "Số: 30/TB-UBND".ljust(44) + f"{place}, ngày 05 tháng 3 năm 2021",
                                     " " * 50 + "THÔNG BÁO"])

    e = metadata.extract(page("ỦY BAN NHÂN ĐÂN XÃ QUẢNG ĐIỂN", "Quảng Điền"), RULES)
    # the fixed words mended; the place, no listed name as read, spelt as the one listed name with its letters
    assert e.values["organName"] == "ỦY BAN NHÂN DÂN XÃ QUẢNG ĐIỀN"
    f = e.features["organName"]
    assert (f["mended"], f["place_same"], f["place_conflict"]) == (1.0, 0.0, 1.0)  # one of the two is misread
    assert f["place_mended"] == 1.0
    f = metadata.extract(page("ỦY BAN NHÂN DÂN XÃ QUẢNG ĐIỀN", "Xã Quảng Điền"), RULES).features["organName"]
    assert (f["mended"], f["place_same"], f["place_conflict"]) == (0.0, 1.0, 0.0)
