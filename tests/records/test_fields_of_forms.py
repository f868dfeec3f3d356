"""Type and issuing body of printed forms and two-line titles, and body names spelt from their vocabulary (no OCR)."""

from __future__ import annotations

from records import classify, metadata
from records.bodies import spell_body_line, spell_body_lines
from records.text import word_substring_distance

RULES = classify.load_rules()
RIGHT = " " * 90  # the right half of a landscape sheet, in fake_ocr's 20 px characters


def _land_certificate(fake_ocr, title: list[str]):
    lines = ["I. Người sử dụng đất, chủ sở hữu nhà ở".ljust(90) + "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
             "Ông: TRẦN NGỌC AN".ljust(90) + "  Độc lập - Tự do - Hạnh phúc",
             "Sinh năm: 1971", ""]
    lines += [RIGHT + "    " + t for t in title]
    lines += ["", RIGHT + "      BX 123456", "", RIGHT + "Đức Hòa, ngày 18 tháng 10 năm 2021",
              RIGHT + "     TM. ỦY BAN NHÂN DÂN", RIGHT + "       KT. CHỦ TỊCH"]
    return fake_ocr(3508, 2480, lines)


def test_land_certificate_is_named_by_its_whole_two_line_title_and_its_body_is_the_signing_district(fake_ocr):
    e = metadata.extract(_land_certificate(fake_ocr, ["GIẤY CHỨNG NHẬN", "QUYỀN SỬ DỤNG ĐẤT, QUYỀN SỞ HỮU NHÀ Ở",
                                                       "VÀ TÀI SẢN KHÁC GẮN LIỀN VỚI ĐẤT"]), RULES)
    assert (e.values["typeName"], e.values["label"]) == ("32", "Giấy chứng nhận quyền sử dụng đất")
    assert e.values["group"] == "land"
    # the holder's line ("Ông: …") is a labelled field, never the issuing body
    assert e.values["organName"] == "ỦY BAN NHÂN DÂN HUYỆN ĐỨC HÒA"
    assert e.features["organName"]["signature"] == 1.0
    assert e.values["issuedDate"] == "18/10/2021"


def test_a_title_cut_short_by_ocr_is_not_a_shorter_title_that_ends_inside_one_of_its_words(fake_ocr):
    # only the first line of the certificate's title survived: "GIẤY CHỨNG SINH" is two edits
    # from "GIẤY CHỨNG NH", the inside of "GIẤY CHỨNG NHẬN", but not from its whole words
    c = classify.classify([], RULES, titles=["GIẤY CHỨNG NHẬN"])
    assert c.label != "Giấy chứng sinh"
    assert word_substring_distance("GIAY CHUNG SINH", "GIAY CHUNG NHAN QUYEN") == 4
    assert word_substring_distance("KHAI SINH", "SO KHA1 SlNH NAM") == 2  # OCR errors inside words still match
    assert classify.classify([], RULES, titles=["GIẤY CHỨNG SlNH"]).label == "Giấy chứng sinh"


def test_a_shorter_title_inside_the_matched_longer_one_is_no_rival():
    c = classify.classify([], RULES, titles=["GIẤY CHỨNG NHẬN QUYỀN SỬ DỤNG ĐẤT, QUYỀN SỞ HỮU NHÀ Ở "
                                             "VÀ TÀI SẢN KHÁC GẮN LIỀN VỚI ĐẤT"])
    assert c.label == "Giấy chứng nhận quyền sử dụng đất"
    assert c.type_conf > 0.8  # "Giấy chứng nhận quyền sở hữu nhà ở" lies inside it: not a rival kind


def test_two_line_title_split_into_two_blocks_is_matched_whole(fake_ocr):
    mid = " " * 40
    lines = ["ỦY BAN NHÂN DÂN".ljust(44) + "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
             "XÃ CẨM THÀNH".ljust(47) + "Độc lập - Tự do - Hạnh phúc",
             "Số: 715/XNTTHN", "", mid + "GIẤY XÁC NHẬN", "", mid + "TÌNH TRẠNG HÔN NHÂN",
             "Xét đề nghị của ông/bà: NGUYỄN VĂN AN"]
    e = metadata.extract(fake_ocr(2480, 3508, lines), RULES)
    assert e.values["label"] == "Giấy xác nhận tình trạng hôn nhân"
    assert e.classification.type_conf > 0.8


