"""The number's and the date's lines read a second time on their own (design §6.3 L3a, L5a), with real tesseract."""

from __future__ import annotations

import asyncio

from PIL import Image, ImageDraw

from firmware_agent.records import samples
from records import classify, metadata
from records.confidence import score
from records.ocr import OcrQueue, OcrResult, Word, run_tesseract
from records.reread import date_box, number_box, reread_header

DPI = 200
RULES = classify.load_rules()


def test_the_number_line_is_read_again_alone_and_kept_in_page_coordinates(tmp_path, nd30_page):
    page = nd30_page(organ=("UBND HUYỆN ĐỨC HÒA", "ỦY BAN NHÂN DÂN XÃ YÊN LẠC"), number="29/TB-UBND",
                     place_date="Yên Lạc, ngày 17 tháng 6 năm 2021", title=("THÔNG BÁO",),
                     subject=("Về việc niêm yết công khai danh sách",))
    path = tmp_path / "page.png"
    samples.scanned(page, seed=7, angle=0.3, noise=3.0).save(path, dpi=(DPI, DPI))
    ocr = run_tesseract(path, dpi=DPI)
    box = number_box(ocr)
    assert box is not None
    reread_header(path, ocr, niceness=0)
    words = ocr.reread["number"]
    assert " ".join(w.text for w in words).replace(" ", "").endswith("29/TB-UBND")
    x0, y0, x1, y1 = box
    for w in words:  # the second read's boxes are on the page, inside the line's box
        assert x0 <= w.left and w.left + w.width <= x1 and y0 <= w.top and w.top + w.height <= y1
    # it travels with the page's OCR (the journal keeps the JSON) and the number is taken from it
    again = OcrResult.from_json(ocr.to_json())
    assert [(w.text, w.left, w.top) for w in again.reread["number"]] == [(w.text, w.left, w.top) for w in words]
    e = metadata.extract(again, RULES)
    assert (e.values["codeNumber"], e.values["codeNotation"]) == ("29", "TB-UBND")
    assert (e.features["codeNumber"]["reread"], e.features["codeNumber"]["reread_agree"]) == (1.0, 1.0)
    # the crop is made beside the page and removed (a secret page's folder is scrubbed whole)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["page.png"]


def test_the_stations_ocr_queue_reads_the_number_line_twice_and_the_json_keeps_it(tmp_path, nd30_page):
    # the path the records task takes for every page: OcrQueue.ocr, then the OCR JSON into the journal
    page = nd30_page(organ=("ỦY BAN NHÂN DÂN XÃ TÂN PHÚ",), number="394/QĐ-UBND",
                     place_date="Tân Phú, ngày 08 tháng 6 năm 2022", title=("QUYẾT ĐỊNH",))
    path = tmp_path / "page.png"
    samples.scanned(page, seed=11, angle=0.2, noise=2.0).save(path, dpi=(DPI, DPI))
    stored = asyncio.run(OcrQueue(workers=1, niceness=0).ocr(path, DPI)).to_json()
    assert "394/QĐ-UBND" in " ".join(w[0] for w in stored["reread"]["number"]).replace(" ", "")
    e = metadata.extract(OcrResult.from_json(stored), RULES)
    assert (e.values["codeNumber"], e.features["codeNumber"]["reread"]) == ("394", 1.0)
    # switched off, the page is read once
    assert "reread" not in asyncio.run(OcrQueue(workers=1, niceness=0, reread=False).ocr(path, DPI)).to_json()


def test_a_page_without_a_number_line_is_not_read_again(tmp_path):
    path = tmp_path / "plain.png"
    page = Image.new("L", (1654, 2339), 255)
    ImageDraw.Draw(page).text((200, 300), "GIAY KHAI SINH", fill=0, font_size=60)
    page.save(path, dpi=(DPI, DPI))
    ocr = run_tesseract(path, dpi=DPI)
    assert number_box(ocr) is None
    assert reread_header(path, ocr, niceness=0).reread == {}


def _headed(fake_ocr, number: str, again: list[tuple[str, float]] | None):
    lines = ["ỦY BAN NHÂN DÂN XÃ YÊN LẠC".ljust(44) + "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
             " " * 47 + "Độc lập - Tự do - Hạnh phúc",
             number.ljust(46) + "Yên Lạc, ngày 17 tháng 6 năm 2021", "", " " * 50 + "THÔNG BÁO"]
    ocr = fake_ocr(2480, 3508, lines)
    if again is not None:
        ocr.reread["number"] = [Word(t, 150 + 200 * i, 340, 180, 40, c, -1) for i, (t, c) in enumerate(again)]
    return metadata.extract(ocr, RULES)


def test_the_line_read_alone_wins_unless_it_is_unsure_and_the_page_surer(fake_ocr):
    # the page's line, read beside the date line, misread a digit with a high confidence (95 here)
    e = _headed(fake_ocr, "Số: 22/TB-UBND", [("Số:", 96.0), ("29/TB-UBND", 91.0)])
    assert e.values["codeNumber"] == "29"
    assert (e.features["codeNumber"]["reread"], e.features["codeNumber"]["reread_agree"]) == (1.0, 0.0)
    # a second read tesseract itself doubts (under 50) loses to a surer page read
    e = _headed(fake_ocr, "Số: 433/GM-UBND", [("Số:", 94.6), ("153/0M-UBND", 10.4)])
    assert (e.values["codeNumber"], e.values["codeNotation"]) == ("433", "GM-UBND")
    # a second read with no number in it changes nothing; none at all neither
    assert _headed(fake_ocr, "Số: 433/GM-UBND", [("Sô", 40.0)]).values["codeNumber"] == "433"
    e = _headed(fake_ocr, "Số: 433/GM-UBND", None)
    assert (e.values["codeNumber"], e.features["codeNumber"]["reread"]) == ("433", 0.0)


