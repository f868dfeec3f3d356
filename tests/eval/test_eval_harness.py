"""The evaluation harness itself: a deterministic corpus, ground truth where the pixels are, a scorer that says no.

Small and fast: pages at 60-100 dpi, fonts from fonts-dejavu-core only (the
corpus's other fonts come with `make eval`).
"""

from __future__ import annotations

import json
import random

import cv2
import numpy as np
import pytest

from eval import corpus, degrade, documents, render, score, textmetrics
from eval.degrade import Degradation, scan_sheet

DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"
DEJAVU_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf"


@pytest.fixture
def core_style(monkeypatch):
    monkeypatch.setitem(render.FAMILIES, "core", (DEJAVU, DEJAVU_BOLD, DEJAVU, DEJAVU_BOLD))
    return render.Style("core", 13.0, 12.5, 14.0, 11.5, 1.3, (30, 20, 15, 20), DEJAVU, 1.0)


def test_plan_is_the_same_for_the_same_seed_and_differs_for_another():
    a = corpus.plan(11, 30)
    b = corpus.plan(11, 30)
    c = corpus.plan(12, 30)
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    assert json.dumps(a, sort_keys=True) != json.dumps(c, sort_keys=True)
    assert len(a["documents"]) == 30
    # every record file opens with its cover; PATCHT only between two documents of one record file
    by_id = {p["id"]: p for p in a["pages"]}
    for rf in a["record_files"]:
        roles = [by_id[p]["role"] for p in rf["pages"]]
        assert roles[0] == "cover"
        assert roles.count("patch") == len(rf["documents"]) - 1
        assert "cover" not in roles[1:]


def test_rendered_and_scanned_pages_are_byte_identical_for_a_seed(core_style):
    kind = documents.KIND_BY_KEY["quyet_dinh"]

    def make():
        doc = documents.make_document(random.Random(5), kind, commune="Tân Phú", district="Đức Hòa",
                                      province="Long An", year=2024, handwriting=False)
        page = render.render_page(doc.pages[0], core_style, 72, False, random.Random(9))
        deg = Degradation(dpi=72, skew_deg=2.0, noise=6, jpeg=60, falloff=0.3, coffee=1, stamp_over_text=True)
        return doc.fields, page, scan_sheet(page.image, page.content_box, deg, seed=3)

    f1, p1, s1 = make()
    f2, p2, s2 = make()
    assert f1 == f2 and f1["notation"].startswith("QĐ-")
    assert np.array_equal(p1.image, p2.image)
    assert [ln.printed for ln in p1.lines] == [ln.printed for ln in p2.lines]
    assert s1.stored == s2.stored and np.array_equal(s1.pixels, s2.pixels)
    drawn = " ".join(ln.printed for ln in p1.lines)
    assert f1["number"] in drawn and "QUYẾT ĐỊNH" in drawn


@pytest.mark.parametrize("orientation,skew", [(0, 2.5), (90, -1.0), (180, 4.0), (270, 0.0)])
def test_sheet_and_content_boxes_are_where_the_paper_and_ink_are(orientation, skew):
    dpi = 60
    h, w = round(297 * dpi / 25.4), round(210 * dpi / 25.4)
    sheet = np.full((h, w, 3), 255, np.uint8)
    box = (40, 60, 120, 200)  # the only ink: a black block
    sheet[box[1]:box[3], box[0]:box[2]] = 0
    deg = Degradation(dpi=dpi, orientation=orientation, skew_deg=skew, border="dark",
                      margins_mm=(6.0, 4.0, 9.0, 5.0), offset_mm=(1.0, -1.0))
    sc = scan_sheet(sheet, box, deg, seed=1)
    paper = sc.pixels if sc.pixels.ndim == 2 else sc.pixels[..., 0]
    quad = np.array(sc.sheet_quad, np.float32)
    inside = np.zeros(paper.shape, np.uint8)
    cv2.fillPoly(inside, [np.round(quad).astype(np.int32)], 1)
    inner = cv2.erode(inside, np.ones((5, 5), np.uint8))
    inner[:3], inner[-3:], inner[:, :3], inner[:, -3:] = 0, 0, 0, 0  # a turned sheet may run off the canvas
    outer = 1 - cv2.dilate(inside, np.ones((5, 5), np.uint8))
    light = paper > 128
    # the paper is inside the quad, the dark scanner border outside it
    assert light[(inner == 1)].mean() > 0.9
    assert light[(outer == 1)].mean() < 0.02
    # the ink lies inside the content quad (interpolation and polygon rounding aside), and fills most of it
    cq = np.array(sc.content_quad, np.float32)
    cmask = np.zeros(paper.shape, np.uint8)
    cv2.fillPoly(cmask, [np.round(cq).astype(np.int32)], 1)
    ink = (paper < 100) & (inner == 1)
    assert ink[cv2.dilate(cmask, np.ones((5, 5), np.uint8)) == 0].sum() == 0
    assert ink[cmask == 1].mean() > 0.8
    # landscape-wise turns swap the canvas's shape
    ch, cw = paper.shape
    assert (ch > cw) == (orientation in (0, 180))


