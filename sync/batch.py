"""Sealing and opening batches (formats sections 5.3 and 5.4).

``seal_batch`` turns member files into one sealed file: manifest, signature
and member bytes, zstd-compressed with frame checksums, encrypted to the
archive key, written durably. ``open_batch`` is the receiver's side: it checks
everything a batch carries about itself (the chain is the receiver's job, it
needs the receiver's state).

Two batch format versions differ only in the at-rest layer: version 2 (what
stations seal now) is an age v1 file, version 1 the ``SOHOAAR1`` format.
``open_batch`` accepts both, told apart by the sealed file's first bytes, and
requires the signed manifest's ``v`` to name the same version.
"""

from __future__ import annotations

import hashlib
import io
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import zstandard
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from sync.age import AgeWriter
from sync.at_rest import FORMAT_AGE, FORMAT_SOHOA, READ_ERRORS, EncryptingWriter, open_reader
from sync.canon import (DEVICE_ID_RE, HEX64_RE, MEMBER_NAME_RE, ZERO_HASH, canonical,
                        parse_canonical, plain_numbers)
from sync.fsutil import durable_file

MAGIC = b"SOHOABT1"  # the plain layout's magic: the same in both versions
VERSION = 2  # what seal_batch writes unless told otherwise
VERSIONS = (1, 2)
_VERSION_OF_FORMAT = {FORMAT_SOHOA: 1, FORMAT_AGE: 2}
SIG_DOMAIN = b"sohoa-batch-v1\n"
MAX_MANIFEST = 16 * 1024 * 1024
MANIFEST_KEYS = {"v", "device", "seq", "prev", "created", "pages", "documents", "climate", "members"}
_IO = 1 << 20


class BatchError(ValueError):
    """A batch that must be rejected; ``code`` is a short machine-readable reason."""

    def __init__(self, code: str, detail: str):
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class SealedBatch:
    path: Path
    batch_hash: str
    file_sha256: str
    size: int
    manifest: dict


@dataclass(frozen=True)
class OpenedBatch:
    manifest: dict
    batch_hash: str
    file_sha256: str | None  # None when opened with hash_file=False: the caller hashed the file itself
    size: int


