"""Receiver-side recovery: an acceptance cut between its commit and the archive rename; expiry."""

from __future__ import annotations

import asyncio

from central.local import start_local_receiver
from central.receiver import ReceiverOptions
from central.store import FileUpload


def test_rename_interrupted_after_commit_is_finished_at_restart(tmp_path, kit, monkeypatch):
    app = kit.Appliance(tmp_path / "appliance")
    root = tmp_path / "rx"

    async def body():
        rx = await start_local_receiver(root)
        await app.enroll(rx)
        b = app.seal((100_000,))
        real_finish = FileUpload.finish

        def crash(self, name):
            raise OSError("power cut (simulated) between commit and rename")
        monkeypatch.setattr(FileUpload, "finish", crash)
        async with app.client(rx.url) as c:
            try:
                await c.upload(b.path, b.size, b.metadata())
            except Exception:
                pass
        # The log already holds the batch (R2 commits first), the file is still in uploads/.
        assert rx.core.tree.size == 1
        assert not list((root / "archive").rglob("*.sohoa"))
        await rx.close()
        monkeypatch.setattr(FileUpload, "finish", real_finish)
        rx = await start_local_receiver(root)  # recover() finishes the rename
        try:
            (archived,) = list((root / "archive").rglob("*.sohoa"))
            assert archived.read_bytes() == b.path.read_bytes()
            async with app.client(rx.url) as c:
                receipt, _ = await kit.deliver_retrying(c, b, app.log_public)
            assert receipt["index"] == 0 and rx.core.tree.size == 1
        finally:
            await rx.close()
    kit.run(body())


def test_idle_upload_expires_410_then_is_swept(tmp_path, kit, central_backend):
    app = kit.Appliance(tmp_path / "appliance")

    async def body():
        opts = ReceiverOptions(expiration_s=0.4, sweep_every_s=3600)
        rx = await start_local_receiver(tmp_path / "rx", opts=opts, backends=central_backend.open)
        try:
            await app.enroll(rx)
            b = app.seal((50_000,))
            async with app.client(rx.url) as c:
                url, _, _ = await c.create(b.size, b.metadata())
                await asyncio.sleep(0.6)
                status, _, _ = await c._request("HEAD", url, headers=c._headers())
                assert status == 410
                assert rx.core.sweep_expired(opts.expiration_s) == 1
                status, _, _ = await c._request("HEAD", url, headers=c._headers())
                assert status == 404
                assert central_backend.leftovers(tmp_path / "rx") == []
                # The appliance simply starts again and gets there.
                receipt, _ = await kit.deliver_retrying(c, b, app.log_public)
                assert receipt["leaf"]["seq"] == 1
        finally:
            await rx.close()
    kit.run(body())