def test_body_name_words_are_spelt_from_the_vocabulary_and_the_place_is_left_as_read():
    assert spell_body_line("PHÒNG TÀI NGUYÊN VÀ MỖI TRƯỜNG") == ("PHÒNG TÀI NGUYÊN VÀ MÔI TRƯỜNG", 1)
    assert spell_body_line("VÀ MỖI TRƯỜNG") == ("VÀ MÔI TRƯỜNG", 1)  # a name's second line
    assert spell_body_line("Y BAN NHÂN DÂN XÃ HÒA BÌNH") == ("ỦY BAN NHÂN DÂN XÃ HÒA BÌNH", 1)  # a lost letter
    assert spell_body_line("ỦY BAN NHÂN DÂN XÃ CẦM THÀNH") == ("ỦY BAN NHÂN DÂN XÃ CẦM THÀNH", 0)
    assert spell_body_line("UBND HUYỆN YÊN THÀNH") == ("UBND HUYỆN YÊN THÀNH", 0)
    assert spell_body_line("CÔNG TY ABC") == ("CÔNG TY ABC", 0)  # not a body's words: kept as read


def test_a_mended_body_name_is_marked_for_its_confidence(fake_ocr):
    lines = ["UBND HUYỆN ĐỨC HÒA".ljust(44) + "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
             "PHÒNG TÀI NGUYÊN VÀ MỖI TRƯỜNG".ljust(47) + "Độc lập - Tự do - Hạnh phúc",
             "Số: 12/TB-TNMT".ljust(44) + "Đức Hòa, ngày 05 tháng 3 năm 2024",
             " " * 50 + "THÔNG BÁO"]
    e = metadata.extract(fake_ocr(2480, 3508, lines), RULES)
    assert e.values["organName"] == "PHÒNG TÀI NGUYÊN VÀ MÔI TRƯỜNG"
    assert e.features["organName"]["mended"] == 1.0


def test_a_place_wrapped_onto_the_next_line_is_left_as_read():
    # "PHONG" of the commune Nghi Phong, wrapped, is the place, not the word PHÒNG
    assert spell_body_lines(["ỦY BAN NHÂN DÂN XÃ NGHI", "PHONG"]) == (["ỦY BAN NHÂN DÂN XÃ NGHI", "PHONG"], 0)
    assert spell_body_lines(["PHÒNG TÀI NGUYÊN", "VÀ MỖI TRƯỜNG"]) == (["PHÒNG TÀI NGUYÊN", "VÀ MÔI TRƯỜNG"], 1)
    assert spell_body_lines(["UBND HUYỆN THỌ XUÂN", "ỦY BAN NHÂN ĐÂN XÃ KIM SƠN"]) == (
        ["UBND HUYỆN THỌ XUÂN", "ỦY BAN NHÂN DÂN XÃ KIM SƠN"], 1)  # a body's line under its parent's


def _dated(fake_ocr, date_lines: list[str], body: str = ""):
    lines = ["ỦY BAN NHÂN DÂN XÃ TAM HIỆP".ljust(44) + "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
             " " * 47 + "Độc lập - Tự do - Hạnh phúc"]
    lines += [("Số: 435/BB-UBND" if i == 0 else "").ljust(46) + d for i, d in enumerate(date_lines)]
    lines += ["", " " * 50 + "BIÊN BẢN", body]
    return metadata.extract(fake_ocr(2480, 3508, lines), RULES)


def test_issued_date_wrapped_over_two_lines_misread_digits_and_numeric_dates(fake_ocr):
    e = _dated(fake_ocr, ["Tam Hiệp, ngày 15 tháng 7", "năm 2020"])
    assert e.values["issuedDate"] == "15/07/2020"
    assert e.features["issuedDate"]["wrapped"] == 1.0
    e = _dated(fake_ocr, ["Tam Hiệp, ngày 1Š tháng Ø7 năm 2020"])  # italic 5 and 0 read as letters
    assert (e.values["issuedDate"], e.features["issuedDate"]["fixed_digits"]) == ("15/07/2020", 1.0)
    e = _dated(fake_ocr, ["Tam Hiệp, ngày 04 tháng 1S năm 2021"])  # mended into no date: not a date
    assert e.values["issuedDate"] == ""
    # a letter after a figure no two-figure month begins with is a mark beside it; § is an 8
    e = _dated(fake_ocr, ["Tam Hiệp, ngày 04 tháng 5Š năm 2021"])
    assert (e.values["issuedDate"], e.features["issuedDate"]["fixed_digits"]) == ("04/05/2021", 1.0)
    e = _dated(fake_ocr, ["Tam Hiệp, ngày 02 tháng 0§ năm 2020"])
    assert (e.values["issuedDate"], e.features["issuedDate"]["fixed_digits"]) == ("02/08/2020", 1.0)
    e = _dated(fake_ocr, ["Tân Phú, ngày Ì 9 thúng 08 năm 2020"])  # a 1 read apart, tháng read thúng
    assert e.values["issuedDate"] == "19/08/2020"
    e = _dated(fake_ocr, ["Tam Hiệp, ngày 05/3/2024"])
    assert e.values["issuedDate"] == "05/03/2024"
    # a numeric date in the text is not the issued date, which follows its place and a comma
    e = _dated(fake_ocr, ["Tam Hiệp, ngày ?3 tháng 9 năm 2020"], "Thời gian thực hiện từ ngày 12/08/2021.")
    assert e.values["issuedDate"] == ""


