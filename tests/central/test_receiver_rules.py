"""The receiver's answers to malformed, hostile and unlucky requests (formats 5.6-5.8)."""

from __future__ import annotations

import base64
import hashlib

import aiohttp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.auth import make_auth_header
from sync.client import PermanentError
from central.local import start_local_receiver
from central.receiver import ReceiverOptions
from sync.tus_protocol import encode_metadata


def _files_under(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_options_and_header_rules(tmp_path, kit, central_backend):
    app = kit.Appliance(tmp_path / "appliance")
    be = central_backend

    async def body():
        rx = await start_local_receiver(tmp_path / "rx", opts=ReceiverOptions(max_size=1_000_000),
                                        backends=be.open)
        await app.enroll(rx)
        b = app.seal((5000,))
        auth = make_auth_header(app.device_id, app.key)
        base = {"Tus-Resumable": "1.0.0", "Authorization": auth}
        meta = b.metadata()
        files = rx.url + "files/"
        try:
            async with aiohttp.ClientSession() as s:
                async def st(method, url, **kw):
                    async with s.request(method, url, **kw) as r:
                        await r.read()
                        return r.status, r.headers
                status, h = await st("OPTIONS", files)
                assert status == 204 and h["Tus-Version"] == "1.0.0"
                assert h["Tus-Extension"] == "creation,checksum,expiration,termination"
                assert h["Tus-Checksum-Algorithm"] == "sha256" and h["Tus-Max-Size"] == "1000000"

                create = {**base, "Upload-Length": str(b.size), "Upload-Metadata": encode_metadata(meta)}
                assert (await st("POST", files, headers={k: v for k, v in create.items()
                                                         if k != "Tus-Resumable"}))[0] == 412
                assert (await st("POST", files, headers={**create, "Authorization": ""}))[0] == 401
                other = Ed25519PrivateKey.generate()
                assert (await st("POST", files, headers={**create, "Authorization": make_auth_header(
                    app.device_id, other)}))[0] == 401
                assert (await st("POST", files, headers={**create, "Authorization": make_auth_header(
                    "stranger", other)}))[0] == 403
                assert (await st("POST", files, headers={**create, "Upload-Length": "abc"}))[0] == 400
                assert (await st("POST", files, headers={**create, "Upload-Length": "2000000"}))[0] == 413
                assert (await st("POST", files, headers={**create, "Upload-Defer-Length": "1"}))[0] == 400
                for bad in ("../../etc/passwd", "a/b", "..", ".hidden", "x\\y"):
                    h2 = {**create, "Upload-Metadata": encode_metadata({**meta, "filename": bad})}
                    assert (await st("POST", files, headers=h2))[0] == 400, bad
                assert (await st("POST", files, headers={**create, "Upload-Metadata": "seq !!!"}))[0] == 400
                no_seq = {k: v for k, v in meta.items() if k != "seq"}
                assert (await st("POST", files, headers={**create, "Upload-Metadata": encode_metadata(no_seq)}))[0] == 400
                gap = {**meta, "seq": "5"}
                assert (await st("POST", files, headers={**create, "Upload-Metadata": encode_metadata(gap)}))[0] == 409

                status, h = await st("POST", files, headers=create)
                assert status == 201 and h["Upload-Offset"] == "0" and "Upload-Expires" in h
                url = rx.url.rstrip("/") + h["Location"]
                data = b.path.read_bytes()
                patch = {**base, "Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"}
                assert (await st("PATCH", url, headers={**patch, "Content-Type": "text/plain"}, data=data[:100]))[0] == 415
                assert (await st("PATCH", url, headers={**patch, "Upload-Offset": "7"}, data=data[:100]))[0] == 409
                assert (await st("PATCH", url, headers=patch, data=data + b"extra"))[0] == 413
                wrong = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
                assert (await st("PATCH", url, headers={**patch, "Upload-Checksum": f"sha256 {wrong}"},
                                 data=data[:1000]))[0] == 460
                assert (await st("PATCH", url, headers={**patch, "Upload-Checksum": f"md5 {wrong}"},
                                 data=data[:1000]))[0] == 400
                status, h = await st("HEAD", url, headers=base)
                assert status == 200 and h["Upload-Offset"] == "0" and h["Cache-Control"] == "no-store"
                good = base64.b64encode(hashlib.sha256(data[:1000]).digest()).decode()
                status, h = await st("PATCH", url, headers={**patch, "Upload-Checksum": f"sha256 {good}"},
                                     data=data[:1000])
                assert status == 204 and h["Upload-Offset"] == "1000"
                h_id = url.rsplit("/", 1)[1]
                assert be.stored(tmp_path / "rx", h_id) == 1000
                # Someone else's upload does not exist for this device.
                stranger_key = Ed25519PrivateKey.generate()
                rx.core.state.register("dev-other", base64.b64encode(
                    stranger_key.public_key().public_bytes_raw()).decode())
                assert (await st("HEAD", url, headers={**base, "Authorization": make_auth_header(
                    "dev-other", stranger_key)}))[0] == 404
                assert (await st("HEAD", rx.url + "files/..%2F..%2Fetc%2Fpasswd", headers=base))[0] == 404
                assert (await st("GET", rx.url + "receipts/dev-other/1", headers=base))[0] == 404
                # Termination.
                assert (await st("DELETE", url, headers=base))[0] == 204
                assert (await st("HEAD", url, headers=base))[0] == 404
                assert be.leftovers(tmp_path / "rx") == []
                # Revocation closes the door everywhere.
                rx.core.state.revoke(app.device_id)
                assert (await st("POST", files, headers=create))[0] == 403
        finally:
            await rx.close()
        assert be.archived(tmp_path / "rx") == []
        outside = [p for p in _files_under(tmp_path) if not p.startswith(("rx/", "appliance/"))]
        assert outside == []
    kit.run(body())


def _deliver_expect_refusal(kit, app, rx, batch, code_prefix):
    async def go():
        # Small chunks: the batch is checked while it arrives (stream verifier), and refused at the end.
        async with app.client(rx.url, chunk_size=64 * 1024) as c:
            try:
                await kit.deliver_retrying(c, batch, app.log_public)
            except PermanentError as exc:
                return exc
        raise AssertionError("batch was accepted")
    return go()


def test_tampered_wrong_key_fork_replay_and_chain_are_rejected(tmp_path, kit, central_backend):
    app = kit.Appliance(tmp_path / "appliance")
    be = central_backend

    async def body():
        rx = await start_local_receiver(tmp_path / "rx", backends=be.open)
        try:
            await app.enroll(rx)
            first = app.seal((20_000,))
            async with app.client(rx.url) as c:
                await kit.deliver_retrying(c, first, app.log_public)
            archive_before = be.archived(tmp_path / "rx")
            assert len(archive_before) == 1

            # Tampered: bytes changed after sealing; the announced hash matches the
            # tampered file, so only the batch's own protection can catch it.
            tampered = app.seal((300_000,), seq=2, prev=first.batch_hash, seed=1)
            raw = bytearray(tampered.path.read_bytes())
            raw[len(raw) // 2] ^= 0x01
            tampered.path.write_bytes(bytes(raw))
            tampered = type(tampered)(tampered.device_id, 2, tampered.batch_hash,
                                      hashlib.sha256(bytes(raw)).hexdigest(), len(raw), tampered.path)
            exc = await _deliver_expect_refusal(kit, app, rx, tampered, "decrypt")
            assert exc.status == 422 and exc.code == "decrypt"

            wrong_key = app.seal((300_000,), seq=2, prev=first.batch_hash, key=Ed25519PrivateKey.generate(), seed=2)
            exc = await _deliver_expect_refusal(kit, app, rx, wrong_key, "bad_signature")
            assert exc.code == "bad_signature"

            broken_chain = app.seal((20_000,), seq=2, prev="ab" * 32, seed=3)
            exc = await _deliver_expect_refusal(kit, app, rx, broken_chain, "chain")
            assert exc.code == "chain"

            fork = app.seal((20_000,), seq=1, prev="0" * 64, seed=4)
            assert fork.batch_hash != first.batch_hash
            exc = await _deliver_expect_refusal(kit, app, rx, fork, "fork")
            assert exc.status == 409 and exc.code == "fork"

            # A replay of the very same batch is harmless: same receipt, no new leaf.
            async with app.client(rx.url) as c:
                again, _ = await kit.deliver_retrying(c, first, app.log_public)
            assert again["index"] == 0 and rx.core.tree.size == 1

            codes = [r["code"] for r in rx.core.state.rejections()]
            assert sorted(codes) == ["bad_signature", "chain", "decrypt", "fork"]
            assert be.archived(tmp_path / "rx") == archive_before
            assert be.leftovers(tmp_path / "rx") == []
            assert rx.core.state.device(app.device_id).last_seq == 1
            # The chain still accepts the honest next batch.
            nxt = app.seal((20_000,))
            async with app.client(rx.url) as c:
                r, _ = await kit.deliver_retrying(c, nxt, app.log_public)
            assert r["leaf"]["seq"] == 2 and r["index"] == 1
        finally:
            await rx.close()
    kit.run(body())


def test_enrollment_token_is_single_use_and_bound_to_its_device(tmp_path, kit):
    async def body():
        from sync.enroll import EnrollError, enroll
        rx = await start_local_receiver(tmp_path / "rx")
        try:
            key = Ed25519PrivateKey.generate()
            token = rx.core.state.mint_token("dev-a")
            for device in ("dev-b",):
                try:
                    await enroll(rx.url, device, key, token)
                    raise AssertionError("token for dev-a enrolled dev-b")
                except EnrollError as exc:
                    assert "403" in str(exc)
            e = await enroll(rx.url, "dev-a", key, token)
            assert e.next_seq == 1 and e.log_public_key == rx.core.log_public_b64
            try:
                await enroll(rx.url, "dev-a", Ed25519PrivateKey.generate(), token)
                raise AssertionError("token used twice")
            except EnrollError as exc:
                assert "403" in str(exc)
            assert rx.core.state.device("dev-a").public_key == base64.b64encode(
                key.public_key().public_bytes_raw()).decode()
        finally:
            await rx.close()
    kit.run(body())


def test_tokens_never_begin_with_a_dash(tmp_path):
    # A token such as "-m9XT..." is read by a command line as an option:
    # `sohoa enroll --token -m9XT...` would fail for one token in 64.
    from central.receiver_state import ReceiverState

    state = ReceiverState(tmp_path / "receiver.sqlite3")
    tokens = [state.mint_token("dev-a") for _ in range(500)]
    state.close()
    assert len(set(tokens)) == 500
    assert not [t for t in tokens if t.startswith("-")]
    assert all(len(t) == 43 for t in tokens)  # still 32 bytes, b64url without padding
