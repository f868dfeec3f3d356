"""The agent's uploader on a real journal, against a real receiver on loopback."""

from __future__ import annotations

import asyncio
import json
import os
import socket
from pathlib import Path

from firmware_agent.metrics import exposition
from firmware_agent.journal import Journal, open_db
from firmware_agent.sync_settings import SyncSettings
from firmware_agent.sync_enrollment import enroll_local
from firmware_agent.uploader_task import UploaderTask, in_hours
from central.local import start_local_receiver
from sync.receipt import verify_receipt
from sync.keys import ed25519_public, read_public


def _stage(journal: Journal, tmp, n_batches: int, size: int = 200_000) -> list[int]:
    ids = []
    for b in range(n_batches):
        for i in range(2):
            src = tmp / f"src-{b}-{i}.zip"
            src.write_bytes(os.urandom(size))
            journal.batches.stage_member(src, f"hs-{b:03d}-{i}.zip", pages=3, documents=1)
        ids += journal.batches.close_due(max_pages=1, max_age_s=0, force=True)
    return ids


def _dead_endpoint() -> str:
    """A loopback URL on a port nothing listens on (bound once, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/"


async def _until(pred, timeout=30.0):
    for _ in range(int(timeout / 0.05)):
        if pred():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached")


def test_staged_batches_are_sealed_sent_acknowledged_and_deleted(tmp_path):
    state = tmp_path / "state"
    journal = Journal(state)

    async def body():
        rx = await start_local_receiver(tmp_path / "rx")
        try:
            overrides = await enroll_local(rx, state, "dev-9")
            settings = SyncSettings(**{**overrides, "chunk_kib": 64})
            ids = _stage(journal, tmp_path, 3)
            staged_dirs = [journal.abs(r[0]) for r in journal.read("SELECT dir FROM batches WHERE state='staged'")]
            assert len(staged_dirs) == 3 and all(d.is_dir() for d in staged_dirs)
            task = UploaderTask(settings, journal, state, "dev-9", climate_summary=lambda: {"temp_c": 26.5})
            before = task.status()
            assert before["backlog_batches"] == 3 and before["backlog_bytes"] >= 6 * 200_000
            runner = asyncio.create_task(task.run())
            await _until(lambda: task.status()["batches_acknowledged"] == 3)
            st = task.status()
            assert st["backlog_batches"] == 0 and st["state"] in ("idle", "uploading") and st["last_error"] is None
            assert "sohoa_sync_acknowledged_total 3.0" in exposition(task.metrics()).decode().splitlines()
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
            assert journal.batches.counts().get("acknowledged") == 3
            assert not any(d.exists() for d in staged_dirs)
            assert list((state / "sealed").glob("*.sohoa")) == []
            db = open_db(journal.path)
            rows = db.execute("SELECT seq, id, receipt_json FROM batches ORDER BY seq").fetchall()
            assert [r["id"] for r in rows] == ids and [r["seq"] for r in rows] == [1, 2, 3]
            log_pub = ed25519_public(read_public(state / "keys" / "log_ed25519.pub"))
            assert [verify_receipt(json.loads(r["receipt_json"]), log_pub).index for r in rows] == [0, 1, 2]
            db.close()
            # What arrived carries the manifest the appliance meant, climate included.
            assert rx.core.state.device("dev-9").last_seq == 3
        finally:
            await rx.close()
            journal.close()
    asyncio.run(asyncio.wait_for(body(), 90))


def test_offline_then_online_and_resume_after_restart(tmp_path):
    state = tmp_path / "state"
    journal = Journal(state)

    async def body():
        rx = await start_local_receiver(tmp_path / "rx")
        try:
            overrides = await enroll_local(rx, state, "dev-7")
            offline = SyncSettings(**{**overrides, "endpoint": _dead_endpoint(), "backoff_min_s": 0.05,
                                      "backoff_max_s": 0.2})
            _stage(journal, tmp_path, 1, size=600_000)
            t1 = UploaderTask(offline, journal, state, "dev-7")
            r1 = asyncio.create_task(t1.run())
            await _until(lambda: t1.status()["state"] == "offline")
            st = t1.status()
            assert st["backlog_batches"] == 1 and st["oldest_unsent_age_s"] >= 0
            assert "Không kết nối" in st["last_error"]["vi"] and "unreachable" in st["last_error"]["en"]
            assert "sohoa_sync_online 0.0" in exposition(t1.metrics()).decode().splitlines()
            r1.cancel()
            await asyncio.gather(r1, return_exceptions=True)

            # Online but slow: stop the agent in the middle of the upload...
            slow = SyncSettings(**{**overrides, "chunk_kib": 64, "bandwidth_kib_s": 1024})
            t2 = UploaderTask(slow, journal, state, "dev-7")
            r2 = asyncio.create_task(t2.run())
            await _until(lambda: (t2.progress or {}).get("offset", 0) >= 256 * 1024)
            r2.cancel()
            await asyncio.gather(r2, return_exceptions=True)
            db = open_db(journal.path)
            url = db.execute("SELECT upload_url FROM batches").fetchone()[0]
            db.close()
            assert url
            # ...and a new agent resumes the same upload from the server's offset.
            fast = SyncSettings(**{**overrides, "chunk_kib": 64})
            t3 = UploaderTask(fast, journal, state, "dev-7")
            r3 = asyncio.create_task(t3.run())
            await _until(lambda: t3.status()["batches_acknowledged"] == 1)
            assert t3.bytes_sent < 600_000 * 2 * 0.8  # resumed, not started over
            r3.cancel()
            await asyncio.gather(r3, return_exceptions=True)
            assert rx.core.state.db.execute("SELECT COUNT(*) FROM uploads").fetchone()[0] == 1
        finally:
            await rx.close()
            journal.close()
    asyncio.run(asyncio.wait_for(body(), 90))


def test_a_receiver_that_moved_gets_the_batch_created_again_and_resumed(tmp_path):
    """Design A2: an upload URL on the old endpoint is not resumed; idempotent creation finds the upload."""
    state = tmp_path / "state"
    journal = Journal(state)

    async def body():
        rx = await start_local_receiver(tmp_path / "rx")
        rx2 = None
        try:
            overrides = await enroll_local(rx, state, "dev-5")
            _stage(journal, tmp_path, 1, size=600_000)
            slow = SyncSettings(**{**overrides, "chunk_kib": 64, "bandwidth_kib_s": 1024})
            t1 = UploaderTask(slow, journal, state, "dev-5")
            r1 = asyncio.create_task(t1.run())
            await _until(lambda: (t1.progress or {}).get("offset", 0) >= 256 * 1024)
            r1.cancel()
            await asyncio.gather(r1, return_exceptions=True)
            old_url = open_db(journal.path).execute("SELECT upload_url FROM batches").fetchone()[0]
            # The same receiver state comes back on another port; the old one is closed.
            await rx.close()
            rx = None
            rx2 = await start_local_receiver(tmp_path / "rx")
            assert rx2.url not in old_url
            moved = SyncSettings(**{**overrides, "endpoint": rx2.url, "chunk_kib": 64, "backoff_min_s": 0.05,
                                    "backoff_max_s": 0.2})
            t2 = UploaderTask(moved, journal, state, "dev-5")
            r2 = asyncio.create_task(t2.run())
            await _until(lambda: t2.status()["batches_acknowledged"] == 1, timeout=20)
            r2.cancel()
            await asyncio.gather(r2, return_exceptions=True)
            assert t2.failures == 0  # no attempt went to the old port
            assert t2.bytes_sent < 600_000 * 2 * 0.8  # the receiver's offset was kept
            assert rx2.core.state.db.execute("SELECT COUNT(*) FROM uploads").fetchone()[0] == 1
            new_url = open_db(journal.path).execute("SELECT upload_url FROM batches").fetchone()[0]
            assert new_url.startswith(rx2.url) and new_url.rsplit("/", 1)[1] == old_url.rsplit("/", 1)[1]
        finally:
            for r in (rx, rx2):
                if r is not None:
                    await r.close()
            journal.close()
    asyncio.run(asyncio.wait_for(body(), 90))


def test_waiting_for_the_backlog_does_not_cut_the_retry_back_off_short(tmp_path):
    """``drain`` (sohoa demo --once) must not turn back-off into ten retries a second."""
    state = tmp_path / "state"
    journal = Journal(state)

    async def body():
        rx = await start_local_receiver(tmp_path / "rx")
        try:
            overrides = await enroll_local(rx, state, "dev-6")
        finally:
            await rx.close()
        settings = SyncSettings(**{**overrides, "endpoint": _dead_endpoint(), "backoff_min_s": 0.5,
                                   "backoff_max_s": 1.0})
        _stage(journal, tmp_path, 1, size=10_000)
        task = UploaderTask(settings, journal, state, "dev-6")
        runner = asyncio.create_task(task.run())
        try:
            assert await task.drain(2.0) == 0
        finally:
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
        # 2 s at 0.5-1 s per retry: a handful of tries; waking at every poll made about 20.
        assert 1 <= task.failures <= 6
        journal.close()
    asyncio.run(asyncio.wait_for(body(), 60))


def test_allowed_hours_window():
    assert in_hours(None, 3)
    assert in_hours((18, 7), 23) and in_hours((18, 7), 2) and not in_hours((18, 7), 12)
    assert in_hours((9, 17), 9) and not in_hours((9, 17), 17)


def test_the_demo_receiver_runs_apart_and_drain_waits_for_receipts(tmp_path):
    """The demo's archive is `sohoa-central serve` in its own process; the station enrolls with it."""
    from firmware_agent.demo_receiver import DemoReceiver

    state = tmp_path / "state"
    journal = Journal(state)

    async def body():
        receiver = await DemoReceiver.start(state / "demo-receiver")
        try:
            settings = await receiver.enroll(SyncSettings(), state, "demo-commune-0001")
            assert settings.endpoint == receiver.url and (state / "keys" / "archive_x25519.pub").exists()
            for b in range(2):  # not .zip: the real receiver runs the SIP check on packages
                for i in range(2):
                    src = tmp_path / f"m-{b}-{i}.bin"
                    src.write_bytes(os.urandom(50_000))
                    journal.batches.stage_member(src, f"m-{b}-{i}.bin", pages=1, documents=0)
                journal.batches.close_due(max_pages=1, max_age_s=0, force=True)
            task = UploaderTask(settings, journal, state, "demo-commune-0001")
            runner = asyncio.create_task(task.run())
            assert await task.wait_idle(30) == 2
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
            device = task.device_key().public_key()
            kept = receiver.extract_packages("demo-commune-0001", device, tmp_path / "out")
            assert sorted(p.name for p in kept) == [f"m-{b}-{i}.bin" for b in range(2) for i in range(2)]
        finally:
            await receiver.stop()
            journal.close()
        assert receiver.proc.returncode == 0  # stopped with SIGTERM, cleanly
    asyncio.run(asyncio.wait_for(body(), 60))