def _truth_doc(**kw):
    base = {"type_code": "32", "label": "Giấy chứng nhận quyền sử dụng đất", "number": "12", "notation": "QĐ-UBND",
            "issued_date": "05/03/2024", "organ_name": "ỦY BAN NHÂN DÂN XÃ TÂN PHÚ",
            "organ_full": "UBND HUYỆN ĐỨC HÒA ỦY BAN NHÂN DÂN XÃ TÂN PHÚ",
            "subject": "Về việc cấp giấy chứng nhận quyền sử dụng đất cho hộ bà Lê Thị Lan"}
    base.update(kw)
    return base


def test_scorer_counts_known_wrong_answers_as_wrong():
    t = _truth_doc()
    right = {"typeName": ("32", "Giấy chứng nhận quyền sử dụng đất"), "codeNumber": ("12", ""),
             "codeNotation": ("QĐ-UBND", ""), "issuedDate": ("05/03/2024", ""),
             "organName": ("Ủy ban nhân dân xã Tân Phú", ""),
             "subject": ("cấp giấy chứng nhận quyền sử dụng đất cho hộ bà Lê Thị Lan.", "")}
    wrong = {"typeName": ("32", "Giấy chứng sinh"), "codeNumber": ("01", ""), "codeNotation": ("2001", ""),
             "issuedDate": ("18/01/2024", ""), "organName": ("ỦY BAN NHÂN DÂN", ""),
             "subject": ("Về việc khen thưởng các tập thể", "")}
    for name in score.FIELDS:
        assert score.field_right(name, t, right[name][0], right[name][1]), name
        assert not score.field_right(name, t, wrong[name][0], wrong[name][1]), name
    # a value where the document has none is wrong; none is right
    assert not score.field_right("codeNumber", _truth_doc(number=""), "160")
    assert score.field_right("codeNumber", _truth_doc(number=""), "")
    assert score.field_right("organName", _truth_doc(organ_name="", organ_full=""), "")


def test_crop_verdict_sees_a_cut_and_a_whole_sheet():
    page = {"degradation": {"dpi": 100}, "sheet_quad": [[10, 10], [810, 10], [810, 1110], [10, 1110]],
            "content_quad": [[100, 100], [700, 100], [700, 1000], [100, 1000]]}
    a = {"width": 820, "height": 1120, "angle_applied": 0.0, "orientation": 0}
    whole = score.crop_verdict(page, dict(a, crop_box=[10, 10, 810, 1110]))
    assert whole["sheet_kept"] > 0.99 and whole["content_cut_mm"] == 0
    half = score.crop_verdict(page, dict(a, crop_box=[410, 10, 810, 1110]))
    assert 0.45 < half["sheet_kept"] < 0.55
    assert half["content_cut_mm"] == pytest.approx(310 / (100 / 25.4), abs=0.1)
    # a page the station turned 180: the same crop in its frame is the other half
    turned = score.crop_verdict(page, dict(a, orientation=180, crop_box=[10, 10, 410, 1110]))
    assert turned["content_cut_mm"] > 50
    # a quarter turn (design §4): the corrected frame is 1120 wide and 820 high
    corners = score.corrected([[0, 0], [819, 0], [819, 1119], [0, 1119]], dict(a, orientation=90))
    assert corners.tolist() == [[1119, 0], [1119, 819], [0, 819], [0, 0]]
    back = score.corrected([[0, 0]], dict(a, orientation=270))
    assert back.tolist() == [[0, 819]]
    sideways = score.crop_verdict(page, dict(a, orientation=90, crop_box=[10, 10, 1110, 810]))
    assert sideways["sheet_kept"] > 0.99 and sideways["content_cut_mm"] == 0


