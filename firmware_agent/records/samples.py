"""Generated scans of Vietnamese administrative pages, for the demo, tests and bench.

Pages follow the usual layout of a commune's papers (issuing body and number
top left, national motto and place/date top right, a centred title, a subject
line, body text), drawn with DejaVu, then turned a little and speckled like a
scan. Everything is seeded, so the same call gives the same pixels.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from records.coversheet import CoverSheet, render, render_patch
from records.fonts import pil_font
from sync.fsutil import durable_file

NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"


@dataclass(frozen=True)
class PageSpec:
    """What one generated first page says (the expected answers of a test)."""

    title: str
    type_code: str
    group: str
    organ: str           # the issuing body (organName), printed in bold under its parent
    number: str          # e.g. "12/QĐ-UBND"
    date: tuple          # (day, month, year)
    subject: str
    body: tuple = ()
    parent: str = ""     # the higher body printed above it (ô 2), e.g. "UBND HUYỆN ĐỨC HÒA"
    place: str = "Tân Phú"
    signer: tuple = ("TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH")
    name: str = "Nguyễn Văn Tâm"


# Six administrative documents of two communes, laid out as Nghị định 30/2020 Phụ lục I
# draws them; their bodies cite earlier texts by date, as real ones do ("Căn cứ … ngày …").
SPECS = (
    PageSpec("BÁO CÁO", "14", "civil_status", "ỦY BAN NHÂN DÂN XÃ TÂN PHÚ", "25/BC-UBND",
             (28, 12, 2001), "Kết quả đăng ký khai sinh, kết hôn năm 2001",
             ("Thực hiện Công văn số 112/TP ngày 05 tháng 12 năm 2001 của Ủy ban nhân dân",
              "huyện Đức Hòa, Ủy ban nhân dân xã Tân Phú báo cáo kết quả đăng ký hộ tịch",
              "năm 2001 như sau:",
              "1. Khai sinh: đăng ký 160 trường hợp, trong đó đúng hạn 152 trường hợp.",
              "2. Kết hôn: đăng ký 45 cặp, không có trường hợp nào bị từ chối.",
              "3. Sổ đăng ký khai sinh năm 2001 được khóa sổ ngày 28 tháng 12 năm 2001."),
             parent="UBND HUYỆN ĐỨC HÒA"),
    PageSpec("QUYẾT ĐỊNH", "02", "land", "ỦY BAN NHÂN DÂN XÃ TÂN PHÚ", "12/QĐ-UBND",
             (5, 3, 2001), "Về việc cấp giấy chứng nhận quyền sử dụng đất",
             ("Căn cứ Luật Tổ chức Hội đồng nhân dân và Ủy ban nhân dân",
              "ngày 21 tháng 6 năm 1994;",
              "Căn cứ Luật Đất đai ngày 14 tháng 7 năm 1993;",
              "Xét đề nghị của cán bộ địa chính - xây dựng xã,",
              "Điều 1. Cấp giấy chứng nhận quyền sử dụng đất cho hộ ông Lê Văn Hùng.",
              "Điều 2. Cán bộ địa chính xã có trách nhiệm chỉnh lý hồ sơ địa chính."),
             parent="UBND HUYỆN ĐỨC HÒA"),
    PageSpec("TỜ TRÌNH", "15", "admin_procedure", "ỦY BAN NHÂN DÂN XÃ HÒA BÌNH", "07/TTr-UBND",
             (18, 11, 2019), "Về việc đề nghị phê duyệt kế hoạch số hóa hồ sơ",
             ("Kính gửi: Ủy ban nhân dân huyện Đức Hòa.",
              "Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015;",
              "Căn cứ Kế hoạch số 45/KH-UBND ngày 10 tháng 3 năm 2019 của Ủy ban nhân dân",
              "huyện Đức Hòa về chuyển đổi số năm 2019,",
              "Ủy ban nhân dân xã kính trình phê duyệt kế hoạch số hóa hồ sơ thủ tục hành chính."),
             parent="UBND HUYỆN ĐỨC HÒA", place="Hòa Bình", name="Trần Văn Lực"),
    PageSpec("BIÊN BẢN", "20", "justice", "CÔNG AN XÃ HÒA BÌNH", "03/BB-CA",
             (2, 7, 2015), "Về việc hòa giải tranh chấp ranh giới đất",
             ("Hôm nay, vào hồi 9 giờ, ngày 02 tháng 7 năm 2015, tại trụ sở Ủy ban nhân dân",
              "xã Hòa Bình, chúng tôi gồm có: ông Phạm Văn Tài, bà Đỗ Thị Lan,",
              "theo đơn đề nghị hòa giải ngày 15 tháng 6 năm 2015 của ông Phạm Văn Tài,",
              "đã tiến hành hòa giải tranh chấp giữa hai hộ gia đình."),
             parent="CÔNG AN HUYỆN ĐỨC HÒA", place="Hòa Bình", signer=("TRƯỞNG CÔNG AN XÃ",),
             name="Đỗ Văn Hải"),
    PageSpec("THÔNG BÁO", "07", "civil_status", "ỦY BAN NHÂN DÂN XÃ TÂN PHÚ", "31/TB-UBND",
             (20, 8, 2001), "Về việc tiếp nhận hồ sơ đăng ký khai sinh, kết hôn",
             ("Căn cứ Nghị định số 83/1998/NĐ-CP ngày 10 tháng 10 năm 1998 của Chính phủ",
              "về đăng ký hộ tịch;",
              "Từ ngày 01 tháng 9 năm 2001, Ủy ban nhân dân xã Tân Phú tiếp nhận hồ sơ",
              "đăng ký khai sinh, kết hôn vào sáng thứ Hai và thứ Năm hằng tuần."),
             parent="UBND HUYỆN ĐỨC HÒA"),
    PageSpec("KẾ HOẠCH", "10", "land", "ỦY BAN NHÂN DÂN XÃ HÒA BÌNH", "52/KH-UBND",
             (9, 4, 2018), "Rà soát, chỉnh lý hồ sơ địa chính năm 2018",
             ("Căn cứ Luật Đất đai ngày 29 tháng 11 năm 2013;",
              "Căn cứ Kế hoạch số 18/KH-UBND ngày 15 tháng 01 năm 2018 của Ủy ban nhân dân",
              "huyện Đức Hòa về rà soát hồ sơ địa chính,",
              "Ủy ban nhân dân xã Hòa Bình ban hành kế hoạch như sau:",
              "I. MỤC ĐÍCH, YÊU CẦU"),
             parent="UBND HUYỆN ĐỨC HÒA", place="Hòa Bình", name="Trần Văn Lực"),
)

FILLER = ("Nội dung văn bản được lập thành hai bản có giá trị pháp lý như nhau.",
          "Các cơ quan, đơn vị và cá nhân có liên quan chịu trách nhiệm thi hành.",
          "Văn bản này có hiệu lực kể từ ngày ký.",
          "Nơi nhận: như trên; lưu văn thư.")
BASIS = ("Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015;",
         "Xét đề nghị của công chức văn phòng - thống kê xã,")


def place_date(place: str, date: tuple) -> str:
    """Ô 4: 'Tân Phú, ngày 05 tháng 3 năm 2001' (day on two digits, month as written)."""
    day, month, year = date
    return f"{place}, ngày {day:02d} tháng {month} năm {year}"


def render_nd30(*, organ: tuple[str, ...], number: str, place_date: str, title: tuple[str, ...] = (),
                subject: tuple[str, ...] = (), vv: tuple[str, ...] = (), stamp: str = "", dpi: int = 200,
                body: tuple[str, ...] = BASIS, signer: tuple[str, ...] = (), name: str = "",
                subject_mm: float = 3.4) -> Image.Image:
    """An A4 first page laid out as Nghị định 30/2020 Phụ lục I draws it (ô 1-5, 7, 9, 10a).

    *organ* is the issuing body's lines (the parent body in regular type, the issuing body in
    bold); *signer* (authority and title lines) and *name*, when given, add the short rules
    under ô 2 and ô 1, the signature block with a red seal and a blue signature (ô 7) and the
    recipients (ô 9), as on a signed original.
    """
    mm = dpi / 25.4
    w, h = round(210 * mm), round(297 * mm)
    img = Image.new("RGB", (w, h), (250, 248, 240))
    d = ImageDraw.Draw(img)
    head = pil_font(round(3.4 * mm), serif=True)
    bold = pil_font(round(3.4 * mm), bold=True, serif=True)
    text = pil_font(round(3.9 * mm), serif=True)
    big = pil_font(round(4.6 * mm), bold=True, serif=True)
    subj = pil_font(round(subject_mm * mm), bold=True, serif=True)
    signed = bool(signer)
    lx, rx = round(20 * mm + 31 * mm), w - round(55 * mm)
    y = round(18 * mm)
    for i, line in enumerate(organ):  # parent body in regular type, the issuing body in bold
        d.text((lx, y + i * round(5.5 * mm)), line, font=bold if i == len(organ) - 1 else head, fill="black",
               anchor="mt")
    d.text((rx, y), NATION, font=bold, fill="black", anchor="mt")
    d.text((rx, y + round(5.5 * mm)), MOTTO, font=bold, fill="black", anchor="mt")
    if signed:  # the short rules under the issuing body and under the motto
        ry = y + len(organ) * round(5.5 * mm) + round(0.5 * mm)
        d.line([lx - round(10 * mm), ry, lx + round(10 * mm), ry], fill="black", width=max(1, round(0.25 * mm)))
        my = y + 2 * round(5.5 * mm) + round(0.5 * mm)
        half = d.textlength(MOTTO, font=bold) / 2
        d.line([rx - half, my, rx + half, my], fill="black", width=max(1, round(0.25 * mm)))
    y += max(len(organ), 2) * round(5.5 * mm) + round(5 * mm)
    d.text((lx, y), f"Số: {number}", font=text, fill="black", anchor="mt")
    d.text((rx, y), place_date, font=text, fill="black", anchor="mt")
    y += round(7 * mm)
    for line in vv:
        d.text((lx, y), line, font=head, fill="black", anchor="mt")
        y += round(5 * mm)
    if stamp:
        d.text((lx, y + round(2 * mm)), stamp, font=big, fill=(200, 20, 20), anchor="mt")
        y += round(10 * mm)
    y += round(12 * mm)
    for line in title:
        d.text((w / 2, y), line, font=big, fill="black", anchor="mt")
        y += round(7 * mm)
    for line in subject:
        d.text((w / 2, y), line, font=subj, fill="black", anchor="mt")
        y += round((subject_mm + 2.1) * mm)
    if signed and subject:  # the short rule under the trích yếu
        d.line([w / 2 - round(15 * mm), y + round(2 * mm), w / 2 + round(15 * mm), y + round(2 * mm)],
               fill="black", width=max(1, round(0.25 * mm)))
    y += round(12 * mm)
    for line in body:
        d.text((round(25 * mm), y), line, font=text, fill="black")
        y += round(7.5 * mm)
    if signed:
        y += round(8 * mm)
        sx = w - round(55 * mm)
        d.text((round(25 * mm), y), "Nơi nhận:", font=bold, fill="black")
        for i, line in enumerate(("- Như trên;", "- Lưu: VT.")):
            d.text((round(25 * mm), y + (i + 1) * round(4.5 * mm)), line, font=head, fill="black")
        for i, line in enumerate(signer):
            d.text((sx, y + i * round(5.5 * mm)), line, font=bold, fill="black", anchor="mt")
        cy = y + len(signer) * round(5.5 * mm) + round(14 * mm)
        r = 14 * mm
        d.ellipse([sx - 20 * mm - r, cy - r, sx - 20 * mm + r, cy + r], outline=(200, 30, 30),
                  width=max(2, round(0.8 * mm)))
        d.line([sx - 15 * mm, cy + 5 * mm, sx, cy - 5 * mm, sx + 15 * mm, cy + 4 * mm], fill=(30, 40, 160),
               width=max(2, round(0.5 * mm)))
        d.text((sx, cy + round(18 * mm)), name, font=bold, fill="black", anchor="mt")
    return img


def render_page(spec: PageSpec, dpi: int = 200, place: str | None = None, continuation: int = 0) -> Image.Image:
    """A clean A4 page of *spec*: its NĐ30 first page, or with *continuation* > 0 a body-only follow-on page."""
    if not continuation:
        organ = (spec.parent, spec.organ) if spec.parent else (spec.organ,)
        return render_nd30(organ=organ, number=spec.number, place_date=place_date(place or spec.place, spec.date),
                           title=(spec.title,), subject=(spec.subject,), dpi=dpi, body=spec.body,
                           signer=spec.signer, name=spec.name, subject_mm=4.2)
    mm = dpi / 25.4
    w, h = round(210 * mm), round(297 * mm)
    img = Image.new("RGB", (w, h), (250, 248, 240))
    d = ImageDraw.Draw(img)
    f_text = pil_font(round(3.9 * mm), serif=True)
    left = round(25 * mm)
    y = round(25 * mm)
    for line in list(spec.body[len(spec.body) // 2:]) + list(FILLER):
        d.text((left, y), line, font=f_text, fill=(20, 20, 30))
        y += round(7.5 * mm)
    # a blue signature scrawl and a red seal keep the page a colour original
    cx, cy = w - round(60 * mm), min(h - round(50 * mm), y + round(30 * mm))
    d.ellipse([cx - 70 * mm / 5, cy - 70 * mm / 5, cx + 70 * mm / 5, cy + 70 * mm / 5], outline=(200, 30, 30),
              width=max(2, round(0.8 * mm)))
    d.line([cx - 25 * mm, cy + 5 * mm, cx, cy - 5 * mm, cx + 20 * mm, cy + 6 * mm], fill=(30, 40, 160),
           width=max(2, round(0.5 * mm)))
    return img


def scanned(img: Image.Image, seed: int, angle: float | None = None, noise: float = 6.0) -> Image.Image:
    """Turn a clean page into something that looks scanned: tilt, grain, specks."""
    import cv2  # OpenCV's warp is ~50x faster than Pillow's on a full page; the demo writes 14 of them

    rng = random.Random(seed)
    if angle is None:
        angle = rng.uniform(-1.2, 1.2)
    src = np.asarray(img.convert("RGB"))
    h, w = src.shape[:2]
    # Pillow's rotate turns counter-clockwise by *angle* about the centre; so does this matrix.
    m = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), angle, 1.0)
    out = cv2.warpAffine(src, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                         borderValue=(235, 235, 230))
    nrng = np.random.default_rng(seed)
    grain = (nrng.standard_normal((h, w), dtype=np.float32) * noise).astype(np.int16)
    arr = out.astype(np.int16)
    arr += grain[..., None]
    specks = nrng.random((h, w), dtype=np.float32) < 0.0004
    arr[specks] = 30
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")


def demo_cover_sheets() -> list[CoverSheet]:
    return [
        CoverSheet("H49.64.33.2001.160", "H49.1.2.160", "Hồ sơ đăng ký hộ tịch xã Tân Phú năm 2001",
                   "01", "01", "Lô 1, kệ A"),
        CoverSheet("H49.64.33.2019.007", "H49.1.3.7", "Hồ sơ đất đai và hòa giải xã Hòa Bình",
                   "02", "02", "Lô 1, kệ B"),
    ]


def demo_stack(dpi: int = 150) -> list[tuple[str, Image.Image]]:
    """The demo's small stack, in feed order: (file name, image).

    Two record files: a cover sheet, documents separated by PATCHT sheets, each
    document a first page (and sometimes a follow-on page).
    """
    covers = demo_cover_sheets()
    plan = [(covers[0], [(0, 1), (1, 0), (4, 0)]), (covers[1], [(2, 1), (3, 0), (5, 0)])]
    out: list[tuple[str, Image.Image]] = []
    n = 0
    for sheet, docs in plan:
        n += 1
        out.append((f"{n:03d}_cover.png", scanned(render(sheet, dpi), seed=n, noise=4.0)))
        for k, (spec_i, extra) in enumerate(docs):
            if k:
                n += 1
                out.append((f"{n:03d}_patch.png", scanned(render_patch(dpi), seed=n, noise=4.0)))
            for c in range(1 + extra):
                n += 1
                out.append((f"{n:03d}_page.jpg", scanned(render_page(SPECS[spec_i], dpi, continuation=c), seed=n)))
    return out


def write_demo_stack(dest: Path, dpi: int = 150) -> list[Path]:
    """Write :func:`demo_stack` into *dest* (created); returns the paths in feed order."""
    dest.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, img in demo_stack(dpi):
        path = dest / name
        # Demo pages, made again on demand: atomic (a copier's half-written file is what the hot
        # folder must never take) but not fsynced. PNG at level 1: a quarter of the default's time.
        with durable_file(path, sync_file=False, sync_dir=False) as fh:
            img.save(fh, format="JPEG" if name.endswith(".jpg") else "PNG", quality=90, compress_level=1,
                     dpi=(dpi, dpi))
        paths.append(path)
    return paths
