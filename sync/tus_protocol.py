"""tus 1.0.0 pieces shared by the receiver and the client: headers, metadata, capabilities."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

TUS_VERSION = "1.0.0"
CHECKSUM_MISMATCH = 460
_META_KEY = re.compile(r"[A-Za-z0-9._-]{1,64}")


class ProtocolError(ValueError):
    """A request that breaks the protocol; ``status`` is the answer."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Capabilities:
    """Optional tus features, decided once at start from the store and settings.

    The same record yields the ``Tus-Extension`` header and decides which
    routes exist, so the two cannot disagree.
    """

    max_size: int
    termination: bool = True
    expiration_s: float | None = 24 * 3600.0
    checksum_algorithms: tuple[str, ...] = ("sha256",)

    @property
    def extensions(self) -> tuple[str, ...]:
        ext = ["creation"]
        if self.checksum_algorithms:
            ext.append("checksum")
        if self.expiration_s:
            ext.append("expiration")
        if self.termination:
            ext.append("termination")
        return tuple(ext)

    def options_headers(self) -> dict[str, str]:
        h = {"Tus-Resumable": TUS_VERSION, "Tus-Version": TUS_VERSION,
             "Tus-Extension": ",".join(self.extensions), "Tus-Max-Size": str(self.max_size)}
        if self.checksum_algorithms:
            h["Tus-Checksum-Algorithm"] = ",".join(self.checksum_algorithms)
        return h

    def methods(self) -> tuple[str, ...]:
        return ("HEAD", "PATCH", "DELETE") if self.termination else ("HEAD", "PATCH")


def parse_metadata(value: str | None) -> dict[str, str]:
    """Decode ``Upload-Metadata``; values must be base64 of UTF-8 text."""
    out: dict[str, str] = {}
    if not value:
        return out
    for pair in value.split(","):
        parts = pair.strip().split(" ")
        if len(parts) not in (1, 2) or not _META_KEY.fullmatch(parts[0]):
            raise ProtocolError(400, "malformed Upload-Metadata")
        if parts[0] in out:
            raise ProtocolError(400, f"duplicate metadata key {parts[0]}")
        try:
            out[parts[0]] = base64.b64decode(parts[1], validate=True).decode("utf-8") if len(parts) == 2 else ""
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise ProtocolError(400, f"metadata {parts[0]}: not base64 of UTF-8") from None
    return out


def encode_metadata(meta: dict[str, str]) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode('utf-8')).decode('ascii')}" for k, v in meta.items())


def parse_checksum(value: str | None, allowed: tuple[str, ...]) -> tuple[str, bytes] | None:
    """``Upload-Checksum: <algo> <b64>`` -> (algo, digest), or None when absent."""
    if value is None:
        return None
    parts = value.strip().split(" ")
    if len(parts) != 2:
        raise ProtocolError(400, "malformed Upload-Checksum")
    algo = parts[0].lower()
    if algo not in allowed:
        raise ProtocolError(400, f"unsupported checksum algorithm {parts[0]}")
    try:
        digest = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError(400, "Upload-Checksum is not base64") from None
    if len(digest) != 32:
        raise ProtocolError(400, "sha256 checksum must be 32 bytes")
    return algo, digest


def parse_nonneg(value: str | None, name: str) -> int:
    if value is None or not re.fullmatch(r"[0-9]{1,19}", value.strip()):
        raise ProtocolError(400, f"missing or malformed {name}")
    return int(value)


def safe_filename(name: str) -> bool:
    """Informational file names must not be able to name a path."""
    return (0 < len(name.encode("utf-8")) <= 200 and not name.startswith(".")
            and not any(c in name for c in "/\\\x00") and name not in (".", ".."))