def test_character_error_rates():
    assert textmetrics.levenshtein("Quyết định", "Quyet dinh") == 3
    e, n = textmetrics.errors_strict(["Số: 12/QĐ-UBND"], "Số: 12/QĐ-UBND")
    assert e == 0 and n == 14
    e, _ = textmetrics.errors_strict(["Số: 12/QĐ-UBND"], "So: 12/QD-UBND", diacritics=False)
    assert e == 0
    # columns read the other way round cost nothing line-order free, a lot in reading order
    lines = ["ỦY BAN NHÂN DÂN XÃ TÂN PHÚ", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"]
    swapped = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nỦY BAN NHÂN DÂN XÃ TÂN PHÚ"
    assert textmetrics.errors_lines(lines, swapped)[0] == 0
    assert textmetrics.errors_strict(lines, swapped)[0] > 20
    # extra text read from nowhere counts
    assert textmetrics.errors_lines(lines, swapped + "\nxyz")[0] == 3
    assert textmetrics.errors_lines(lines, "")[0] == sum(len(x) for x in lines)


def test_degradation_tags_name_what_was_applied():
    d = Degradation(dpi=200, orientation=90, border="dark", photocopy=True, colour="rgb_equal", jpeg=45)
    tags = d.tags()
    assert {"dpi_200", "landscape_turned", "dark_border", "photocopy", "rgb_equal", "jpeg_le_60"} <= set(tags)
    assert "upside_down" not in tags
    assert degrade.Degradation(**{k: v for k, v in d.to_dict().items() if k != "tags"}).tags() == tags


def test_earlier_baselines_are_taken_only_from_the_same_corpus(tmp_path):
    import pickle

    from eval.__main__ import _earlier_baselines

    truth = {"pages": [{"id": "p1"}, {"id": "p2"}]}
    raw = {"station": {}, "baselines": {"tesseract": {"p1": "a", "p2": "b"}, "ocrmypdf": {"p2": "b"}},
           "thr": {"station_ppm": 40.0, "tesseract_s": 9.0, "ocrmypdf_s": 5.0, "ocrmypdf_ppm": 12.0,
                   "loads": {"station": "1 1 1", "tesseract": "2 2 2"}},
           "meta_extra": {"ocrmypdf_every": 3, "measure_minutes": 7.0}, "command": "python -m eval"}
    path = tmp_path / "raw.pickle"
    path.write_bytes(pickle.dumps(raw))
    texts, thr, extra = _earlier_baselines(path, truth, {"station_s": 60.0, "station_ppm": 2.0,
                                                          "loads": {"station": "3 3 3"}})
    assert texts["ocrmypdf"] == {"p2": "b"}
    # this run's station timing stays, the baselines' come from the earlier run
    assert thr["station_ppm"] == 2.0 and thr["ocrmypdf_ppm"] == 12.0 and thr["tesseract_s"] == 9.0
    assert thr["loads"] == {"station": "3 3 3", "tesseract": "2 2 2"}
    assert extra["ocrmypdf_every"] == 3 and "measure_minutes" not in extra
    assert extra["baselines_from"]["station_ppm"] == 40.0

    raw["baselines"]["tesseract"]["p9"] = "from another corpus"
    path.write_bytes(pickle.dumps(raw))
    with pytest.raises(SystemExit, match="another corpus"):
        _earlier_baselines(path, truth, {"station_ppm": 2.0})


def test_a_packaged_secret_record_file_is_scored_on_its_package_not_its_scrubbed_journal_row():
    scrubbed = {"file_code": "H49.64.33.2020.120", "mode": "03"}
    package = {"record": {"fileCode": "H49.64.33.2020.120", "title": "Hồ sơ công tác văn thư", "maintenance": "06",
                          "mode": "03", "paperFileCode": "H49.1.7.360"}}
    assert score.cover_as_packaged(scrubbed, package) == {
        "file_code": "H49.64.33.2020.120", "mode": "03", "title": "Hồ sơ công tác văn thư", "maintenance": "06",
        "paper_file_code": "H49.1.7.360"}
    # not packaged (held, or its package unreadable): the journal's cover as it is
    held = {"file_code": "H1", "title": "T", "mode": "01"}
    assert score.cover_as_packaged(held, None) == held and score.cover_as_packaged(held, {"error": "x"}) == held
