"""Separator sheets read on the capture, look-alikes held, never merged (docs/design.md §6.2 D1-D5, S1, S5).

Each page is fed as the scanner and the clean-up leave it: a lossless capture
(`.raw.npy.zst`) and a cleaned archival JPEG, so the tests can give the two
different damage, as a bad crop or a blur of the clean-up does.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw

from firmware_agent.capture_file import CAPTURE_SUFFIX, write_capture_atomic
from firmware_agent.journal import Journal
from firmware_agent.records import samples
from firmware_agent.records.task import RecordsTask
from firmware_agent.records.settings import RecordsSettings
from records import coversheet, separators
from records.coversheet import CoverSheet
from records.fonts import pil_font

DPI = 200
SHEET = CoverSheet("H49.64.33.2024.201", "H49.1.2.201", "Hồ sơ đất đai năm 2024", "01", "01", "Lô 2")


def rgb(img: Image.Image) -> np.ndarray:
    return np.asarray(img.convert("RGB"))


def skewed(arr: np.ndarray, angle: float, blur: float = 0.0, jpeg: int = 0) -> np.ndarray:
    """A sheet fed at *angle* degrees onto a light scanner lid, blurred, JPEG-compressed."""
    h, w = arr.shape[:2]
    m = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), angle, 1.0)
    out = cv2.warpAffine(arr, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=(235, 235, 230))
    if blur:
        out = cv2.GaussianBlur(out, (0, 0), blur)
    if jpeg:
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, jpeg])
        out = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    return out


def feed(journal: Journal, scans: list[tuple[np.ndarray, np.ndarray | None]]) -> list[int]:
    """(capture, cleaned page) pairs as the processing stage leaves them; cleaned None = the capture."""
    job = journal.start_job("hotfolder:scan.pdf#0123456789abcdef", "", "test")
    ids = []
    for i, (capture, cleaned) in enumerate(scans, 1):
        raw = journal.page_path(job, i, CAPTURE_SUFFIX)
        raw.parent.mkdir(parents=True, exist_ok=True)
        write_capture_atomic(raw, capture)
        page = capture if cleaned is None else cleaned
        jpg = journal.page_path(job, i, ".jpg")
        Image.fromarray(page).save(jpg, quality=85, dpi=(DPI, DPI))
        pid = journal.add_page(job, i, raw, width=capture.shape[1], height=capture.shape[0], dpi=DPI, channels=3)
        journal.mark_processed(pid, jpg, None, {"blank": False})
        ids.append(pid)
    return ids


def text_page(text: str) -> np.ndarray:
    img = Image.new("RGB", (1654, 2339), "white")
    ImageDraw.Draw(img).text((200, 300), text, font=pil_font(40), fill="black")
    return rgb(img)


def task_for(tmp_path, journal) -> RecordsTask:
    return RecordsTask(dataclasses.replace(RecordsSettings(), hold_low_confidence=False), journal, tmp_path)


def test_cover_sheet_whose_cleaned_page_lost_it_is_read_on_the_capture(tmp_path):
    """A skewed, blurred cover whose clean-up cropped the QR code and the banner away."""
    capture = skewed(rgb(coversheet.render(SHEET, DPI)), 3.5, blur=1.2, jpeg=45)
    cleaned = capture[int(0.55 * capture.shape[0]):, 100:-100].copy()  # a bad crop: the lower half only
    # what the splitter used to see: the cleaned page at half resolution, where no sheet is left
    small = cv2.resize(cv2.cvtColor(cleaned, cv2.COLOR_RGB2GRAY), None, fx=0.5, fy=0.5)
    assert coversheet.detect(small).kind == ""
    journal = Journal(tmp_path)
    ids = feed(journal, [(capture, cleaned), (text_page("Trang một"), None)])
    task = task_for(tmp_path, journal)
    assert task.split_step() == 2
    assert task.store.page_role(ids[0]) == "cover"
    (f,) = task.store.files()
    assert f.cover["file_code"] == SHEET.file_code and f.hold_code == ""
    assert [p[:2] for p in task.store.pages_of(f.id)] == [(ids[0], "cover"), (ids[1], "content")]


def torn_cover() -> np.ndarray:
    """A cover sheet whose QR code was torn out (white paper behind), fed 4° askew."""
    img = coversheet.render(SHEET, DPI)
    w = img.width
    ImageDraw.Draw(img).rectangle([int(w * 0.25), 260, int(w * 0.75), 1060], fill="white")
    return skewed(rgb(img), 4.0, jpeg=60)


def test_damaged_cover_is_held_on_its_own_never_merged(tmp_path):
    damaged = torn_cover()
    # the old test on a page the clean-up could not straighten: its bands are slanted, no QR left
    assert coversheet.detect(cv2.cvtColor(damaged, cv2.COLOR_RGB2GRAY)).kind == ""
    journal = Journal(tmp_path)
    scans = [(rgb(coversheet.render(CoverSheet("A.1", "p", "Hồ sơ A"), DPI)), None), (text_page("Trang A"), None),
             (damaged, None), (text_page("Trang C"), None)]
    ids = feed(journal, scans)
    task = task_for(tmp_path, journal)
    task.split_step()
    assert task.store.page_role(ids[2]) == "damaged"
    first, second = task.store.files()
    assert [p[0] for p in task.store.pages_of(first.id)] == ids[:2]  # nothing of the next file joined it
    assert second.hold_code == "coversheet_damaged" and second.hold_pages == (ids[2],)
    assert f"trang {ids[2]} / page {ids[2]}" in second.hold_message
    assert [p[:2] for p in task.store.pages_of(second.id)] == [(ids[2], "damaged"), (ids[3], "content")]
    asyncio.run(task.drain(300))
    held = {h["id"]: h for h in task.status()["held"]}
    assert held[second.id]["reason"] == "coversheet_damaged" and held[second.id]["hold_pages"] == [ids[2]]


def smudged_patch() -> np.ndarray:
    """A PATCHT sheet torn down its right side (the stop character is gone) and blotted."""
    img = coversheet.render_patch(DPI)
    d = ImageDraw.Draw(img)
    w, h = img.size
    d.rectangle([int(w * 0.62), 0, w, h], fill="white")
    d.rectangle([int(w * 0.3), 700, int(w * 0.45), 760], fill="black")
    return skewed(rgb(img), -2.0, jpeg=60)


def test_damaged_patch_sheet_ends_the_document_and_holds_the_file(tmp_path):
    patch = smudged_patch()
    assert separators.decode(cv2.cvtColor(patch, cv2.COLOR_RGB2GRAY), DPI)[0] is None
    journal = Journal(tmp_path)
    ids = feed(journal, [(rgb(coversheet.render(SHEET, DPI)), None), (text_page("Văn bản một"), None),
                         (patch, None), (text_page("Văn bản hai"), None)])
    task = task_for(tmp_path, journal)
    task.split_step()
    assert task.store.page_role(ids[2]) == "damaged_patch"
    (f,) = task.store.files()
    assert f.hold_code == "separator_damaged" and f.hold_pages == (ids[2],)
    pages = task.store.pages_of(f.id)
    assert [(p[1], p[2]) for p in pages] == [("cover", 0), ("content", 1), ("damaged_patch", 0), ("content", 2)]


def test_show_through_of_a_patch_sheet_and_a_foreign_qr_code_are_not_separators():
    patch = rgb(coversheet.render_patch(DPI)).astype(np.float32)
    # the back of the PATCHT sheet: its print shows through at a tenth of its contrast, mirrored
    back = (255 - (255 - patch[:, ::-1]) * 0.12).astype(np.uint8)
    det = separators.detect_page(back, lambda: None, DPI)
    assert det.kind == ""
    import segno

    page = Image.fromarray(text_page("Giấy chứng nhận có mã QR"))
    qr = segno.make("https://example.invalid/gcn/123456", error="m")
    buf = io.BytesIO()
    qr.save(buf, kind="png", scale=4, border=4)
    page.paste(Image.open(io.BytesIO(buf.getvalue())).convert("RGB").resize((300, 300)), (1200, 200))
    assert separators.detect_page(rgb(page), lambda: None, DPI).kind == ""


@pytest.mark.parametrize("angle", [0.0, 180.0])
def test_patch_sheet_read_upright_and_upside_down(angle):
    img = skewed(rgb(coversheet.render_patch(DPI)), angle + 2.5, blur=1.0, jpeg=40)
    assert separators.detect_page(img, lambda: None, DPI).kind == "patch"


def test_content_pages_of_the_demo_are_not_separators():
    for name, img in samples.demo_stack(DPI):
        det = separators.detect_page(rgb(img), lambda: None, DPI)
        want = "cover" if "cover" in name else "patch" if "patch" in name else ""
        assert det.kind == want, name
