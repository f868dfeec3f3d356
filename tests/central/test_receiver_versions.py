"""The receiver accepts batch format versions 1 and 2 over real HTTP on loopback (formats 5.4, V1-V4).

One device's chain mixes both versions (an old station updated mid-chain),
each batch carrying a real SIP_hoso package in clear and a secret one
encrypted at rest: age from the station's package builder, ``SOHOAAR1`` as
stations wrote it before. The receiver runs the real SIP check, which must see
inside both kinds of ``.enc``. Small chunks make every batch arrive in many
PATCHes, so the stream verifier (R2a) checks it while it arrives.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from PIL import Image

from central.local import start_local_receiver
from central.sip_check import receiver_member_check
from records.package import DocPages, build_package
from records.pdfa import PageInput
from sync.age import AgeReader, AgeWriter
from sync.at_rest import EncryptingWriter
from sync.batch import seal_batch
from sync.client import PermanentError
from sync.deliver import Outbound, deliver
from sync.keys import load_or_create, raw_public, x25519_public

CHUNK = 64 * 1024


def _packages(tmp_path, archive_public):
    """(public zip, secret age .zip.enc, secret SOHOAAR1 .zip.enc, age .zip.enc of a zip that is no SIP)."""
    page = tmp_path / "page.jpg"
    Image.new("RGB", (400, 566), "white").save(page, quality=80, dpi=(50, 50))
    out = {}
    for n, mode in ((1, "01"), (2, "03")):
        path, _folder, _pages = build_package(
            file_id=n, cover={"file_code": f"H49.64.33.2001.{160 + n}", "mode": mode, "title": f"Hồ sơ {n}"},
            docs=[DocPages(1, [PageInput(page, 50, None)])], doc_values=[{}], agency="H49.64.33",
            out_dir=tmp_path / "out", work_dir=tmp_path / "work", recipient_key=raw_public(archive_public))
        out[mode] = path
    assert out["03"].read_bytes().startswith(b"age-encryption.org/v1\n")
    return out


def _reencrypt(src, dst, archive_private, writer):
    plain = AgeReader(io.BytesIO(src.read_bytes()), archive_private).read()
    sink = io.BytesIO()
    w = writer(sink, archive_private.public_key())
    w.write(plain)
    w.close()
    dst.write_bytes(sink.getvalue())
    return dst


def _seal(appliance, tmp_path, members, version):
    seq = appliance.seq + 1
    s = seal_batch(tmp_path / f"b{seq}.sohoa", members, device_id=appliance.device_id, seq=seq, prev=appliance.prev,
                   created=1764028800 + seq, pages=2, documents=2, climate=None, device_key=appliance.key,
                   archive_public=x25519_public(appliance.enrollment.archive_public_key), version=version)
    appliance.seq, appliance.prev = seq, s.batch_hash
    return Outbound(appliance.device_id, seq, s.batch_hash, s.file_sha256, s.size, s.path)


def test_one_chain_of_both_versions_with_both_kinds_of_secret_package(tmp_path, kit):
    appliance = kit.Appliance(tmp_path / "appliance")

    async def body():
        rx_root = tmp_path / "rx"
        archive = load_or_create(rx_root / "keys" / "archive_x25519.pem", X25519PrivateKey)
        checked = _Seen(receiver_member_check(archive))
        rx = await start_local_receiver(rx_root, member_check=checked)
        try:
            await appliance.enroll(rx)
            pkgs = _packages(tmp_path, rx.core.archive_key.public_key())
            old_enc = _reencrypt(pkgs["03"], tmp_path / "old.zip.enc", rx.core.archive_key, EncryptingWriter)
            assert old_enc.read_bytes().startswith(b"SOHOAAR1")
            filler = tmp_path / "filler.bin"  # incompressible: every batch spans several PATCHes
            filler.write_bytes(os.urandom(5 * CHUNK))
            plan = [(1, old_enc), (2, pkgs["03"]), (1, pkgs["03"]), (2, old_enc)]  # V4: any order in a chain
            sent = []
            async with appliance.client(rx.url, chunk_size=CHUNK) as c:
                for version, secret in plan:
                    b = _seal(appliance, tmp_path, [("uuid-a.zip", pkgs["01"]), ("uuid-b.zip.enc", secret),
                                                    ("zz-filler.bin", filler)], version)
                    assert b.path.read_bytes()[:8] == (b"SOHOAAR1" if version == 1 else b"age-encr")
                    assert b.size > 3 * CHUNK  # several PATCHes: checked while it arrives
                    receipt, _verified = await deliver(c, b, appliance.log_public)
                    assert receipt["leaf"]["batch"] == b.batch_hash and receipt["leaf"]["seq"] == b.seq
                    sent.append(b)
            for b in sent:
                name = f"{b.device_id}/{b.seq:010d}-{b.batch_hash}.sohoa"
                with rx.core.store.open_archived(name) as f:
                    assert f.read() == b.path.read_bytes()
            assert rx.core.state.counts()["accepted"] == 4
            assert rx.core.counters["verified_while_uploading"] == 4
            # The SIP check was given every member, the secret ones encrypted in either format, and passed
            # them all: it opened both (the next test shows it refuses a secret package that is no SIP).
            heads = {old_enc: b"SOHOAAR1", pkgs["03"]: b"age-encr"}
            public, rest = pkgs["01"].read_bytes()[:8], filler.read_bytes()[:8]
            assert checked.seen == [m for _v, secret in plan for m in
                                    (("uuid-a.zip", public), ("uuid-b.zip.enc", heads[secret]), ("zz-filler.bin", rest))]
        finally:
            await rx.close()
    kit.run(body())


class _Seen:
    """The receiver's member check, recording (name, first 8 bytes) of every member it is given."""

    def __init__(self, check):
        self.check, self.seen = check, []

    def __call__(self, name, data):
        # the receiver spools each member to a file for its check (design 5.4)
        head = data.read_bytes()[:8] if isinstance(data, Path) else bytes(data[:8])
        self.seen.append((name, head))
        return self.check(name, data)


