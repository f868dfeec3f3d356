"""The examples in docs/formats.md section 5.11 are real: parse and verify each one."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import struct
from pathlib import Path

import pytest
import zstandard

from sync.age import AgeReader, parse_identity, parse_recipient, recipient_string
from sync.auth import AuthError, check_signature, parse_auth_header
from sync.batch import MAGIC, SIG_DOMAIN, check_manifest, open_batch
from sync.canon import canonical, parse_canonical, unb64
from sync.keys import ed25519_from_seed, ed25519_public, public_b64, raw_public, x25519_from_seed
from sync.receipt import verify_receipt

DESIGN = Path(__file__).resolve().parents[2] / "docs" / "formats.md"


def _examples() -> dict[str, str]:
    text = DESIGN.read_text("utf-8")
    section = text[text.index("## 5. Batch format, transport and receipts"):]
    found = dict(re.findall(r"<!-- example: ([a-z0-9-]+) -->\n```[a-z]*\n(.*?)\n```", section, re.S))
    assert {"device-public-key", "manifest", "manifest-hash", "auth-header", "receipt",
            "log-public-key", "archive-age-keys", "manifest-v2", "manifest-v2-hash", "sealed-v2"} <= set(found)
    return found


def test_keys_come_from_the_documented_seeds():
    ex = _examples()
    assert ex["device-public-key"] == public_b64(ed25519_from_seed(bytes(32)))
    assert ex["log-public-key"] == public_b64(ed25519_from_seed(bytes([1]) * 32))


def test_manifest_example_is_canonical_signed_and_hashes_as_documented():
    ex = _examples()
    mbytes = ex["manifest"].encode("utf-8")
    manifest = parse_canonical(mbytes)
    check_manifest(manifest)
    assert canonical(manifest) == mbytes
    batch_hash, sig = ex["manifest-hash"].split("\n")
    assert hashlib.sha256(mbytes).hexdigest() == batch_hash
    ed25519_public(ex["device-public-key"]).verify(unb64(sig), SIG_DOMAIN + mbytes)


def test_auth_header_example_verifies_and_is_expired():
    ex = _examples()
    creds = parse_auth_header(ex["auth-header"], now=1764028800)
    check_signature(creds, ed25519_public(ex["device-public-key"]))
    with pytest.raises(AuthError, match="expired"):
        parse_auth_header(ex["auth-header"])


def test_receipt_example_verifies_against_the_log_key():
    ex = _examples()
    receipt = json.loads(ex["receipt"])
    v = verify_receipt(receipt, ed25519_public(ex["log-public-key"]))
    assert v.batch == ex["manifest-hash"].split("\n")[0] and v.tree_size == 3 and v.index == 0


V2_MEMBERS = {"climate.json": b"{}", "hs-000123.zip": b"PK\x05\x06" + bytes(18)}


def test_age_keys_are_the_documented_archive_key():
    ex = _examples()
    identity, recipient = ex["archive-age-keys"].split("\n")
    archive = x25519_from_seed(bytes([2]) * 32)
    assert raw_public(parse_identity(identity)) == raw_public(archive)
    assert raw_public(parse_recipient(recipient)) == raw_public(archive)
    assert recipient_string(archive) == recipient


def test_version_2_manifest_is_canonical_signed_and_hashes_as_documented():
    ex = _examples()
    mbytes = ex["manifest-v2"].encode("utf-8")
    manifest = parse_canonical(mbytes)
    check_manifest(manifest, 2)
    assert canonical(manifest) == mbytes and manifest["v"] == 2
    v1 = parse_canonical(ex["manifest"].encode("utf-8"))
    assert manifest["prev"] == hashlib.sha256(ex["manifest"].encode("utf-8")).hexdigest() == \
        ex["manifest-hash"].split("\n")[0] and manifest["seq"] == v1["seq"] + 1
    assert {m["name"]: (m["sha256"], m["size"]) for m in manifest["members"]} == \
        {n: (hashlib.sha256(b).hexdigest(), len(b)) for n, b in V2_MEMBERS.items()}
    batch_hash, sig = ex["manifest-v2-hash"].split("\n")
    assert hashlib.sha256(mbytes).hexdigest() == batch_hash
    ed25519_public(ex["device-public-key"]).verify(unb64(sig), SIG_DOMAIN + mbytes)


def test_version_2_sealed_example_decrypts_to_the_documented_plain_batch():
    ex = _examples()
    sealed = base64.b64decode("".join(ex["sealed-v2"].split()), validate=True)
    assert sealed.startswith(b"age-encryption.org/v1\n-> X25519 ")
    identity = parse_identity(ex["archive-age-keys"].split("\n")[0])
    compressed = AgeReader(io.BytesIO(sealed), identity).read()
    plain = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(compressed), read_across_frames=True).read()
    mbytes = ex["manifest-v2"].encode("utf-8")
    sig = unb64(ex["manifest-v2-hash"].split("\n")[1])
    manifest = parse_canonical(mbytes)
    body = b"".join(V2_MEMBERS[m["name"]] for m in manifest["members"])
    assert plain == MAGIC + struct.pack(">I", len(mbytes)) + mbytes + struct.pack(">H", 64) + sig + body
    opened = open_batch(io.BytesIO(sealed), archive_private=x25519_from_seed(bytes([2]) * 32),
                        device_public=ed25519_public(ex["device-public-key"]), device_id="79-26734-01")
    assert opened.manifest == manifest and opened.batch_hash == ex["manifest-v2-hash"].split("\n")[0]
    assert opened.size == len(sealed) == 650
