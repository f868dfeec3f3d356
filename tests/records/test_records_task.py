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

from firmware_agent.journal import Journal
from firmware_agent.records import samples
from records import coversheet
from records.coversheet import CoverSheet
from records.fonts import pil_font
from records.sip_verify import verify
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
    first = RecordsTask(RecordsSettings(), journal, tmp_path)
    assert first.split_step() == 14
    assert first.split_step() == 0  # nothing assigned twice
    # a restart after splitting: a new task on the same journal finishes the work
    task = RecordsTask(RecordsSettings(), journal, tmp_path)
    built = run(task)
    assert len(built) == 2, task.status()
    assert all(verify(p) == [] for p in built)
    assert set(journal.page_counts()) == {"packaged"}
    expected = [["32", "02", "32"], ["15", "20", "21"]]
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
        assert ("GIẤY KHAI SINH" if types[0] == "32" else "TỜ TRÌNH") in text
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
    assert journal.read("SELECT COUNT(*) FROM batch_members")[0][0] == 2
    status = task.status()
    assert status["files"] == {"packaged": 2} and status["ocr_backlog"] == 0
    assert any(line.startswith("sohoa_records_ocr_pages_total 8") for line in task.metrics())


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