def test_the_date_line_is_read_again_from_the_colour_page(tmp_path, nd30_page):
    page = nd30_page(organ=("ỦY BAN NHÂN DÂN XÃ TÂN PHÚ",), number="394/QĐ-UBND",
                     place_date="Tân Phú, ngày 08 tháng 6 năm 2022", title=("QUYẾT ĐỊNH",))
    colour = tmp_path / "page.jpg"
    samples.scanned(page, seed=11, angle=0.2, noise=2.0).convert("RGB").save(colour, quality=90, dpi=(DPI, DPI))
    bitonal = tmp_path / "page.png"
    Image.open(colour).convert("L").point(lambda v: 255 if v > 150 else 0).convert("1").save(bitonal, dpi=(DPI, DPI))
    stored = asyncio.run(OcrQueue(workers=1, niceness=0).ocr(bitonal, DPI, second=colour)).to_json()
    text = " ".join(w[0] for w in stored["reread"]["date"])
    assert "08" in text and "2022" in text
    ocr = OcrResult.from_json(stored)
    box = date_box(ocr)
    # the same line at twice its size is read a third time (L5b), its words brought back to the page's scale
    assert "08" in " ".join(w[0] for w in stored["reread"]["date_large"])
    for w in ocr.reread["date"] + ocr.reread["date_large"]:  # in page coordinates, inside the line's box
        assert box[0] <= w.left and w.left + w.width <= box[2] and box[1] <= w.top and w.top + w.height <= box[3]
    e = metadata.extract(ocr, RULES)
    assert e.values["issuedDate"] == "08/06/2022"
    assert (e.features["issuedDate"]["reread"], e.features["issuedDate"]["reread_agree"]) == (1.0, 1.0)
    assert e.features["issuedDate"]["third_agree"] == 1.0 and e.features["issuedDate"]["doubt"] == 0.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["page.jpg", "page.png"]  # no crop left behind


def _dated(fake_ocr, again: list[str] | None, large: list[str] | None = None):
    lines = ["ỦY BAN NHÂN DÂN XÃ YÊN LẠC".ljust(44) + "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
             " " * 47 + "Độc lập - Tự do - Hạnh phúc",
             "Số: 29/TB-UBND".ljust(46) + "Yên Lạc, ngày 16 tháng 10 năm 2021", "", " " * 50 + "THÔNG BÁO"]
    ocr = fake_ocr(2480, 3508, lines)
    for key, words in (("date", again), ("date_large", large)):
        if words is not None:
            ocr.reread[key] = [Word(t, 1400 + 150 * i, 340, 140, 40, 95.0, -1) for i, t in enumerate(words)]
    return metadata.extract(ocr, RULES)


def test_a_date_the_second_read_disagrees_with_is_held(fake_ocr):
    # the bitonal page read "16", the colour page "18": which is right needs a person
    e = _dated(fake_ocr, "Yên Lạc, ngày 18 tháng 10 năm 2021".split())
    assert e.values["issuedDate"] == "16/10/2021" and e.features["issuedDate"]["doubt"] == 1.0
    assert score("issuedDate", e.features["issuedDate"]) <= 0.5  # under every threshold: held
    agreed = _dated(fake_ocr, "Yên Lạc, ngày 16 tháng 10 năm 2021".split())
    assert agreed.features["issuedDate"]["doubt"] == 0.0 and agreed.features["issuedDate"]["reread_agree"] == 1.0
    # a second read with no date in it, or none at all, changes nothing
    for again in (["Yên", "Lạc,"], None):
        e = _dated(fake_ocr, again)
        assert e.features["issuedDate"]["doubt"] == 0.0 and e.features["issuedDate"]["reread"] == 0.0


def test_three_reads_vote_and_a_disagreement_with_the_colour_read_is_held(fake_ocr):
    def line(day: str) -> list[str]:
        return f"Yên Lạc, ngày {day} tháng 10 năm 2021".split()

    def date(again, large):
        e = _dated(fake_ocr, line(again) if again else None, line(large) if large else None)
        return e.values["issuedDate"], e.features["issuedDate"]["doubt"]

    assert date("16", "16") == ("16/10/2021", 0.0)   # the page's read, the colour line's and the enlarged one's
    assert date("18", "18") == ("18/10/2021", 1.0)   # two reads against the page's: theirs, and held
    # the enlarged read alone against two: theirs, not held (it misreads more often than they do)
    assert date("16", "18") == ("16/10/2021", 0.0)
    assert date(None, "18") == ("16/10/2021", 0.0)   # one read each: the page's keeps the tie
    assert date("18", "19") == ("16/10/2021", 1.0)   # three dates: the page's, held
    # figures mended from letters ("1S": an S is a 5 or an 8) count half: two of them tie with
    # the page's clean read, which keeps it
    assert date("1S", "1S") == ("16/10/2021", 1.0)
