"""Secret (mode 03) records leave nothing in clear once staged (docs/design.md §6.6, §6.8).

The assembled agent takes a copier's PDF from a real hot folder, cleans the pages
(imaging pipeline), reads the cover sheet, OCRs with real tesseract and stages the
package; the station is enrolled with a real receiver on loopback. Afterwards every
byte of every file under the state folder and the hot folder, every row of every
journal table and every log line is searched for marker words planted in the record
file's title and body. The same run with mode 01 finds them, so the search can fail.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import sqlite3
import subprocess
import time
import unicodedata
import zipfile
import zlib
from pathlib import Path

import pytest
import zstandard
from PIL import Image, ImageDraw

from firmware_agent.agent import Agent
from firmware_agent.config import load_config
from firmware_agent.hotfolder import HotFolder
from firmware_agent.journal import Journal
from firmware_agent.records import samples
from records import coversheet
from records.coversheet import CoverSheet
from records.fonts import pil_font
from firmware_agent.records.store import RecordStore
from firmware_agent.records.task import RecordsTask
from firmware_agent.records.settings import RecordsSettings
from firmware_agent.sync_enrollment import enroll_local
from firmware_agent.triggers import HotFolderIntake
from firmware_agent.wiring import optional_sources
from sync.age import AgeReader
from sync.keys import load_private
from central.local import start_local_receiver

DPI = 200
DEVICE = "xa-mat-01"
# Words no page, schema or program text contains: ASCII, and Vietnamese with diacritics.
SECRET_TITLE = ("ZEBRAQUILT", "Nghiêngxoài")
SECRET_BODY = ("QUOKKAFJORD", "Thuyềnkhuyết")
PUBLIC_TITLE = ("WOMBATLANTERN", "Chuồnmướp")
PUBLIC_BODY = ("YAKPERISCOPE", "Giếngthoải")
# What a thief must not find as files: page images, PDFs, zips and zstd frames (captures).
CLEAR_MAGIC = {b"\x89PNG": "PNG", b"\xff\xd8\xff": "JPEG", b"II*\x00": "TIFF", b"MM\x00*": "TIFF",
               b"%PDF": "PDF", b"PK\x03\x04": "zip", b"\x28\xb5\x2f\xfd": "zstd"}


# --------------------------------------------------------------------------- the pages

def cover_page(code: str, title: tuple[str, str], mode: str) -> Image.Image:
    sheet = CoverSheet(code, f"H49.1.2.{code[-3:]}", f"Hồ sơ {title[0]} {title[1]}", "01", mode)
    return samples.scanned(coversheet.render(sheet, DPI), seed=len(code))


def body_page(words: tuple[str, str]) -> Image.Image:
    img = Image.new("RGB", (1654, 2339), "white")
    draw = ImageDraw.Draw(img)
    lines = ["ỦY BAN NHÂN DÂN XÃ EA TIÊU", "QUYẾT ĐỊNH", f"Về việc giao đất {words[0]} cho hộ gia đình",
             f"ông {words[1]} ở thôn Đồng Tâm"]
    for n, line in enumerate(lines):
        draw.text((150, 300 + 90 * n), line, font=pil_font(48), fill="black")
    return samples.scanned(img, seed=len(words[0]))


def drop_pdf(inbox: Path, name: str, pages: list[Image.Image]) -> None:
    """As a copier does: written under a hidden name, then renamed into the folder."""
    inbox.mkdir(parents=True, exist_ok=True)
    tmp = inbox / f".{name}.part"
    pages[0].save(tmp, format="PDF", save_all=True, append_images=pages[1:], resolution=float(DPI))
    tmp.rename(inbox / name)


# --------------------------------------------------------------------------- the search

def _stripped(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def byte_forms(marker: str) -> set[bytes]:
    """Every way a text could sit in a file: UTF-8 (NFC, NFD, no accents), UTF-16, JSON escapes."""
    forms = set()
    for text in {unicodedata.normalize("NFC", marker), unicodedata.normalize("NFD", marker), _stripped(marker)}:
        for cased in (text, text.upper(), text.lower()):
            forms.add(cased.encode("utf-8").lower())
            forms.add(cased.encode("utf-16-le").lower())
            forms.add(json.dumps(cased).strip('"').encode("ascii").lower())
    return forms


def layers(data: bytes, depth: int = 0):
    """The bytes, and what a zip, a zstd frame or a PDF's deflated streams hold inside them."""
    yield data
    if depth >= 3:
        return
    if data.startswith(b"PK\x03\x04"):
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for name in zf.namelist():
                yield from layers(zf.read(name), depth + 1)
    elif data.startswith(b"\x28\xb5\x2f\xfd"):
        yield from layers(zstandard.ZstdDecompressor().decompressobj().decompress(data), depth + 1)
    elif b"%PDF" in data[:1024]:
        for m in re.finditer(rb"stream\r?\n(.*?)endstream", data, re.S):
            try:
                yield from layers(zlib.decompressobj().decompress(m.group(1)), depth + 1)
            except zlib.error:
                pass


