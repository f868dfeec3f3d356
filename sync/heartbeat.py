"""Station heartbeat, version 1: build, sign and check one (docs/design.md §5.15, H1-H6).

The body is canonical JSON; its signature travels in ``Sohoa-Heartbeat-Signature``
beside the bearer header of 5.6, so that a replayed bearer header cannot carry a
forged report. :func:`check_heartbeat` applies H2-H5; H6 (the seq must grow) needs
the receiver's memory and is the caller's.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sync.canon import DEVICE_ID_RE, b64url, unb64url

VERSION = 1
SIGNATURE_HEADER = "Sohoa-Heartbeat-Signature"
MAX_BODY = 64 * 1024
SKEW_S = 300
MAX_HELD = 200
MAX_CODES = 50  # keys of warnings_today and climate.ratings

# field -> accepted types (bool is refused where a number is meant; see _typed)
_INT, _NUM, _STR = (int,), (int, float), (str,)
FIELDS = {"queue_depth": _INT, "pages_today": _INT, "pages_processed_today": _INT,
          "pages_warned_today": _INT, "pages_blank_today": _INT, "disk_free_bytes": _INT,
          "scanner": _STR, "version": _STR}


class HeartbeatError(Exception):
    """A heartbeat refused; ``status`` is the HTTP status, ``kind`` the event kind (design §5.15)."""

    def __init__(self, status: int, kind: str, reason: str):
        super().__init__(reason)
        self.status, self.kind, self.reason = status, kind, reason


def signed_message(device_id: str, body: bytes) -> bytes:
    return f"sohoa-heartbeat-v1\n{device_id}\n{hashlib.sha256(body).hexdigest()}".encode("ascii")


def encode(report: dict) -> bytes:
    return json.dumps(report, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def sign(device_id: str, key: Ed25519PrivateKey, body: bytes) -> str:
    """The value of ``Sohoa-Heartbeat-Signature`` for *body*."""
    return b64url(key.sign(signed_message(device_id, body)))


@dataclass(frozen=True)
class Heartbeat:
    device_id: str
    seq: int
    sent_at: float
    report: dict


def _typed(value, types) -> bool:
    return isinstance(value, types) and not isinstance(value, bool) and (
        not isinstance(value, float) or math.isfinite(value))


def _check_fields(report: dict) -> str | None:
    """The first field that breaks the format, or None."""
    if report.get("v") != VERSION:
        return "v"
    if not isinstance(report.get("device"), str):
        return "device"
    if not _typed(report.get("seq"), _INT) or report["seq"] < 1:
        return "seq"
    if not _typed(report.get("sent_at"), _NUM):
        return "sent_at"
    for name, types in FIELDS.items():
        if name in report and not _typed(report[name], types):
            return name
    oldest = report.get("oldest_unsent_s")
    if oldest is not None and not _typed(oldest, _NUM):
        return "oldest_unsent_s"
    held = report.get("held", [])
    if (not isinstance(held, list) or len(held) > MAX_HELD
            or not all(isinstance(h, dict) and isinstance(h.get("file_code"), str)
                       and isinstance(h.get("reason"), str) for h in held)):
        return "held"
    if not _counts(report.get("warnings_today", {}), _INT):
        return "warnings_today"
    climate = report.get("climate", {})
    if not isinstance(climate, dict) or not all(isinstance(a, str) for a in climate.get("alerts", [])):
        return "climate"
    if not _counts(climate.get("ratings", {}), _STR) or any(
            climate.get(k) is not None and not _typed(climate[k], _NUM) for k in ("pi", "mold")):
        return "climate"
    return None


def _counts(value, types) -> bool:
    """A small object of code -> value of *types* (a count, a rating)."""
    return (isinstance(value, dict) and len(value) <= MAX_CODES
            and all(isinstance(k, str) and len(k) <= 64 and _typed(v, types) for k, v in value.items()))


def check_heartbeat(body: bytes, signature: str | None, device_id: str, public: Ed25519PublicKey, *,
                    now: float) -> Heartbeat:
    """H2-H5 for a body from authenticated *device_id*; raises :class:`HeartbeatError`."""
    if len(body) > MAX_BODY:
        raise HeartbeatError(413, "bad_heartbeat", "heartbeat too large")
    try:
        report = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise HeartbeatError(400, "bad_heartbeat", "heartbeat is not JSON") from None
    if not isinstance(report, dict):
        raise HeartbeatError(400, "bad_heartbeat", "heartbeat is not an object")
    wrong = _check_fields(report)
    if wrong is not None:
        raise HeartbeatError(400, "bad_heartbeat", f"heartbeat field {wrong} missing or of the wrong type")
    try:
        raw = unb64url(signature or "")
        public.verify(raw, signed_message(device_id, body))
    except (InvalidSignature, ValueError):
        raise HeartbeatError(401, "forged_heartbeat", "heartbeat signature does not verify") from None
    if report["device"] != device_id or not DEVICE_ID_RE.fullmatch(device_id):
        raise HeartbeatError(401, "forged_heartbeat", "heartbeat names another device")
    if abs(report["sent_at"] - now) > SKEW_S:
        raise HeartbeatError(409, "stale_heartbeat", "heartbeat sent_at outside the clock window")
    return Heartbeat(device_id, report["seq"], float(report["sent_at"]), report)


async def send(endpoint: str, device_id: str, key: Ed25519PrivateKey, report: dict, *,
               timeout_s: float = 10.0) -> int:
    """POST one signed heartbeat to *endpoint* (the receiver's base URL); returns the HTTP status.

    *report* gets ``v`` and ``device``; it must already hold ``seq`` and ``sent_at``.
    Network errors are raised (``aiohttp.ClientError``, ``asyncio.TimeoutError``).
    """
    import aiohttp

    from sync.auth import make_auth_header

    body = encode({**report, "v": VERSION, "device": device_id})
    headers = {"Authorization": make_auth_header(device_id, key, lifetime_s=300),
               SIGNATURE_HEADER: sign(device_id, key, body), "Content-Type": "application/json"}
    url = endpoint.rstrip("/") + "/heartbeat"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as session:
        async with session.post(url, data=body, headers=headers) as resp:
            await resp.read()
            return resp.status
