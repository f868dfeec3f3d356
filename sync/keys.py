"""Key generation and key files (formats section 5.2)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from sync.canon import b64, unb64
from sync.fsutil import write_atomic

_RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw


def raw_public(key: Ed25519PrivateKey | X25519PrivateKey | Ed25519PublicKey | X25519PublicKey) -> bytes:
    """The 32 raw bytes of a public key (or of the public half of a private key)."""
    pub = key.public_key() if hasattr(key, "public_key") else key
    return pub.public_bytes(*_RAW)


def public_b64(key) -> str:
    return b64(raw_public(key))


def ed25519_public(text: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(unb64(text.strip()))


def x25519_public(text: str) -> X25519PublicKey:
    return X25519PublicKey.from_public_bytes(unb64(text.strip()))


def _pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def save_private(path: Path, key) -> None:
    """Write a private key as PKCS#8 PEM, readable by its owner only."""
    write_atomic(Path(path), _pem(key), mode=0o600)


def load_private(path: Path):
    return serialization.load_pem_private_key(Path(path).read_bytes(), password=None)


def load_or_create(path: Path, kind: type) -> Ed25519PrivateKey | X25519PrivateKey:
    """Load the private key at *path*, generating it (0600) the first time.

    *kind* is ``Ed25519PrivateKey`` or ``X25519PrivateKey``. Raises ``TypeError``
    when the file holds another kind of key.
    """
    path = Path(path)
    if path.exists():
        key = load_private(path)
        if not isinstance(key, kind):
            raise TypeError(f"{path} holds a {type(key).__name__}, expected {kind.__name__}")
        return key
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = kind.generate()
    save_private(path, key)
    return key


def save_public(path: Path, key_b64: str) -> None:
    write_atomic(Path(path), (key_b64.strip() + "\n").encode("ascii"), mode=0o644)


def read_public(path: Path) -> str:
    return Path(path).read_text("ascii").strip()


def ed25519_from_seed(seed: bytes) -> Ed25519PrivateKey:
    """Deterministic key from 32 bytes; for documented examples and tests only."""
    return Ed25519PrivateKey.from_private_bytes(seed)


def x25519_from_seed(seed: bytes) -> X25519PrivateKey:
    return X25519PrivateKey.from_private_bytes(seed)


def fingerprint(key_b64: str) -> str:
    """Short human-comparable id of a public key: first 16 hex of its SHA-256."""
    return hashlib.sha256(unb64(key_b64)).hexdigest()[:16]
