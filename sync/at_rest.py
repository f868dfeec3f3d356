"""Streaming encryption at rest to the archive's X25519 key (formats section 5.5): both formats.

Two at-rest formats exist. New files are age v1 files (``sync.age.AgeWriter``),
which archive staff can open with any age implementation. Stations before
batch format version 2 wrote this project's own format, ``SOHOAAR1``, which
this module keeps: ``EncryptingWriter`` and ``DecryptingReader``. The receiver
meets both, in sealed batches and in ``.enc`` members, and tells them apart by
their first bytes (:func:`open_reader`).

Both writers are write-only, non-seekable binary streams: whatever is written
to them reaches the underlying file only as authenticated ciphertext, so they
can sit under ``zipfile.ZipFile(w, "w")``, a zstd compressor or plain
``write()`` calls, and nothing readable ever touches the disk. The appliance
holds only the archive's public key; only the receiver can read the result.
"""

from __future__ import annotations

import io
import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from sync.age import MAGIC as AGE_MAGIC
from sync.age import AgeError, AgeReader
from sync.chunked_reader import ChunkedReader

MAGIC = b"SOHOAAR1"
VERSION = 1
ALG_X25519_CHACHA = 1
HEADER = struct.Struct(">8sBBI32s")  # 46 bytes
CHUNK_HEAD = struct.Struct(">BI")
TAG = 16
DEFAULT_CHUNK = 64 * 1024
MIN_CHUNK, MAX_CHUNK = 1024, 16 * 1024 * 1024
_INFO = b"sohoa at-rest v1"


FORMAT_SOHOA = "SOHOAAR1"  # this project's own format (batch format version 1)
FORMAT_AGE = "age-v1"  # age-encryption.org/v1 (batch format version 2)


class AtRestError(ValueError):
    """The stream is not a valid, complete ``SOHOAAR1`` file for this key, or of no known format."""


# What reading an at-rest file of either format may raise.
READ_ERRORS = (AtRestError, AgeError)


def _derive(shared: bytes, eph_pub: bytes, recipient_pub: bytes) -> ChaCha20Poly1305:
    if shared == bytes(32):
        raise AtRestError("all-zero X25519 shared secret")
    key = HKDF(hashes.SHA256(), 32, salt=eph_pub + recipient_pub, info=_INFO).derive(shared)
    return ChaCha20Poly1305(key)


def _nonce(index: int, last: bool) -> bytes:
    return struct.pack(">Q", index) + b"\x00\x00\x00" + (b"\x01" if last else b"\x00")


def _raw(pub: X25519PublicKey) -> bytes:
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


class EncryptingWriter(io.RawIOBase):
    """Write-only stream that encrypts to *recipient_public_key* into *fileobj*.

    Parameters
    ----------
    fileobj : binary file-like
        Receives the header and the sealed chunks; only ``write`` is used.
    recipient_public_key : X25519PublicKey or bytes
        The archive's public key (object or its 32 raw bytes).
    chunk_size : int
        Plaintext bytes per chunk (5.5); 64 KiB by default.
    close_fileobj : bool
        Close *fileobj* too when this stream is closed.

    ``close()`` writes the last chunk; a file whose writer was never closed is
    rejected by the reader as truncated. Not seekable: ``tell()`` raises, which
    makes ``zipfile`` switch to its streaming mode.
    """

    def __init__(self, fileobj, recipient_public_key: X25519PublicKey | bytes, *,
                 chunk_size: int = DEFAULT_CHUNK, close_fileobj: bool = False):
        super().__init__()
        if not MIN_CHUNK <= chunk_size <= MAX_CHUNK:
            raise ValueError(f"chunk_size must be in {MIN_CHUNK}..{MAX_CHUNK}")
        if isinstance(recipient_public_key, bytes):
            recipient_public_key = X25519PublicKey.from_public_bytes(recipient_public_key)
        eph = X25519PrivateKey.generate()
        eph_pub = _raw(eph.public_key())
        self._aead = _derive(eph.exchange(recipient_public_key), eph_pub, _raw(recipient_public_key))
        self._header = HEADER.pack(MAGIC, VERSION, ALG_X25519_CHACHA, chunk_size, eph_pub)
        self._out = fileobj
        self._chunk = chunk_size
        self._buf = bytearray()
        self._index = 0
        self._close_out = close_fileobj
        self._out.write(self._header)

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        if self.closed:
            raise ValueError("write to closed EncryptingWriter")
        view = memoryview(data).cast("B")
        n = len(view)
        self._buf += view
        while len(self._buf) > self._chunk:
            # Strictly greater: the final chunk is only known at close(), so a
            # full buffer waits until more data proves it is not the last.
            self._emit(bytes(self._buf[:self._chunk]), last=False)
            del self._buf[:self._chunk]
        return n

    def _emit(self, plain: bytes, *, last: bool) -> None:
        ct = self._aead.encrypt(_nonce(self._index, last), plain, self._header)
        self._out.write(CHUNK_HEAD.pack(1 if last else 0, len(ct)))
        self._out.write(ct)
        self._index += 1

    def close(self) -> None:
        if self.closed:
            return
        try:
            self._emit(bytes(self._buf), last=True)
            self._buf = bytearray()
            if hasattr(self._out, "flush"):
                self._out.flush()
            if self._close_out:
                self._out.close()
        finally:
            super().close()


