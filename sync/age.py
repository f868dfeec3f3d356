"""age v1 files (C2SP age, age-encryption.org/v1) to and from one X25519 key, streaming (formats 5.5).

``AgeWriter`` is a write-only, non-seekable binary stream whose bytes reach the
underlying file only as an age file encrypted to one X25519 recipient (one
``X25519`` stanza, the header MAC, then the STREAM payload in 64 KiB chunks).
``AgeReader`` is the reading side for an X25519 identity: it checks the header
and each chunk as it goes and raises :class:`AgeError` on anything the
specification says to reject. Both hold at most a few chunks in memory, so a
file of any size passes through in constant memory, and neither seeks: they
sit on pipes, sockets and an upload that is still arriving.

Written to the specification over ``cryptography`` (X25519, HKDF-SHA-256,
HMAC-SHA-256, ChaCha20-Poly1305); the output opens with ``age -d -i``, and
files ``age -r`` writes open here (tests/sync/test_age_interop.py). Plugins,
passphrase (scrypt) stanzas and ASCII armor are not read.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import io
import os
import time

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from sync import bech32
from sync.chunked_reader import ChunkedReader

MAGIC = b"age-encryption.org/v1\n"
CHUNK = 64 * 1024
TAG = 16
ENC_CHUNK = CHUNK + TAG
NONCE = 16
FILE_KEY = 16
MAX_HEADER = 64 * 1024  # ours is about 150 bytes; a bound on what a header may make us hold
X25519_INFO = b"age-encryption.org/v1/X25519"
RECIPIENT_HRP = "age"
IDENTITY_HRP = "age-secret-key-"
_RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw


class AgeError(ValueError):
    """Not a valid, complete age file for this identity (header, stanza, MAC, chunk or length)."""


# ----------------------------------------------------------------------------- encodings

def _b64(data: bytes) -> bytes:
    return base64.b64encode(data).rstrip(b"=")


def _unb64(text: bytes, what: str) -> bytes:
    """Canonical unpadded base64 (RFC 4648 section 3.5) or :class:`AgeError`."""
    if b"=" in text or len(text) % 4 == 1:
        raise AgeError(f"{what}: not unpadded base64")
    try:
        data = base64.b64decode(text + b"=" * (-len(text) % 4), validate=True)
    except binascii.Error:
        raise AgeError(f"{what}: not base64") from None
    if _b64(data) != text:
        raise AgeError(f"{what}: non-canonical base64")
    return data


def _hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt=salt, info=info).derive(ikm)


def _raw_public(key: X25519PublicKey | X25519PrivateKey) -> bytes:
    pub = key.public_key() if isinstance(key, X25519PrivateKey) else key
    return pub.public_bytes(*_RAW)


def recipient_string(key: X25519PublicKey | X25519PrivateKey | bytes) -> str:
    """The ``age1…`` recipient of an X25519 public key (or of a private key's public half)."""
    return bech32.encode(RECIPIENT_HRP, key if isinstance(key, bytes) else _raw_public(key))


def identity_string(key: X25519PrivateKey) -> str:
    """The ``AGE-SECRET-KEY-1…`` identity of an X25519 private key: its 32 raw bytes in Bech32."""
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                            serialization.NoEncryption())
    return bech32.encode(IDENTITY_HRP, raw).upper()


def parse_recipient(text: str) -> X25519PublicKey:
    """The X25519 public key of an ``age1…`` string; :class:`AgeError` if it is not one."""
    try:
        hrp, data = bech32.decode(text.strip())
    except bech32.Bech32Error as exc:
        raise AgeError(f"not an age recipient: {exc}") from None
    if hrp != RECIPIENT_HRP or len(data) != 32:
        raise AgeError("not an age X25519 recipient")
    return X25519PublicKey.from_public_bytes(data)


def parse_identity(text: str) -> X25519PrivateKey:
    """The X25519 private key of an ``AGE-SECRET-KEY-1…`` string; :class:`AgeError` if it is not one."""
    try:
        hrp, data = bech32.decode(text.strip())
    except bech32.Bech32Error as exc:
        raise AgeError(f"not an age identity: {exc}") from None
    if hrp != IDENTITY_HRP or len(data) != 32:
        raise AgeError("not an age X25519 identity")
    return X25519PrivateKey.from_private_bytes(data)


