"""RecordsTask over a real journal with real tesseract: the whole chain, holds, resume, secrets."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import subprocess
import zipfile

import pytest
from PIL import Image, ImageDraw

from firmware_agent.metrics import exposition
from firmware_agent.journal import Journal
from firmware_agent.records import samples
from records import confidence_sidecar, coversheet
from records.coversheet import CoverSheet
from records.fonts import pil_font
from records.sip_verify import verify
from records.text import fold
from firmware_agent.records.task import RecordsTask
from firmware_agent.records.settings import RecordsSettings

DPI = 200


def feed(journal: Journal, images: list[Image.Image], blank: tuple[int, ...] = ()) -> list[int]:
    """Pages as the processing stage leaves them: archival JPEG on disk, row 'processed'."""
    job = journal.start_job("hotfolder:test", "", "test")
    ids = []
    for i, img in enumerate(images, 1):
        path = journal.page_path(job, i, ".jpg")
        path.parent.mkdir(parents=True, exist_ok=True)
        img.save(path, quality=85, dpi=(DPI, DPI))
        pid = journal.add_page(job, i, path, width=img.width, height=img.height, dpi=DPI, channels=3)
        journal.mark_processed(pid, path, None, {"blank": (i - 1) in blank})
        ids.append(pid)
    return ids


def short_page(text: str) -> Image.Image:
    """An A4 page with one line: fast to OCR, low classification confidence."""
    img = Image.new("RGB", (1654, 2339), "white")
    ImageDraw.Draw(img).text((200, 300), text, font=pil_font(40), fill="black")
    return img


def cover(code: str, mode: str = "01") -> Image.Image:
    return samples.scanned(coversheet.render(CoverSheet(code, "H49.1.1.1", f"Hồ sơ {code}", "01", mode), DPI),
                           seed=len(code))


def run(task: RecordsTask, timeout: float = 120.0):
    return asyncio.run(task.drain(timeout))


def test_demo_stack_through_the_whole_chain_and_resume(tmp_path):
    journal = Journal(tmp_path)
    feed(journal, [img for _name, img in samples.demo_stack(DPI)])
    # the chain, not the confidence model: low-confidence holds are tested below
    settings = RecordsSettings(hold_low_confidence=False)
    first = RecordsTask(settings, journal, tmp_path)
    assert first.split_step() == 14
    assert first.split_step() == 0  # nothing assigned twice
    # a restart after splitting: a new task on the same journal finishes the work
    task = RecordsTask(settings, journal, tmp_path)
    built = run(task)
    assert len(built) == 2, task.status()
    assert all(verify(p) == [] for p in built)
    assert set(journal.page_counts()) == {"packaged"}
    expected = [["14", "02", "07"], ["15", "20", "10"]]
    for zpath, types in zip(built, expected):
        with zipfile.ZipFile(zpath) as zf:
            eads = sorted(n for n in zf.namelist() if "EAD_DOC_" in n)
            got = [zf.read(n).decode().split("<typeName>")[1][:2] for n in eads]
            assert got == types
            pdfs = sorted(n for n in zf.namelist() if n.endswith(".pdf"))
            assert len(pdfs) == 3  # cover and PATCHT sheets are not documents
            first_pdf = tmp_path / "first.pdf"
            first_pdf.write_bytes(zf.read(pdfs[0]))
        text = subprocess.run(["pdftotext", str(first_pdf), "-"], capture_output=True, text=True).stdout
        assert ("BÁO CÁO" if types[0] == "14" else "TỜ TRÌNH") in text
    with zipfile.ZipFile(built[0]) as zf:
        ead = next(zf.read(n).decode() for n in zf.namelist() if n.endswith("/EAD.xml"))
    assert "<fileCode>H49.64.33.2001.160</fileCode>" in ead and "<totalDoc>3</totalDoc>" in ead
    assert "<numberOfPage>4</numberOfPage>" in ead  # the first document has a follow-on page
    # running again builds nothing new
    assert run(task) == []
    # a journal from before the batch ledger (schema 4) could stage a package and crash
    # before marking its record file: it is marked then, and no second copy is staged
    with task.store.tx() as db:
        db.execute("UPDATE rec_files SET state='ready', package=NULL")
    assert task.package_step() == []
    assert [f.package for f in task.store.files("packaged")] == [p.name for p in built]
    members = sorted(r[0] for r in journal.read("SELECT name FROM batch_members"))
    folders = sorted(f.package[:-len(".zip")] for f in task.store.files("packaged"))
    # each package and, beside it, its documents' confidences (formats 6.7)
    assert members == sorted([f + ".zip" for f in folders] + [f + ".confidence.json" for f in folders])
    sidecar = next(tmp_path.rglob(folders[0] + ".confidence.json"))
    conf = confidence_sidecar.decode(sidecar.name, sidecar.read_bytes())
    assert conf.warnings == [] and sorted(conf.documents) == [f"H49.64.33.2001.160.{n}" for n in (1, 2, 3)]
    first = conf.documents["H49.64.33.2001.160.1"]
    assert set(first) == {"typeName", "codeNumber", "codeNotation", "issuedDate", "organName", "subject"}
    assert all(0 <= c <= 1000 and 0 < t <= 1000 for c, t in first.values())
    assert first["typeName"][0] > 500  # a printed report's type is read with some confidence
    status = task.status()
    assert status["files"] == {"packaged": 2} and status["ocr_backlog"] == 0
    assert "sohoa_records_ocr_pages_total 8.0" in exposition(task.metrics()).decode().splitlines()


def test_separator_problems_are_held_with_their_reason_then_confirmed(tmp_path):
    journal = Journal(tmp_path)
    pages = [short_page("Trang lẻ"), cover("A.1"), cover("B.2"), short_page("Trang một"), cover("B.2"),
             short_page("Trang hai"), None, short_page("Trang ba")]
    damaged = coversheet.render(CoverSheet("C.3", "x", "y"), DPI)
    ImageDraw.Draw(damaged).rectangle([640, 400, 1000, 800], fill="black")
    pages[6] = damaged
    feed(journal, pages)
    task = RecordsTask(dataclasses.replace(RecordsSettings(), hold_low_confidence=False), journal, tmp_path)
    assert run(task) == []
    held = {h["id"]: h for h in task.status()["held"]}
    reasons = sorted(h["reason"] for h in held.values())
    assert reasons == ["coversheet_damaged", "coversheet_twice", "filecode_used", "no_coversheet"]
    assert task.store.counts()["empty"] == 1  # the first of the two sheets in a row held nothing
    dup = next(h for h in held.values() if h["reason"] == "filecode_used")
    assert "Mã hồ sơ đã dùng / File code already used: B.2" == dup["message"]
    bad = next(h for h in held.values() if h["reason"] == "coversheet_damaged")
    with pytest.raises(ValueError, match="đã dùng / file code already used"):
        task.confirm(bad["id"], {"file_code": "B.2", "paper_file_code": "p", "title": "t"})
    with pytest.raises(ValueError, match="incomplete"):
        task.confirm(bad["id"], {"file_code": "C.3"})
    task.confirm(bad["id"], {"file_code": "C.3", "paper_file_code": "H49.1.1.3", "title": "Hồ sơ C"},
                 {"1": {"typeName": "22", "subject": "Công văn"}})
    built = run(task)
    assert len(built) == 1 and verify(built[0]) == []
    with zipfile.ZipFile(built[0]) as zf:
        doc = next(zf.read(n).decode() for n in zf.namelist() if "EAD_DOC_C.3.1" in n)
    assert "<typeName>22</typeName>" in doc and "<subject>Công văn</subject>" in doc


def test_low_confidence_waits_for_a_technician(tmp_path):
    journal = Journal(tmp_path)
    feed(journal, [cover("D.4"), short_page("Một dòng chữ thường")])
    task = RecordsTask(RecordsSettings(), journal, tmp_path)
    assert run(task) == []
    (held,) = task.status()["held"]
    assert held["reason"] == "needs_confirmation" and "1:typeName" in held["message"]
    assert held["documents"][0]["needs"]
    assert task.status()["needs_confirmation"] == [held["id"]]


def test_secret_record_file_is_only_written_encrypted(tmp_path):
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from sync.age import AgeReader
    from sync.keys import raw_public

    key = X25519PrivateKey.generate()
    key_file = tmp_path / "archive.pub"
    key_file.write_bytes(raw_public(key.public_key()))
    journal = Journal(tmp_path / "state")
    spec_page = samples.scanned(samples.render_page(samples.SPECS[0], DPI), seed=1)
    feed(journal, [cover("E.5", mode="03"), spec_page])
    settings = dataclasses.replace(RecordsSettings(), secret_recipient_key=str(key_file), hold_low_confidence=False)
    task = RecordsTask(settings, journal, tmp_path / "state")
    (built,) = run(task)
    assert built.name.endswith(".zip.enc")
    blob = built.read_bytes()
    assert not blob.startswith(b"PK") and b"%PDF" not in blob and "Hồ sơ".encode() not in blob
    assert not list((tmp_path / "state" / "records").rglob("*.pdf"))
    plain = tmp_path / "plain.zip"
    assert blob.startswith(b"age-encryption.org/v1\n")  # an age file, for the archive key
    plain.write_bytes(AgeReader(io.BytesIO(blob), key).read())
    assert verify(plain) == []
    # its OCR text does not stay in the journal, nor its page images on disk
    assert task.store.ocr_stats()[0] == 0
    content = [r for r in journal.read("SELECT id, removed_at FROM pages WHERE state='packaged'")]
    assert content and all(removed is not None for _pid, removed in content)
    for pid, _ in content:
        row = journal.page(pid)
        assert not row.raw_path.exists() and not row.colour_path.exists()


def test_secret_without_key_is_held(tmp_path):
    journal = Journal(tmp_path)
    feed(journal, [cover("F.6", mode="03"), short_page("Mật")])
    task = RecordsTask(dataclasses.replace(RecordsSettings(), hold_low_confidence=False), journal, tmp_path)
    assert run(task) == []
    assert [h["reason"] for h in task.status()["held"]] == ["no_secret_key"]


def test_page_count_mode_and_blank_sheets(tmp_path):
    journal = Journal(tmp_path)
    feed(journal, [short_page("Một"), short_page("Hai"), short_page(""), short_page("Ba")], blank=(2,))
    settings = dataclasses.replace(RecordsSettings(), separator="page-count", pages_per_document=2,
                                   hold_low_confidence=False)
    task = RecordsTask(settings, journal, tmp_path)
    (built,) = run(task)
    assert verify(built) == []
    with zipfile.ZipFile(built) as zf:
        ead = next(zf.read(n).decode() for n in zf.namelist() if n.endswith("/EAD.xml"))
    assert "<totalDoc>2</totalDoc>" in ead and "<numberOfPage>3</numberOfPage>" in ead
    assert "<fileCode>H49.64.33." in ead


def test_review_routes_need_a_technician_login(tmp_path):
    import aiohttp
    from aiohttp import web

    from sync.passwords import hash_password
    from firmware_agent.web.guard import Guard

    journal = Journal(tmp_path)
    feed(journal, [short_page("Không có tờ bìa")])
    task = RecordsTask(RecordsSettings(), journal, tmp_path)

    async def scenario():
        await task.drain(60)
        bare = web.Application()  # the route mounted without the status page's guard
        task.add_routes(bare)
        guarded = web.Application()
        Guard(password_hash=hash_password("technician pw")).install(guarded)
        task.add_routes(guarded)
        runners = [web.AppRunner(bare), web.AppRunner(guarded)]
        ports = []
        for runner in runners:
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            ports.append(site._server.sockets[0].getsockname()[1])
        base = f"http://127.0.0.1:{ports[1]}"
        try:
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
                listing = await (await s.get(f"{base}/api/records")).json()
                fid = listing["held"][0]["id"]
                body = {"cover": {"file_code": "G.7", "paper_file_code": "p.7", "title": "Hồ sơ G"}}
                unguarded = await s.post(f"http://127.0.0.1:{ports[0]}/api/records/{fid}/confirm", json=body)
                denied = await s.post(f"{base}/api/records/{fid}/confirm", json=body)
                login = await s.post(f"{base}/login", json={"password": "technician pw"})
                token = (await login.json())["csrf_token"]
                no_token = await s.post(f"{base}/api/records/{fid}/confirm", json=body)
                still = task.store.file(fid).state
                ok = await s.post(f"{base}/api/records/{fid}/confirm", json=body, headers={"X-CSRF-Token": token})
                return (listing, unguarded.status, denied.status, no_token.status, ok.status, await ok.json(),
                        (still, task.store.file(fid).state))
        finally:
            for runner in runners:
                await runner.cleanup()

    listing, unguarded, denied, no_token, ok, result, state = asyncio.run(scenario())
    assert listing["held"][0]["reason"] == "no_coversheet"
    assert "Pages without a cover sheet" in listing["held"][0]["message"]
    assert (unguarded, denied, no_token, ok) == (403, 401, 403, 200) and result["state"] == "ready"
    assert state == ("held", "ready")  # nothing the refused requests did changed it
    assert json.dumps(listing, ensure_ascii=False)


def test_config_section(tmp_path):
    from firmware_agent.config import ConfigError, load_config

    cfg = load_config(None, {"records": {"separator": "blank-sheet", "ocr_workers": 1}})
    assert cfg.records.separator == "blank-sheet" and cfg.records.ocr_workers == 1
    with pytest.raises(ConfigError, match="records.separator"):
        load_config(None, {"records": {"separator": "magic"}})


def test_secrecy_stamp_raises_the_record_file_to_secret_for_a_technician(tmp_path, nd30_page):
    """L8: a MẬT stamp under a public cover: held with the page named, the cover raised to mode 03."""
    journal = Journal(tmp_path)
    stamped = samples.scanned(nd30_page(organ=("CÔNG AN HUYỆN ĐỨC HÒA", "CÔNG AN XÃ TÂN PHÚ"), number="03/BC-CAX",
                                        place_date="Tân Phú, ngày 02 tháng 7 năm 2015", title=("BÁO CÁO",),
                                        subject=("Tình hình an ninh trật tự quý II năm 2015",), stamp="MẬT"),
                              seed=5, angle=0.3, noise=4.0)
    ids = feed(journal, [cover("D.9"), stamped])
    task = RecordsTask(RecordsSettings(hold_low_confidence=False), journal, tmp_path)
    assert run(task) == []  # nothing packaged in clear
    (held,) = task.status()["held"]
    assert held["reason"] == "secret_stamp" and held["hold_pages"] == [ids[1]]
    assert task.store.file(held["id"]).cover["mode"] == "03"
    doc = held["documents"][0]
    # the public listing names no read text of a secret file, only where its fields are
    assert held["redacted"] and doc["values"] == {}
    assert doc["boxes"]["mode"][0] == ids[1] and doc["boxes"]["organName"][0] == ids[1]  # on the stamped page
    assert len(doc["boxes"]["organName"]) == 5
    (stored,) = task.store.docs(held["id"])
    assert stored["fields"]["mode"] == "03"


def test_a_field_below_its_threshold_is_held_with_its_box(tmp_path, nd30_page):
    journal = Journal(tmp_path)
    page = samples.scanned(nd30_page(organ=("UBND HUYỆN ĐỨC HÒA", "ỦY BAN NHÂN DÂN XÃ TÂN PHÚ"), number="12/QĐ-UBND",
                                     place_date="Tân Phú, ngày 05 tháng 3 năm 2001", title=("QUYẾT ĐỊNH",),
                                     subject=("Về việc cấp giấy chứng nhận quyền sử dụng đất",)),
                           seed=6, angle=0.3, noise=4.0)
    ids = feed(journal, [cover("D.10"), page])
    settings = dataclasses.replace(RecordsSettings(), thresholds={"organName": 1.01, "typeName": 0.0})
    task = RecordsTask(settings, journal, tmp_path)
    assert run(task) == []
    (held,) = task.status()["held"]
    assert held["reason"] == "needs_confirmation" and "1:organName" in held["message"]
    doc = held["documents"][0]
    assert doc["needs"] == ["organName"]
    assert fold(doc["values"]["organName"]).startswith("UY BAN NHAN DAN XA TAN PH")  # as read from the JPEG
    page_id, x0, y0, x1, y1 = doc["boxes"]["organName"]
    assert page_id == ids[1] and 0 <= x0 < x1 and 0 <= y0 < y1 < page.height // 4


def test_scan_order_holds_when_a_later_page_finishes_processing_first(tmp_path):
    """S0/S6 with the real task: cover A, page 1, cover B, page 2 — processed 2, B, 1, A.

    Nothing is assigned until every earlier page is, and no record file closes (even at once,
    forced) while a page is still being processed; both files come out whole, in scan order.
    """
    journal = Journal(tmp_path)
    images = [cover("S.1"), short_page("Trang thứ nhất của hồ sơ S.1"), cover("S.2"),
              short_page("Trang thứ nhất của hồ sơ S.2")]
    job = journal.start_job("hotfolder:order", "", "test")
    ids = []
    for i, img in enumerate(images, 1):
        path = journal.page_path(job, i, ".jpg")
        path.parent.mkdir(parents=True, exist_ok=True)
        img.save(path, quality=85, dpi=(DPI, DPI))
        ids.append(journal.add_page(job, i, path, width=img.width, height=img.height, dpi=DPI, channels=3))
    settings = dataclasses.replace(RecordsSettings(), hold_low_confidence=False, close_after_s=1.0)
    task = RecordsTask(settings, journal, tmp_path)

    def processed(n: int) -> None:
        journal.mark_processed(ids[n], journal.page(ids[n]).raw_path, None, {"blank": False})

    for n in (3, 2, 1):  # two workers: the later pages finish first
        processed(n)
        assert task.split_step() == 0
        assert task.close_step(force=True) == [] and task.store.files() == []
    processed(0)
    assert task.split_step() == 4
    # the last record file stays open while the next page of the job is still being cleaned
    late = journal.add_page(job, 5, journal.page(ids[3]).raw_path, width=1654, height=2339, dpi=DPI, channels=3)
    assert task.close_step(force=True) == []
    journal.mark_processed(late, journal.page(late).raw_path, None, {"blank": False})
    built = run(task)
    assert len(built) == 2
    by_code = {f.file_code: [(pid, role) for pid, role, _seq in task.store.pages_of(f.id)] for f in task.store.files()}
    assert by_code == {"S.1": [(ids[0], "cover"), (ids[1], "content")],
                       "S.2": [(ids[2], "cover"), (ids[3], "content"), (late, "content")]}


def test_a_technician_sees_the_page_with_the_doubtful_fields_box(tmp_path, nd30_page):
    """POST /api/records/{id}/page/{page}: the page reduced, the field's box drawn in red; technician only."""
    import aiohttp
    from aiohttp import web

    from firmware_agent.web.guard import Guard
    from sync.passwords import hash_password

    journal = Journal(tmp_path)
    page = samples.scanned(nd30_page(organ=("UBND HUYỆN ĐỨC HÒA", "ỦY BAN NHÂN DÂN XÃ TÂN PHÚ"), number="12/QĐ-UBND",
                                     place_date="Tân Phú, ngày 05 tháng 3 năm 2001", title=("QUYẾT ĐỊNH",)),
                           seed=7, angle=0.2, noise=4.0)
    ids = feed(journal, [cover("V.1"), page])
    task = RecordsTask(dataclasses.replace(RecordsSettings(), thresholds={"organName": 1.01}), journal, tmp_path)

    async def scenario():
        await task.drain(120)
        app = web.Application()
        Guard(password_hash=hash_password("technician pw")).install(app)
        task.add_routes(app)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        base = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
        try:
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
                (held,) = (await (await s.get(f"{base}/api/records")).json())["held"]
                url = f"{base}/api/records/{held['id']}/page/{ids[1]}"
                anonymous = (await s.post(url, json={"field": "organName"})).status
                token = (await (await s.post(f"{base}/login", json={"password": "technician pw"})).json())["csrf_token"]
                h = {"X-CSRF-Token": token}
                seen = await s.post(url, json={"field": "organName"}, headers=h)
                jpeg = await seen.read()
                other = (await s.post(f"{base}/api/records/{held['id']}/page/{ids[1] + 99}", headers=h)).status
                return held, anonymous, seen.status, seen.content_type, jpeg, other
        finally:
            await runner.cleanup()

    held, anonymous, status, ctype, jpeg, other = asyncio.run(scenario())
    assert (anonymous, status, ctype, other) == (401, 200, "image/jpeg", 404)
    view = Image.open(io.BytesIO(jpeg)).convert("RGB")
    assert view.width == 1000
    _pid, x0, y0, x1, y1 = held["documents"][0]["boxes"]["organName"]
    k = 1000 / page.width
    # the red frame just outside the box; nothing red on the clean page's left margin below it
    edge = [view.getpixel((round((x0 + x1) / 2 * k), round(y0 * k) - d)) for d in range(2, 9)]
    assert any(r > 180 and g < 90 and b < 90 for r, g, b in edge), edge
    margin = [view.getpixel((10, y)) for y in range(round(y1 * k) + 60, round(y1 * k) + 120)]
    assert not any(r > 180 and g < 90 and b < 90 for r, g, b in margin)
