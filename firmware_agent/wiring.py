"""The subsystems the agent runs beside its core, built from the config, and nothing else.

Each is a :class:`firmware_agent.subsystem.Subsystem`. Kept apart from agent.py so
the core does not import every subsystem, and so the order in which they hand
work on is in one place: pages -> records (packages) -> batches -> sync.
"""

from __future__ import annotations

import time

from firmware_agent.config import Config
from firmware_agent.subsystem import Subsystem
from firmware_agent.heartbeat_report import station_report
from firmware_agent.uploader_task import UploaderTask


def optional_sources(cfg: Config, agent) -> list[Subsystem]:
    sources: list[Subsystem] = []
    climate = records = None
    if cfg.records.enabled:
        from firmware_agent.records.task import RecordsTask

        # Records packages whole record files; loose pages must not also be staged.
        agent.batching.stage_pages = False
        agent.watchdog.register("records")
        # Secret record files are encrypted to the archive key from enrollment unless one is
        # configured, and take their hot-folder originals with them (docs/design.md §6.6).
        _device, archive_key, _log = cfg.sync.key_paths(cfg.state_path)
        hotfolder = agent.hotfolder
        records = RecordsTask(cfg.records, agent.journal, cfg.state_path,
                              password_hash=cfg.web.password_hash, heartbeat=agent.watchdog.heartbeat,
                              archive_key_path=archive_key,
                              remove_original=hotfolder.remove_taken if hotfolder is not None else None)
        sources.append(records)
    if cfg.climate.enabled:
        from firmware_agent.climate.service import ClimateService

        # Not a watchdog loop: it sleeps a whole sampling period, and a stuck sensor read
        # must never get the scanning agent restarted.
        climate = ClimateService(cfg.climate, cfg.state_path / "climate.sqlite3")
        sources.append(climate)
    # Always present: before enrollment it shows the backlog and why nothing leaves.
    uploader = UploaderTask(cfg.sync, agent.journal, cfg.state_path, cfg.agent.device_id,
                            climate_summary=_day_summary(climate) if climate is not None else None,
                            heartbeat_report=station_report(agent, records, climate))
    agent.batching.on_closed = uploader.wake
    sources.append(uploader)
    return sources


def _day_summary(climate):
    def summary() -> dict | None:
        # the room as it was over the day before the batch was sealed
        now = time.time()
        return climate.summary(now - 86400, now)
    return summary
