"""The receiver's per-member check: every SIP_hoso package must pass `sohoa sip verify`.

The receiver (in ``sync``) cannot import the records code; the command or the demo
that builds it passes this check in.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from records.sip_verify import verify
from sync.at_rest import MAGIC, AtRestError, DecryptingReader


def receiver_member_check(archive_key):
    """The receiver's per-member check: SIP_hoso packages (``*.zip``) must pass ``sohoa sip verify``.

    Members written with ``sync.at_rest.EncryptingWriter`` (secret records) are
    decrypted with the archive key first, in a private temporary file.
    """
    def check(name: str, data: bytes) -> list[str]:
        if data.startswith(MAGIC):
            try:
                data = DecryptingReader(io.BytesIO(data), archive_key).read()
            except AtRestError as exc:
                return [f"{name}: encrypted member does not decrypt ({exc})"]
            name = name.removesuffix(".enc")
        if not name.endswith(".zip"):
            return []
        with tempfile.TemporaryDirectory(prefix="sohoa-rx-") as tmp:
            path = Path(tmp) / name
            path.write_bytes(data)
            return verify(path)
    return check
