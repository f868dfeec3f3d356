"""Request authentication: a short-lived header signed by the device key (formats 5.6).

A bearer header bounded in time rather than a signature per request, so that
any tus client able to set a fixed header (tuspy, tus-js-client, curl) can talk
to the receiver; batch contents are signed separately, so a stolen header can
never make a forged batch acceptable.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sync.canon import DEVICE_ID_RE, b64url, unb64url

SCHEME = "Sohoa-Ed25519"
MAX_LIFETIME_S = 3600
SKEW_S = 300
_HEADER_RE = re.compile(r"Sohoa-Ed25519 ([A-Za-z0-9._-]{1,64}):([0-9]{1,12}):([A-Za-z0-9_-]{86})")


class AuthError(Exception):
    """Authentication failed; ``status`` is the HTTP status to answer (401 or 403)."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def auth_message(device_id: str, expires: int) -> bytes:
    return f"sohoa-auth-v1\n{device_id}\n{expires}".encode("ascii")


def make_auth_header(device_id: str, key: Ed25519PrivateKey, *, lifetime_s: int = 900,
                     now: float | None = None) -> str:
    """The ``Authorization`` value for *device_id*, valid for *lifetime_s* seconds."""
    if not DEVICE_ID_RE.fullmatch(device_id):
        raise ValueError(f"invalid device id {device_id!r}")
    lifetime_s = max(1, min(int(lifetime_s), MAX_LIFETIME_S))
    expires = int(now if now is not None else time.time()) + lifetime_s
    return f"{SCHEME} {device_id}:{expires}:{b64url(key.sign(auth_message(device_id, expires)))}"


@dataclass(frozen=True)
class Credentials:
    device_id: str
    expires: int
    signature: bytes


def parse_auth_header(value: str | None, *, now: float | None = None) -> Credentials:
    """Parse and time-check the header; the signature is checked by :func:`check_signature`."""
    if not value:
        raise AuthError(401, "missing Authorization header")
    m = _HEADER_RE.fullmatch(value.strip())
    if not m:
        raise AuthError(401, "malformed Authorization header")
    device_id, expires = m.group(1), int(m.group(2))
    if not DEVICE_ID_RE.fullmatch(device_id):
        raise AuthError(401, "malformed device id")
    now = time.time() if now is None else now
    if expires <= now:
        raise AuthError(401, "authorization expired")
    if expires > now + MAX_LIFETIME_S + SKEW_S:
        raise AuthError(401, "authorization lifetime too long (clock skew?)")
    return Credentials(device_id, expires, unb64url(m.group(3)))


def check_signature(creds: Credentials, public: Ed25519PublicKey) -> None:
    try:
        public.verify(creds.signature, auth_message(creds.device_id, creds.expires))
    except InvalidSignature:
        raise AuthError(401, "bad authorization signature") from None


class HeaderSource:
    """Hands out a cached header and renews it well before it expires."""

    def __init__(self, device_id: str, key: Ed25519PrivateKey, lifetime_s: int = 900):
        self.device_id, self.key, self.lifetime_s = device_id, key, lifetime_s
        self._value, self._renew_at = "", 0.0

    def __call__(self) -> str:
        now = time.time()
        if now >= self._renew_at:
            self._value = make_auth_header(self.device_id, self.key, lifetime_s=self.lifetime_s, now=now)
            self._renew_at = now + self.lifetime_s / 2
        return self._value
