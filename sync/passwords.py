"""Password and PIN hashes for the station status page and the central web: scrypt, bounded cost, constant-time checks."""

from __future__ import annotations

import hashlib
import hmac
import secrets

# scrypt cost bounds a stored hash may ask for: at least what hash_password uses,
# at most 128 MiB of memory per check (a config must not be able to exhaust RAM).
_SCRYPT_N_MIN, _SCRYPT_N_MAX, _SCRYPT_R_MAX, _SCRYPT_P_MAX = 2**14, 2**17, 16, 4


def hash_password(password: str, *, salt: bytes | None = None, n: int = 2**14) -> str:
    """scrypt hash in the form ``scrypt$n$r$p$salt_hex$hash_hex``."""
    salt = salt or secrets.token_bytes(16)
    r, p = 8, 1
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=32, maxmem=_maxmem(n, r))
    return f"scrypt${n}${r}${p}${salt.hex()}${digest.hex()}"


def _maxmem(n: int, r: int) -> int:
    return 129 * r * n + (1 << 20)  # scrypt needs 128·r·N bytes (and a little more)


def _parse(stored: str) -> tuple[int, int, int, bytes, str] | None:
    try:
        algo, n_s, r_s, p_s, salt_hex, hash_hex = stored.split("$")
        n, r, p, salt = int(n_s), int(r_s), int(p_s), bytes.fromhex(salt_hex)
        bytes.fromhex(hash_hex)
    except (ValueError, TypeError, AttributeError):
        return None
    if (algo != "scrypt" or not _SCRYPT_N_MIN <= n <= _SCRYPT_N_MAX or n & (n - 1)
            or not 1 <= r <= _SCRYPT_R_MAX or not 1 <= p <= _SCRYPT_P_MAX or len(salt) < 8 or len(hash_hex) != 64):
        return None
    return n, r, p, salt, hash_hex.lower()


def password_hash_ok(stored: str) -> bool:
    """True when *stored* is a hash ``check_password`` can use."""
    return _parse(stored) is not None


def check_password(password: str, stored: str) -> bool:
    """Compare in constant time; takes tens of milliseconds, so never call it on the event loop."""
    parsed = _parse(stored)
    if parsed is None:
        return False
    n, r, p, salt, hash_hex = parsed
    digest = hashlib.scrypt(password.encode("utf-8", "surrogatepass"), salt=salt, n=n, r=r, p=p, dklen=32,
                            maxmem=_maxmem(n, r))
    return hmac.compare_digest(digest.hex(), hash_hex)
