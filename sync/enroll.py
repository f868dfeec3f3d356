"""Device side of enrollment (formats section 5.7)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urljoin

import aiohttp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.keys import public_b64


class EnrollError(Exception):
    """The receiver refused the enrollment or could not be reached."""


@dataclass(frozen=True)
class Enrollment:
    device_id: str
    archive_public_key: str
    log_public_key: str
    log_origin: str
    next_seq: int


async def enroll(endpoint: str, device_id: str, key: Ed25519PrivateKey, token: str,
                 timeout_s: float = 30.0) -> Enrollment:
    """Register *key* for *device_id* at the receiver with a one-time *token*."""
    url = urljoin(endpoint.rstrip("/") + "/", "enroll")
    body = {"device": device_id, "public_key": public_b64(key), "token": token}
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as s:
            async with s.post(url, json=body) as resp:
                text = await resp.text()
                if resp.status != 201:
                    raise EnrollError(f"receiver answered {resp.status}: {text.strip()[:200]}")
                data = await resp.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise EnrollError(f"cannot reach {url}: {exc}") from None
    return Enrollment(data["device"], data["archive_public_key"], data["log_public_key"], data["log_origin"],
                      int(data["next_seq"]))
