"""One delivery attempt of a sealed batch: upload, fetch the receipt, verify it.

Retrying (with back-off) is the caller's policy; this module only says what
happened: a verified receipt, :class:`sync.client.TransientError` (try again)
or :class:`sync.client.PermanentError` (stop, a person must look).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from sync.client import PermanentError, TransientError, TusClient
from sync.receipt import ReceiptError, VerifiedReceipt, check_receipt_for


@dataclass(frozen=True)
class Outbound:
    """What the appliance knows about one sealed batch."""

    device_id: str
    seq: int
    batch_hash: str
    file_sha256: str
    size: int
    path: Path

    def metadata(self) -> dict[str, str]:
        return {"seq": str(self.seq), "batch": self.batch_hash, "sha256": self.file_sha256,
                "filename": self.path.name}


async def deliver(client: TusClient, batch: Outbound, log_public: Ed25519PublicKey, *, url: str | None = None,
                  on_created: Callable[[str], None] | None = None,
                  on_progress: Callable[[int, int], None] | None = None,
                  on_uploaded: Callable[[], None] | None = None) -> tuple[dict, VerifiedReceipt]:
    """Send *batch* (resuming *url*) and return its receipt once verified (rule A3).

    *on_uploaded* is called once the receiver has every byte, before its receipt is fetched.
    """
    result = await client.upload(batch.path, batch.size, batch.metadata(), url=url, on_created=on_created,
                                 on_progress=on_progress)
    if on_uploaded is not None:
        on_uploaded()
    path = result.receipt_path or f"/receipts/{batch.device_id}/{batch.seq}"
    receipt = await client.receipt(path)
    if receipt is None:
        raise TransientError("upload complete but no receipt yet")
    try:
        verified = check_receipt_for(receipt, log_public, device=batch.device_id, seq=batch.seq,
                                     batch=batch.batch_hash, sha256=batch.file_sha256, size=batch.size)
    except ReceiptError as exc:
        raise PermanentError("bad_receipt", str(exc)) from None
    return receipt, verified
