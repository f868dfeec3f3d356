"""At-rest encryption, batch sealing/opening, Merkle log and receipts, against their spec."""

from __future__ import annotations

import hashlib
import io
import os
import zipfile

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from sync.at_rest import AtRestError, DecryptingReader, EncryptingWriter, open_encrypted
from sync.batch import BatchError, open_batch, seal_batch
from sync.canon import ZERO_HASH, canonical, parse_canonical
from sync.merkle import EMPTY_ROOT, MerkleTree, leaf_hash, node_hash, verify_inclusion
from sync.receipt import ReceiptError, make_leaf, make_receipt, sign_checkpoint, verify_receipt


class _Pipe:
    """A write-only, non-seekable sink, like a socket or a pipe."""

    def __init__(self):
        self.buf = io.BytesIO()

    def write(self, data):
        return self.buf.write(data)


@pytest.mark.parametrize("n", [0, 1, 1023, 1024, 1025, 4096, 10_000])
def test_at_rest_round_trip_at_chunk_boundaries(n):
    k = X25519PrivateKey.generate()
    sink = _Pipe()
    data = os.urandom(n)
    w = EncryptingWriter(sink, k.public_key(), chunk_size=1024)
    w.write(data[: n // 3])
    w.write(data[n // 3:])
    w.close()
    raw = sink.buf.getvalue()
    assert data[:16] not in raw[46:] or n < 16
    assert DecryptingReader(io.BytesIO(raw), k).read() == data


def test_at_rest_under_zipfile_on_a_non_seekable_stream(tmp_path):
    k = X25519PrivateKey.generate()
    w = open_encrypted(tmp_path / "secret.zip.enc", k.public_key())
    with zipfile.ZipFile(w, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("hồ sơ mật/01.pdf", b"%PDF-1.7 secret" * 1000)
        z.writestr("metadata.xml", "<mật/>")
    w.close()
    raw = (tmp_path / "secret.zip.enc").read_bytes()
    assert b"secret" not in raw and b"metadata.xml" not in raw
    with open(tmp_path / "secret.zip.enc", "rb") as f:
        plain = DecryptingReader(f, k).read()
    with zipfile.ZipFile(io.BytesIO(plain)) as z:
        assert z.read("metadata.xml") == "<mật/>".encode()


def test_at_rest_rejects_tampering_truncation_trailing_and_wrong_key():
    k = X25519PrivateKey.generate()
    sink = io.BytesIO()
    w = EncryptingWriter(sink, k.public_key(), chunk_size=1024)
    w.write(os.urandom(3000))
    w.close()
    raw = sink.getvalue()
    bad = bytearray(raw)
    bad[100] ^= 1
    cases = {"tamper": bytes(bad), "truncated": raw[:-30], "cut at chunk": raw[:46 + 5 + 1040],
             "trailing": raw + b"x", "header": raw[:8].replace(b"R", b"X") + raw[8:]}
    for name, blob in cases.items():
        with pytest.raises(AtRestError):
            DecryptingReader(io.BytesIO(blob), k).read()
    with pytest.raises(AtRestError):
        DecryptingReader(io.BytesIO(raw), X25519PrivateKey.generate()).read()
    # Flipping the "last" flag of the final chunk breaks its tag (the flag is in the nonce).
    flipped = bytearray(raw)
    last_head = 46 + 2 * (5 + 1024 + 16)
    assert flipped[last_head] == 1
    flipped[last_head] = 0
    with pytest.raises(AtRestError):
        DecryptingReader(io.BytesIO(bytes(flipped)), k).read()


def _seal(tmp_path, key, archive, seq=1, prev=ZERO_HASH, device="dev-1", content=b"page" * 5000):
    (tmp_path / "m.pdf").write_bytes(content)
    return seal_batch(tmp_path / f"b{seq}.sohoa", [("m.pdf", tmp_path / "m.pdf")], device_id=device, seq=seq,
                      prev=prev, created=1, pages=1, documents=1, climate={"t": 27.5, "n": 3},
                      device_key=key, archive_public=archive.public_key())


def test_seal_is_deterministic_in_batch_hash_and_opens(tmp_path):
    key, archive = Ed25519PrivateKey.generate(), X25519PrivateKey.generate()
    a = _seal(tmp_path, key, archive)
    b = _seal(tmp_path, key, archive)
    assert a.batch_hash == b.batch_hash and a.file_sha256 != b.file_sha256  # fresh ephemeral key
    assert a.manifest["climate"] == {"t": "27.5", "n": 3}
    with open(b.path, "rb") as f:  # b replaced a at the same path
        opened = open_batch(f, archive_private=archive, device_public=key.public_key(), device_id="dev-1")
    assert opened.batch_hash == b.batch_hash and opened.file_sha256 == b.file_sha256 and opened.size == b.size
    assert not list(tmp_path.glob(".tmp-*"))


def test_open_batch_rejections(tmp_path):
    key, archive = Ed25519PrivateKey.generate(), X25519PrivateKey.generate()
    s = _seal(tmp_path, key, archive)

    def opened(blob, **kw):
        args = dict(archive_private=archive, device_public=key.public_key(), device_id="dev-1")
        args.update(kw)
        return open_batch(io.BytesIO(blob), **args)
    raw = s.path.read_bytes()
    with pytest.raises(BatchError) as e:
        opened(raw, device_public=Ed25519PrivateKey.generate().public_key())
    assert e.value.code == "bad_signature"
    with pytest.raises(BatchError) as e:
        opened(raw, device_id="dev-2")
    assert e.value.code == "wrong_device"
    bad = bytearray(raw)
    bad[len(raw) // 2] ^= 0x40
    with pytest.raises(BatchError) as e:
        opened(bytes(bad))
    assert e.value.code == "decrypt"
    with pytest.raises(BatchError) as e:
        opened(raw, member_check=lambda name, data: ["not a SIP"] if name == "m.pdf" else [])
    assert e.value.code == "member_check"
    seen = []
    opened(raw, member_check=lambda name, data: seen.append((name, len(data))) or [])
    assert seen == [("m.pdf", 20000)]


def test_canonical_json_rules():
    assert canonical({"b": 1, "a": "ư"}) == '{"a":"ư","b":1}'.encode()
    with pytest.raises(ValueError):
        canonical({"x": 1.5})
    with pytest.raises(ValueError):
        parse_canonical(b'{"b":1, "a":2}')
    with pytest.raises(ValueError):
        parse_canonical(b'{"a":1.0}')


def _mth(leaves):
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaf_hash(leaves[0])
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(_mth(leaves[:k]), _mth(leaves[k:]))


def test_merkle_matches_rfc6962_reference_and_proofs_verify():
    leaves = [f"leaf {i}".encode() for i in range(33)]
    t = MerkleTree([leaf_hash(x) for x in leaves])
    for n in range(1, 34):
        root = t.root(n)
        assert root == _mth(leaves[:n])
        for i in range(n):
            proof = t.inclusion_proof(i, n)
            assert verify_inclusion(leaf_hash(leaves[i]), i, n, proof, root)
            assert not verify_inclusion(leaf_hash(leaves[i] + b"!"), i, n, proof, root)
            if n > 1:
                assert not verify_inclusion(leaf_hash(leaves[i]), (i + 1) % n, n, proof, root)
    # RFC 6962 hashing of the empty tree and of a single empty leaf.
    assert MerkleTree().root().hex() == hashlib.sha256(b"").hexdigest()
    assert leaf_hash(b"").hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"


def test_receipt_verifies_and_detects_changes():
    log_key = Ed25519PrivateKey.generate()
    t = MerkleTree()
    leaves = [make_leaf(device="d", seq=i + 1, batch=f"{i:064x}", sha256=f"{i + 9:064x}", size=i, received=5)
              for i in range(5)]
    for leaf in leaves:
        t.append_hash(leaf_hash(canonical(leaf)))
    cp = sign_checkpoint(log_key, "test-log", t.size, t.root())
    r = make_receipt(leaves[3], 3, t.inclusion_proof(3), cp)
    v = verify_receipt(r, log_key.public_key())
    assert (v.seq, v.index, v.tree_size) == (4, 3, 5)
    forged = {**r, "leaf": {**leaves[3], "size": 999}}
    with pytest.raises(ReceiptError, match="inclusion"):
        verify_receipt(forged, log_key.public_key())
    with pytest.raises(ReceiptError, match="signature"):
        verify_receipt(r, Ed25519PrivateKey.generate().public_key())
    with pytest.raises(ReceiptError):
        verify_receipt({"v": 1}, log_key.public_key())
