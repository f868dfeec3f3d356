"""The start-up audit (design 2.1) on journals broken on purpose, then repaired and finished by the real tasks."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import aiohttp
import numpy as np

from firmware_agent.agent import Agent
from firmware_agent.capture_file import CAPTURE_SUFFIX, derived_path, write_capture_atomic
from firmware_agent.config import load_config
from firmware_agent.journal_audit import audit
from firmware_agent.page_tasks import ProcessingTask
from firmware_agent.records import samples
from records import coversheet
from records.coversheet import CoverSheet
from firmware_agent.records.task import RecordsTask
from firmware_agent.records.settings import RecordsSettings
from firmware_agent.state_lock import StateLock
from firmware_agent.sync_enrollment import enroll_local
from firmware_agent.sync_settings import SyncSettings
from firmware_agent.uploader_task import UploaderTask
from firmware_agent.wiring import optional_sources
from sync.keys import ed25519_public, read_public
from central.local import start_local_receiver

ROOT = Path(__file__).resolve().parents[2]


def codes(report) -> list[tuple[str, bool]]:
    return [(f.code, f.repaired) for f in report.findings]


def check(station, repair=True, hash_files=False):
    log = station.root / "keys" / "log_ed25519.pub"
    return audit(station.journal, device_id=station.device_id, log_public=ed25519_public(read_public(log)), repair=repair, hash_files=hash_files)


def test_a_clean_journal_has_no_findings(tmp_path, stations):
    station = stations.Station(tmp_path / "s", pages=4)
    station.finish()
    report = check(station)
    assert report.findings == [] and report.ok
    assert report.checked["batches_sealed"] == 1


def test_a_staged_member_whose_file_vanished_is_made_again_from_its_capture(tmp_path, stations):
    station = stations.Station(tmp_path / "s", pages=3)
    for pid, _ in station.journal.read("SELECT id, seq FROM pages"):  # pages the pipeline can really process
        page = station.journal.page(pid)
        img = np.full((400, 300), 235, np.uint8)
        img[100:300, 80:220] = 20
        write_capture_atomic(page.raw_path, img)
    station.stage()
    station.close()
    (folder,) = list((station.root / "outbox").glob("batch-*"))
    lost = folder / station.names[1]
    lost.unlink()

    report = check(station)
    assert codes(report) == [("member_file_missing", True)]
    assert station.names[1] in report.findings[0].en and report.ok
    assert check(station, repair=False).findings == []  # repaired: nothing more to say
    (row,) = station.journal.read("SELECT id, state FROM pages WHERE seq=2")
    assert row["state"] == "captured"

    # the real processing stage makes the page again; it goes in the next batch
    ProcessingTask(station.journal, workers=1, jpeg_quality=85)._process_blocking(station.journal.page(row["id"]))
    station.finish()
    station.names[1] = station.names[1].replace(".png", ".jpg")  # the pipeline writes its page as JPEG
    station.check()
    archived = station.archived()
    assert len(archived) == 2 and archived[2] == [station.names[1]]


def _records_station(tmp_path, stations):
    """Two record files packaged by the real records task into one open batch."""
    station = stations.Station(tmp_path / "s", pages=0)
    j = station.journal
    job = j.start_job("hotfolder:test", "", "test")
    stack = [coversheet.render(CoverSheet("H49.1.1.1.1", "H49.1.1.1", "Hồ sơ A", "01", "01"), 200),
             samples.render_page(samples.SPECS[2], 200),
             coversheet.render(CoverSheet("H49.1.1.1.2", "H49.1.1.2", "Hồ sơ B", "01", "01"), 200),
             samples.render_page(samples.SPECS[3], 200)]
    for i, img in enumerate(stack, 1):  # as the processing stage leaves them: capture and archival page
        raw = j.page_path(job, i, CAPTURE_SUFFIX)
        write_capture_atomic(raw, np.asarray(img.convert("RGB")))
        pid = j.add_page(job, i, raw, width=img.width, height=img.height, dpi=200, channels=3)
        colour = derived_path(raw, ".jpg")
        img.convert("RGB").save(colour, quality=85, dpi=(200, 200))
        j.mark_processed(pid, colour, None, {"blank": False})
    settings = RecordsSettings(hold_low_confidence=False)
    task = RecordsTask(settings, j, station.root)
    asyncio.run(task.drain(120))
    names = [r[0] for r in j.read("SELECT package FROM rec_files WHERE state='packaged' ORDER BY id")]
    assert len(names) == 2, task.status()
    return station, task, names


def _packages(station) -> dict[int, list[str]]:
    """seq -> the record packages of each sealed batch (each clear package travels with its confidences)."""
    return {seq: [m for m in members if not m.endswith(".confidence.json")]
            for seq, members in station.archived().items()}


def test_the_lost_member_of_a_sealed_batch_is_packaged_again_into_the_next(tmp_path, stations):
    """The state the race used to leave: a member row in a sealed batch whose file never made it in."""
    station, task, (a, b) = _records_station(tmp_path, stations)
    j = station.journal
    row = dict(j.read("SELECT * FROM batch_members WHERE name=?", (b,))[0])
    with j.transaction() as db:  # break it on purpose: seal without B, then record B in the sealed batch
        db.execute("DELETE FROM batch_members WHERE name=?", (b,))
    station.close()
    station.seal()
    with j.transaction() as db:
        db.execute("INSERT INTO batch_members VALUES (?,?,?,?,?)",
                   (row["batch_id"], b, row["size"], row["pages"], row["documents"]))
    assert [m for ms in _packages(station).values() for m in ms] == [a]

    report = check(station)
    assert codes(report) == [("member_lost", True)] and b in report.findings[0].en
    assert j.read("SELECT state FROM rec_files WHERE package IS NULL")[0][0] == "ready"
    # the records task builds B again (same name: the ids derive from the record file) into a new batch
    asyncio.run(task.drain(120))
    station.close()
    station.seal()
    archived = _packages(station)
    assert archived == {1: [a], 2: [b]}
    pages_b = j.read("SELECT DISTINCT pb.batch_id FROM page_batches pb JOIN rec_pages r ON r.page_id = pb.page_id"
                     " JOIN rec_files f ON f.id = r.file_id WHERE f.package=?", (b,))
    assert [r[0] for r in pages_b] == [j.read("SELECT id FROM batches WHERE seq=2")[0][0]]
    assert check(station).findings == []


def test_a_packaged_record_file_in_no_batch_goes_back_to_be_packaged(tmp_path, stations):
    station, task, (a, b) = _records_station(tmp_path, stations)
    with station.journal.transaction() as db:
        db.execute("DELETE FROM batch_members WHERE name=?", (a,))
    report = check(station)
    assert codes(report) == [("record_not_batched", True)]
    assert report.findings[0].vi.startswith("Hồ sơ H49.1.1.1.1 đã đóng gói nhưng không nằm trong lô nào")
    asyncio.run(task.drain(120))
    station.close()
    station.seal()
    assert sorted(m for ms in _packages(station).values() for m in ms) == sorted([a, b])
    assert check(station).findings == []


def test_a_changed_sealed_file_and_a_bad_receipt_are_reported_not_repaired(tmp_path, stations):
    station = stations.Station(tmp_path / "s", pages=2)
    station.finish()
    sealed = next((station.root / "sealed").glob("*.sohoa"))
    data = bytearray(sealed.read_bytes())
    data[100] ^= 1
    sealed.write_bytes(bytes(data))
    assert check(station).findings == []  # same size: the start-up audit does not hash
    report = check(station, hash_files=True)
    assert codes(report) == [("sealed_file_changed", False)] and not report.ok
    sealed.write_bytes(bytes(data[:-1]))
    assert codes(check(station)) == [("sealed_file_changed", False)]
    sealed.unlink()
    assert codes(check(station)) == [("sealed_file_missing", False)]

    # acknowledged through a real receiver, then its receipt altered
    state = tmp_path / "a"
    station2 = stations.Station(state, pages=2)
    station2.stage()
    station2.close()

    async def deliver():
        rx = await start_local_receiver(tmp_path / "rx")
        try:
            overrides = await enroll_local(rx, state, station2.device_id)
            task = UploaderTask(SyncSettings(**overrides), station2.journal, state, station2.device_id)
            assert task.seal_staged() == 1
            assert await task.send_one()
        finally:
            await rx.close()
    asyncio.run(deliver())
    assert check(station2).findings == []
    receipt = json.loads(station2.journal.read("SELECT receipt_json FROM batches")[0][0])
    receipt["index"] += 1
    with station2.journal.transaction() as db:
        db.execute("UPDATE batches SET receipt_json=?", (json.dumps(receipt),))
    report = check(station2)
    assert codes(report) == [("receipt_invalid", False)] and "does not verify" in report.findings[0].en


def test_sohoa_journal_check_reports_repairs_and_respects_a_running_agent(tmp_path, stations):
    station = stations.Station(tmp_path / "s", pages=2)
    station.stage()
    station.close()
    (folder,) = list((station.root / "outbox").glob("batch-*"))
    (folder / station.names[0]).unlink()
    station.journal.close()
    cmd = [sys.executable, "-m", "firmware_agent", "journal", "check", "--state-dir", str(station.root),
           "--device-id", stations.DEVICE]

    lock = StateLock(station.root)
    lock.acquire()  # as a running agent holds it
    try:
        held = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=60)
    finally:
        lock.release()
    assert held.returncode == 1, held.stderr
    assert "checking only" in held.stderr and "NEEDS ACTION" in held.stdout and station.names[0] in held.stdout

    fixed = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "repaired" in fixed.stdout and station.names[0] in fixed.stdout
    clean = subprocess.run(cmd + ["--json"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert clean.returncode == 0 and json.loads(clean.stdout)["findings"] == []
    missing = subprocess.run(cmd[:6] + [str(tmp_path / "nowhere")], capture_output=True, text=True, cwd=ROOT)
    assert missing.returncode == 1 and "No journal" in missing.stderr  # a fault, not a usage error (exit 2)


def test_the_agent_audits_at_start_and_shows_it(tmp_path, stations, browser):
    station = stations.Station(tmp_path / "state", pages=2)
    station.finish()
    station.journal.close()
    sealed = next((station.root / "sealed").glob("*.sohoa"))
    sealed.write_bytes(b"cut short")
    cfg = load_config(None, {"agent": {"state_dir": str(station.root), "device_id": stations.DEVICE},
                             "scanner": {"device": "test:0"}, "web": {"port": 0}})

    async def main():
        agent = Agent(cfg)
        agent.sources.extend(optional_sources(cfg, agent))
        await agent.start()
        try:
            async with aiohttp.ClientSession(agent.address) as http:
                async with http.get("/api/status") as r:
                    status = await r.json()
            shown = await asyncio.to_thread(page_text, agent.address)
        finally:
            await agent.stop()
        return status, shown

    def page_text(address: str) -> str:
        """What the technician reads in the audit box of the status page (a real browser)."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        browser.get(address)
        box = WebDriverWait(browser, 30).until(lambda d: d.find_element(By.ID, "audit")
                                               if "lô" in d.find_element(By.ID, "audit").text else False)
        return box.text
    status, shown = asyncio.run(main())
    assert "Cần kỹ thuật viên / Technician needed" in shown
    assert "Tệp lô số 1 đã niêm phong bị thay đổi" in shown and "has changed" in shown
    audit_status = status["journal_audit"]
    assert audit_status["ok"] is False
    assert [f["code"] for f in audit_status["findings"]] == ["sealed_file_changed"]
    assert any(e["code"] == "audit_sealed_file_changed" and "technician" in e["message"]
               for e in status["events"])
