"""Receiver killed and restarted mid-upload; agent process killed mid-upload."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path


from sync.enroll import enroll
from sync.keys import save_private
from central.local import start_local_receiver
from central.services import free_port
from central.receiver_state import ReceiverState

ROOT = Path(__file__).resolve().parents[2]
CHUNK = 256 * 1024


async def _start_receiver(root: Path, port: int) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "central.serve", "--root", str(root), "--port", str(port), cwd=str(ROOT),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    for _ in range(200):
        try:
            _, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            return proc
        except OSError:
            await asyncio.sleep(0.05)
    raise AssertionError("receiver did not start")


def test_receiver_killed_and_restarted_mid_upload(tmp_path, kit):
    app = kit.Appliance(tmp_path / "appliance")
    root = tmp_path / "rx"

    async def body():
        port = free_port()
        url = f"http://127.0.0.1:{port}/"
        proc = await _start_receiver(root, port)
        try:
            state = ReceiverState(root / "receiver.sqlite3")
            token = state.mint_token(app.device_id)
            state.close()
            app.enrollment = await enroll(url, app.device_id, app.key, token)
            b = app.seal((3_000_000,))
            async with app.client(url, chunk_size=CHUNK, rate_limit_bps=4_000_000) as c:
                task = asyncio.create_task(kit.deliver_retrying(c, b, app.log_public, attempts=3000, pause=0.02))
                while c.bytes_sent < CHUNK:
                    await asyncio.sleep(0.02)
                proc.send_signal(signal.SIGKILL)
                await proc.wait()
                sent_at_kill = c.bytes_sent
                assert 0 < sent_at_kill < b.size
                await asyncio.sleep(0.3)
                proc = await _start_receiver(root, port)
                receipt, tries = await task
            assert tries > 1
            assert receipt["leaf"]["sha256"] == b.file_sha256
        finally:
            proc.send_signal(signal.SIGTERM)
            await proc.wait()
        archived = root / "archive" / app.device_id / f"{1:010d}-{b.batch_hash}.sohoa"
        assert archived.read_bytes() == b.path.read_bytes()
        state = ReceiverState(root / "receiver.sqlite3")
        assert state.counts()["accepted"] == 1 and state.counts()["open_uploads"] == 0
        state.close()
    kit.run(body())


AGENT = r"""
import asyncio, json, sys
from pathlib import Path
from sync.auth import HeaderSource
from sync.client import TusClient
from sync.deliver import Outbound, deliver
from sync.keys import ed25519_public, load_private

work = Path(sys.argv[1])
cfg = json.loads((work / "job.json").read_text())
key = load_private(work / "device.pem")
b = Outbound(cfg["device"], cfg["seq"], cfg["batch"], cfg["sha256"], cfg["size"], Path(cfg["path"]))
url_file = work / "url.txt"
progress = open(work / f"progress-{sys.argv[2]}.txt", "a")

def created(u):
    url_file.write_text(u)

def moved(off, total):
    progress.write(f"{off}\n")
    progress.flush()

async def main():
    url = url_file.read_text() if url_file.exists() else None
    async with TusClient(cfg["url"], HeaderSource(cfg["device"], key), chunk_size=cfg["chunk"],
                         rate_limit_bps=cfg["rate"]) as c:
        receipt, _ = await deliver(c, b, ed25519_public(cfg["log_key"]), url=url, on_created=created,
                                   on_progress=moved)
    (work / "receipt.json").write_text(json.dumps(receipt))

asyncio.run(main())
"""


def test_agent_killed_mid_upload_resumes_from_the_server_offset(tmp_path, kit):
    app = kit.Appliance(tmp_path / "appliance")
    work = tmp_path / "agent"
    work.mkdir()

    async def body():
        rx = await start_local_receiver(tmp_path / "rx")
        try:
            await app.enroll(rx)
            b = app.seal((2_500_000,))
            save_private(work / "device.pem", app.key)
            (work / "job.json").write_text(json.dumps({
                "device": b.device_id, "seq": b.seq, "batch": b.batch_hash, "sha256": b.file_sha256,
                "size": b.size, "path": str(b.path), "url": rx.url, "chunk": CHUNK, "rate": 3_000_000,
                "log_key": app.enrollment.log_public_key}))

            async def agent(run: str):
                return await asyncio.create_subprocess_exec(sys.executable, "-c", AGENT, str(work), run,
                                                            cwd=str(ROOT))
            first = await agent("1")
            progress = work / "progress-1.txt"
            while not progress.exists() or len(progress.read_text().split()) < 3:
                await asyncio.sleep(0.02)
            os.kill(first.pid, signal.SIGKILL)
            await first.wait()
            assert not (work / "receipt.json").exists()
            second = await agent("2")
            assert await second.wait() == 0
            resumed_from = int((work / "progress-2.txt").read_text().split()[0])
            assert resumed_from >= 2 * CHUNK
            receipt = json.loads((work / "receipt.json").read_text())
            assert receipt["leaf"]["batch"] == b.batch_hash
            name = f"{b.device_id}/{b.seq:010d}-{b.batch_hash}.sohoa"
            with rx.core.store.open_archived(name) as f:
                assert f.read() == b.path.read_bytes()
            assert rx.core.state.counts()["accepted"] == 1
            assert rx.core.state.db.execute("SELECT COUNT(*) FROM uploads").fetchone()[0] == 1
        finally:
            await rx.close()
    kit.run(body())
