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
    organ: str
    number: str          # e.g. "12/QĐ-UBND"
    date: tuple          # (day, month, year)
    subject: str
    body: tuple = ()


SPECS = (
    PageSpec("GIẤY KHAI SINH", "32", "civil_status", "ỦY BAN NHÂN DÂN XÃ TÂN PHÚ", "160/2001",
             (5, 3, 2001), "Khai sinh cho Nguyễn Văn An",
             ("Họ, chữ đệm, tên: NGUYỄN VĂN AN", "Ngày, tháng, năm sinh: 05/3/2001",
              "Giới tính: Nam   Dân tộc: Kinh   Quốc tịch: Việt Nam",
              "Nơi sinh: Trạm y tế xã Tân Phú, huyện Đức Hòa",
              "Họ, chữ đệm, tên người mẹ: TRẦN THỊ BÌNH")),
    PageSpec("QUYẾT ĐỊNH", "02", "land", "ỦY BAN NHÂN DÂN XÃ TÂN PHÚ", "12/QĐ-UBND",
             (5, 3, 2001), "Về việc cấp giấy chứng nhận quyền sử dụng đất",
             ("CHỦ TỊCH ỦY BAN NHÂN DÂN XÃ TÂN PHÚ",
              "Căn cứ Luật Tổ chức chính quyền địa phương;",
              "Căn cứ Luật Đất đai và các văn bản hướng dẫn thi hành;",
              "Xét đề nghị của công chức địa chính - xây dựng xã,",
              "QUYẾT ĐỊNH:",
              "Điều 1. Cấp giấy chứng nhận quyền sử dụng đất cho hộ ông Lê Văn Hùng.")),
    PageSpec("TỜ TRÌNH", "15", "admin_procedure", "ỦY BAN NHÂN DÂN XÃ HÒA BÌNH", "07/TTr-UBND",
             (18, 11, 2019), "Về việc đề nghị phê duyệt kế hoạch số hóa hồ sơ",
             ("Kính gửi: Ủy ban nhân dân huyện",
              "Thực hiện kế hoạch chuyển đổi số năm 2019,",
              "Ủy ban nhân dân xã kính trình phê duyệt kế hoạch số hóa hồ sơ thủ tục hành chính.")),
    PageSpec("BIÊN BẢN", "20", "justice", "CÔNG AN XÃ HÒA BÌNH", "03/BB-CA",
             (2, 7, 2015), "Về việc hòa giải tranh chấp ranh giới đất",
             ("Hôm nay, vào hồi 9 giờ, tại trụ sở Ủy ban nhân dân xã,",
              "chúng tôi gồm có: ông Phạm Văn Tài, bà Đỗ Thị Lan,",
              "đã tiến hành hòa giải tranh chấp giữa hai hộ gia đình.")),
    PageSpec("GIẤY CHỨNG NHẬN KẾT HÔN", "32", "civil_status", "ỦY BAN NHÂN DÂN XÃ TÂN PHÚ", "45/2010",
             (20, 8, 2010), "Đăng ký kết hôn", ("Họ, chữ đệm, tên chồng: HOÀNG VĂN MINH",
                                              "Họ, chữ đệm, tên vợ: VŨ THỊ HƯƠNG",
                                              "Đã đăng ký kết hôn tại Ủy ban nhân dân xã Tân Phú.")),
    PageSpec("HỢP ĐỒNG CHUYỂN NHƯỢNG QUYỀN SỬ DỤNG ĐẤT", "21", "land", "VĂN PHÒNG CÔNG CHỨNG SỐ 2", "215/2018/HĐCN",
             (9, 4, 2018), "Chuyển nhượng thửa đất số 112, tờ bản đồ số 7",
             ("Bên chuyển nhượng: ông Nguyễn Văn Bảy", "Bên nhận chuyển nhượng: bà Lý Thị Mai",
              "Diện tích: 250 m2, mục đích sử dụng: đất ở tại nông thôn.")),
)

FILLER = ("Nội dung văn bản được lập thành hai bản có giá trị pháp lý như nhau.",
          "Các cơ quan, đơn vị và cá nhân có liên quan chịu trách nhiệm thi hành.",
          "Văn bản này có hiệu lực kể từ ngày ký.",
          "Nơi nhận: như trên; lưu văn thư.")


def render_page(spec: PageSpec, dpi: int = 200, place: str = "Tân Phú", continuation: int = 0) -> Image.Image:
    """A clean A4 page. *continuation* > 0 draws a body-only follow-on page."""
    mm = dpi / 25.4
    w, h = round(210 * mm), round(297 * mm)
    img = Image.new("RGB", (w, h), (250, 248, 240))
    d = ImageDraw.Draw(img)
    f_head = pil_font(round(3.4 * mm), bold=True, serif=True)
    f_text = pil_font(round(3.9 * mm), serif=True)
    f_title = pil_font(round(5.2 * mm), bold=True, serif=True)
    f_ital = pil_font(round(3.9 * mm), serif=True)
    left = round(20 * mm)
    col = round(62 * mm)
    y = round(18 * mm)
    if continuation:
        lines = list(spec.body[len(spec.body) // 2:]) + list(FILLER)
        y = round(25 * mm)
    else:
        d.text((left + col / 2 - round(4 * mm), y), spec.organ, font=f_head, fill="black", anchor="mt")
        d.text((w - round(55 * mm), y), NATION, font=f_head, fill="black", anchor="mt")
        y += round(6.5 * mm)
        d.text((w - round(55 * mm), y), MOTTO, font=f_head, fill="black", anchor="mt")
        y += round(9 * mm)
        day, month, year = spec.date
        d.text((left + col / 2 - round(4 * mm), y), f"Số: {spec.number}", font=f_text, fill="black", anchor="mt")
        d.text((w - round(55 * mm), y), f"{place}, ngày {day:02d} tháng {month} năm {year}",
               font=f_ital, fill="black", anchor="mt")
        y += round(20 * mm)
        d.text((w / 2, y), spec.title, font=f_title, fill="black", anchor="mt")
        y += round(9 * mm)
        d.text((w / 2, y), spec.subject, font=f_head, fill="black", anchor="mt")
        y += round(15 * mm)
        lines = list(spec.body) + list(FILLER[:2])
    for line in lines:
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
