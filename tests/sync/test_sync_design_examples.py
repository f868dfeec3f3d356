"""The examples in docs/design.md section 5.11 are real: parse and verify each one."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from sync.auth import AuthError, check_signature, parse_auth_header
from sync.batch import SIG_DOMAIN, check_manifest
from sync.canon import canonical, parse_canonical, unb64
from sync.keys import ed25519_from_seed, ed25519_public, public_b64
from sync.receipt import verify_receipt

DESIGN = Path(__file__).resolve().parents[2] / "docs" / "design.md"


def _examples() -> dict[str, str]:
    text = DESIGN.read_text("utf-8")
    section = text[text.index("## 5. Batch format, transport and receipts"):]
    found = dict(re.findall(r"<!-- example: ([a-z0-9-]+) -->\n```[a-z]*\n(.*?)\n```", section, re.S))
    assert {"device-public-key", "manifest", "manifest-hash", "auth-header", "receipt",
            "log-public-key"} <= set(found)
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