def files_under(*roots: Path) -> list[Path]:
    return sorted(p for root in roots for p in root.rglob("*") if p.is_file())


def hits_in_files(markers, *roots: Path) -> list[tuple[str, str]]:
    forms = {m: byte_forms(m) for m in markers}
    found = []
    for path in files_under(*roots):
        for layer in layers(path.read_bytes()):
            low = layer.lower()
            found += [(str(path), m) for m, fs in forms.items() if any(f in low for f in fs)]
    return sorted(set(found))


def hits_in_rows(journal_file: Path, markers) -> list[tuple[str, str]]:
    wanted = {m: _stripped(m).casefold() for m in markers}
    found = set()
    conn = sqlite3.connect(journal_file)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        assert {"pages", "jobs", "events", "rec_files", "rec_docs", "rec_ocr"} <= set(tables)
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    if isinstance(value, bytes):
                        value = value.decode("utf-8", "replace")
                    text = _stripped(unicodedata.normalize("NFC", str(value))).casefold()
                    found |= {(table, m) for m, w in wanted.items() if w in text}
    finally:
        conn.close()
    return sorted(found)


def hits_in_logs(records: list[logging.LogRecord], markers) -> list[str]:
    wanted = [_stripped(m).casefold() for m in markers]
    return [r.getMessage() for r in records if any(w in _stripped(r.getMessage()).casefold() for w in wanted)]


def clear_files(*roots: Path) -> list[tuple[str, str]]:
    out = []
    for path in files_under(*roots):
        head = path.read_bytes()[:8]
        out += [(str(path), kind) for magic, kind in CLEAR_MAGIC.items() if head.startswith(magic)]
    return out


def open_secret_package(path: Path, rx_root: Path) -> tuple[str, str]:
    """(EAD.xml, text of every PDF) of an encrypted package, opened with the archive's private key."""
    key = load_private(rx_root / "keys" / "archive_x25519.pem")
    plain = AgeReader(io.BytesIO(path.read_bytes()), key).read()
    texts = []
    with zipfile.ZipFile(io.BytesIO(plain)) as zf:
        ead = next(zf.read(n).decode() for n in zf.namelist() if n.endswith("/EAD.xml"))
        for name in (n for n in zf.namelist() if n.endswith(".pdf")):
            done = subprocess.run(["pdftotext", "-", "-"], input=zf.read(name), capture_output=True, check=True)
            texts.append(done.stdout.decode())
    return ead, "\n".join(texts)


# --------------------------------------------------------------------------- the agent

def config(tmp_path: Path):
    return load_config(None, {
        "agent": {"state_dir": str(tmp_path / "state"), "min_free_mb": 10, "device_id": DEVICE},
        "scanner": {"device": "test:1", "test_picture": "Grid", "poll_ms": 50, "width_mm": 60.0, "height_mm": 80.0},
        "hotfolder": {"path": str(tmp_path / "inbox"), "settle_s": 0.2},
        "web": {"port": 0},
        # The batch stays open: what is searched is the appliance right after staging.
        "batch": {"max_age_s": 3600.0},
        "records": {"enabled": True, "hold_low_confidence": False, "close_after_s": 1.0},
    })


async def until(predicate, timeout: float = 180.0, what: str = "") -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if await asyncio.to_thread(predicate):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what or predicate}")