def _read_exact(f, n: int) -> bytes:
    parts = []
    while n:
        b = f.read(n)
        if not b:
            break
        parts.append(b)
        n -= len(b)
    return parts[0] if len(parts) == 1 else b"".join(parts)  # one part: no copy


class DecryptingReader(ChunkedReader):
    """Read-only stream of the plaintext of a ``SOHOAAR1`` file.

    *head* is what the caller has already read from *fileobj* (at most the
    46-byte header). Raises :class:`AtRestError` (on construction for a bad header, while
    reading for a failed tag, a truncation or trailing bytes).
    """

    def __init__(self, fileobj, private_key: X25519PrivateKey, *, head: bytes = b""):
        super().__init__()
        self._in = fileobj
        # *head*: the first bytes, already read by a caller that looked at the magic.
        header = bytes(head) + bytes(_read_exact(fileobj, HEADER.size - len(head)))
        if len(header) != HEADER.size:
            raise AtRestError("file shorter than the at-rest header")
        magic, version, alg, chunk_size, eph_pub = HEADER.unpack(header)
        if magic != MAGIC:
            raise AtRestError("not an at-rest file (bad magic)")
        if version != VERSION or alg != ALG_X25519_CHACHA:
            raise AtRestError(f"unsupported at-rest version {version} / algorithm {alg}")
        if not MIN_CHUNK <= chunk_size <= MAX_CHUNK:
            raise AtRestError(f"chunk size {chunk_size} out of range")
        try:
            shared = private_key.exchange(X25519PublicKey.from_public_bytes(eph_pub))
        except ValueError as exc:
            raise AtRestError(f"bad ephemeral key: {exc}") from None
        self._aead = _derive(shared, eph_pub, _raw(private_key.public_key()))
        self._header = header
        self._chunk = chunk_size
        self._index = 0
        self._done = False
        self._buf = b""
        self._pos = 0

    def _next_chunk(self) -> bytes:
        head = _read_exact(self._in, CHUNK_HEAD.size)
        if len(head) != CHUNK_HEAD.size:
            raise AtRestError("truncated: last chunk missing")
        flag, ct_len = CHUNK_HEAD.unpack(head)
        if flag not in (0, 1) or not TAG <= ct_len <= self._chunk + TAG:
            raise AtRestError("malformed chunk header")
        ct = _read_exact(self._in, ct_len)
        if len(ct) != ct_len:
            raise AtRestError("truncated chunk")
        last = flag == 1
        try:
            plain = self._aead.decrypt(_nonce(self._index, last), ct, self._header)
        except InvalidTag:
            raise AtRestError(f"chunk {self._index} failed authentication") from None
        if not last and len(plain) != self._chunk:
            raise AtRestError("short chunk before the last one")
        self._index += 1
        if last:
            self._done = True
            if self._in.read(1):
                raise AtRestError("bytes after the last chunk")
        return plain

    def read_all_checked(self, block: int = 1 << 20) -> int:
        """Read to the end, discarding the data; returns the plaintext length."""
        total = 0
        while chunk := self.read(block):
            total += len(chunk)
        return total


def open_encrypted(path: os.PathLike | str, recipient_public_key, **kw) -> EncryptingWriter:
    """Open *path* for writing through an :class:`EncryptingWriter` that closes the file."""
    return EncryptingWriter(open(path, "wb"), recipient_public_key, close_fileobj=True, **kw)


def open_reader(fileobj, private_key: X25519PrivateKey) -> tuple[str, AgeReader | DecryptingReader]:
    """``(format, plaintext reader)`` for an at-rest file of either format, told apart by its first bytes.

    *format* is :data:`FORMAT_AGE` or :data:`FORMAT_SOHOA`. Reads only what it
    hands on (no seeking, no read-ahead kept back). Raises one of
    :data:`READ_ERRORS`: :class:`AtRestError` for a file of neither format,
    and whatever the chosen reader raises on its header.
    """
    head = bytes(_read_exact(fileobj, len(MAGIC)))
    if head == MAGIC:
        return FORMAT_SOHOA, DecryptingReader(fileobj, private_key, head=head)
    if head == AGE_MAGIC[:len(MAGIC)]:
        return FORMAT_AGE, AgeReader(fileobj, private_key, head=head)
    raise AtRestError("not an at-rest file of a known format (bad magic)")
