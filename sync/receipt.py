"""Receipts: a log leaf, its inclusion proof and a signed checkpoint (formats 5.9)."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sync.canon import HEX64_RE, b64, canonical, unb64
from sync.merkle import leaf_hash, verify_inclusion

VERSION = 1
LEAF_KEYS = {"batch", "device", "received", "seq", "sha256", "size", "v"}


class ReceiptError(ValueError):
    """A receipt that does not prove what it claims."""


def make_leaf(*, device: str, seq: int, batch: str, sha256: str, size: int, received: int) -> dict:
    return {"batch": batch, "device": device, "received": int(received), "seq": int(seq),
            "sha256": sha256, "size": int(size), "v": VERSION}


def checkpoint_message(origin: str, size: int, root_hex: str) -> bytes:
    return f"sohoa-checkpoint-v1\n{origin}\n{size}\n{root_hex}\n".encode("utf-8")


def sign_checkpoint(key: Ed25519PrivateKey, origin: str, size: int, root: bytes) -> dict:
    return {"origin": origin, "size": size, "root": root.hex(),
            "signature": b64(key.sign(checkpoint_message(origin, size, root.hex())))}


def make_receipt(leaf: dict, index: int, proof: list[bytes], checkpoint: dict) -> dict:
    return {"v": VERSION, "leaf": leaf, "index": index, "proof": [p.hex() for p in proof],
            "checkpoint": checkpoint}


@dataclass(frozen=True)
class VerifiedReceipt:
    device: str
    seq: int
    batch: str
    sha256: str
    size: int
    index: int
    tree_size: int
    root: str


def verify_receipt(receipt: dict, log_public: Ed25519PublicKey) -> VerifiedReceipt:
    """Check a receipt offline; raises :class:`ReceiptError` naming the first failure."""
    try:
        if receipt.get("v") != VERSION:
            raise ReceiptError("unsupported receipt version")
        leaf, cp = receipt["leaf"], receipt["checkpoint"]
        if set(leaf) != LEAF_KEYS or leaf["v"] != VERSION:
            raise ReceiptError("leaf fields differ from version 1")
        if not HEX64_RE.fullmatch(cp["root"]):
            raise ReceiptError("checkpoint root is not 64 hex")
        index, size = int(receipt["index"]), int(cp["size"])
        proof = [bytes.fromhex(p) for p in receipt["proof"]]
        sig = unb64(cp["signature"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, ReceiptError):
            raise
        raise ReceiptError(f"malformed receipt: {exc}") from None
    try:
        log_public.verify(sig, checkpoint_message(cp["origin"], size, cp["root"]))
    except InvalidSignature:
        raise ReceiptError("checkpoint signature does not verify with the log key") from None
    if not verify_inclusion(leaf_hash(canonical(leaf)), index, size, proof, bytes.fromhex(cp["root"])):
        raise ReceiptError("inclusion proof does not lead to the checkpoint root")
    return VerifiedReceipt(leaf["device"], leaf["seq"], leaf["batch"], leaf["sha256"], leaf["size"],
                           index, size, cp["root"])


def check_receipt_for(receipt: dict, log_public: Ed25519PublicKey, *, device: str, seq: int, batch: str,
                      sha256: str, size: int) -> VerifiedReceipt:
    """:func:`verify_receipt`, then check that the leaf names exactly this batch."""
    v = verify_receipt(receipt, log_public)
    if (v.device, v.seq, v.batch, v.sha256, v.size) != (device, seq, batch, sha256, size):
        raise ReceiptError("receipt is valid but names another batch")
    return v
