"""Document fields from a first page, each taken from its place in the layout (design §6.3 L3-L8).

:func:`extract` finds the layout (:mod:`records.layout`), the title block and the
type (:mod:`records.classify`), then reads number and notation, issued date
(:mod:`records.dates`), issuing body (:mod:`records.organ`) and trích yếu from
where Nghị định 30/2020 puts them, or from the printed labels of a form. Each value comes with *features*: measured facts
about how it was found (tesseract's confidences for its words, whether it sat in
its place, checks of its form), which :mod:`records.confidence` turns into the
probability that the value is right, and with the box of its words on the page.
Patterns run on accent-folded text so lost diacritics do not matter; values keep
the text as read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from records import layout as L
from records.classify import Classification, Rule, classify
from records.confidence import DOUBT
from records.dates import issued_date
from records.ocr import OcrResult
from records.organ import LAND_CERTIFICATE, issuing_body
from records.text import edit_distance, fold

FIELDS = ("typeName", "codeNumber", "codeNotation", "issuedDate", "organName", "subject")

# ô 3: "Số: 12/QĐ-UBND" (the S and its accent as OCR returns them)
# "ố" is read as a digit ("S6:", "S0:") before the colon; the slash is lost between a number
# and a notation ("176UBND-VHXH"): a notation's parts are capitals joined by a dash (NĐ 30/2020 Phụ lục III)
_NUMBER = re.compile(r"^\s*(?:[Ss](?:[06](?=\s*[:;])|[^\s\d:;.,/]{0,2})|5[^\s\d:;.,/]?(?=\s*[:;]))\s*[:;.,]?\s*"
                     r"([0-9OoIlZ|]{1,11})\s*(?:/\s*(\S{1,40}(?:\s[A-ZĐ][A-ZĐa-z]*[-–][A-ZĐ]\S*)?)|(?=[A-ZĐ]{1,8}[-–][A-ZĐ]))?")
_GLUED_NOTATION = re.compile(r"[A-ZĐ]{1,8}[-–]\S{1,30}")
# Slashes as OCR may return the one between number and notation (fraction slash, division slash,
# full-width solidus): one character each, so positions in the line are kept
_SLASHES = str.maketrans({"\u2044": "/", "\u2215": "/", "\uff0f": "/"})
_DIGITS = str.maketrans({"O": "0", "o": "0", "I": "1", "l": "1", "|": "1", "]": "1", "Z": "2"})
_VV = re.compile(r"^\(?\s*V\s*[/.,|1IL]\s*[VWY]\b|^\(?\s*VE VIEC\b")
_VV_AS_READ = re.compile(r"^\(?\s*V\s*(?:[/⁄.,|1Il]\s*%?[vwyVWY%]|[WwY]%?|[/⁄])(?=\s)")
_BODY_START = ("CAN CU", "KINH GUI", "HOM NAY", "DIEU ", "NOI NHAN", "XET DE NGHI", "I.", "1.")
_LABELLED = re.compile(r"\w\s*:\s*\S")
# A wrapped trích yếu's first line is the fullest: a later line starts at most half a word or
# so left of it (a few mm); the body's first line, indented from the margin, starts 11-12 mm
# left of a centred first line on the development pages.
_SUBJECT_LEFT_MM = 8.0
_WORDLIKE = re.compile(r"\w")
_COPY_MARKS = ("BANSAO", "BANCHINH")  # "(Bản sao)" under a form's title, its letters alone
# ô 10b: the urgency mark (độ khẩn, NĐ 30/2020 Phụ lục I), printed under the number or the
# trích yếu, in capitals; letters alone, folded
_URGENCY = ("KHAN", "THUONGKHAN", "HOATOC", "HOATOCHENGIO")
# Nghị định 30/2020 Phụ lục III: abbreviation of each type name in a notation (QĐ-UBND).
TYPE_ABBR = {"01": "NQ", "02": "QD", "03": "CT", "04": "QC", "05": "QYD", "06": "TC", "07": "TB", "08": "HD",
             "09": "CTR", "10": "KH", "11": "PA", "12": "DA", "13": "DA", "14": "BC", "15": "TTR", "16": "GUQ",
             "17": "PG", "18": "PC", "19": "PB", "20": "BB", "21": "HD", "23": "CD", "24": "BGN", "25": "BTT",
             "26": "GM", "27": "GGT", "28": "GNP"}
# Civil-status forms (Thông tư 04/2020/TT-BTP) print their own notation after the number:
# a copy of an extract of death "TLKT-BS", of birth "TLKS-BS", a marital status certificate "XNTTHN".
FORM_NOTATIONS = {"Trích lục khai tử": "TLKT-BS", "Trích lục khai sinh": "TLKS-BS",
                  "Giấy xác nhận tình trạng hôn nhân": "XNTTHN"}
# The same abbreviations as printed (Phụ lục III), to mend a notation's misread type part.
TYPE_ABBR_SPELT = {"01": "NQ", "02": "QĐ", "03": "CT", "04": "QC", "05": "QyĐ", "06": "TC", "07": "TB", "08": "HD",
                   "09": "CTr", "10": "KH", "11": "PA", "12": "ĐA", "13": "DA", "14": "BC", "15": "TTr", "16": "GUQ",
                   "17": "PG", "18": "PC", "19": "PB", "20": "BB", "21": "HĐ", "23": "CĐ", "24": "BGN", "25": "BTT",
                   "26": "GM", "27": "GGT", "28": "GNP"}


@dataclass
class Extracted:
    """Values, features, boxes (and, once scored, confidences) of the document fields of a first page."""

    values: dict = field(default_factory=dict)
    features: dict = field(default_factory=dict)
    boxes: dict = field(default_factory=dict)
    confidence: dict = field(default_factory=dict)
    mode: str = ""             # "03" when the page carries a secrecy stamp (L8)
    classification: Classification | None = None

    def set(self, name: str, value: str, features: dict, segs: list) -> None:
        self.values[name] = value
        self.features[name] = {k: round(float(v), 4) for k, v in features.items()}
        self.boxes[name] = L.box_of(segs)


def _clean_notation(raw: str) -> str:
    s = raw.replace("Ð", "Đ").replace("đ", "Đ") if raw else ""
    s = re.sub("Đ{2,}", "Đ", s)  # tesseract sometimes reads one Đ as both Đ and Ð; no notation has ĐĐ
    s = re.sub(r"\s+", "", s).strip(".,;:-/_|'\"")
    s = re.sub("[-–]{2,}", "-", s)  # a dash read twice; no notation has two in a row
    return s[:30]


def _mend_notation(notation: str, abbr: str, type_code: str, type_conf: float, agree: float,
                   label: str = "") -> tuple[str, float]:
    """(*notation* with its type part spelt as the title's, 1.0) when OCR misread one letter of it.

    A civil-status form prints one fixed notation (:data:`FORM_NOTATIONS`): one edit from
    it, dashes aside ("TLKEBS", "XNTIHN"), is that notation misread; another form's is left.

    Nghị định 30/2020 writes the type's abbreviation first ("TTr-UBND" for a Tờ trình): a
    type part one edit from the one the title names ("TT", "T1r", "CP" for CĐ) is that one
    misread, when the title itself was read with confidence.
    """
    form = FORM_NOTATIONS.get(label, "")
    if form and notation not in FORM_NOTATIONS.values() and type_conf >= 0.8 and \
            edit_distance(fold(notation).replace("-", ""), fold(form).replace("-", "")) == 1:
        return form, 1.0
    want = TYPE_ABBR.get(type_code, "")
    if agree >= 0 or not want or type_conf < 0.8 or len(want) < 2 or edit_distance(abbr, want) != 1:
        return notation, 0.0
    return TYPE_ABBR_SPELT[type_code] + notation[notation.index("-"):], 1.0


def _abbr_of(notation: str) -> str:
    """The type part of a notation ('QĐ' of 'QĐ-UBND'), folded."""
    return fold(notation.split("-")[0]).replace(" ", "") if "-" in notation else ""


# --------------------------------------------------------------------------- title and type

def title_blocks(lay: L.PageLayout) -> list[list[L.Segment]]:
    """L6: centred upper-case lines below the header, grouped into blocks of up to three lines."""
    top = lay.header_bottom - 2 * lay.mm if lay.header_bottom else 0
    cands = []
    for s in lay.segments:
        if s.y0 < top or s.y0 > 0.75 * lay.height or s is lay.nation or s is lay.motto:
            continue
        letters = re.sub(r"[^A-Z]", "", s.folded)
        if len(letters) < 3 or s.upper < 0.75 or not lay.centred(s, 0.12) or ":" in s.text[:len(s.text) // 2]:
            continue
        if lay.in_left(s) and s.y0 < (lay.number.y1 if lay.number else top + 30 * lay.mm):
            continue  # the issuing body, not a title
        cands.append(s)
    blocks: list[list[L.Segment]] = []
    for s in cands:
        if blocks and len(blocks[-1]) < 3:
            prev = blocks[-1][-1]
            # tall capitals with their marks (Ầ, Ữ) give boxes that overlap the next line's on a
            # slightly turned page: up to half a line of overlap is still the next line
            gap = s.y0 - prev.y1
            if (-0.5 * min(prev.height, s.height) <= gap <= L.BLOCK_GAP * max(prev.height, s.height)
                    and s.y0 >= prev.y0):
                blocks[-1].append(s)
                continue
        blocks.append([s])
    return blocks


def _type(lay: L.PageLayout, lines: list[str], rules: list[Rule]) -> tuple[Classification, list]:
    blocks = title_blocks(lay)
    # a title of two or three lines printed further apart than BLOCK_GAP comes out as two
    # blocks: two neighbouring blocks of three lines at most, joined, are a candidate too
    # (after the single blocks, so a one-line title still matches its own block first)
    joined = [a + b for a, b in zip(blocks, blocks[1:])
              if len(a) + len(b) <= 3 and b[0].y0 - a[-1].y1 <= 3 * max(a[-1].height, b[0].height)]
    cands = blocks + joined
    texts = [" ".join(s.text for s in b) for b in cands]
    cls = classify(lines, rules, titles=texts)
    block = cands[-2 - cls.title_line] if cls.title_line <= -2 else []
    return cls, block


# --------------------------------------------------------------------------- fields

_REREAD_SURE = 0.5  # the line alone read surer than this wins (L3a); below, the surer read does


def _number_conf(s: L.Segment) -> float:
    """Tesseract's confidence (0..1) of the word holding the number: the first with a digit."""
    return next((w.conf / 100.0 for w in s.words if any(c.isdigit() for c in w.text)), 0.0)


def _number(lay: L.PageLayout, reread: list | None = None) -> tuple[str, str, dict, list]:
    s = lay.number
    if s is None:
        return "", "", {"found": 0.0}, []
    m = _NUMBER.match(s.text.translate(_SLASHES))
    # L3a: the line read again on its own; its number is the one taken when it has one
    again = L.Segment(tuple(reread)) if reread else None
    m2 = _NUMBER.match(again.text.translate(_SLASHES)) if again is not None else None
    page_num = m.group(1).translate(_DIGITS) if m else ""
    reread_feats = {"reread": float(m2 is not None),
                    "reread_agree": float(m2 is not None and m2.group(1).translate(_DIGITS) == page_num)}
    # when the two disagree the surer read of the number's word wins; the line alone wins a tie (a
    # page's line read beside the other column misreads digits with a high confidence, L3a)
    if m2 is not None and (m is None or _number_conf(again) >= _REREAD_SURE or _number_conf(again) >= _number_conf(s)):
        s, m = again, m2
    if not m:
        return "", "", {"found": 0.0}, []
    raw_num = m.group(1)
    num = raw_num.translate(_DIGITS)
    glued = m.group(2) is None and _GLUED_NOTATION.match(s.text.translate(_SLASHES), m.end())
    notation = _clean_notation(m.group(2) or (glued.group(0) if glued else ""))
    words = s.words[:3]
    mean, low = L.conf_of([L.Segment(tuple(words))])
    first = s.words[0].text
    feats = {"found": 1.0, "conf": mean, "min_conf": low, "accent": float(first[:2] in ("Số", "SỐ")),
             "fixed_digits": float(num != raw_num), "in_left": float(lay.in_left(s)),
             "leading_zero": float(num.startswith("0") and len(num) > 1), "has_notation": float(bool(notation)),
             "notation_form": float(bool(re.fullmatch(r"[0-9A-ZĐ]{1,8}(?:[-/][0-9A-ZĐ]{1,10}){0,3}", notation))),
             "notation_conf": L.conf_of([L.Segment(tuple(s.words[1:4] or s.words))])[0], **reread_feats,
             # L3a: the two reads of the line disagree: whichever was taken, a technician looks
             DOUBT: float(bool(reread_feats["reread"]) and not reread_feats["reread_agree"])}
    return num, notation, feats, [s]


def _subject(lay: L.PageLayout, block: list) -> tuple[str, dict, list]:
    # a Công văn (and forms that follow it): "V/v …" under the number, in the left column
    if lay.number is not None:
        run: list[L.Segment] = []
        for s in lay.segments:
            if s.y0 <= lay.number.y0 or not lay.in_left(s) or not _WORDLIKE.search(s.text):
                continue
            if not run:
                if s.y0 - lay.number.y1 > 15 * lay.mm:
                    break
                if _VV.match(s.folded):
                    run.append(s)
                continue
            if s.y0 - run[-1].y1 > L.BLOCK_GAP * s.height or re.sub(r"[^A-Z]", "", s.folded) in _URGENCY:
                break
            run.append(s)
        if run:
            mean, low = L.conf_of(run)
            text = _VV_AS_READ.sub("V/v", " ".join(s.text for s in run))  # the fixed token, not its misreading
            return (text[:500],
                    {"found": 1.0, "place": 1.0, "vv": 1.0, "title": 0.0, "lines": float(len(run)), "conf": mean,
                     "min_conf": low, "cong_van": 1.0}, run)
    if not block:
        return "", {"found": 0.0, "title": 0.0}, []
    run = []
    bottom = block[-1].y1
    h = max(s.height for s in block)
    for s in lay.segments:
        if s.y0 < bottom - 0.3 * h or s in block or not _WORDLIKE.search(s.text):
            continue  # above, the title itself, or a speck read as a mark (":" beside the lines)
        gap = s.y0 - (run[-1].y1 if run else bottom)
        if gap > (2.5 if not run else L.BLOCK_GAP) * max(s.height, h * 0.6):
            break
        f = s.folded
        if not lay.centred(s, 0.2) or f.startswith(_BODY_START) or (s.upper > 0.75 and not _VV.match(f)):
            break
        if re.sub(r"[^A-Z]", "", f) in _COPY_MARKS:
            continue
        if _LABELLED.search(f) and not _VV.match(f):
            break  # a form's labelled field ("Họ, chữ đệm, tên: …"), not a trích yếu
        if run and s.x0 < run[0].x0 - 3 * lay.mm and s.x1 > run[0].x1 + 3 * lay.mm \
                and s.x1 - s.x0 > 1.15 * (run[0].x1 - run[0].x0):
            break  # wider than the first line on both sides: the body's first line, not a centred one
        if run and s.x0 < run[0].x0 - _SUBJECT_LEFT_MM * lay.mm:
            break  # starts well left of the first line: the body's indented first line
        run.append(s)
        if len(run) == 4:
            break
    if not run:
        return "", {"found": 0.0, "title": 1.0}, []
    mean, low = L.conf_of(run)
    text = " ".join(s.text for s in run).strip().lstrip("'\"‘’`.,:;_|-–— ")  # specks read before it
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    text = _VV_AS_READ.sub("V/v", text)  # a petition's "(V/v …)" read "V⁄% …", "VW …"
    feats = {"found": 1.0, "place": 1.0, "vv": float(bool(_VV.match(run[0].folded))), "title": 1.0,
             "lines": float(len(run)), "conf": mean, "min_conf": low, "cong_van": 0.0}
    return text[:500], feats, run


def extract(ocr: OcrResult | None, rules: list[Rule]) -> Extracted:
    """All first-page fields with their features and boxes (keys are EAD_DOC field names)."""
    if ocr is None:
        ocr = OcrResult([], 0, 0, 0, lines=[])
    lay = L.analyse(ocr)
    lines = [s.text for s in lay.segments]
    cls, block = _type(lay, lines, rules)
    out = Extracted(classification=cls)
    num, notation, nfeats, nsegs = _number(lay, ocr.reread.get("number"))
    subj, sfeats, ssegs = _subject(lay, block)
    type_code, label = cls.type_code, cls.label
    cong_van = 0.0
    if sfeats.get("cong_van") and not block:
        # §6.3: a "V/v" subject under the number and no title block: a Công văn, whatever words
        # of its subject ("kế hoạch", "bản đồ") the line-by-line fallback matched
        type_code, label, cong_van = "22", "Công văn", 1.0
    abbr = _abbr_of(notation)
    agree = 0.0
    if abbr and type_code in TYPE_ABBR:
        agree = 1.0 if abbr == TYPE_ABBR[type_code] else -1.0
    elif abbr and type_code == "22":
        agree = -1.0 if abbr in TYPE_ABBR.values() else 1.0  # a Công văn's notation has no type part
    notation, nmended = _mend_notation(notation, abbr, type_code, cls.type_conf, agree, label)
    tmean, tlow = L.conf_of(block)
    out.set("typeName", type_code, {"found": float(cls.type_conf > 0 or bool(cong_van)), "score": cls.type_conf,
                                    "block": float(bool(block)), "conf": tmean, "min_conf": tlow, "agree": agree,
                                    "cong_van": cong_van, "lines": float(len(block))}, block or ssegs)
    out.values["label"] = label
    out.values["group"] = cls.group
    nfeats = dict(nfeats, agree=agree, notation_mended=nmended)
    out.set("codeNumber", num, nfeats, nsegs)
    out.set("codeNotation", notation, nfeats, nsegs)
    date, dfeats, dsegs = issued_date(lay, ocr.reread.get("date"), ocr.reread.get("date_large"))
    out.set("issuedDate", date, dfeats, dsegs)
    body, ofeats, osegs = issuing_body(lay, dsegs, fold(label).startswith(LAND_CERTIFICATE))
    ofeats["motto"] = float(lay.nation is not None)
    out.set("organName", body, ofeats, osegs)
    out.set("subject", subj, sfeats, ssegs)
    if lay.secret is not None:
        out.mode = "03"
        out.boxes["mode"] = lay.secret.box
    return out
