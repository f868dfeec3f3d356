"""age v1 (formats 5.5.1): round trips, Bech32 keys, and every rejection the specification asks for.

Files to reject are built here from the primitives (``_forge``), independently
of ``AgeWriter``, so that each case breaks exactly one rule.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import os
import zipfile

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from sync import bech32
from sync.age import (CHUNK, ENC_CHUNK, AgeError, AgeReader, AgeWriter, identity_file, identity_string, open_age,
                      parse_identity, parse_recipient, recipient_string)
from sync.at_rest import FORMAT_AGE, FORMAT_SOHOA, READ_ERRORS, AtRestError, EncryptingWriter, open_reader
from sync.keys import raw_public


class _Pipe:
    """A write-only, non-seekable sink, like a socket or a pipe."""

    def __init__(self):
        self.buf = io.BytesIO()

    def write(self, data):
        return self.buf.write(data)


class _Trickle(io.RawIOBase):
    """A source that returns at most *step* bytes a read, as a socket or an arriving upload does."""

    def __init__(self, data: bytes, step: int):
        super().__init__()
        self.data, self.pos, self.step = data, 0, step

    def readable(self):
        return True

    def read(self, n=-1):
        n = self.step if n is None or n < 0 else min(n, self.step)
        out = self.data[self.pos:self.pos + n]
        self.pos += len(out)
        return out


def _b64(b: bytes) -> bytes:
    return base64.b64encode(b).rstrip(b"=")


def _hkdf(ikm, salt, info):
    return HKDF(hashes.SHA256(), 32, salt=salt, info=info).derive(ikm)


def _seal(pub, data: bytes, *, writes=(1,)) -> bytes:
    sink = _Pipe()
    w = AgeWriter(sink, pub)
    pos = 0
    for frac in writes:
        end = len(data) if frac == 1 else int(len(data) * frac)
        w.write(data[pos:end])
        pos = end
    w.close()
    return sink.buf.getvalue()


def _forge(pub, chunks, *, stanzas=None, share=None, body=None, args=None, mac=None, version=b"v1",
           file_key=None, nonce=None, trailing=b"") -> bytes:
    """An age file built from the primitives; *chunks* are (plaintext, final flag) in order.

    Every keyword breaks one thing: extra stanzas (text, placed before ours),
    the X25519 share or body, our stanza's arguments, the MAC, the version.
    """
    file_key = file_key or os.urandom(16)
    eph = X25519PrivateKey.generate()
    share_b = share if share is not None else raw_public(eph)
    shared = eph.exchange(pub)
    wrap = _hkdf(shared, share_b + raw_public(pub), b"age-encryption.org/v1/X25519")
    body_b = body if body is not None else ChaCha20Poly1305(wrap).encrypt(bytes(12), file_key, None)
    ours = b"-> " + (args if args is not None else b"X25519 " + _b64(share_b)) + b"\n"
    text = _b64(body_b)
    lines = [text[i:i + 64] for i in range(0, len(text), 64)]
    if len(text) % 64 == 0:
        lines.append(b"")
    ours += b"".join(line + b"\n" for line in lines)
    header = b"age-encryption.org/" + version + b"\n" + b"".join(stanzas or []) + ours + b"---"
    tag = hmac.new(_hkdf(file_key, b"", b"header"), header, "sha256").digest()
    nonce = nonce if nonce is not None else os.urandom(16)
    aead = ChaCha20Poly1305(_hkdf(file_key, nonce, b"payload"))
    payload = b"".join(aead.encrypt(i.to_bytes(11, "big") + (b"\x01" if last else b"\x00"), plain, None)
                       for i, (plain, last) in enumerate(chunks))
    return header + b" " + (mac if mac is not None else _b64(tag)) + b"\n" + nonce + payload + trailing


def _read(raw: bytes, key, step: int | None = None) -> bytes:
    src = io.BytesIO(raw) if step is None else _Trickle(raw, step)
    return AgeReader(src, key).read()


KEY = X25519PrivateKey.from_private_bytes(hashlib.sha256(b"test-age").digest())
PUB = KEY.public_key()


# ------------------------------------------------------------------------------ round trips

@pytest.mark.parametrize("n", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK + 17])
@pytest.mark.parametrize("writes", [(1,), (0.3, 0.31, 1)])
def test_round_trip_at_chunk_boundaries(n, writes):
    data = os.urandom(n)
    raw = _seal(PUB, data, writes=writes)
    chunks = max(1, -(-n // CHUNK))
    assert len(raw) == raw.index(b"\n---") + 49 + 16 + n + 16 * chunks  # header, nonce, data, one tag a chunk
    assert _read(raw, KEY) == data
    assert _read(raw, KEY, step=7000) == data  # a source that never returns a whole chunk
    if n >= 16:
        assert data[:16] not in raw


def test_many_small_writes_and_readinto():
    data = os.urandom(5 * CHUNK + 3)
    sink = _Pipe()
    w = AgeWriter(sink, PUB)
    for i in range(0, len(data), 1000):
        w.write(data[i:i + 1000])
    w.close()
    r = AgeReader(io.BytesIO(sink.buf.getvalue()), KEY)
    out = bytearray()
    buf = bytearray(10_000)
    while n := r.readinto(buf):
        out += buf[:n]
    assert bytes(out) == data


def test_under_zipfile_on_a_non_seekable_stream(tmp_path):
    w = open_age(tmp_path / "secret.zip.enc", PUB)
    with zipfile.ZipFile(w, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("hồ sơ mật/01.pdf", b"%PDF-1.7 secret" * 1000)
        z.writestr("metadata.xml", "<mật/>")
    w.close()
    raw = (tmp_path / "secret.zip.enc").read_bytes()
    assert raw.startswith(b"age-encryption.org/v1\n-> X25519 ") and b"secret" not in raw
    with zipfile.ZipFile(io.BytesIO(_read(raw, KEY))) as z:
        assert z.read("metadata.xml") == "<mật/>".encode()


def test_each_file_has_its_own_keys():
    a, b = _seal(PUB, b"same"), _seal(PUB, b"same")
    assert a != b and a.split(b"\n")[1] != b.split(b"\n")[1]  # fresh ephemeral share
    assert a[-36:-20] != b[-36:-20]  # fresh payload nonce


def test_write_after_close_raises():
    w = AgeWriter(_Pipe(), PUB)
    w.close()
    with pytest.raises(ValueError):
        w.write(b"x")


def test_open_reader_tells_the_formats_apart():
    age_raw = _seal(PUB, b"hello")
    sink = io.BytesIO()
    w = EncryptingWriter(sink, PUB)
    w.write(b"hello")
    w.close()
    fmt, r = open_reader(io.BytesIO(age_raw), KEY)
    assert (fmt, r.read()) == (FORMAT_AGE, b"hello")
    fmt, r = open_reader(io.BytesIO(sink.getvalue()), KEY)
    assert (fmt, r.read()) == (FORMAT_SOHOA, b"hello")
    for junk in (b"", b"age", b"PK\x03\x04" + bytes(100), b"age-encrX" + age_raw[9:]):
        with pytest.raises(READ_ERRORS):
            open_reader(io.BytesIO(junk), KEY)[1].read()
    with pytest.raises(AtRestError):
        open_reader(io.BytesIO(b"SOHOABT1" + bytes(100)), KEY)


# ------------------------------------------------------------------------------ keys

def test_specification_example_keys():
    identity = "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX"
    key = parse_identity(identity)
    assert recipient_string(key) == "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj"
    assert identity_string(key) == identity
    assert raw_public(parse_recipient(recipient_string(key))) == raw_public(key)
    text = identity_file(key, created=0)
    assert text.splitlines() == ["# created: 1970-01-01T00:00:00Z",
                                 "# public key: age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj",
                                 identity]


@pytest.mark.parametrize("text", ["A12UEL5L", "a12uel5l",
                                  "an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharacters"
                                  "bio1tt5tgs",
                                  "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
                                  "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w"])
def test_bech32_valid_vectors_of_bip173(text):
    hrp, data = bech32.decode(text)
    assert bech32.encode(hrp, data) == text.lower()


@pytest.mark.parametrize("text", ["pzry9x0s0muk", "1pzry9x0s0muk", "x1b4n0q5v", "li1dgmt3", "A1G7SGD8",
                                  "10a06t8", "1qzzfhee", "A12uEL5L", "a12uel5m", "a12uel5l\x7f"])
def test_bech32_invalid_vectors_of_bip173(text):
    with pytest.raises(bech32.Bech32Error):
        bech32.decode(text)


def test_bech32_rejects_non_zero_padding():
    good = bech32.encode("age", bytes(32))
    hrp, _ = bech32.decode(good)
    # 32 bytes are 256 bits in 52 symbols: the last symbol carries 1 bit and 4 bits of padding.
    values = [bech32.CHARSET.index(c) for c in good[4:-6]]
    values[-1] |= 1  # a padding bit set: same bytes, another string
    bad_data = "".join(bech32.CHARSET[v] for v in values)
    chk = bech32._polymod(bech32._hrp_expand(hrp) + values + [0] * 6) ^ 1
    bad = "age1" + bad_data + "".join(bech32.CHARSET[(chk >> 5 * (5 - i)) & 31] for i in range(6))
    with pytest.raises(bech32.Bech32Error, match="padding"):
        bech32.decode(bad)


def test_key_strings_of_the_wrong_kind_are_refused():
    with pytest.raises(AgeError):
        parse_identity(recipient_string(KEY))
    with pytest.raises(AgeError):
        parse_recipient(identity_string(KEY))
    with pytest.raises(AgeError):
        parse_recipient(bech32.encode("age", bytes(31)))
    with pytest.raises(AgeError):
        parse_identity("AGE-SECRET-KEY-1" + "Q" * 58)


# ------------------------------------------------------------------------------ what the specification rejects

def test_the_forger_makes_files_the_reader_accepts():
    data = os.urandom(CHUNK + 5)
    raw = _forge(PUB, [(data[:CHUNK], False), (data[CHUNK:], True)])
    assert _read(raw, KEY) == data
    assert _read(_forge(PUB, [(b"", True)]), KEY) == b""  # the empty file: one empty final chunk
    assert _read(_forge(PUB, [(data[:CHUNK], True)]), KEY) == data[:CHUNK]  # a full-size final chunk
    grease = b"-> x/grease-y 1 2\n" + _b64(os.urandom(70))[:64] + b"\n" + b"abc\n"
    other = X25519PrivateKey.generate()
    assert _read(_forge(PUB, [(b"x", True)], stanzas=[grease, _stanza_for(other)]), KEY) == b"x"


def _stanza_for(key) -> bytes:
    """A well-formed X25519 stanza for another recipient (its body opens for *key* only)."""
    eph = X25519PrivateKey.generate()
    wrap = _hkdf(eph.exchange(key.public_key()), raw_public(eph) + raw_public(key), b"age-encryption.org/v1/X25519")
    body = ChaCha20Poly1305(wrap).encrypt(bytes(12), os.urandom(16), None)
    return b"-> X25519 " + _b64(raw_public(eph)) + b"\n" + _b64(body) + b"\n"


def _mac_flipped(raw: bytes) -> bytes:
    i = raw.index(b"\n--- ") + 5
    c = raw[i:i + 1]
    return raw[:i] + (b"A" if c != b"A" else b"B") + raw[i + 1:]


def _share_non_canonical() -> bytes:
    """An X25519 argument whose share decodes to 32 bytes but is not their canonical base64."""
    share = _b64(raw_public(X25519PrivateKey.generate()))
    # 43 characters carry 258 bits: the last character's 2 low bits are padding, 0 when canonical.
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    idx = alphabet.index(share[-1:])
    assert idx & 3 == 0
    return b"X25519 " + share[:-1] + alphabet[idx + 1:idx + 2]


def _cases():
    full = os.urandom(CHUNK)
    one = [(b"payload", True)]
    good = _forge(PUB, [(full, False), (b"tail", True)])
    header_end = good.index(b"\n--- ") + 49  # the MAC line: LF, "--- ", 43 characters, LF
    yield "version v2", _forge(PUB, one, version=b"v2"), "version line"
    yield "no final newline on version", b"age-encryption.org/v1", "version line"
    yield "MAC changed", _mac_flipped(good), "MAC"
    yield "MAC padded", _forge(PUB, one, mac=_b64(os.urandom(32))[:-1] + b"="), None
    yield "MAC short", _forge(PUB, one, mac=_b64(os.urandom(31))), "MAC"
    yield "three arguments", _forge(PUB, one, args=b"X25519 " + _b64(raw_public(KEY)) + b" extra"), "two arguments"
    yield "share 31 bytes", _forge(PUB, one, args=b"X25519 " + _b64(os.urandom(31))), "32 bytes"
    yield "share non-canonical", _forge(PUB, one, args=_share_non_canonical()), "base64"
    yield "body 33 bytes", _forge(PUB, one, body=os.urandom(33)), "32 bytes"
    yield "all-zero shared secret", _forge(PUB, one, args=b"X25519 " + _b64(bytes(32))), "all-zero"
    yield "stanza for another key", _forge(PUB, one, stanzas=[_stanza_for(X25519PrivateKey.generate())],
                                           args=b"unknown-type arg"), "no recipient"
    yield "only a grease stanza", _forge(PUB, one, args=b"x-grease abc"), "no recipient"
    yield "empty argument", _forge(PUB, one, args=b"X25519  " + _b64(raw_public(KEY))), "arguments"
    yield "body line of 65", _forge(PUB, one, stanzas=[b"-> other\n" + b"A" * 65 + b"\n\n"]), "body line"
    yield "body without its short line", _forge(PUB, one, stanzas=[b"-> other\n" + b"A" * 64 + b"\n"]), None
    yield "garbage line", good.replace(b"\n---", b"\nhello there\n---", 1), None
    yield "header too long", _forge(PUB, one, stanzas=[b"-> big\n" + (b"A" * 64 + b"\n") * 1100 + b"\n"]), "too long"
    yield "cut in header", good[:good.index(b"\n---")], "truncated header"
    yield "no nonce", good[:header_end], "nonce"
    yield "nonce cut", good[:header_end + 10], "nonce"
    yield "no chunks", good[:header_end + 16], "final chunk missing"
    yield "cut inside chunk", good[:header_end + 16 + 1000], "authentication"
    yield "cut at chunk boundary", good[:header_end + 16 + ENC_CHUNK], "final chunk missing"
    yield "cut inside tag", good[:-3], "authentication"
    yield "tail under 16 bytes", good[:header_end + 16 + ENC_CHUNK + 9], "truncated chunk"
    yield "trailing after short final", good + b"x", "authentication"
    yield "trailing after full final", _forge(PUB, [(full, True)], trailing=b"x"), "after the final chunk"
    yield "final flag on the first of two", _forge(PUB, [(full, True), (b"tail", True)]), "after the final chunk"
    yield "short chunk not final", _forge(PUB, [(b"short", False), (b"tail", True)]), "authentication"
    yield "full chunk not final at end", _forge(PUB, [(full, False)]), "final chunk missing"
    yield "empty final after the first", _forge(PUB, [(full, False), (b"", True)]), "empty final chunk"
    yield "chunks swapped", _forge(PUB, [(full, False), (full, False), (b"t", True)])[:header_end + 16] + \
        good[header_end + 16:], "authentication"
    flipped = bytearray(good)
    flipped[header_end + 100] ^= 1
    yield "payload bit flipped", bytes(flipped), "authentication"
    flipped = bytearray(good)
    flipped[header_end + 3] ^= 1
    yield "nonce bit flipped", bytes(flipped), "authentication"


@pytest.mark.parametrize("name,raw,why", list(_cases()), ids=[c[0] for c in _cases()])
def test_reader_rejects(name, raw, why):
    with pytest.raises(AgeError) as err:
        _read(raw, KEY)
    if why:
        assert why in str(err.value), str(err.value)
    with pytest.raises(AgeError):
        _read(raw, KEY, step=5000)


def test_wrong_identity_is_refused():
    with pytest.raises(AgeError, match="no recipient"):
        _read(_seal(PUB, b"x"), X25519PrivateKey.generate())


def test_a_swapped_stanza_breaks_the_mac():
    """A stanza of another file for the same key opens, but its file key does not match this header's MAC."""
    a, b = _seal(PUB, b"one"), _seal(PUB, b"two")
    a_lines, b_lines = a.split(b"\n"), b.split(b"\n")
    mixed = b"\n".join(a_lines[:1] + b_lines[1:3] + a_lines[3:])
    with pytest.raises(AgeError, match="MAC"):
        _read(mixed, KEY)
