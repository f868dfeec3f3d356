"""A real third-party tus client (tuspy) uploads batches to the receiver."""

from __future__ import annotations

import asyncio
import hashlib

import requests
from tusclient import client as tus_client
from tusclient.uploader import Uploader

from sync.auth import make_auth_header
from central.local import start_local_receiver
from sync.receipt import check_receipt_for


class Sha256Uploader(Uploader):
    """tuspy's documented switch for the checksum algorithm; the receiver accepts only sha256."""

    CHECKSUM_ALGORITHM_PAIR = ("sha256", hashlib.sha256)


def _tuspy_upload(url: str, auth: str, batch, uploader_cls, checksum: bool) -> dict:
    c = tus_client.TusClient(url + "files/", headers={"Authorization": auth})
    up = uploader_cls(file_path=str(batch.path), client=c, chunk_size=100_000, metadata=batch.metadata(),
                      upload_checksum=checksum)
    up.upload()
    assert up.offset == batch.size
    r = requests.get(f"{url}receipts/{batch.device_id}/{batch.seq}", headers={"Authorization": auth}, timeout=10)
    r.raise_for_status()
    return r.json()


def test_tuspy_completes_uploads_with_and_without_checksums(tmp_path, kit):
    app = kit.Appliance(tmp_path / "appliance")

    async def body():
        rx = await start_local_receiver(tmp_path / "rx")
        try:
            await app.enroll(rx)
            auth = make_auth_header(app.device_id, app.key, lifetime_s=3600)
            for seq, (cls, checksum) in enumerate([(Uploader, False), (Sha256Uploader, True)], start=1):
                b = app.seal((250_000,))
                receipt = await asyncio.to_thread(_tuspy_upload, rx.url, auth, b, cls, checksum)
                v = check_receipt_for(receipt, app.log_public, device=app.device_id, seq=seq,
                                      batch=b.batch_hash, sha256=b.file_sha256, size=b.size)
                assert v.index == seq - 1
                name = f"{app.device_id}/{seq:010d}-{b.batch_hash}.sohoa"
                with rx.core.store.open_archived(name) as f:
                    assert f.read() == b.path.read_bytes()
        finally:
            await rx.close()
    kit.run(body())