def identity_file(key: X25519PrivateKey, created: float | None = None) -> str:
    """An identity file as ``age-keygen`` writes it, which ``age -d -i FILE`` reads."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if created is None else created))
    return f"# created: {stamp}\n# public key: {recipient_string(key)}\n{identity_string(key)}\n"


def _nonce(index: int, last: bool) -> bytes:
    return index.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


# ----------------------------------------------------------------------------- writing

class AgeWriter(io.RawIOBase):
    """Write-only stream that encrypts to the X25519 *recipient* into *fileobj*, as an age v1 file.

    Parameters
    ----------
    fileobj : binary file-like
        Receives the header, the payload nonce and the sealed chunks; only ``write`` is used.
    recipient : X25519PublicKey or bytes
        The recipient's public key (object or its 32 raw bytes).
    close_fileobj : bool
        Close *fileobj* too when this stream is closed.

    ``close()`` writes the final chunk; a file whose writer was never closed
    is rejected by any reader as truncated. Not seekable: ``tell()`` raises,
    which makes ``zipfile`` switch to its streaming mode.
    """

    def __init__(self, fileobj, recipient: X25519PublicKey | bytes, *, close_fileobj: bool = False):
        super().__init__()
        if isinstance(recipient, bytes):
            recipient = X25519PublicKey.from_public_bytes(recipient)
        file_key = os.urandom(FILE_KEY)
        eph = X25519PrivateKey.generate()
        share = _raw_public(eph)
        shared = eph.exchange(recipient)
        wrap = _hkdf(shared, share + _raw_public(recipient), X25519_INFO)
        body = ChaCha20Poly1305(wrap).encrypt(bytes(12), file_key, None)
        # A 32-byte body is 43 base64 characters: one line, shorter than 64, ends the stanza.
        header = MAGIC + b"-> X25519 " + _b64(share) + b"\n" + _b64(body) + b"\n---"
        mac = hmac.new(_hkdf(file_key, b"", b"header"), header, "sha256").digest()
        nonce = os.urandom(NONCE)
        self._aead = ChaCha20Poly1305(_hkdf(file_key, nonce, b"payload"))
        self._out = fileobj
        self._buf = bytearray()
        self._index = 0
        self._close_out = close_fileobj
        self._out.write(header + b" " + _b64(mac) + b"\n" + nonce)

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        if self.closed:
            raise ValueError("write to closed AgeWriter")
        view = memoryview(data).cast("B")
        n = len(view)
        if self._buf:
            take = min(n, CHUNK - len(self._buf))
            if len(self._buf) + take == CHUNK and n > take:
                self._buf += view[:take]
                view = view[take:]
                self._emit(self._buf, last=False)
                self._buf = bytearray()
            else:
                self._buf += view
                return n
        # Whole chunks straight from the caller's buffer, no copy. Strictly more
        # than a chunk must remain: the final chunk is only known at close().
        while len(view) > CHUNK:
            self._emit(view[:CHUNK], last=False)
            view = view[CHUNK:]
        self._buf += view
        return n

    def _emit(self, plain, *, last: bool) -> None:
        self._out.write(self._aead.encrypt(_nonce(self._index, last), plain, None))
        self._index += 1

    def close(self) -> None:
        if self.closed:
            return
        try:
            # The final chunk holds 1 .. 64 KiB, or nothing when nothing was written at all.
            self._emit(self._buf, last=True)
            self._buf = bytearray()
            if hasattr(self._out, "flush"):
                self._out.flush()
            if self._close_out:
                self._out.close()
        finally:
            super().close()


def open_age(path: os.PathLike | str, recipient, **kw) -> AgeWriter:
    """Open *path* for writing through an :class:`AgeWriter` that closes the file."""
    return AgeWriter(open(path, "wb"), recipient, close_fileobj=True, **kw)


# ----------------------------------------------------------------------------- reading

class _Source:
    """Bytes of *fileobj* after *head*, taken line by line (the header) or by count (the payload).

    The header is read in small blocks; what they bring of the payload is
    handed out first, after which every chunk is one read of the source,
    passed on as the source returned it (no copy of ours).
    """

    _HEADER_READ = 4096

    def __init__(self, fileobj, head: bytes):
        self.f = fileobj
        self.buf = bytearray(head)
        self.pos = 0

    def line(self, limit: int) -> bytes:
        """The next line with its LF; AgeError past *limit* bytes or at end of file."""
        while True:
            end = self.buf.find(b"\n", self.pos)
            if end >= 0:
                out = bytes(self.buf[self.pos:end + 1])
                self.pos = end + 1
                return out
            if len(self.buf) - self.pos > limit:
                raise AgeError("header too long")
            data = self.f.read(self._HEADER_READ)
            if not data:
                raise AgeError("truncated header")
            del self.buf[:self.pos]
            self.pos = 0
            self.buf += data

    def take(self, n: int):
        """*n* bytes, fewer only at end of file."""
        if self.pos < len(self.buf):
            out = self.buf[self.pos:self.pos + n]
            self.pos += len(out)
            if self.pos == len(self.buf):
                self.buf, self.pos = bytearray(), 0
        else:
            out = self.f.read(n)
            if len(out) == n or not out:
                return out  # a whole chunk in one read, or the end
            out = bytearray(out)
        while len(out) < n:
            data = self.f.read(n - len(out))
            if not data:
                break
            out += data
        return out

    def at_end(self) -> bool:
        return self.pos == len(self.buf) and not self.f.read(1)


def _arguments(line: bytes) -> list[bytes]:
    args = line[3:-1].split(b" ")
    if not args or any(not a or any(not 0x21 <= c <= 0x7E for c in a) for a in args):
        raise AgeError("malformed stanza arguments")
    return args


def _read_header(src: _Source) -> tuple[bytes, list[tuple[list[bytes], bytes]], bytes]:
    """(header bytes up to and including ``---``, stanzas as (arguments, body), MAC)."""
    first = src.take(len(MAGIC))
    if first != MAGIC:
        raise AgeError("not an age v1 file (bad version line)")
    header = bytearray(MAGIC)
    stanzas = []
    while True:
        line = src.line(MAX_HEADER - len(header))
        if line.startswith(b"--- "):
            header += b"---"
            mac_text = line[4:-1]
            if len(mac_text) != 43:
                raise AgeError("malformed header MAC line")
            if not stanzas:
                raise AgeError("header without a recipient stanza")
            return bytes(header), stanzas, _unb64(mac_text, "header MAC")
        if not line.startswith(b"-> "):
            raise AgeError("malformed header line")
        header += line
        args = _arguments(line)
        body = bytearray()
        while True:
            part = src.line(MAX_HEADER - len(header))
            header += part
            text = part[:-1]
            if len(text) > 64 or any(c not in _B64_CHARS for c in text):
                raise AgeError("malformed stanza body line")
            body += text
            if len(text) < 64:
                break
        stanzas.append((args, _unb64(bytes(body), "stanza body")))
        if len(header) > MAX_HEADER:
            raise AgeError("header too long")


_B64_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


def _unwrap(stanzas, identity: X25519PrivateKey) -> bytes:
    """The file key from the first X25519 stanza addressed to *identity*."""
    own = _raw_public(identity)
    for args, body in stanzas:
        if args[0] != b"X25519":
            continue  # another recipient type: ignored, as the specification requires
        if len(args) != 2:
            raise AgeError("X25519 stanza must have exactly two arguments")
        share = _unb64(args[1], "X25519 share")
        if len(share) != 32:
            raise AgeError("X25519 share must be 32 bytes")
        if len(body) != FILE_KEY + TAG:
            raise AgeError("X25519 stanza body must be 32 bytes")
        try:
            shared = identity.exchange(X25519PublicKey.from_public_bytes(share))
        except ValueError:  # OpenSSL refuses a low-order point: the all-zero shared secret
            raise AgeError("all-zero X25519 shared secret") from None
        if shared == bytes(32):
            raise AgeError("all-zero X25519 shared secret")
        wrap = _hkdf(shared, share + own, X25519_INFO)
        try:
            return ChaCha20Poly1305(wrap).decrypt(bytes(12), body, None)
        except InvalidTag:
            continue  # wrapped for another X25519 recipient
    raise AgeError("no recipient stanza for this identity")


class AgeReader(ChunkedReader):
    """Read-only stream of the plaintext of an age v1 file, for an X25519 *identity*.

    *head* is what the caller has already read from *fileobj* (the first bytes,
    to tell formats apart). Raises :class:`AgeError` on construction for a bad
    header (version line, syntax, non-canonical base64, an X25519 stanza of the
    wrong shape, an all-zero shared secret, no stanza for this identity, a bad
    header MAC, a missing payload nonce) and while reading for a chunk that
    fails authentication, a missing final chunk (truncation), an empty final
    chunk after the first and bytes after the final chunk.
    """

    def __init__(self, fileobj, identity: X25519PrivateKey, *, head: bytes = b""):
        super().__init__()
        self._src = _Source(fileobj, head)
        header, stanzas, mac = _read_header(self._src)
        file_key = _unwrap(stanzas, identity)
        want = hmac.new(_hkdf(file_key, b"", b"header"), header, "sha256").digest()
        if not hmac.compare_digest(want, mac):
            raise AgeError("header MAC does not match")
        nonce = self._src.take(NONCE)
        if len(nonce) != NONCE:
            raise AgeError("truncated: payload nonce missing")
        self._aead = ChaCha20Poly1305(_hkdf(file_key, bytes(nonce), b"payload"))
        self._index = 0
        self._done = False
        self._buf = b""
        self._pos = 0

    def _next_chunk(self) -> bytes:
        ct = self._src.take(ENC_CHUNK)
        if not ct:
            raise AgeError("truncated: final chunk missing")
        if len(ct) < TAG:
            raise AgeError("truncated chunk")
        last = len(ct) < ENC_CHUNK  # a short chunk can only be the final one
        try:
            plain = self._aead.decrypt(_nonce(self._index, last), ct, None)
        except InvalidTag:
            if last:
                raise AgeError(f"chunk {self._index} failed authentication") from None
            # A full chunk may be the final one: it then authenticates only with the final flag.
            try:
                plain = self._aead.decrypt(_nonce(self._index, True), ct, None)
            except InvalidTag:
                raise AgeError(f"chunk {self._index} failed authentication") from None
            last = True
        if last:
            if not plain and self._index > 0:
                raise AgeError("empty final chunk after the first")
            self._done = True
            if not self._src.at_end():
                raise AgeError("bytes after the final chunk")
        self._index += 1
        return plain
