"""What each generated document says: its kind, its fields (the ground truth) and its pages as blocks.

A document is built from a seeded ``random.Random`` only, so the same seed gives
the same document. The pages are lists of layout blocks (``render.py`` draws
them and records the exact text it drew); the fields are decided here, before
any drawing, and are what the station must extract.

Block types (dicts):
- ``text``: ``lines`` (each a string or a list of ``(text, hand)`` segments),
  ``style`` (head, head_plain, title, subject, body, italic, small, label, bold,
  name), ``align`` (left, center, right), ``col`` (x0, x1 as fractions of the
  text width), ``wrap`` (wrap long lines), ``indent`` (first-line indent, mm),
  ``before`` (space above, mm), ``rule`` (width of a short rule drawn under the
  block, as a fraction of its widest line; 0 none);
- ``cols``: ``left`` and ``right`` lists of blocks side by side, ``split`` (fraction);
- ``signature``: ``left`` blocks (Nơi nhận) and ``right`` signer lines, ``name``,
  ``stamp`` (text around the seal, or ""), ``split``;
- ``map``: a sketch of a land parcel; ``dots``: a dotted line to write on.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from eval import vocab

NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"


@dataclass(frozen=True)
class Kind:
    key: str
    label: str          # the type as an archivist names it
    type_code: str      # TT 05/2025 typeName
    title: tuple        # title lines as printed
    layout: str         # nd30, cong_van, form, land, petition, contract
    abbr: str = ""      # notation abbreviation before the body's suffix, e.g. QĐ
    organ: str = "ubnd"  # ubnd, hdnd, other, none
    subject: bool = True
    landscape: bool = False
    pages: tuple = (0.55, 0.25, 0.12, 0.08)  # probability of 1..4 pages


KINDS = (
    Kind("quyet_dinh", "Quyết định", "02", ("QUYẾT ĐỊNH",), "nd30", "QĐ"),
    Kind("cong_van", "Công văn", "22", (), "cong_van", ""),
    Kind("to_trinh", "Tờ trình", "15", ("TỜ TRÌNH",), "nd30", "TTr"),
    Kind("bien_ban", "Biên bản", "20", ("BIÊN BẢN",), "nd30", "BB"),
    Kind("thong_bao", "Thông báo", "07", ("THÔNG BÁO",), "nd30", "TB"),
    Kind("ke_hoach", "Kế hoạch", "10", ("KẾ HOẠCH",), "nd30", "KH"),
    Kind("bao_cao", "Báo cáo", "14", ("BÁO CÁO",), "nd30", "BC"),
    Kind("nghi_quyet", "Nghị quyết", "01", ("NGHỊ QUYẾT",), "nd30", "NQ", organ="hdnd"),
    Kind("giay_moi", "Giấy mời", "26", ("GIẤY MỜI",), "nd30", "GM", pages=(0.85, 0.15, 0.0, 0.0)),
    Kind("cong_dien", "Công điện", "23", ("CÔNG ĐIỆN",), "nd30", "CĐ", pages=(0.7, 0.3, 0.0, 0.0)),
    Kind("chi_thi", "Chỉ thị", "03", ("CHỈ THỊ",), "nd30", "CT"),
    Kind("don_de_nghi", "Đơn đề nghị", "32", ("ĐƠN ĐỀ NGHỊ",), "petition", organ="none",
         pages=(0.8, 0.2, 0.0, 0.0)),
    Kind("gcn_qsdd", "Giấy chứng nhận quyền sử dụng đất", "32",
         ("GIẤY CHỨNG NHẬN", "QUYỀN SỬ DỤNG ĐẤT, QUYỀN SỞ HỮU NHÀ Ở", "VÀ TÀI SẢN KHÁC GẮN LIỀN VỚI ĐẤT"),
         "land", subject=False, landscape=True, pages=(0.3, 0.7, 0.0, 0.0)),
    Kind("trich_luc_khai_sinh", "Trích lục khai sinh", "32", ("TRÍCH LỤC KHAI SINH",), "form", "TLKS-BS",
         subject=False, pages=(1.0, 0, 0, 0)),
    Kind("giay_khai_sinh", "Giấy khai sinh", "32", ("GIẤY KHAI SINH",), "form", "", subject=False,
         pages=(1.0, 0, 0, 0)),
    Kind("trich_luc_khai_tu", "Trích lục khai tử", "32", ("TRÍCH LỤC KHAI TỬ",), "form", "TLKT-BS",
         subject=False, pages=(1.0, 0, 0, 0)),
    Kind("gcn_ket_hon", "Giấy chứng nhận kết hôn", "32", ("GIẤY CHỨNG NHẬN KẾT HÔN",), "form", "",
         subject=False, pages=(1.0, 0, 0, 0)),
    Kind("xac_nhan_hon_nhan", "Giấy xác nhận tình trạng hôn nhân", "32", ("GIẤY XÁC NHẬN", "TÌNH TRẠNG HÔN NHÂN"),
         "form", "XNTTHN", subject=False, pages=(1.0, 0, 0, 0)),
    Kind("to_khai_khai_tu", "Tờ khai đăng ký khai tử", "32", ("TỜ KHAI ĐĂNG KÝ KHAI TỬ",), "petition",
         organ="none", subject=False, pages=(1.0, 0, 0, 0)),
    Kind("hop_dong", "Hợp đồng chuyển nhượng quyền sử dụng đất", "21",
         ("HỢP ĐỒNG CHUYỂN NHƯỢNG", "QUYỀN SỬ DỤNG ĐẤT"), "contract", organ="none", subject=False,
         pages=(0.2, 0.5, 0.3, 0.0)),
)
KIND_BY_KEY = {k.key: k for k in KINDS}
# How often each kind appears (communes hold far more of some than of others).
KIND_WEIGHTS = {"quyet_dinh": 3, "cong_van": 3, "to_trinh": 2, "bien_ban": 2, "thong_bao": 2, "ke_hoach": 2,
                "bao_cao": 2, "nghi_quyet": 1, "giay_moi": 2, "cong_dien": 1, "chi_thi": 1, "don_de_nghi": 2,
                "gcn_qsdd": 2, "trich_luc_khai_sinh": 2, "giay_khai_sinh": 2, "trich_luc_khai_tu": 1,
                "gcn_ket_hon": 1, "xac_nhan_hon_nhan": 1, "to_khai_khai_tu": 1, "hop_dong": 1}


@dataclass
class Document:
    kind: str
    fields: dict                          # ground truth of every field
    pages: list = field(default_factory=list)   # each a list of blocks
    style: dict = field(default_factory=dict)   # fonts, sizes, margins chosen for it
    landscape: bool = False


class _Ctx(dict):
    """Placeholder values; a missing key leaves the brace text as is."""

    def __missing__(self, key):
        return "{" + key + "}"


def person(rng: random.Random, female: bool | None = None) -> str:
    if female is None:
        female = rng.random() < 0.5
    mid = rng.choice(vocab.MIDDLE_F if female else vocab.MIDDLE_M)
    return f"{rng.choice(vocab.FAMILY)} {mid} {rng.choice(vocab.GIVEN_F if female else vocab.GIVEN_M)}"


def _date_words(d: int, m: int, y: int) -> str:
    units = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")

    def small(n: int) -> str:
        if n < 10:
            return units[n]
        if n < 20:
            return "mười" + ("" if n == 10 else " " + ("lăm" if n % 10 == 5 else units[n % 10]))
        tail = n % 10
        word = units[n // 10] + " mươi"
        if tail:
            word += " " + {1: "mốt", 5: "lăm"}.get(tail, units[tail])
        return word

    hundreds = (y % 1000) // 100
    rest = y % 100
    ys = ("hai nghìn" if y >= 2000 else "một nghìn " + units[y // 100 % 10] + " trăm")
    if y >= 2000:
        ys += " không trăm" if hundreds == 0 else " " + units[hundreds] + " trăm"
    if rest:
        ys += (" linh " + units[rest]) if rest < 10 else " " + small(rest)
    return f"ngày {small(d)}, tháng {small(m)}, năm {ys}".capitalize()


def _rand_date(rng: random.Random, y0: int, y1: int) -> tuple[int, int, int]:
    y = rng.randint(y0, y1)
    m = rng.randint(1, 12)
    d = rng.randint(1, 28)
    return d, m, y


def date_line(rng: random.Random, place: str, d: int, m: int, y: int, *, blanks: bool = False,
              hand: bool = False) -> list:
    """'Tân Phú, ngày 05 tháng 3 năm 2024', as segments (the numbers may be handwritten)."""
    dd = f"{d:02d}" if rng.random() < 0.7 or d < 10 else str(d)
    mm = f"{m:02d}" if m < 3 or rng.random() < 0.3 else str(m)
    if hand:
        return [(f"{place}, ngày ", False), (dd, True), (" tháng ", False), (mm, True), (f" năm {y}", False)]
    return [(f"{place}, ngày {dd} tháng {mm} năm {y}", False)]


def _ctx(rng: random.Random, commune: str, district: str, province: str, year: int) -> _Ctx:
    n1, n2 = rng.randint(5, 480), rng.randint(3, 260)
    d1, m1, y1 = _rand_date(rng, year - 6, year - 1)
    d2, m2, _ = _rand_date(rng, year, year)
    return _Ctx(X=commune, D=district, P=province, H=rng.choice(vocab.HAMLETS), y=year, y1=y1, y2=year - 1,
                n1=n1, n2=n2, n3=rng.randint(1, 40), n4=rng.randint(12, 900), n5=rng.randint(10, 800),
                d1=f"{d1:02d}", m1=f"{m1:02d}", d2=f"{d2:02d}", m2=f"{m2:02d}", m=rng.randint(1, 12),
                q=rng.choice(("I", "II", "III", "IV")), pct=rng.randint(70, 100), area=rng.randint(60, 2400),
                money=f"{rng.randint(12, 950)}.{rng.randint(0, 999):03d}.000", by=rng.randint(1950, 2000),
                job=rng.choice(vocab.JOBS), NAME_M=person(rng, False), NAME_F=person(rng, True))


def _organ(rng: random.Random, kind: Kind, ctx: _Ctx) -> tuple[list[str], str, str, str]:
    """(printed lines, organName, organ with parent, notation suffix)."""
    table = {"ubnd": vocab.ORGAN_UBND, "hdnd": vocab.ORGAN_HDND,
             "other": vocab.ORGAN_OTHER}[kind.organ]
    parent, body = rng.choice(table)
    upper = _Ctx({k: (v.upper() if isinstance(v, str) else v) for k, v in ctx.items()})
    parent = parent.format_map(upper)
    body = [b.format_map(upper) for b in body]
    name = " ".join(body)
    lines = ([parent] if parent else []) + body
    suffix = next((v for k, v in vocab.ORGAN_SUFFIX.items() if name.startswith(k)), "UBND")
    return lines, name, " ".join(lines), suffix


def _pages_count(rng: random.Random, kind: Kind) -> int:
    r, acc = rng.random(), 0.0
    for n, p in enumerate(kind.pages, 1):
        acc += p
        if r < acc:
            return n
    return 1


def _sentences(rng: random.Random, ctx: _Ctx, n: int) -> list[str]:
    return [rng.choice(vocab.SENTENCES).format_map(ctx) for _ in range(n)]


def _paragraphs(rng: random.Random, ctx: _Ctx, n: int, numbered: str = "") -> list[str]:
    out = []
    for i in range(n):
        text = " ".join(_sentences(rng, ctx, rng.randint(1, 3)))
        if numbered == "dieu":
            text = f"Điều {i + 1}. " + text
        elif numbered == "roman":
            text = f"{('I', 'II', 'III', 'IV', 'V', 'VI', 'VII', 'VIII')[i % 8]}. " + text
        elif numbered == "dash":
            text = "- " + text
        out.append(text)
    return out


def _body_blocks(paras: list[str], style: str = "body") -> list[dict]:
    return [{"type": "text", "lines": [p], "style": style, "align": "left", "wrap": True, "indent": 10,
             "before": 1.5} for p in paras]


def _split_pages(first: list[dict], body: list[dict], closing: list[dict], n: int, rng: random.Random,
                 continued: list[str]) -> list[list[dict]]:
    """Spread body blocks over *n* pages; page 1 takes *first*, the last page *closing*."""
    if n == 1:
        return [first + body[:max(1, len(body))] + closing]
    per = max(1, len(body) // n)
    pages = [first + body[:per]]
    rest = body[per:]
    for i in range(1, n):
        chunk = rest[:rng.randint(3, 5)] if i < n - 1 else rest[:rng.randint(2, 4)]
        rest = rest[len(chunk):]
        if not chunk:
            chunk = _body_blocks([continued[i % len(continued)]])
        page = [{"type": "text", "lines": [str(i + 1)], "style": "small", "align": "center", "before": 0}] + chunk
        if i == n - 1:
            page += closing
        pages.append(page)
    return pages


def make_document(rng: random.Random, kind: Kind, *, commune: str, district: str, province: str,
                  year: int, handwriting: bool) -> Document:
    ctx = _ctx(rng, commune, district, province, year)
    d, m, y = _rand_date(rng, year, year)
    fields = {"kind": kind.key, "label": kind.label, "type_code": kind.type_code, "number": "", "notation": "",
              "issued_date": f"{d:02d}/{m:02d}/{y:04d}", "organ_lines": [], "organ_name": "", "organ_full": "",
              "subject": "", "handwriting": handwriting}
    n_pages = _pages_count(rng, kind)
    place = commune if rng.random() < 0.7 else f"Xã {commune}"
    builder = {"nd30": _nd30, "cong_van": _nd30, "form": _form, "land": _land, "petition": _petition,
               "contract": _contract}[kind.layout]
    pages = builder(rng, kind, ctx, fields, n_pages, place, (d, m, y), handwriting)
    fields["pages"] = len(pages)
    return Document(kind.key, fields, pages, landscape=kind.landscape)


# ------------------------------------------------------------------------------------ layouts

def _signature(rng: random.Random, signer: tuple, seal_text: str, recipients: list[str] | None) -> dict:
    left = []
    if recipients is not None:
        left = [{"type": "text", "lines": ["Nơi nhận:"], "style": "label", "align": "left", "before": 0},
                {"type": "text", "lines": recipients, "style": "small", "align": "left", "before": 0}]
    return {"type": "signature", "left": left, "right": list(signer), "name": person(rng),
            "stamp": seal_text, "split": rng.uniform(0.42, 0.5)}


def _nd30(rng, kind, ctx, fields, n_pages, place, date, hand) -> list[list[dict]]:
    organ_kind = kind.organ
    if kind.key in ("bien_ban", "thong_bao", "bao_cao") and rng.random() < 0.25:
        organ_kind = "other"
    lines, name, full, suffix = _organ(rng, Kind(kind.key, "", "", (), "", organ=organ_kind), ctx)
    number = str(rng.randint(1, 480))
    if kind.layout == "cong_van":
        notation = f"{suffix}-{rng.choice(('VP', 'TP', 'ĐC', 'VHXH', 'KT'))}" if rng.random() < 0.6 else suffix
    else:
        notation = f"{kind.abbr}-{suffix}"
    fields.update(number=number, notation=notation, organ_lines=lines, organ_name=name, organ_full=full)
    left = [{"type": "text", "lines": lines[:-1], "style": "head_plain", "align": "center", "before": 0, "wrap": True}
            if len(lines) > 1 else None,
            {"type": "text", "lines": lines[-1:], "style": "head", "align": "center", "before": 0, "wrap": True,
             "rule": rng.uniform(0.3, 0.5)},
            {"type": "text", "lines": [f"Số: {number}/{notation}"], "style": "body", "align": "center",
             "before": rng.uniform(1.5, 4)}]
    left = [b for b in left if b]
    subject_text = rng.choice(vocab.SUBJECTS[kind.key]).format_map(ctx)
    fields["subject"] = subject_text
    if kind.layout == "cong_van":
        left.append({"type": "text", "lines": [subject_text], "style": "small", "align": "center", "wrap": True,
                     "before": 1})
    right = [{"type": "text", "lines": [NATION], "style": "head", "align": "center", "before": 0},
             {"type": "text", "lines": [MOTTO], "style": "bold", "align": "center", "before": 0, "rule": 1.0},
             {"type": "text", "lines": [date_line(rng, place, *date)], "style": "italic", "align": "center",
              "before": rng.uniform(3, 6)}]
    urgent = []
    if rng.random() < 0.08:
        urgent = [{"type": "text", "lines": [rng.choice(("KHẨN", "HỎA TỐC", "THƯỢNG KHẨN"))], "style": "head",
                   "align": "left", "before": 1, "col": (0.0, 0.3)}]
    first = [{"type": "cols", "left": left, "right": right, "split": rng.uniform(0.40, 0.46)}] + urgent
    if kind.layout != "cong_van":
        first.append({"type": "text", "lines": list(kind.title), "style": "title", "align": "center",
                      "before": rng.uniform(6, 12)})
        first.append({"type": "text", "lines": [subject_text], "style": "subject", "align": "center",
                      "wrap": True, "before": 0.5, "rule": rng.uniform(0.25, 0.4), "col": (0.12, 0.88)})
    else:
        to = rng.choice(("Ủy ban nhân dân huyện {D}", "Phòng Nội vụ huyện {D}", "Các thôn, ấp trên địa bàn xã",
                         "Văn phòng Đăng ký đất đai chi nhánh {D}")).format_map(ctx)
        first.append({"type": "text", "lines": [f"Kính gửi: {to}"], "style": "body", "align": "center",
                      "before": rng.uniform(6, 10)})
    intro: list[dict] = []
    if kind.key in ("quyet_dinh", "nghi_quyet", "chi_thi"):
        boss = ("CHỦ TỊCH ỦY BAN NHÂN DÂN XÃ " + ctx["X"].upper()) if kind.organ != "hdnd" else \
            ("HỘI ĐỒNG NHÂN DÂN XÃ " + ctx["X"].upper())
        if kind.key != "chi_thi":
            intro.append({"type": "text", "lines": [boss], "style": "head", "align": "center", "wrap": True,
                          "before": 3})
            bases = rng.sample(vocab.LEGAL_BASES, rng.randint(2, 4))
            intro += [{"type": "text", "lines": [b.format_map(ctx)], "style": "italic", "align": "left",
                       "wrap": True, "indent": 10, "before": 0.5} for b in bases]
            intro.append({"type": "text", "lines": [kind.title[0] + ":"], "style": "head", "align": "center",
                          "before": 2})
    elif kind.key == "bien_ban":
        hh, mi = rng.randint(7, 15), rng.choice((0, 15, 30, 45))
        d2, m2, y2 = date[0], date[1], date[2]
        intro.append({"type": "text", "lines": [f"Hôm nay, vào hồi {hh} giờ {mi:02d} phút, ngày {d2:02d} tháng "
                                                 f"{m2:02d} năm {y2}, tại trụ sở Ủy ban nhân dân xã {ctx['X']}, "
                                                 f"chúng tôi gồm có:"],
                      "style": "body", "align": "left", "wrap": True, "indent": 10, "before": 3})
    elif kind.key == "giay_moi":
        dd, mm = rng.randint(1, 28), rng.randint(1, 12)
        intro += _body_blocks([f"Ủy ban nhân dân xã {ctx['X']} trân trọng kính mời: {person(rng)}.",
                               f"Thời gian: {rng.randint(7, 15)} giờ 00, ngày {dd:02d} tháng {mm:02d} năm "
                               f"{date[2]}.",
                               f"Địa điểm: Hội trường Ủy ban nhân dân xã {ctx['X']}."])
    elif kind.key == "cong_dien":
        intro.append({"type": "text", "lines": [f"CHỦ TỊCH ỦY BAN NHÂN DÂN XÃ {ctx['X'].upper()} điện:"],
                      "style": "head", "align": "center", "before": 3})
    numbered = "dieu" if kind.key in ("quyet_dinh", "nghi_quyet") else (
        "roman" if kind.key in ("ke_hoach", "bao_cao", "to_trinh") else "")
    total = {1: rng.randint(2, 4), 2: rng.randint(6, 8), 3: rng.randint(10, 13), 4: rng.randint(14, 18)}[n_pages]
    body = intro + _body_blocks(_paragraphs(rng, ctx, total, numbered))
    signer = rng.choice(vocab.SIGNERS_HDND if kind.organ == "hdnd" else
                        vocab.SIGNERS_OTHER if organ_kind == "other" else vocab.SIGNERS_UBND)
    recips = ["- Như trên;", f"- UBND huyện {ctx['D']};", "- Lưu: VT."] if rng.random() < 0.8 else \
        ["- Như Điều 3;", "- TT. Đảng ủy xã;", "- Lưu: VT, VP."]
    closing = [_signature(rng, signer, name, recips)]
    continued = _paragraphs(rng, ctx, 4)
    return _split_pages(first, body, closing, n_pages, rng, continued)


def _civil_fields(rng, kind, ctx, date) -> list[tuple[str, str]]:
    by = rng.randint(1940, 2023)
    bd, bm = rng.randint(1, 28), rng.randint(1, 12)
    female = rng.random() < 0.5
    who = person(rng, female).upper()
    birth = f"{bd:02d}/{bm:02d}/{by}"
    if kind.key in ("trich_luc_khai_sinh", "giay_khai_sinh"):
        return [("Họ, chữ đệm, tên", who), ("Ngày, tháng, năm sinh", f"{birth}"),
                ("ghi bằng chữ", _date_words(bd, bm, by)),
                ("Giới tính", "Nữ" if female else "Nam"), ("Dân tộc", rng.choice(vocab.ETHNIC)),
                ("Quốc tịch", "Việt Nam"), ("Nơi sinh", f"Trạm y tế xã {ctx['X']}, huyện {ctx['D']}, tỉnh {ctx['P']}"),
                ("Quê quán", f"xã {rng.choice(vocab.COMMUNES)}, tỉnh {rng.choice(vocab.PROVINCES)}"),
                ("Họ, chữ đệm, tên người mẹ", person(rng, True).upper()),
                ("Năm sinh", str(by - rng.randint(18, 40))),
                ("Họ, chữ đệm, tên người cha", person(rng, False).upper()),
                ("Nơi đăng ký khai sinh", f"Ủy ban nhân dân xã {ctx['X']}, huyện {ctx['D']}"),
                ("Ngày, tháng, năm đăng ký", f"{min(28, bd + 3):02d}/{bm:02d}/{by}")]
    if kind.key == "trich_luc_khai_tu":
        by = rng.randint(1925, 1985)
        birth = f"{bd:02d}/{bm:02d}/{by}"
        dy = rng.randint(max(by + 20, date[2] - 8), date[2])
        return [("Họ, chữ đệm, tên người đã chết", who), ("Ngày, tháng, năm sinh", birth),
                ("Giới tính", "Nữ" if female else "Nam"), ("Dân tộc", rng.choice(vocab.ETHNIC)),
                ("Nơi cư trú cuối cùng", f"{ctx['H']}, xã {ctx['X']}, huyện {ctx['D']}"),
                ("Đã chết vào lúc", f"{rng.randint(0, 23)} giờ {rng.randint(0, 59)} phút, ngày "
                                   f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{dy}"),
                ("Nơi chết", rng.choice(("tại nhà", f"Bệnh viện đa khoa huyện {ctx['D']}"))),
                ("Nguyên nhân chết", rng.choice(("bệnh", "già yếu", "tai nạn giao thông"))),
                ("Họ, chữ đệm, tên người đi khai tử", person(rng).upper())]
    if kind.key == "gcn_ket_hon":
        hy, wy = rng.randint(1950, 2004), rng.randint(1952, 2005)
        return [("Họ, chữ đệm, tên chồng", person(rng, False).upper()),
                ("Ngày, tháng, năm sinh", f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{hy}"),
                ("Dân tộc", rng.choice(vocab.ETHNIC)), ("Quốc tịch", "Việt Nam"),
                ("Nơi cư trú", f"{rng.choice(vocab.HAMLETS)}, xã {ctx['X']}"),
                ("Họ, chữ đệm, tên vợ", person(rng, True).upper()),
                ("Ngày, tháng, năm sinh", f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{wy}"),
                ("Dân tộc", rng.choice(vocab.ETHNIC)), ("Quốc tịch", "Việt Nam"),
                ("Nơi cư trú", f"{rng.choice(vocab.HAMLETS)}, xã {rng.choice(vocab.COMMUNES)}")]
    # xac_nhan_hon_nhan
    return [("Xét đề nghị của ông/bà", who), ("Ngày, tháng, năm sinh", birth),
            ("Giới tính", "Nữ" if female else "Nam"), ("Dân tộc", rng.choice(vocab.ETHNIC)),
            ("Giấy tờ tùy thân", f"Căn cước công dân số 0{rng.randint(10, 99)}{rng.randint(100000000, 999999999)}"),
            ("Nơi cư trú", f"{ctx['H']}, xã {ctx['X']}, huyện {ctx['D']}, tỉnh {ctx['P']}"),
            ("Tình trạng hôn nhân", rng.choice(("Hiện tại chưa đăng ký kết hôn với ai.",
                                               "Đã đăng ký kết hôn, nhưng đã ly hôn theo Bản án số "
                                               f"{rng.randint(10, 99)}/{rng.randint(2005, 2020)}/HNGĐ-ST."))),
            ("Giấy này được cấp để", rng.choice(("làm thủ tục đăng ký kết hôn", "bổ túc hồ sơ vay vốn")))]


def _form(rng, kind, ctx, fields, n_pages, place, date, hand) -> list[list[dict]]:
    lines, name, full, _suffix = _organ(rng, Kind(kind.key, "", "", (), "", organ="ubnd"), ctx)
    fields.update(organ_lines=lines, organ_name=name, organ_full=full)
    number = str(rng.randint(1, 950))
    if kind.abbr:
        num_line = f"Số: {number}/{kind.abbr}"
        fields.update(number=number, notation=kind.abbr)
        book = []
    else:
        num_line = f"Số: {number}"
        fields.update(number=number, notation="")
        book = [{"type": "text", "lines": [f"Quyển số: {rng.randint(1, 9):02d}/{date[2]}"], "style": "body",
                 "align": "center", "before": 0}]
    left = [{"type": "text", "lines": lines[:-1], "style": "head_plain", "align": "center", "before": 0, "wrap": True}
            if len(lines) > 1 else None,
            {"type": "text", "lines": lines[-1:], "style": "head", "align": "center", "before": 0, "wrap": True,
             "rule": 0.4},
            {"type": "text", "lines": [num_line], "style": "body", "align": "center", "before": 2}] + book
    left = [b for b in left if b]
    right = [{"type": "text", "lines": [NATION], "style": "head", "align": "center", "before": 0},
             {"type": "text", "lines": [MOTTO], "style": "bold", "align": "center", "before": 0, "rule": 1.0}]
    date_at_top = rng.random() < 0.35
    if date_at_top:
        right.append({"type": "text", "lines": [date_line(rng, place, *date)], "style": "italic",
                      "align": "center", "before": 4})
    page = [{"type": "cols", "left": left, "right": right, "split": rng.uniform(0.38, 0.45)},
            {"type": "text", "lines": list(kind.title), "style": "title", "align": "center",
             "before": rng.uniform(8, 14)}]
    if kind.key.startswith("trich_luc") and rng.random() < 0.6:
        page.append({"type": "text", "lines": ["(Bản sao)"], "style": "italic", "align": "center", "before": 0})
    for label, value in _civil_fields(rng, kind, ctx, date):
        page.append({"type": "text", "lines": [[(label + ": ", False), (value, hand)]], "style": "label_value",
                     "align": "left", "wrap": True, "before": rng.uniform(1.0, 2.5)})
    if not date_at_top:
        page.append({"type": "text", "lines": [date_line(rng, place, *date, hand=hand and rng.random() < 0.5)],
                     "style": "italic", "align": "right", "before": 6, "col": (0.45, 1.0)})
    signer = rng.choice((("TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"), ("CÔNG CHỨC TƯ PHÁP - HỘ TỊCH",),
                         ("CHỦ TỊCH",)))
    page.append(_signature(rng, signer, name, None))
    return [page]


def _land(rng, kind, ctx, fields, n_pages, place, date, hand) -> list[list[dict]]:
    body = f"ỦY BAN NHÂN DÂN HUYỆN {ctx['D'].upper()}"
    fields.update(organ_lines=[body], organ_name=body, organ_full=body)
    serial = f"{rng.choice(('BX', 'CS', 'DĐ', 'AM', 'BK'))} {rng.randint(100000, 999999)}"
    owner = person(rng)
    parcel, sheet = rng.randint(1, 900), rng.randint(1, 60)
    left = [{"type": "text", "lines": ["I. Người sử dụng đất, chủ sở hữu nhà ở và tài sản khác gắn liền với đất"],
             "style": "bold", "align": "left", "wrap": True, "before": 0},
            {"type": "text", "lines": [[("Ông: ", False), (owner.upper(), hand)],
                                       [("Sinh năm: ", False), (str(rng.randint(1940, 1995)), hand)],
                                       [("CCCD số: ", False), (f"0{rng.randint(10, 99)}{rng.randint(10**8, 10**9 - 1)}",
                                                               hand)],
                                       [("Địa chỉ thường trú: ", False), (f"{ctx['H']}, xã {ctx['X']}", hand)]],
             "style": "label_value", "align": "left", "wrap": True, "before": 1},
            {"type": "text", "lines": ["II. Thửa đất, nhà ở và tài sản khác gắn liền với đất"], "style": "bold",
             "align": "left", "wrap": True, "before": 3},
            {"type": "text", "lines": [[("a) Thửa đất số: ", False), (str(parcel), hand),
                                        ("; tờ bản đồ số: ", False), (str(sheet), hand)],
                                       [("b) Địa chỉ: ", False), (f"{ctx['H']}, xã {ctx['X']}, huyện {ctx['D']}", hand)],
                                       [("c) Diện tích: ", False), (f"{rng.randint(80, 3000)},{rng.randint(0, 9)} m²",
                                                                   hand)],
                                       [("d) Hình thức sử dụng: ", False), ("Sử dụng riêng", hand)],
                                       [("đ) Mục đích sử dụng: ", False),
                                        (rng.choice(("Đất ở tại nông thôn", "Đất trồng cây lâu năm",
                                                     "Đất trồng lúa")), hand)],
                                       [("e) Thời hạn sử dụng: ", False), ("Lâu dài", hand)]],
             "style": "label_value", "align": "left", "wrap": True, "before": 1}]
    right = [{"type": "text", "lines": [NATION], "style": "head", "align": "center", "before": 0},
             {"type": "text", "lines": [MOTTO], "style": "bold", "align": "center", "before": 0, "rule": 1.0},
             {"type": "text", "lines": list(kind.title), "style": "title", "align": "center", "before": 10},
             {"type": "text", "lines": [serial], "style": "head", "align": "center", "before": 8},
             {"type": "text", "lines": [date_line(rng, ctx["D"], *date)], "style": "italic", "align": "center",
              "before": 10},
             {"type": "text", "lines": ["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"], "style": "head",
              "align": "center", "before": 2},
             {"type": "seal", "text": body, "before": 4},
             {"type": "text", "lines": [person(rng)], "style": "name", "align": "center", "before": 4},
             {"type": "text", "lines": [f"Số vào sổ cấp GCN: CS {rng.randint(100, 9999):05d}"], "style": "small",
              "align": "center", "before": 4}]
    pages = [[{"type": "cols", "left": left, "right": right, "split": 0.5, "gap": 12}]]
    if n_pages > 1:
        pages.append([{"type": "text", "lines": ["III. Sơ đồ thửa đất, nhà ở và tài sản khác gắn liền với đất"],
                       "style": "bold", "align": "left", "before": 0},
                      {"type": "map", "label": f"Thửa {parcel}", "before": 4},
                      {"type": "text", "lines": ["IV. Những thay đổi sau khi cấp Giấy chứng nhận"],
                       "style": "bold", "align": "left", "before": 4},
                      {"type": "text", "lines": ["Nội dung thay đổi và cơ sở pháp lý: không."], "style": "body",
                       "align": "left", "before": 1}])
    return pages


def _petition(rng, kind, ctx, fields, n_pages, place, date, hand) -> list[list[dict]]:
    head = [{"type": "text", "lines": [NATION], "style": "head", "align": "center", "before": 0},
            {"type": "text", "lines": [MOTTO], "style": "bold", "align": "center", "before": 0, "rule": 0.9}]
    top_date = rng.random() < 0.4
    if top_date:
        head.append({"type": "text", "lines": [date_line(rng, place, *date, hand=hand)], "style": "italic",
                     "align": "right", "before": 3, "col": (0.45, 1.0)})
    head.append({"type": "text", "lines": list(kind.title), "style": "title", "align": "center", "before": 8})
    if kind.subject:
        subj = rng.choice(vocab.SUBJECTS[kind.key]).format_map(ctx)
        fields["subject"] = subj
        head.append({"type": "text", "lines": [f"({subj})"], "style": "italic", "align": "center", "before": 0,
                     "wrap": True})
    who = person(rng)
    head.append({"type": "text", "lines": [f"Kính gửi: Ủy ban nhân dân xã {ctx['X']}"], "style": "body",
                 "align": "center", "before": 5})
    rows = [("Họ, chữ đệm, tên người yêu cầu", who), ("Nơi cư trú", f"{ctx['H']}, xã {ctx['X']}, huyện {ctx['D']}"),
            ("Giấy tờ tùy thân", f"CCCD số 0{rng.randint(10, 99)}{rng.randint(10**8, 10**9 - 1)}"),
            ("Số điện thoại", f"09{rng.randint(10**7, 10**8 - 1)}")]
    if kind.key == "to_khai_khai_tu":
        rows += [("Quan hệ với người đã chết", rng.choice(("con", "vợ", "chồng", "cháu"))),
                 ("Họ, chữ đệm, tên người đã chết", person(rng)),
                 ("Ngày, tháng, năm sinh", f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/"
                                           f"{rng.randint(1925, 1975)}"),
                 ("Nơi cư trú cuối cùng", f"{ctx['H']}, xã {ctx['X']}"),
                 ("Đã chết vào lúc", f"{rng.randint(1, 23)} giờ, ngày {rng.randint(1, 28):02d}/"
                                     f"{rng.randint(1, 12):02d}/{date[2]}")]
    else:
        rows += [("Nội dung đề nghị", " ".join(_sentences(rng, ctx, 2)))]
    blocks = [{"type": "text", "lines": [[(lab + ": ", False), (val, hand)]], "style": "label_value",
               "align": "left", "wrap": True, "before": rng.uniform(1.5, 3)} for lab, val in rows]
    blocks += _body_blocks(["Tôi cam đoan những nội dung khai trên đây là đúng sự thật và chịu trách nhiệm "
                            "trước pháp luật về cam đoan của mình."])
    closing = []
    if not top_date:
        closing.append({"type": "text", "lines": [date_line(rng, place, *date, hand=hand)], "style": "italic",
                        "align": "center", "before": 6, "col": (0.5, 1.0)})
    closing.append({"type": "text", "lines": ["NGƯỜI YÊU CẦU", "(Ký, ghi rõ họ, chữ đệm, tên)"], "style": "head",
                    "align": "center", "before": 1 if not top_date else 6, "col": (0.5, 1.0)})
    closing.append({"type": "hand_sign", "name": who, "col": (0.5, 1.0)})
    if n_pages == 1:
        return [head + blocks + closing]
    return [head + blocks, [{"type": "text", "lines": ["2"], "style": "small", "align": "center", "before": 0}]
            + _body_blocks(_paragraphs(rng, ctx, 3, "dash")) + closing]


def _contract(rng, kind, ctx, fields, n_pages, place, date, hand) -> list[list[dict]]:
    head = [{"type": "text", "lines": [NATION], "style": "head", "align": "center", "before": 0},
            {"type": "text", "lines": [MOTTO], "style": "bold", "align": "center", "before": 0, "rule": 0.9},
            {"type": "text", "lines": list(kind.title), "style": "title", "align": "center", "before": 10}]
    d, m, y = date
    head += _body_blocks([f"Hôm nay, ngày {d:02d} tháng {m:02d} năm {y}, tại Văn phòng công chứng "
                          f"{ctx['D']}, chúng tôi gồm có:"])
    seller, buyer = person(rng), person(rng)
    parts = [f"BÊN CHUYỂN NHƯỢNG (Bên A): Ông/bà {seller}, sinh năm {rng.randint(1950, 1990)}, cư trú tại "
             f"{ctx['H']}, xã {ctx['X']}.",
             f"BÊN NHẬN CHUYỂN NHƯỢNG (Bên B): Ông/bà {buyer}, sinh năm {rng.randint(1960, 2000)}, cư trú tại "
             f"xã {rng.choice(vocab.COMMUNES)}.",
             f"Điều 1. Bên A chuyển nhượng cho Bên B quyền sử dụng thửa đất số {rng.randint(1, 900)}, tờ bản đồ số "
             f"{rng.randint(1, 60)}, diện tích {rng.randint(80, 2500)} m2.",
             f"Điều 2. Giá chuyển nhượng là {rng.randint(120, 3900)}.000.000 đồng, thanh toán một lần bằng tiền mặt."]
    parts += _paragraphs(rng, ctx, {1: 1, 2: 5, 3: 10}[n_pages], "")
    sign = {"type": "cols", "left": [{"type": "text", "lines": ["BÊN A", "(Ký, ghi rõ họ tên)"], "style": "head",
                                      "align": "center", "before": 6},
                                     {"type": "hand_sign", "name": seller}],
            "right": [{"type": "text", "lines": ["BÊN B", "(Ký, ghi rõ họ tên)"], "style": "head",
                       "align": "center", "before": 6},
                      {"type": "hand_sign", "name": buyer}], "split": 0.5}
    body = _body_blocks(parts)
    return _split_pages(head, body, [sign], n_pages, rng, _paragraphs(rng, ctx, 4))
