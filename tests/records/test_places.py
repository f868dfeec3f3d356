"""Places in bodies' names read against the national list of administrative units (design §6.3 L4a)."""

from __future__ import annotations

from records import classify, metadata
from records.bodies import spell_body_line
from records.places import spell_place

RULES = classify.load_rules()


def test_a_place_read_with_other_marks_is_the_one_listed_name_with_its_letters():
    assert spell_place("ĐƯƠNG LAM") == ("ĐƯỜNG LÂM", "mended")
    assert spell_place("CÔ ĐÔNG").text == "CỔ ĐÔNG"
    assert spell_place("PHỦ HÒA ĐÔNG").text == "PHÚ HÒA ĐÔNG"


def test_a_listed_name_is_kept_as_read_whatever_the_other_line_says():
    # Tân Hòa and Tân Hóa are both communes: one read as the other cannot be told apart
    assert spell_place("TÂN HÒA", dated="Tân Hóa") == ("TÂN HÒA", "listed")
    assert spell_place("TÂN HÓA", dated="Tân Hòa") == ("TÂN HÓA", "listed")
    # the tone placed on the second vowel ("HOÀ") is the same name, kept as printed
    assert spell_place("HOÀ BÌNH") == ("HOÀ BÌNH", "listed")
    # its words glued: listed, spaced as the list spaces them
    assert spell_place("EAKTUR") == ("EA KTUR", "listed")


def test_letters_several_names_share_are_settled_only_by_the_place_and_date_line():
    # Cẩm Thành and other communes share these letters; "CẦM THÀNH" is none of them as read
    alone = spell_place("CẦM THÀNH")
    assert alone.how == "ambiguous" and alone.text == "CẦM THÀNH"
    assert spell_place("CẦM THÀNH", dated="Cẩm Thành") == ("CẨM THÀNH", "dated")
    # a place-and-date line that reads none of them settles nothing
    assert spell_place("CẦM THÀNH", dated="Cẫm Thạnh").how == "ambiguous"


def test_a_place_one_letter_off_needs_the_place_and_date_line_to_agree():
    assert spell_place("QUẢNG ĐIỂÊN") == ("QUẢNG ĐIỂÊN", "unlisted")
    assert spell_place("QUẢNG ĐIỂÊN", dated="Quảng Điền") == ("QUẢNG ĐIỀN", "dated")
    # two letters off: left as read, even with the line's help
    assert spell_place("KIAI SƠN", dated="Kim Sơn") == ("KIAI SƠN", "unlisted")
    # a short place is not mended by one edit: one edit turns one short name into another
    assert spell_place("AN BÌH", dated="An Bình").how == "unlisted"


def test_a_unit_glued_to_the_body_or_to_its_place_is_split_off():
    assert spell_body_line("ỦY BAN NHÂN DÂNXÃNGHI PHÒNG") == ("ỦY BAN NHÂN DÂN XÃ NGHI PHÒNG", 2)
    assert spell_body_line("ỦY BAN NHÂN DÂN XÃNGHIỊ PHÒNG")[0] == "ỦY BAN NHÂN DÂN XÃ NGHIỊ PHÒNG"
    # a place that starts with a unit's letters is not cut, nor one after a unit
    assert spell_body_line("UBND XÃ XANH") == ("UBND XÃ XANH", 0)
    assert spell_body_line("ỦY BAN NHÂN DÂN XÃ XUÂN THỚI SƠN") == ("ỦY BAN NHÂN DÂN XÃ XUÂN THỚI SƠN", 0)


def _headed(fake_ocr, organ: str, place_date: str):
    lines = [organ.ljust(44) + "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
             "".ljust(47) + "Độc lập - Tự do - Hạnh phúc",
             "Số: 261/TB-UBND".ljust(46) + place_date, "", " " * 50 + "THÔNG BÁO"]
    return metadata.extract(fake_ocr(2480, 3508, lines), RULES)


def test_the_issuing_body_takes_the_listed_spelling_and_says_so(fake_ocr):
    e = _headed(fake_ocr, "ỦY BAN NHÂN DÂN XÃ ĐƯƠNG LAM", "Đường Lâm, ngày 22 tháng 11 năm 2019")
    assert e.values["organName"] == "ỦY BAN NHÂN DÂN XÃ ĐƯỜNG LÂM"
    f = e.features["organName"]
    assert (f["place_mended"], f["place_listed"], f["place_conflict"]) == (1.0, 0.0, 1.0)
    e = _headed(fake_ocr, "ỦY BAN NHÂN DÂN XÃ TÂN PHÚ", "Tân Phú, ngày 22 tháng 11 năm 2019")
    assert e.values["organName"] == "ỦY BAN NHÂN DÂN XÃ TÂN PHÚ"
    assert (e.features["organName"]["place_listed"], e.features["organName"]["place_same"]) == (1.0, 1.0)
    # a place the list does not hold (a hamlet's name, a new commune) is kept as read
    e = _headed(fake_ocr, "ỦY BAN NHÂN DÂN XÃ QWERTZ", "Qwertz, ngày 22 tháng 11 năm 2019")
    assert e.values["organName"] == "ỦY BAN NHÂN DÂN XÃ QWERTZ"
    assert e.features["organName"]["place_mended"] == 0.0
