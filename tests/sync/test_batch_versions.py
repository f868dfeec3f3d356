"""Batch format versions 1 and 2 (formats 5.4, rules V1-V2): sealed, told apart and opened."""

from __future__ import annotations

import io

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from sync.age import AgeReader, AgeWriter
from sync.at_rest import DecryptingReader, EncryptingWriter
from sync.batch import BatchError, check_manifest, open_batch, seal_batch
from sync.canon import ZERO_HASH

KEY, ARCHIVE = Ed25519PrivateKey.generate(), X25519PrivateKey.generate()


def _seal(tmp_path, version, seq=1, prev=ZERO_HASH):
    (tmp_path / "m.pdf").write_bytes(b"%PDF-1.7 " + bytes(range(256)) * 300)
    kw = {} if version is None else {"version": version}
    return seal_batch(tmp_path / f"b{seq}.sohoa", [("m.pdf", tmp_path / "m.pdf")], device_id="dev-1", seq=seq,
                      prev=prev, created=1, pages=1, documents=1, climate=None, device_key=KEY,
                      archive_public=ARCHIVE.public_key(), **kw)


def _open(blob: bytes):
    return open_batch(io.BytesIO(blob), archive_private=ARCHIVE, device_public=KEY.public_key(), device_id="dev-1")


def test_stations_seal_version_2_and_both_versions_open(tmp_path):
    v2 = _seal(tmp_path, None)
    assert v2.manifest["v"] == 2 and v2.path.read_bytes().startswith(b"age-encryption.org/v1\n")
    v1 = _seal(tmp_path, 1, seq=2, prev=v2.batch_hash)
    assert v1.manifest["v"] == 1 and v1.path.read_bytes().startswith(b"SOHOAAR1")
    for s in (v1, v2):
        opened = _open(s.path.read_bytes())
        assert (opened.manifest, opened.batch_hash, opened.file_sha256, opened.size) == \
            (s.manifest, s.batch_hash, s.file_sha256, s.size)
    # Same members, same arguments: the manifests differ only in v, so the batch hashes differ.
    assert {k: v for k, v in v1.manifest.items() if k not in ("v", "seq", "prev")} == \
        {k: v for k, v in v2.manifest.items() if k not in ("v", "seq", "prev")}


def _rewrap(blob: bytes, to_version: int) -> bytes:
    """The same compressed plain batch under the other at-rest format (needs the archive's private key)."""
    reader = AgeReader if blob.startswith(b"age") else DecryptingReader
    compressed = reader(io.BytesIO(blob), ARCHIVE).read()
    sink = io.BytesIO()
    w = AgeWriter(sink, ARCHIVE.public_key()) if to_version == 2 else EncryptingWriter(sink, ARCHIVE.public_key())
    w.write(compressed)
    w.close()
    return sink.getvalue()


def test_the_manifest_version_must_match_the_at_rest_format(tmp_path):
    v2, v1 = _seal(tmp_path, 2).path.read_bytes(), _seal(tmp_path, 1, seq=2).path.read_bytes()
    assert _open(_rewrap(v2, 2)).manifest["v"] == 2  # re-wrapping itself is harmless
    for blob, other in ((v2, 1), (v1, 2)):
        with pytest.raises(BatchError) as e:
            _open(_rewrap(blob, other))
        assert e.value.code == "bad_manifest" and "sealed file of version" in e.value.detail


@pytest.mark.parametrize("head", [b"", b"SOHOABT1", b"age-encr", b"age-encryption.org/v2\n", b"\x28\xb5\x2f\xfd"])
def test_unknown_or_broken_envelopes_are_decrypt_errors(tmp_path, head):
    with pytest.raises(BatchError) as e:
        _open(head + bytes(200))
    assert e.value.code == "decrypt"


def test_check_manifest_knows_versions_1_and_2_only(tmp_path):
    m = _seal(tmp_path, 2).manifest
    check_manifest(m)
    check_manifest(m, 2)
    for v in (0, 3, True, "2", None):
        with pytest.raises(BatchError, match="unsupported manifest version"):
            check_manifest({**m, "v": v})
    with pytest.raises(BatchError, match="sealed file of version 1"):
        check_manifest(m, 1)


def test_tampering_is_caught_in_either_version(tmp_path):
    for version in (1, 2):
        raw = bytearray(_seal(tmp_path, version, seq=version).path.read_bytes())
        raw[len(raw) // 2] ^= 0x40
        with pytest.raises(BatchError) as e:
            _open(bytes(raw))
        assert e.value.code == "decrypt"