def run_station(tmp_path: Path, files: dict[str, list[Image.Image]], packages: int) -> dict:
    """Enroll, start the agent, drop *files* into its hot folder, wait until *packages* are staged
    and every secret record file is scrubbed; search the state and hot folders while it runs."""
    state, inbox, rx_root = tmp_path / "state", tmp_path / "inbox", tmp_path / "rx"
    out: dict = {}

    async def main():
        receiver = await start_local_receiver(rx_root)
        try:
            await enroll_local(receiver, state, DEVICE)
            cfg = config(tmp_path)
            agent = Agent(cfg)
            agent.sources.extend(optional_sources(cfg, agent))
            records = next(s for s in agent.sources if s.name == "records")
            await agent.start()
            try:
                for name, pages in files.items():
                    await asyncio.to_thread(drop_pdf, inbox, name, pages)
                # 'packaged' commits with the staging, a moment before the task notes the package
                await until(lambda: records.store.counts().get("packaged", 0) == packages
                            and len(records.packages) == packages and not records.store.secret_to_scrub(),
                            what="packages staged and scrubbed")
                out["counts"] = records.store.counts()
                out["held"] = records.store.files("held")
                out["members"] = sorted(p.name for p in (state / "outbox").rglob("*") if p.is_file())
                out["packages"] = list(records.packages)
                out["running"] = snapshot(state, inbox)
            finally:
                await agent.stop()
        finally:
            await receiver.close()
        out["stopped"] = snapshot(state, inbox)

    def snapshot(state: Path, inbox: Path) -> dict:
        markers = SECRET_TITLE + SECRET_BODY + PUBLIC_TITLE + PUBLIC_BODY
        return {"files": hits_in_files(markers, state, inbox), "clear": clear_files(state, inbox),
                "inbox": [str(p.relative_to(inbox)) for p in files_under(inbox)]}

    asyncio.run(main())
    out["rows"] = hits_in_rows(state / "journal.sqlite3", SECRET_TITLE + SECRET_BODY + PUBLIC_TITLE + PUBLIC_BODY)
    return out


def markers_of(hits, markers) -> set[str]:
    return {m for _where, m in hits if m in markers}


# --------------------------------------------------------------------------- tests

@pytest.mark.parametrize("mode", ["03", "01"])
def test_a_secret_record_through_the_hot_folder_leaves_no_marker(tmp_path, caplog, mode):
    caplog.set_level(logging.INFO)
    title, body = (SECRET_TITLE, SECRET_BODY)
    got = run_station(tmp_path, {"scan0001.pdf": [cover_page("H49.64.33.2026.701", title, mode), body_page(body)]},
                      packages=1)
    assert got["counts"] == {"packaged": 1} and not got["held"]
    markers = set(title + body)
    (package,) = got["packages"]
    if mode == "01":
        # The same record file, public: the search finds every marker where a thief would.
        assert markers_of(got["rows"], markers) == markers, got["rows"]
        assert {t for t, m in got["rows"] if m in title} >= {"rec_files"}
        assert {t for t, m in got["rows"] if m in body} >= {"rec_ocr"}
        for when in ("running", "stopped"):
            assert markers_of(got[when]["files"], markers) == markers, got[when]["files"]
            assert got[when]["inbox"] == [".done/scan0001.pdf"]
            kinds = {kind for _p, kind in got[when]["clear"]}
            assert {"PDF", "JPEG", "PNG", "zip"} <= kinds
        assert not package.name.endswith(".enc")
        return
    # Secret: the package holds the markers (they were read), the appliance does not.
    assert package.name.endswith(".zip.enc") and package.read_bytes().startswith(b"age-encryption.org/v1\n")
    ead, text = open_secret_package(package, tmp_path / "rx")
    assert all(m in ead for m in title), ead
    assert all(m in text for m in body), text
    assert got["rows"] == []
    for when in ("running", "stopped"):
        assert got[when]["files"] == [], when
        assert got[when]["clear"] == [], when
        assert got[when]["inbox"] == [], when  # the original went from .done/
    assert hits_in_logs(caplog.records, markers) == []
    assert got["members"] == [package.name]


