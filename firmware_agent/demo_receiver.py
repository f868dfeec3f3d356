"""The demo's archive: `sohoa-central serve` run beside the station as a process of its own.

The station never imports the central server's code (its package may not even be
installed with the station); the demo starts it the way a technician would, through
its command line, enrolls this station with a one-time token from that command, and
opens what it archived with the archive key it keeps on disk.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import time
from pathlib import Path
from firmware_agent.subsystem import Subsystem

READY = re.compile(r"on (http://[^ ]+/)files/, metrics on ")


class DemoReceiverError(RuntimeError):
    """The demo's receiver did not start; the message says why (with the end of its log)."""


class DemoReceiver(Subsystem):
    """A subsystem of the demo: the receiver's URL on the page, its process stopped with the demo."""

    name = "demo_receiver"

    def __init__(self, proc: asyncio.subprocess.Process, root: Path, url: str):
        self.proc = proc
        self.root = root
        self.url = url

    @classmethod
    async def start(cls, root: Path, *, timeout_s: float = 60.0) -> "DemoReceiver":
        root.mkdir(parents=True, exist_ok=True)
        log = root / "receiver.log"
        start = log.stat().st_size if log.exists() else 0
        with open(log, "ab") as out:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "central", "serve", "--root", str(root), "--host", "127.0.0.1",
                "--port", "0", "--metrics-port", "0", "--parent-pid", str(os.getpid()),
                stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out)
        deadline = time.monotonic() + timeout_s
        tail = ""
        while time.monotonic() < deadline:
            with open(log, "rb") as fh:
                fh.seek(start)  # only this start's lines: the log keeps those of earlier runs
                tail = fh.read().decode("utf-8", "replace")
            found = [m for m in READY.finditer(tail)]
            if found and proc.returncode is None:
                return cls(proc, root, found[-1].group(1))
            if proc.returncode is not None:
                break
            await asyncio.sleep(0.05)
        if proc.returncode is None:
            proc.terminate()
            await proc.wait()
        raise DemoReceiverError(f"the demo's receiver did not start (log {log}):\n{tail[-1500:]}")

    async def enroll(self, settings, state_dir: Path, device_id: str):
        """Enroll this station as a technician would; returns *settings* pointed at this receiver."""
        import dataclasses

        from firmware_agent.sync_enrollment import enroll_device

        await enroll_device(settings, state_dir, device_id, self.url, await self.token(device_id))
        # short back-off: a demo shows an upload, it does not wait out a long retry
        return dataclasses.replace(settings, endpoint=self.url, backoff_min_s=0.2, backoff_max_s=5.0)

    async def token(self, device_id: str) -> str:
        """A one-time enrollment token from `sohoa-central token`."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "central", "token", device_id, "--root", str(self.root), "--ttl-hours", "1",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate()
        if proc.returncode != 0:
            raise DemoReceiverError(f"sohoa-central token failed: {err.decode('utf-8', 'replace')[-500:]}")
        return out.decode("ascii").split()[0]

    # a subsystem of the demo agent: shown on the page, stopped with it (no loop of its own)
    runs = False

    def status(self) -> dict:
        return {"url": self.url, "running": self.proc.returncode is None}

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 30)
            except asyncio.TimeoutError:
                self.proc.kill()
                await self.proc.wait()

    def extract_packages(self, device_id: str, device_public, dest: Path,
                         only: set[str] | None = None) -> list[Path]:
        """Open every batch the receiver archived, as the archive would, and keep its packages.

        Lets a newcomer look at the SIP_hoso zips after the station has deleted its
        own copies (it does so once a receipt is verified). With *only*, just the
        members of those names (this run's packages: a state folder used again holds
        the earlier runs' batches too).
        """
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

        from sync.batch import open_batch
        from sync.keys import load_private

        archive_key = load_private(self.root / "keys" / "archive_x25519.pem")
        if not isinstance(archive_key, X25519PrivateKey):
            raise DemoReceiverError("the demo receiver's archive key is not an X25519 key")
        dest.mkdir(parents=True, exist_ok=True)
        kept: list[Path] = []

        def keep(name: str, data: bytes) -> list[str]:
            if only is not None and Path(name).name not in only:
                return []
            path = dest / Path(name).name
            path.write_bytes(data)
            kept.append(path)
            return []

        for batch in sorted((self.root / "archive" / device_id).glob("*.sohoa")):
            with open(batch, "rb") as fh:
                open_batch(fh, archive_private=archive_key, device_public=device_public, device_id=device_id,
                           member_check=keep)
        return kept