def test_a_notation_whose_type_part_is_one_letter_off_the_title_is_mended(fake_ocr):
    def page(number: str, title: str):
        return metadata.extract(fake_ocr(2480, 3508, [
            "ỦY BAN NHÂN DÂN XÃ TAM HIỆP".ljust(44) + "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
            " " * 47 + "Độc lập - Tự do - Hạnh phúc",
            number.ljust(46) + "Tam Hiệp, ngày 05 tháng 3 năm 2024", "", " " * 50 + title]), RULES)

    for read in ("Số: 326/TT-UBND", "Số: 326/T1r-UBND"):
        e = page(read, "TỜ TRÌNH")
        assert (e.values["codeNotation"], e.features["codeNotation"]["notation_mended"]) == ("TTr-UBND", 1.0)
    e = page("Số: 288/CP-UBND", "CÔNG ĐIỆN")
    assert e.values["codeNotation"] == "CĐ-UBND"
    e = page("Số: 12/QĐ-UBND", "TỜ TRÌNH")  # two letters off: another type's notation, left as read
    assert (e.values["codeNotation"], e.features["codeNotation"]["notation_mended"]) == ("QĐ-UBND", 0.0)


def test_subject_copy_mark_and_a_misread_v_v_under_a_petitions_title(fake_ocr):
    def page(under: str, title: str = "ĐƠN ĐỀ NGHỊ"):
        return metadata.extract(fake_ocr(2480, 3508, [
            " " * 44 + "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", " " * 47 + "Độc lập - Tự do - Hạnh phúc", "",
            " " * 50 + title, " " * 44 + under, "", "Kính gửi: Ủy ban nhân dân xã Tam Hiệp"]), RULES)

    assert page("(V⁄% xác nhận nơi cư trú)").values["subject"] == "V/v xác nhận nơi cư trú"
    assert page("V⁄%v xác nhận tình trạng hôn nhân").values["subject"] == "V/v xác nhận tình trạng hôn nhân"
    assert page("VW cấp lại bản sao Giấy khai sinh").values["subject"] == "V/v cấp lại bản sao Giấy khai sinh"
    assert page("- (Bảnsao)", "TRÍCH LỤC KHAI SINH").values["subject"] == ""  # the copy mark, not a subject


def test_body_words_read_as_one_and_specks_read_as_marks():
    assert spell_body_line("ỦY BAN NHÂNDÂN XÃ CỔ ĐÔNG") == ("ỦY BAN NHÂN DÂN XÃ CỔ ĐÔNG", 3)
    assert spell_body_line("ỦY BAN NHÂN DÂN ˆ XÃ VĨNH LỘC") == ("ỦY BAN NHÂN DÂN XÃ VĨNH LỘC", 1)
    assert spell_body_line("PHÒNG TÀI CHÍNH - KẾ HOẠCH") == ("PHÒNG TÀI CHÍNH - KẾ HOẠCH", 0)  # a dash is a word


def test_a_letter_vietnamese_does_not_write_marks_the_body_name(fake_ocr):
    lines = ["CÔNG AN XÃ TAM HIƑP".ljust(44) + "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
             " " * 47 + "Độc lập - Tự do - Hạnh phúc", "Số: 12/TB-CAX", "", " " * 50 + "THÔNG BÁO"]
    assert metadata.extract(fake_ocr(2480, 3508, lines), RULES).features["organName"]["odd_letters"] == 1.0


def _headed(fake_ocr, organ: list[str], number: str, title: str = "THÔNG BÁO"):
    lines = [organ[0].ljust(44) + "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
             (organ[1] if len(organ) > 1 else "").ljust(47) + "Độc lập - Tự do - Hạnh phúc",
             number.ljust(46) + "Bình Mỹ, ngày 22 tháng 11 năm 2019", "", " " * 50 + title]
    return metadata.extract(fake_ocr(2480, 3508, lines), RULES)


