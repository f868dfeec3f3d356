"""The receiver's per-member check: every SIP_hoso package must pass `sohoa sip verify`.

The receiver (in ``sync``) cannot import the records code; the command or the demo
that builds it passes this check in.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from records.sip_verify import verify
from sync.age import MAGIC as AGE_MAGIC
from sync.at_rest import MAGIC, READ_ERRORS, open_reader
from sync.fsutil import private_tmp

_IO = 1 << 20


def receiver_member_check(archive_key):
    """The receiver's per-member check: SIP_hoso packages (``*.zip``) must pass ``sohoa sip verify``.

    A member comes as the file the batch check spooled it to (or, from older callers, as bytes), so
    no package is held in memory. Members encrypted at rest (secret records: age files, or
    ``SOHOAAR1`` from stations before batch format version 2) are decrypted with the archive key
    first, streaming, into a private memory-backed folder where the system has one, and checked
    there (design 6.6).
    """
    def check_secret(name: str, path: Path) -> list[str]:
        with tempfile.TemporaryDirectory(prefix="sohoa-rx-", dir=private_tmp()) as tmp:
            clear = Path(tmp) / name
            try:
                with open(path, "rb") as fh, open(clear, "wb") as out:
                    shutil.copyfileobj(open_reader(fh, archive_key)[1], out, _IO)
            except READ_ERRORS as exc:
                return [f"{name}.enc: encrypted member does not decrypt ({exc})"]
            return verify(clear, workdir=tmp) if name.endswith(".zip") else []

    def check(name: str, data: bytes | Path) -> list[str]:
        with tempfile.TemporaryDirectory(prefix="sohoa-rx-") as tmp:
            if isinstance(data, Path):
                path = data
            else:
                path = Path(tmp) / "member"
                path.write_bytes(data)
            with open(path, "rb") as fh:
                head = fh.read(max(len(MAGIC), len(AGE_MAGIC)))
            if head.startswith(MAGIC) or head.startswith(AGE_MAGIC):
                return check_secret(name.removesuffix(".enc"), path)
            if not name.endswith(".zip"):
                return []
            named = Path(tmp) / name  # verify's messages name the package as the station did
            named.symlink_to(path.resolve())
            return verify(named)
    return check
