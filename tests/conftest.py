"""Shared test set-up: the project's SANE config (test backend), a writable numba cache, and the
sync kit: an appliance identity that seals real batches, a retrying delivery loop, and the TCP
proxy that cuts, stalls and corrupts connections (``bench/sync_proxy.py``, shared with the benchmark).
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import types
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.sync_proxy import CuttingProxy
from sync.batch import seal_batch
from sync.canon import ZERO_HASH
from sync.client import TransientError, TusClient
from sync.auth import HeaderSource
from sync.deliver import Outbound, deliver
from sync.keys import ed25519_public, x25519_public

ROOT = Path(__file__).resolve().parents[1]

# Must be set before libsane is initialised in any test process (nothing above touches it).
os.environ.setdefault("SANE_CONFIG_DIR", str(ROOT / "drivers" / "sane_test_config"))
os.environ.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".cache" / "numba"))
os.environ.setdefault("OMP_THREAD_LIMIT", "1")

# Compiles the image kernels (every type they are called with: gray and colour, one thread and
# bands) into the cache above. Run once by the controlling process, in a process of its own.
_WARM_KERNELS = """
from dataclasses import replace
from bench.imaging_pages import cached_page
from imaging.params import PipelineParams
from imaging.pipeline import process_page
for colour in (False, True):
    page = cached_page(colour=colour, skew_deg=1.5, specks=20, dpi=100)
    for threads in (1, 2):
        process_page(page, 100, replace(PipelineParams(), threads=threads))
"""


def pytest_configure(config):
    # Before any worker starts: on a fresh clone the cache is empty, and every agent the tests
    # start side by side would otherwise compile all the kernels itself (15-60 s each, more on a
    # slow machine) inside its test's time limits. xdist workers carry workerinput; they skip this.
    if hasattr(config, "workerinput") or config.option.collectonly:
        return
    subprocess.run([sys.executable, "-c", _WARM_KERNELS], cwd=ROOT, check=True, timeout=600)


class Appliance:
    """A device identity enrolled with a receiver, sealing batches in order."""

    def __init__(self, workdir: Path, device_id: str = "dev-0001"):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.device_id = device_id
        self.key = Ed25519PrivateKey.generate()
        self.prev = ZERO_HASH
        self.seq = 0
        self.enrollment = None

    async def enroll(self, receiver) -> None:
        from central.local import enroll_with_local
        self.enrollment = await enroll_with_local(receiver, self.device_id, self.key)

    @property
    def log_public(self):
        return ed25519_public(self.enrollment.log_public_key)

    def seal(self, sizes=(300_000,), *, seq: int | None = None, prev: str | None = None, key=None,
             seed: int = 0) -> Outbound:
        seq = self.seq + 1 if seq is None else seq
        members = []
        rnd = random.Random(seed * 1000 + seq)
        for i, size in enumerate(sizes):
            p = self.dir / f"in-{seq}-{i}.bin"
            p.write_bytes(rnd.randbytes(size))
            members.append((f"doc-{i:03d}.pdf", p))
        out = self.dir / f"batch-{self.device_id}-{seq:06d}-{seed}.sohoa"
        s = seal_batch(out, members, device_id=self.device_id, seq=seq, prev=self.prev if prev is None else prev,
                       created=1764028800 + seq, pages=len(sizes), documents=len(sizes), climate=None,
                       device_key=key or self.key, archive_public=x25519_public(self.enrollment.archive_public_key))
        if seq == self.seq + 1 and prev is None and key is None:
            self.seq, self.prev = seq, s.batch_hash
        return Outbound(self.device_id, seq, s.batch_hash, s.file_sha256, s.size, s.path)

    def client(self, url: str, **kw) -> TusClient:
        return TusClient(url, HeaderSource(self.device_id, self.key), **kw)


async def deliver_retrying(client: TusClient, batch: Outbound, log_public, *, attempts: int = 200,
                           pause: float = 0.01) -> tuple[dict, int]:
    """Deliver with immediate retries, keeping the upload URL like the agent does; returns (receipt, tries)."""
    url, last = None, None

    def keep(u: str) -> None:
        nonlocal url
        url = u
    for attempt in range(1, attempts + 1):
        try:
            receipt, _ = await deliver(client, batch, log_public, url=url, on_created=keep)
            return receipt, attempt
        except TransientError as exc:
            last = exc
            await asyncio.sleep(pause)
    raise AssertionError(f"delivery did not finish: {last}")


def run(coro, timeout: float = 120.0):
    async def bounded():
        return await asyncio.wait_for(coro, timeout)
    return asyncio.run(bounded())


@pytest.fixture
def kit():
    """The helpers above, for test modules (which cannot import a conftest by name)."""
    return types.SimpleNamespace(Appliance=Appliance, deliver_retrying=deliver_retrying, run=run,
                                 CuttingProxy=CuttingProxy)