def file_sha256(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while block := f.read(_IO):
            h.update(block)
            size += len(block)
    return h.hexdigest(), size


def build_manifest(*, device_id: str, seq: int, prev: str, created: int, pages: int, documents: int,
                   climate: dict | None, members: Iterable[tuple[str, str, int]], version: int = VERSION) -> dict:
    """The manifest dict (5.3) of batch format *version*; *members* are (name, sha256, size) in any order."""
    if version not in VERSIONS:
        raise ValueError(f"unknown batch format version {version!r}")
    if not DEVICE_ID_RE.fullmatch(device_id):
        raise ValueError(f"invalid device id {device_id!r}")
    if seq < 1 or not HEX64_RE.fullmatch(prev):
        raise ValueError("seq must be >= 1 and prev a 64-hex hash")
    rows = sorted(members, key=lambda m: m[0].encode())
    names = [m[0] for m in rows]
    if len(set(names)) != len(names):
        raise ValueError("duplicate member names")
    for n in names:
        if not MEMBER_NAME_RE.fullmatch(n):
            raise ValueError(f"invalid member name {n!r}")
    return {"v": version, "device": device_id, "seq": int(seq), "prev": prev, "created": int(created),
            "pages": int(pages), "documents": int(documents),
            "climate": plain_numbers(climate) if climate is not None else None,
            "members": [{"name": n, "sha256": h, "size": int(s)} for n, h, s in rows]}


def sign_manifest(manifest_bytes: bytes, key: Ed25519PrivateKey) -> bytes:
    return key.sign(SIG_DOMAIN + manifest_bytes)


class _HashingFile:
    """Pass-through writer that hashes and counts what reaches the file."""

    def __init__(self, f):
        self.f, self.h, self.n = f, hashlib.sha256(), 0

    def write(self, data) -> int:
        self.h.update(data)
        self.n += len(data)
        return self.f.write(data)

    def flush(self) -> None:
        self.f.flush()


def seal_batch(out_path: Path, members: list[tuple[str, Path]], *, device_id: str, seq: int, prev: str,
               created: int, pages: int, documents: int, climate: dict | None,
               device_key: Ed25519PrivateKey, archive_public: X25519PublicKey,
               level: int = 3, version: int = VERSION) -> SealedBatch:
    """Write the sealed batch for *members* ((name, path) pairs) to *out_path*.

    *version* 2 (the default) encrypts with age, 1 with ``SOHOAAR1`` (what
    stations before version 2 sent; kept to test that the receiver still
    accepts them). The file is written to a temporary name, fsynced, renamed and its directory
    fsynced (rule A1). The manifest and therefore the batch hash depend only on
    the arguments, so sealing twice gives the same batch hash.
    """
    listed = []
    for name, path in members:
        digest, size = file_sha256(path)
        listed.append((name, digest, size))
    manifest = build_manifest(device_id=device_id, seq=seq, prev=prev, created=created, pages=pages,
                              documents=documents, climate=climate, members=listed, version=version)
    mbytes = canonical(manifest)
    sig = sign_manifest(mbytes, device_key)
    by_name = dict(members)
    out_path = Path(out_path)
    with durable_file(out_path, make_parents=True) as raw:
        hashed = _HashingFile(raw)
        enc = AgeWriter(hashed, archive_public) if version == 2 else EncryptingWriter(hashed, archive_public)
        cctx = zstandard.ZstdCompressor(level=level, write_checksum=True, threads=0)
        with cctx.stream_writer(enc, closefd=False) as z:
            z.write(MAGIC + struct.pack(">I", len(mbytes)) + mbytes + struct.pack(">H", len(sig)) + sig)
            for m in manifest["members"]:
                with open(by_name[m["name"]], "rb") as f:
                    while block := f.read(_IO):
                        z.write(block)
        enc.close()
    return SealedBatch(out_path, hashlib.sha256(mbytes).hexdigest(), hashed.h.hexdigest(), hashed.n, manifest)


class _Hashing(io.RawIOBase):
    """Read-through that hashes and counts the raw (sealed) bytes."""

    def __init__(self, f, hash_file: bool = True):
        super().__init__()
        self.f, self.h, self.n = f, hashlib.sha256() if hash_file else None, 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        # Straight through, no buffer of its own: the decryptor asks for
        # whole at-rest chunks, and every extra copy costs a pass over the batch.
        data = self.f.read(size)
        if self.h is not None:
            self.h.update(data)
        self.n += len(data)
        return data

    def readinto(self, b) -> int:
        data = self.read(len(b))
        b[:len(data)] = data
        return len(data)


def _exact(r, n: int, what: str) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        part = r.read(n - len(buf))
        if not part:
            raise BatchError("truncated", f"stream ends inside {what}")
        buf += part
    return bytes(buf)


def check_manifest(manifest: dict, version: int | None = None) -> None:
    """Raise :class:`BatchError` ``bad_manifest`` unless *manifest* is a valid manifest.

    Its ``v`` must be a known version, and *version* when one is given (the
    version the sealed file's at-rest layer names).
    """
    def bad(why: str) -> BatchError:
        return BatchError("bad_manifest", why)
    if not isinstance(manifest, dict) or set(manifest) != MANIFEST_KEYS:
        raise bad("manifest keys differ from those of section 5.3")
    v = manifest["v"]
    if not isinstance(v, int) or isinstance(v, bool) or v not in VERSIONS:
        raise bad(f"unsupported manifest version {v!r}")
    if version is not None and v != version:
        raise bad(f"manifest version {v} in a sealed file of version {version}")
    ints = ("seq", "created", "pages", "documents")
    if any(not isinstance(manifest[k], int) or isinstance(manifest[k], bool) or manifest[k] < 0 for k in ints):
        raise bad("seq, created, pages, documents must be non-negative integers")
    if manifest["seq"] < 1:
        raise bad("seq must be >= 1")
    if not isinstance(manifest["device"], str) or not DEVICE_ID_RE.fullmatch(manifest["device"]):
        raise bad("invalid device id")
    if not isinstance(manifest["prev"], str) or not HEX64_RE.fullmatch(manifest["prev"]):
        raise bad("prev must be 64 lowercase hex")
    if manifest["climate"] is not None and not isinstance(manifest["climate"], dict):
        raise bad("climate must be an object or null")
    members = manifest["members"]
    if not isinstance(members, list):
        raise bad("members must be a list")
    names = []
    for m in members:
        if not isinstance(m, dict) or set(m) != {"name", "sha256", "size"}:
            raise bad("member entries need exactly name, sha256, size")
        if not isinstance(m["name"], str) or not MEMBER_NAME_RE.fullmatch(m["name"]):
            raise bad(f"invalid member name {m.get('name')!r}")
        if not isinstance(m["sha256"], str) or not HEX64_RE.fullmatch(m["sha256"]):
            raise bad("member sha256 must be 64 lowercase hex")
        if not isinstance(m["size"], int) or isinstance(m["size"], bool) or m["size"] < 0:
            raise bad("member size must be a non-negative integer")
        names.append(m["name"].encode())
    if names != sorted(names) or len(set(names)) != len(names):
        raise bad("members must be unique and sorted by name")


def open_batch(fileobj, *, archive_private: X25519PrivateKey, device_public: Ed25519PublicKey,
               device_id: str,
               member_check: Callable[[str, bytes | Path], list[str]] | None = None,
               hash_file: bool = True, spool: Path | None = None) -> OpenedBatch:
    """Read a whole sealed batch of either version and check checks 2-5 of section 5.4.

    The caller compares the returned ``file_sha256``, ``batch_hash`` and the
    manifest's ``seq``/``prev`` with what it expects (checks 1 and 6).
    Raises :class:`BatchError` with codes ``decrypt``, ``decompress``,
    ``bad_magic``, ``bad_manifest``, ``wrong_device``, ``bad_signature``,
    ``member_mismatch``, ``member_check``, ``trailing_data`` or ``truncated``.
    With *hash_file* false the whole-file SHA-256 is not computed
    (``file_sha256`` is None): for a caller that hashed the bytes as they
    arrived and compares that digest itself. With a *spool* folder each
    member is written to a file there as it is hashed, and *member_check* gets
    that file's path instead of the member's bytes (so no member is held in
    memory); the file is removed after the call.
    """
    hashed = _Hashing(fileobj, hash_file)
    try:
        fmt, dec = open_reader(hashed, archive_private)
        head = dec.read(18)  # the largest zstd frame header
        params = zstandard.get_frame_parameters(head)
        if not params.has_checksum:
            raise BatchError("decompress", "zstd frame without content checksum")
        z = zstandard.ZstdDecompressor().stream_reader(_Prefixed(head, dec), read_across_frames=True,
                                                         read_size=_IO)
        manifest, mbytes = _read_header(z, _VERSION_OF_FORMAT[fmt])
        if manifest["device"] != device_id:
            raise BatchError("wrong_device", f"manifest names {manifest['device']!r}, "
                                             f"request was authenticated as {device_id!r}")
        sig_len = struct.unpack(">H", _exact(z, 2, "signature length"))[0]
        sig = _exact(z, sig_len, "signature")
        try:
            device_public.verify(sig, SIG_DOMAIN + mbytes)
        except InvalidSignature:
            raise BatchError("bad_signature", "manifest signature does not verify with the enrolled key") from None
        buf = bytearray(_IO)
        for m in manifest["members"]:
            _check_member(z, m, member_check, buf, spool)
        if z.read(1):
            raise BatchError("trailing_data", "bytes after the last member")
        while hashed.read(_IO):  # pragma: no cover - both readers already demand EOF
            pass
    except READ_ERRORS as exc:
        raise BatchError("decrypt", str(exc)) from None
    except zstandard.ZstdError as exc:
        raise BatchError("decompress", str(exc)) from None
    return OpenedBatch(manifest, hashlib.sha256(mbytes).hexdigest(),
                       hashed.h.hexdigest() if hashed.h is not None else None, hashed.n)


def _read_header(z, version: int) -> tuple[dict, bytes]:
    if _exact(z, len(MAGIC), "magic") != MAGIC:
        raise BatchError("bad_magic", "not a sohoa batch")
    mlen = struct.unpack(">I", _exact(z, 4, "manifest length"))[0]
    if not 1 <= mlen <= MAX_MANIFEST:
        raise BatchError("bad_manifest", f"manifest length {mlen} out of range")
    mbytes = _exact(z, mlen, "manifest")
    try:
        manifest = parse_canonical(mbytes)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BatchError("bad_manifest", f"manifest is not canonical JSON: {exc}") from None
    check_manifest(manifest, version)
    return manifest, mbytes


def _check_member(z, m: dict, member_check, buf: bytearray, spool: Path | None = None) -> None:
    """Hash member *m* from *z* through *buf* (reused: it stays in the CPU cache, no allocation per block)."""
    if member_check is not None and spool is not None:
        path = Path(spool) / f"member-{m['name']}"
        try:
            with open(path, "wb") as out:
                _hash_member(z, m, buf, out.write)
            problems = member_check(m["name"], path)
        finally:
            path.unlink(missing_ok=True)
    else:
        keep = bytearray() if member_check else None
        _hash_member(z, m, buf, keep.extend if keep is not None else None)
        problems = member_check(m["name"], bytes(keep)) if member_check is not None else []
    if problems:
        raise BatchError("member_check", f"member {m['name']}: " + "; ".join(problems))


def _hash_member(z, m: dict, buf: bytearray, sink) -> None:
    h = hashlib.sha256()
    left = m["size"]
    view = memoryview(buf)
    while left:
        got = z.readinto(view[:min(left, len(buf))])
        if not got:
            raise BatchError("truncated", f"member {m['name']} is cut short")
        h.update(view[:got])
        if sink is not None:
            sink(view[:got])
        left -= got
    if h.hexdigest() != m["sha256"]:
        raise BatchError("member_mismatch", f"member {m['name']}: SHA-256 differs from the manifest")


class _Prefixed(io.RawIOBase):
    """A reader that yields *head* first, then the rest of *f*."""

    def __init__(self, head: bytes, f):
        super().__init__()
        self.head, self.f = head, f

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        # zstd's stream reader calls read(): hand on what *f* returns, uncopied.
        if self.head and size != 0:
            n = len(self.head) if size is None or size < 0 else min(size, len(self.head))
            out, self.head = self.head[:n], self.head[n:]
            return out
        return self.f.read(size)

    def readinto(self, b) -> int:
        if self.head:
            n = min(len(b), len(self.head))
            b[:n] = self.head[:n]
            self.head = self.head[n:]
            return n
        return self.f.readinto(b)


def zero_prev() -> str:
    return ZERO_HASH