def test_a_number_whose_so_is_read_with_a_digit_for_its_vowel(fake_ocr):
    # tesseract reads the "ố" of "Số:" as 6 or 0: the label, not the document's number
    for read in ("S6: 261/TB-UBND", "S0: 261/TB-UBND"):
        e = _headed(fake_ocr, ["ỦY BAN NHÂN DÂN XÃ BÌNH MỸ"], read)
        assert (e.values["codeNumber"], e.values["codeNotation"]) == ("261", "TB-UBND")


def test_a_number_whose_so_is_misread_or_follows_a_speck(fake_ocr):
    # tesseract reads "Số:" as "Sẽ:", a speck before it as a word of its own, the slash as another
    for read in ("Sẽ: 77/GM-UBND", "- Số: 77/GM-UBND", "l Số: 77/GM-UBND", "| Sẽ: 77/GM-UBND",
                 "Số: 77\u2044GM-UBND"):  # and its slash as a fraction slash
        e = _headed(fake_ocr, ["ỦY BAN NHÂN DÂN XÃ BÌNH MỸ"], read, "GIẤY MỜI")
        assert (e.values["codeNumber"], e.values["codeNotation"]) == ("77", "GM-UBND"), read
    # a line that only ends in a speck and a label is still no number line
    for read in ("Sơn: 77/GM-UBND", "- ngày 12/3", "Xã: 77/GM-UBND"):
        assert _headed(fake_ocr, ["ỦY BAN NHÂN DÂN XÃ BÌNH MỸ"], read, "GIẤY MỜI").values["codeNumber"] == "", read


def test_a_notation_glued_to_its_number_without_the_slash(fake_ocr):
    e = _headed(fake_ocr, ["ỦY BAN NHÂN DÂN XÃ BÌNH MỸ"], "Số: 176UBND-VHXH", "GIẤY MỜI")
    assert (e.values["codeNumber"], e.values["codeNotation"]) == ("176", "UBND-VHXH")
    e = _headed(fake_ocr, ["ỦY BAN NHÂN DÂN XÃ BÌNH MỸ"], "Số: 130GM-UBND.", "GIẤY MỜI")
    assert (e.values["codeNumber"], e.values["codeNotation"]) == ("130", "GM-UBND")
    e = _headed(fake_ocr, ["ỦY BAN NHÂN DÂN XÃ BÌNH MỸ"], "Số: 715 XNTTHN", "GIẤY MỜI")
    assert (e.values["codeNumber"], e.values["codeNotation"]) == ("715", "")  # no dash: not a notation


def test_a_parent_line_whose_abbreviation_is_misread_or_glued_to_its_unit(fake_ocr):
    for parent in ("ĐBND HUYỆN NGHI LỘC", "UBNDTỈNH THÁI BÌNH", "UBNDHUYỆN MỸ ĐỨC"):
        e = _headed(fake_ocr, [parent, "ỦY BAN NHÂN DÂN XÃ BÌNH MỸ"], "Số: 261/TB-UBND")
        assert e.values["organName"] == "ỦY BAN NHÂN DÂN XÃ BÌNH MỸ", parent
        assert e.features["organName"]["parent"] == 1.0
    # a whole name over the place it continues is one body, not a parent and its child
    e = _headed(fake_ocr, ["ỦY BAN NHÂN DÂN", "XÃ BÌNH MỸ"], "Số: 261/TB-UBND")
    assert e.values["organName"] == "ỦY BAN NHÂN DÂN XÃ BÌNH MỸ"


def test_a_civil_status_forms_notation_one_letter_off_is_the_forms_own(fake_ocr):
    def form(number: str, title: list[str]):
        lines = ["ỦY BAN NHÂN DÂN".ljust(44) + "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
                 "XÃ EA KTUR".ljust(47) + "Độc lập - Tự do - Hạnh phúc", number, ""]
        lines += [" " * 40 + t for t in title] + ["Họ, chữ đệm, tên người đã chết: LÝ THỊ ANH"]
        return metadata.extract(fake_ocr(2480, 3508, lines), RULES)

    e = form("Số: 564/TLKEBS", ["TRÍCH LỤC KHAI TỬ"])
    assert (e.values["codeNotation"], e.features["codeNotation"]["notation_mended"]) == ("TLKT-BS", 1.0)
    e = form("Số: 149/XNTIHN", ["GIẤY XÁC NHẬN", "", "TÌNH TRẠNG HÔN NHÂN"])
    assert e.values["codeNotation"] == "XNTTHN"
    # another form's own notation is printed, not misread: left as read
    e = form("Số: 564/TLKS-BS", ["TRÍCH LỤC KHAI TỬ"])
    assert (e.values["codeNotation"], e.features["codeNotation"]["notation_mended"]) == ("TLKS-BS", 0.0)


