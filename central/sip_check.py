"""The receiver's per-member check: every SIP_hoso package must pass `sohoa sip verify`.

The receiver (in ``sync``) cannot import the records code; the command or the demo
that builds it passes this check in.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from records.sip_verify import verify
from sync.age import MAGIC as AGE_MAGIC
from sync.at_rest import MAGIC, READ_ERRORS, open_reader


def receiver_member_check(archive_key):
    """The receiver's per-member check: SIP_hoso packages (``*.zip``) must pass ``sohoa sip verify``.

    Members encrypted at rest (secret records: age files, or ``SOHOAAR1`` from
    stations before batch format version 2) are decrypted with the archive key
    first, in a private temporary file.
    """
    def check(name: str, data: bytes) -> list[str]:
        if data.startswith(MAGIC) or data.startswith(AGE_MAGIC):
            try:
                data = open_reader(io.BytesIO(data), archive_key)[1].read()
            except READ_ERRORS as exc:
                return [f"{name}: encrypted member does not decrypt ({exc})"]
            name = name.removesuffix(".enc")
        if not name.endswith(".zip"):
            return []
        with tempfile.TemporaryDirectory(prefix="sohoa-rx-") as tmp:
            path = Path(tmp) / name
            path.write_bytes(data)
            return verify(path)
    return check
