"""Stations that send real SIP_hoso packages in real batches to a receiver, for the ingest tests and bench.

A :class:`Station` enrolls over HTTP with a one-time token, seals each batch
with ``sync.batch.seal_batch`` (batch format version 2, signed by its device
key, encrypted to the archive key it received at enrollment) and delivers it
with the station's own tus client and receipt check.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.auth import HeaderSource
from sync.batch import seal_batch
from sync.canon import ZERO_HASH
from sync.client import TransientError, TusClient
from sync.deliver import Outbound, deliver
from sync.enroll import enroll
from sync.keys import ed25519_public, x25519_public


@dataclass(frozen=True)
class Sent:
    """One delivered batch: its device, seq and members (name -> bytes)."""

    device_id: str
    seq: int
    batch_hash: str
    members: dict


class Station:
    def __init__(self, workdir: Path, device_id: str):
        self.dir = Path(workdir) / device_id
        self.dir.mkdir(parents=True, exist_ok=True)
        self.device_id = device_id
        self.key = Ed25519PrivateKey.generate()
        self.seq, self.prev = 0, ZERO_HASH
        self.enrollment = None

    async def enroll(self, url: str, token: str) -> None:
        self.enrollment = await enroll(url, self.device_id, self.key, token)

    def seal(self, members: list[tuple[str, bytes]], *, pages: int, documents: int,
             climate: dict | None = None) -> Outbound:
        seq = self.seq + 1
        paths = []
        for name, data in members:
            p = self.dir / f"{seq}-{name}"
            p.write_bytes(data)
            paths.append((name, p))
        out = self.dir / f"batch-{seq:06d}.sohoa"
        s = seal_batch(out, sorted(paths), device_id=self.device_id, seq=seq, prev=self.prev,
                       created=1764028800 + seq, pages=pages, documents=documents, climate=climate,
                       device_key=self.key, archive_public=x25519_public(self.enrollment.archive_public_key))
        self.seq, self.prev = seq, s.batch_hash
        return Outbound(self.device_id, seq, s.batch_hash, s.file_sha256, s.size, s.path)

    async def send(self, url: str, batch: Outbound, *, attempts: int = 50) -> dict:
        """Deliver *batch* (retrying transient failures) and return its verified receipt."""
        client = TusClient(url, HeaderSource(self.device_id, self.key))
        log_public = ed25519_public(self.enrollment.log_public_key)
        upload_url = None

        def keep(u: str) -> None:
            nonlocal upload_url
            upload_url = u
        last = None
        for _ in range(attempts):
            try:
                receipt, _ = await deliver(client, batch, log_public, url=upload_url, on_created=keep)
                return receipt
            except TransientError as exc:
                last = exc
                await asyncio.sleep(0.05)
        raise RuntimeError(f"batch {batch.device_id}/{batch.seq} not delivered: {last}")

    async def send_members(self, url: str, members: list[tuple[str, bytes]], *, pages: int, documents: int,
                           climate: dict | None = None) -> Sent:
        batch = self.seal(members, pages=pages, documents=documents, climate=climate)
        await self.send(url, batch)
        return Sent(self.device_id, batch.seq, batch.batch_hash, dict(members))