def test_a_body_names_place_read_as_one_word_is_spaced_as_the_date_line_spaces_it(fake_ocr):
    lines = ["ỦY BAN NHÂN DÂN XÃ KIMSƠN".ljust(44) + "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
             " " * 47 + "Độc lập - Tự do - Hạnh phúc",
             "Số: 12/QĐ-UBND".ljust(46) + "Kim Sơn, ngày 05 tháng 3 năm 2024", "", " " * 50 + "QUYẾT ĐỊNH"]
    assert metadata.extract(fake_ocr(2480, 3508, lines), RULES).values["organName"] == "ỦY BAN NHÂN DÂN XÃ KIM SƠN"
    # other letters (not only the space) differ: left as read (one letter off, the listed name the
    # date line reads would mend it, L4a: two off here)
    lines[0] = "ỦY BAN NHÂN DÂN XÃ KIMSƠMM".ljust(44) + "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    assert metadata.extract(fake_ocr(2480, 3508, lines), RULES).values["organName"] == "ỦY BAN NHÂN DÂN XÃ KIMSƠMM"


def test_a_notation_split_by_a_space_is_joined(fake_ocr):
    # one notation has no space (NĐ 30/2020 Phụ lục III); the gap OCR left after its first letter is not its end
    e = _headed(fake_ocr, ["ỦY BAN NHÂN DÂN XÃ HƯNG ĐẠO"], "Số: 827/T LKT-BS", "TRÍCH LỤC KHAI TỬ")
    assert (e.values["codeNumber"], e.values["codeNotation"]) == ("827", "TLKT-BS")
    e = _headed(fake_ocr, ["ỦY BAN NHÂN DÂN XÃ HƯNG ĐẠO"], "Số: 12/QĐ-UBND ngày")
    assert e.values["codeNotation"] == "QĐ-UBND"  # a word without a dash is not part of it


def test_a_cong_vans_subject_stops_at_its_urgency_mark(fake_ocr):
    # ô 10b under the trích yếu: "HỎA TỐC" is the urgency, not the subject's last line
    lines = ["ỦY BAN NHÂN DÂN XÃ BÌNH MỸ".ljust(44) + "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
             " " * 47 + "Độc lập - Tự do - Hạnh phúc",
             "Số: 12/UBND-VP".ljust(46) + "Bình Mỹ, ngày 22 tháng 11 năm 2019",
             "V/v rà soát, cập nhật dữ liệu", "dân cư trên địa bàn xã", "HỎA TỐC", "",
             " " * 10 + "Kính gửi: Các thôn"]
    e = metadata.extract(fake_ocr(2480, 3508, lines), RULES)
    assert e.values["subject"] == "V/v rà soát, cập nhật dữ liệu dân cư trên địa bàn xã"


def test_a_subject_skips_specks_and_stops_at_the_bodys_indented_first_line(fake_ocr):
    def page(*under: str):
        return metadata.extract(fake_ocr(2480, 3508, [
            "ỦY BAN NHÂN DÂN XÃ BÌNH MỸ".ljust(44) + "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
            " " * 47 + "Độc lập - Tự do - Hạnh phúc", "Số: 89/CT-UBND".ljust(46) + "Bình Mỹ, ngày 25 tháng 7 năm 2023",
            "", " " * 52 + "CHỈ THỊ", *under]), RULES).values["subject"]

    # a speck beside the lines (read as ":") does not end the subject
    assert page(" " * 18 + "Về việc hỗ trợ kinh phí sửa chữa nhà ở cho hộ gia đình có hoàn",
                " " * 20 + ":" + " " * 26 + "cảnh khó khăn") == \
        "Về việc hỗ trợ kinh phí sửa chữa nhà ở cho hộ gia đình có hoàn cảnh khó khăn"
    # the body's first line, indented from the margin, starts well left of the centred subject
    assert page(" " * 19 + "Về việc tăng cường công tác văn thư, lưu trữ trên địa bàn xã",
                " " * 8 + "Thời gian thực hiện từ ngày 25/11/2023 đến hết ngày 14/11/2023.") == \
        "Về việc tăng cường công tác văn thư, lưu trữ trên địa bàn xã"
