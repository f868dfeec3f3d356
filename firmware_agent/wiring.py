"""Optional subsystems the agent runs beside its core, built from the config.

Each is a status source (``name``, ``run()``, ``status()``, ``metrics()``,
``add_routes(app)``). Kept apart from agent.py so the core does not import
every subsystem, and so the order in which they hand work on is in one place:
pages -> records (packages) -> batches -> sync.
"""

from __future__ import annotations

import time
from pathlib import Path

from firmware_agent.config import Config
from firmware_agent.uploader_task import UploaderTask


async def optional_sources(cfg: Config, agent, *, demo: bool = False) -> list:
    sources: list = []
    if cfg.records.enabled:
        from firmware_agent.records.task import RecordsTask

        # Records packages whole record files; loose pages must not also be staged.
        agent.batching.stage_pages = False
        agent.watchdog.register("records")
        # Secret record files are encrypted to the archive key from enrollment unless one is
        # configured, and take their hot-folder originals with them (docs/design.md §6.6).
        _device, archive_key, _log = cfg.sync.key_paths(cfg.state_path)
        hotfolder = agent.hotfolder
        sources.append(RecordsTask(cfg.records, agent.journal, cfg.state_path,
                                   password_hash=cfg.web.password_hash, heartbeat=agent.watchdog.heartbeat,
                                   archive_key_path=archive_key,
                                   remove_original=hotfolder.remove_taken if hotfolder is not None else None))
    climate = None
    if cfg.climate.enabled:
        from firmware_agent.climate.service import ClimateService

        # Not a watchdog loop: it sleeps a whole sampling period, and a stuck sensor read
        # must never get the scanning agent restarted.
        climate = ClimateService(cfg.climate, cfg.state_path / "climate.sqlite3")
        sources.append(climate)
    # Always present: before enrollment it shows the backlog and why nothing leaves.
    settings = cfg.sync
    if demo:
        receiver, settings = await start_demo_receiver(cfg)
        sources.append(receiver)
    uploader = UploaderTask(settings, agent.journal, cfg.state_path, cfg.agent.device_id,
                            climate_summary=_day_summary(climate) if climate is not None else None)
    agent.batching.on_closed = uploader.wake
    sources.append(uploader)
    return sources


def _day_summary(climate):
    def summary() -> dict | None:
        # the room as it was over the day before the batch was sealed
        now = time.time()
        return climate.summary(now - 86400, now)
    return summary


class DemoReceiver:
    """The central receiver, run in-process for the demo, shown on the status page."""

    name = "demo_receiver"

    def __init__(self, receiver, root: Path):
        self.receiver = receiver
        self.root = root

    def status(self) -> dict:
        return {"url": self.receiver.url}

    def metrics(self) -> list[str]:
        return []

    def add_routes(self, app) -> None:
        pass

    async def aclose(self) -> None:
        await self.receiver.close()

    def extract_packages(self, device_id: str, device_public, dest: Path) -> list[Path]:
        """Open every batch the receiver archived, as the archive would, and keep its packages.

        Lets a newcomer look at the SIP_hoso zips after the appliance has deleted its
        own copies (it does so once a receipt is verified).
        """
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

        from sync.batch import open_batch
        from sync.keys import load_or_create

        archive_key = load_or_create(self.root / "keys" / "archive_x25519.pem", X25519PrivateKey)
        dest.mkdir(parents=True, exist_ok=True)
        kept: list[Path] = []

        def keep(name: str, data: bytes) -> list[str]:
            path = dest / Path(name).name
            path.write_bytes(data)
            kept.append(path)
            return []

        for batch in sorted((self.root / "archive" / device_id).glob("*.sohoa")):
            with open(batch, "rb") as fh:
                open_batch(fh, archive_private=archive_key, device_public=device_public, device_id=device_id,
                           member_check=keep)
        return kept


async def start_demo_receiver(cfg: Config):
    """A local receiver that verifies every SIP like a real one, with this device enrolled."""
    import dataclasses

    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from firmware_agent.records.receiver_check import receiver_member_check
    from firmware_agent.sync_enrollment import enroll_local
    from sync.keys import load_or_create
    from sync.local import start_local_receiver

    root = cfg.state_path / "demo-receiver"
    archive_key = load_or_create(root / "keys" / "archive_x25519.pem", X25519PrivateKey)
    receiver = await start_local_receiver(root, member_check=receiver_member_check(archive_key))
    overrides = await enroll_local(receiver, cfg.state_path, cfg.agent.device_id, cfg.sync)
    return DemoReceiver(receiver, root), dataclasses.replace(cfg.sync, **overrides)