def test_secret_member_is_encrypted_on_the_appliance_and_checked_in_clear_by_the_receiver(tmp_path):
    """A mode-03 package written through EncryptingWriter travels and is decrypted for the member check."""
    import zipfile

    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from central.sip_check import receiver_member_check as sip_member_check
    from firmware_agent.sync_enrollment import archive_public_key
    from sync.at_rest import open_encrypted
    from sync.keys import load_or_create

    state = tmp_path / "state"
    journal = Journal(state)
    seen = []

    async def body():
        rx_root = tmp_path / "rx"
        archive = load_or_create(rx_root / "keys" / "archive_x25519.pem", X25519PrivateKey)
        sip_check = sip_member_check(archive)

        def check(name, data):
            seen.append((name, data.read_bytes()[:8] if isinstance(data, Path) else data[:8]))
            return sip_check(name, data)
        rx = await start_local_receiver(rx_root, member_check=check)
        try:
            overrides = await enroll_local(rx, state, "dev-5")
            assert archive_public_key(SyncSettings(), tmp_path / "nowhere") is None
            pub = archive_public_key(SyncSettings(), state)
            secret = tmp_path / "secret.zip.enc"
            w = open_encrypted(secret, pub)
            with zipfile.ZipFile(w, "w") as z:  # not a valid SIP: the receiver must see inside to say so
                z.writestr("HS-MAT/readme.txt", "bí mật")
            w.close()
            assert b"readme.txt" not in secret.read_bytes()
            journal.batches.stage_member(secret, "hs-0001.zip.enc", pages=1, documents=1)
            journal.batches.close_due(max_pages=1, max_age_s=0, force=True)
            task = UploaderTask(SyncSettings(**overrides), journal, state, "dev-5")
            runner = asyncio.create_task(task.run())
            await _until(lambda: task.status()["state"] == "refused")
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
            (rej,) = rx.core.state.rejections()
            assert rej["code"] == "member_check" and "hs-0001.zip.enc" in rej["detail"]
            assert "does not decrypt" not in rej["detail"]  # it was opened and read as a package
            assert seen[0][0] == "hs-0001.zip.enc" and seen[0][1] == b"SOHOAAR1"
            assert "refused batch 1 (member_check)" in task.status()["last_error"]["en"]
        finally:
            await rx.close()
            journal.close()
    asyncio.run(asyncio.wait_for(body(), 60))


