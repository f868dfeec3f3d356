"""Bech32 (BIP 173) for age keys: ``age1…`` recipients and ``AGE-SECRET-KEY-1…`` identities.

As the age specification (C2SP age, "Conventions") uses it: BIP 173's
checksum and alphabet, without BIP 173's 90-character limit; a string is all
lowercase or all uppercase, and the checksum is computed over the lowercase
form. Only whole bytes are carried (8-bit groups regrouped into 5-bit
symbols, zero-padded, the padding checked on decoding).
"""

from __future__ import annotations

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
_INDEX = {c: i for i, c in enumerate(CHARSET)}


class Bech32Error(ValueError):
    """Not a valid Bech32 string (case, characters, separator, checksum or padding)."""


def _polymod(values) -> int:
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i, g in enumerate(_GEN):
            if (top >> i) & 1:
                chk ^= g
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _regroup(data, frm: int, to: int, pad: bool) -> list[int]:
    acc = bits = 0
    out = []
    maxv = (1 << to) - 1
    for value in data:
        acc = (acc << frm) | value
        bits += frm
        while bits >= to:
            bits -= to
            out.append((acc >> bits) & maxv)
    if pad:
        if bits:
            out.append((acc << (to - bits)) & maxv)
    elif bits >= frm or (acc << (to - bits)) & maxv:
        # More than a symbol's worth of padding, or padding bits that are not zero:
        # another string for the same bytes, which a strict decoder refuses.
        raise Bech32Error("invalid padding")
    return out


def encode(hrp: str, data: bytes) -> str:
    """The lowercase Bech32 string of *data* under the human-readable part *hrp*."""
    hrp = hrp.lower()
    if not hrp or any(not 33 <= ord(c) <= 126 for c in hrp):
        raise ValueError("human-readable part must be 1 or more printable ASCII characters")
    values = _regroup(data, 8, 5, True)
    check = _polymod(_hrp_expand(hrp) + values + [0] * 6) ^ 1
    return hrp + "1" + "".join(CHARSET[v] for v in values) + "".join(
        CHARSET[(check >> 5 * (5 - i)) & 31] for i in range(6))


def decode(text: str) -> tuple[str, bytes]:
    """``(hrp, data)`` of a Bech32 string; *hrp* in lowercase. Raises :class:`Bech32Error`."""
    if text.lower() != text and text.upper() != text:
        raise Bech32Error("mixed case")
    if any(not 33 <= ord(c) <= 126 for c in text):
        raise Bech32Error("character outside printable ASCII")
    text = text.lower()
    sep = text.rfind("1")
    if sep < 1 or len(text) - sep - 1 < 6:
        raise Bech32Error("missing separator, human-readable part or checksum")
    hrp, rest = text[:sep], text[sep + 1:]
    try:
        values = [_INDEX[c] for c in rest]
    except KeyError as exc:
        raise Bech32Error(f"character {exc.args[0]!r} not in the Bech32 alphabet") from None
    if _polymod(_hrp_expand(hrp) + values) != 1:
        raise Bech32Error("checksum does not match")
    return hrp, bytes(_regroup(values[:-6], 5, 8, False))