def test_a_mixed_hot_folder_file_loses_its_original_and_only_the_secret_text(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    pages = [cover_page("H49.64.33.2026.801", PUBLIC_TITLE, "01"), body_page(PUBLIC_BODY),
             cover_page("H49.64.33.2026.802", SECRET_TITLE, "03"), body_page(SECRET_BODY)]
    got = run_station(tmp_path, {"scan0002.pdf": pages}, packages=2)
    assert got["counts"] == {"packaged": 2}
    public = set(PUBLIC_TITLE + PUBLIC_BODY)
    secret = set(SECRET_TITLE + SECRET_BODY)
    plain, enc = sorted(got["packages"], key=lambda p: p.name.endswith(".enc"))
    assert plain.name.endswith(".zip") and enc.name.endswith(".zip.enc")
    # The whole original goes (design H3), the public record file keeps everything else.
    for when in ("running", "stopped"):
        assert got[when]["inbox"] == [], when
        assert markers_of(got[when]["files"], secret) == set(), got[when]["files"]
        assert markers_of(got[when]["files"], public) == public
        kinds = {kind for _p, kind in got[when]["clear"]}
        assert {"JPEG", "PNG", "zip"} <= kinds and "PDF" not in kinds  # public pages and package, no original
    assert markers_of(got["rows"], secret) == set(), got["rows"]
    assert markers_of(got["rows"], public) == public
    assert hits_in_logs(caplog.records, secret) == []


# --------------------------------------------------------------------------- records task alone

def feed(journal: Journal, images: list[Image.Image], source: str) -> list[int]:
    """Pages as the processing stage leaves them: archival JPEG on disk, row 'processed'."""
    job = journal.start_job(source, "", "hotfolder")
    ids = []
    for i, img in enumerate(images, 1):
        path = journal.page_path(job, i, ".jpg")
        path.parent.mkdir(parents=True, exist_ok=True)
        img.save(path, quality=85, dpi=(DPI, DPI))
        pid = journal.add_page(job, i, path, width=img.width, height=img.height, dpi=DPI, channels=3)
        journal.mark_processed(pid, path, None, {"blank": False})
        ids.append(pid)
    journal.set_job_state(job, "done")
    return ids


def test_enrollment_releases_a_record_file_held_for_no_secret_key(tmp_path):
    state = tmp_path / "state"
    journal = Journal(state)
    ids = feed(journal, [cover_page("H49.64.33.2026.901", SECRET_TITLE, "03"), body_page(SECRET_BODY)],
               "scanner:test:1")
    settings = RecordsSettings(hold_low_confidence=False)

    async def main():
        task = RecordsTask(settings, journal, state)
        assert await task.drain(120) == []
        (held,) = task.store.files("held")
        assert held.hold_code == "no_secret_key"
        # Honest: while it is held its pages are in clear.
        assert all(journal.page(pid).colour_path.exists() for pid in ids)
        # A technician's confirmation before enrollment does not get it built in clear.
        task.confirm(held.id)
        assert task.package_step() == []
        assert task.store.file(held.id).hold_code == "no_secret_key"
        receiver = await start_local_receiver(tmp_path / "rx")
        try:
            await enroll_local(receiver, state, DEVICE)
        finally:
            await receiver.close()
        # The same task, no restart and no technician: the next pass releases and packages it.
        (built,) = await task.drain(120)
        return task, held.id, built

    task, file_id, built = asyncio.run(main())
    assert built.name.endswith(".zip.enc")
    ead, text = open_secret_package(built, tmp_path / "rx")
    assert SECRET_TITLE[1] in ead and SECRET_BODY[0] in text
    f = task.store.file(file_id)
    assert f.state == "packaged" and f.hold_code == "" and f.scrubbed_at is not None
    assert f.cover == {"file_code": "H49.64.33.2026.901", "mode": "03"}
    assert task.store.docs(file_id) == [] and task.store.ocr_stats()[0] == 0
    assert not any(journal.page(pid).colour_path.exists() for pid in ids)


def test_an_original_still_in_processing_is_removed_once_the_hot_folder_moved_it(tmp_path):
    """After a crash between intake and the move to .done/, the scrub waits, then finishes (C2, C5)."""
    import hashlib

    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from sync.keys import raw_public

    state, inbox = tmp_path / "state", tmp_path / "inbox"
    journal = Journal(state)
    hf = HotFolder(inbox, settle_s=0.0, on_file=HotFolderIntake(journal, default_dpi=DPI, min_free_mb=1))
    pages = [cover_page("H49.64.33.2026.951", SECRET_TITLE, "03"), body_page(SECRET_BODY)]
    drop_pdf(inbox, "scan0003.pdf", pages)
    hf.processing_dir.mkdir()
    left = hf.processing_dir / "scan0003.pdf"
    (inbox / "scan0003.pdf").rename(left)  # as a crash leaves it: pages journaled, not yet moved on
    digest = hashlib.sha256(left.read_bytes()).hexdigest()
    feed(journal, pages, f"hotfolder:scan0003.pdf#{digest[:16]}")
    key = tmp_path / "archive.pub"
    key.write_bytes(raw_public(X25519PrivateKey.generate().public_key()))
    task = RecordsTask(RecordsSettings(hold_low_confidence=False, secret_recipient_key=str(key)), journal, state,
                       remove_original=hf.remove_taken)
    (built,) = asyncio.run(task.drain(120))
    (f,) = task.store.files("packaged")
    assert task.store.secret_to_scrub() == [f.id] and f.scrubbed_at is None and left.exists()
    assert task.store.docs(f.id) == []  # the journal's text went at once all the same
    # The hot folder's next pass offers the leftover: the intake knows the job, it goes to .done/.
    assert hf.scan_once() == [inbox / ".done" / "scan0003.pdf"]
    assert task.scrub(f.id) is True
    assert task.store.secret_to_scrub() == [] and files_under(inbox) == []


def test_deleted_text_leaves_the_journal_files_only_with_secure_delete_and_a_checkpoint(tmp_path):
    """Measured on real SQLite: what the scrub (C3, C4) does and what a plain delete would leave."""
    marker = "Nghiêngxoài ZEBRAQUILT"

    def fill(state: Path) -> tuple[Journal, RecordStore]:
        journal = Journal(state)
        store = RecordStore(journal)
        with store.tx() as db:
            db.execute("INSERT INTO rec_files(id, file_code, cover, state, created_at, updated_at)"
                       " VALUES (1, 'A.1', ?, 'packaged', 0, 0)", (json.dumps({"file_code": "A.1", "mode": "03",
                                                                                   "title": marker}),))
        for pid in range(1, 40):  # several pages of OCR, then more rows so old frames stay in the WAL
            store.save_ocr(pid, {"words": [[marker, 1, 2, 3, 4, 90.0, 0]] * 50, "width": 1, "height": 1,
                                 "dpi": 200})
        store.save_doc(1, 1, {"subject": marker}, {"subject": 0.9}, [])
        assert store.checkpoint()  # the text is in the database file itself now
        for pid in range(40, 80):
            store.save_ocr(pid, {"words": [["filler", 1, 2, 3, 4, 90.0, 0]] * 50, "width": 1, "height": 1,
                                 "dpi": 200})
        return journal, store

    def found(state: Path) -> list[str]:
        return sorted({Path(path).name for path, _m in hits_in_files([marker], state)})

    journal, store = fill(tmp_path / "scrubbed")
    assert journal.read("PRAGMA secure_delete")[0][0] == 1
    assert "journal.sqlite3" in found(tmp_path / "scrubbed")
    assert store.scrub_secret(1, list(range(1, 40)), complete=True)
    assert store.checkpoint()
    assert found(tmp_path / "scrubbed") == []
    assert (tmp_path / "scrubbed" / "journal.sqlite3-wal").stat().st_size == 0
    journal.close()

    # The same deletes on a connection without secure_delete: the text stays in the file.
    journal, store = fill(tmp_path / "plain")
    conn = sqlite3.connect(journal.path, isolation_level=None)
    conn.execute("PRAGMA secure_delete=OFF")
    conn.execute("DELETE FROM rec_ocr WHERE page_id < 40")
    conn.execute("DELETE FROM rec_docs")
    conn.execute("UPDATE rec_files SET cover='{}'")
    assert conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0
    conn.close()
    assert "journal.sqlite3" in found(tmp_path / "plain")
    journal.close()


def test_pages_are_split_in_capture_order_even_when_processed_out_of_order(tmp_path):
    """A secret record's page cleaned before its cover sheet must not join the public record file before it."""
    state = tmp_path / "state"
    journal = Journal(state)
    images = [cover_page("H49.64.33.2026.961", PUBLIC_TITLE, "01"), body_page(PUBLIC_BODY),
              cover_page("H49.64.33.2026.962", SECRET_TITLE, "03"), body_page(SECRET_BODY)]
    job = journal.start_job("scanner:test:1", "", "test")
    ids = []
    for i, img in enumerate(images, 1):
        path = journal.page_path(job, i, ".jpg")
        path.parent.mkdir(parents=True, exist_ok=True)
        img.save(path, quality=85, dpi=(DPI, DPI))
        ids.append(journal.add_page(job, i, path, width=img.width, height=img.height, dpi=DPI, channels=3))
    task = RecordsTask(RecordsSettings(hold_low_confidence=False), journal, state)

    def processed(pid: int) -> None:
        journal.mark_processed(pid, journal.page(pid).raw_path, None, {"blank": False})

    processed(ids[0])
    processed(ids[1])
    assert task.split_step() == 2
    assert task.close_step(force=True) == []  # pages are still on their way: the public file stays open
    # Two processing workers: the secret body page is done while its cover sheet is still being cleaned.
    processed(ids[3])
    assert task.split_step() == 0
    processed(ids[2])
    assert task.split_step() == 2
    files = {f.cover["mode"]: f.id for f in task.store.files()}
    assert [(pid, role) for pid, role, _seq in task.store.pages_of(files["03"])] == [(ids[2], "cover"),
                                                                                     (ids[3], "content")]
