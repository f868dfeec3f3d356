"""Canonical JSON and the small encodings shared by every format in section 5."""

from __future__ import annotations

import base64
import json
import math
import re
from typing import Any

ZERO_HASH = "0" * 64
DEVICE_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MEMBER_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
HEX64_RE = re.compile(r"[0-9a-f]{64}")


def plain_numbers(value: Any) -> Any:
    """Return *value* with every float turned into its shortest decimal string.

    Canonical JSON carries integers only, because float formatting differs
    between languages; a second implementation must be able to rebuild the
    exact bytes.
    """
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("non-finite number cannot be encoded")
        return int(value) if value.is_integer() and abs(value) < 2**53 else repr(value)
    if isinstance(value, dict):
        return {str(k): plain_numbers(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_numbers(v) for v in value]
    raise TypeError(f"cannot encode {type(value).__name__} in canonical JSON")


def _reject_floats(text: str) -> Any:
    raise ValueError(f"float {text} not allowed in canonical JSON")


def canonical(value: Any) -> bytes:
    """Encode *value* as canonical JSON (sorted keys, no spaces, UTF-8, no floats)."""
    _check_no_floats(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def _check_no_floats(value: Any) -> None:
    if isinstance(value, float):
        raise ValueError("float not allowed in canonical JSON")
    if isinstance(value, dict):
        for v in value.values():
            _check_no_floats(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _check_no_floats(v)


def parse_canonical(data: bytes) -> Any:
    """Parse *data* and check that it is exactly the canonical encoding of itself."""
    value = json.loads(data.decode("utf-8"), parse_float=_reject_floats,
                       parse_constant=_reject_floats)
    if canonical(value) != data:
        raise ValueError("JSON is not in canonical form")
    return value


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    pad = "=" * (-len(text) % 4)
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + pad)