def test_a_batch_whose_receipt_does_not_verify_stays_uploaded_and_is_kept(tmp_path):
    """Every byte reached the receiver but its receipt fails the check: 'uploaded', kept, asked again."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from sync.keys import public_b64

    state = tmp_path / "state"
    journal = Journal(state)

    async def body():
        rx = await start_local_receiver(tmp_path / "rx")
        try:
            overrides = await enroll_local(rx, state, "dev-5")
            settings = SyncSettings(**{**overrides, "chunk_kib": 64, "backoff_min_s": 0.05, "backoff_max_s": 0.2})
            (bid,) = _stage(journal, tmp_path, 1)
            log_pub = state / "keys" / "log_ed25519.pub"
            right = log_pub.read_text()
            log_pub.write_text(public_b64(Ed25519PrivateKey.generate()) + "\n")  # some other log's key
            task = UploaderTask(settings, journal, state, "dev-5")
            runner = asyncio.create_task(task.run())
            await _until(lambda: task.status()["state"] == "refused")
            st = task.status()
            assert st["awaiting_receipt"] == 1 and st["batches_acknowledged"] == 0 and st["backlog_batches"] == 1
            assert st["message"] == "Máy chủ từ chối lô, cần kỹ thuật viên / The server refused a batch, technician needed"
            assert st["last_error"]["vi"].startswith("Biên nhận của lô 1 không hợp lệ: ")
            assert st["last_error"]["en"].startswith("The receipt for batch 1 does not verify: ")
            assert "sohoa_sync_awaiting_receipt_batches 1.0" in exposition(task.metrics()).decode().splitlines()
            assert journal.batches.counts() == {"uploaded": 1}
            db = open_db(journal.path)
            assert db.execute("SELECT state FROM batches").fetchone()[0] == "uploaded"
            db.close()
            assert len(list((state / "sealed").glob("*.sohoa"))) == 1  # kept until a receipt verifies
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
            log_pub.write_text(right)  # the right key back: the same upload is answered with its receipt
            task = UploaderTask(settings, journal, state, "dev-5")
            runner = asyncio.create_task(task.run())
            await _until(lambda: task.status()["batches_acknowledged"] == 1)
            assert task.status()["awaiting_receipt"] == 0 and journal.batches.counts() == {"acknowledged": 1}
            assert list((state / "sealed").glob("*.sohoa")) == []
            assert rx.core.state.counts()["accepted"] == 1
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
        finally:
            await rx.close()
            journal.close()
    asyncio.run(asyncio.wait_for(body(), 90))


def test_a_batch_that_cannot_be_sealed_is_reported_in_both_languages(tmp_path):
    """A staged batch whose member vanished: the error names the failure in Vietnamese and in English."""
    state = tmp_path / "state"
    journal = Journal(state)

    async def body():
        rx = await start_local_receiver(tmp_path / "rx")
        try:
            overrides = await enroll_local(rx, state, "dev-4")
            (bid,) = _stage(journal, tmp_path, 1)
            staged = journal.abs(journal.read("SELECT dir FROM batches WHERE id=?", (bid,))[0][0])
            for member in staged.iterdir():
                member.unlink()
            task = UploaderTask(SyncSettings(**overrides), journal, state, "dev-4")
            runner = asyncio.create_task(task.run())
            await _until(lambda: task.status()["last_error"] is not None)
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
            error = task.status()["last_error"]
            assert error["vi"].startswith("Không đóng gói được lô: ") and "No such file" in error["vi"]
            assert error["en"].startswith("Could not seal a batch: ") and "No such file" in error["en"]
            assert task.failures >= 1
        finally:
            await rx.close()
            journal.close()
    asyncio.run(asyncio.wait_for(body(), 90))