def test_refusals_are_the_same_in_both_versions(tmp_path, kit):
    """A secret package that is no SIP is refused inside either envelope; a manifest under the other
    version's envelope is refused as bad_manifest (V2)."""
    appliance = kit.Appliance(tmp_path / "appliance")

    async def body():
        archive = load_or_create(tmp_path / "rx" / "keys" / "archive_x25519.pem", X25519PrivateKey)
        rx = await start_local_receiver(tmp_path / "rx", member_check=receiver_member_check(archive))
        try:
            await appliance.enroll(rx)
            not_sip = tmp_path / "not-sip.zip.enc"
            sink = io.BytesIO()
            w = AgeWriter(sink, rx.core.archive_key.public_key())
            w.write(b"PK\x05\x06" + bytes(18))  # an empty zip: decrypts, then fails sip verify
            w.close()
            not_sip.write_bytes(sink.getvalue())
            codes = []
            async with appliance.client(rx.url, chunk_size=CHUNK) as c:
                for version in (1, 2):
                    b = _seal(appliance, tmp_path, [("uuid-x.zip.enc", not_sip)], version)
                    try:
                        await deliver(c, b, appliance.log_public)
                    except PermanentError as exc:
                        codes.append(str(exc))
                    appliance.seq -= 1  # refused: the chain head did not move
                    appliance.prev = rx.core.state.device(appliance.device_id).last_hash
                # A version-2 manifest re-wrapped as version 1 (only the archive key can do that).
                b = _seal(appliance, tmp_path, [("note.txt", _text(tmp_path))], 2)
                swapped = tmp_path / "swapped.sohoa"
                _reencrypt(b.path, swapped, rx.core.archive_key, EncryptingWriter)
                raw = swapped.read_bytes()
                forged = Outbound(b.device_id, b.seq, b.batch_hash, hashlib.sha256(raw).hexdigest(), len(raw), swapped)
                try:
                    await deliver(c, forged, appliance.log_public)
                except PermanentError as exc:
                    codes.append(str(exc))
            rejections = rx.core.state.rejections()
            assert sorted(r["code"] for r in rejections) == ["bad_manifest", "member_check", "member_check"]
            assert any("sealed file of version 1" in r["detail"] for r in rejections)
            assert all("does not decrypt" not in r["detail"] for r in rejections)  # opened and read
            assert len(codes) == 3 and rx.core.state.counts()["accepted"] == 0
        finally:
            await rx.close()
    kit.run(body())


def _text(tmp_path):
    p = tmp_path / "note.txt"
    p.write_text("ghi chú")
    return p
