"""Optional subsystems the agent runs beside its core, built from the config.

Each is a status source (``name``, ``run()``, ``status()``, ``metrics()``,
``add_routes(app)``). Kept apart from agent.py so the core does not import
every subsystem, and so the order in which they hand work on is in one place:
pages -> records (packages) -> batches -> sync.
"""

from __future__ import annotations

from firmware_agent.config import Config


async def optional_sources(cfg: Config, agent, *, demo: bool = False) -> list:
    sources: list = []
    if cfg.records.enabled:
        from firmware_agent.records.task import RecordsTask

        # Records packages whole record files; loose pages must not also be staged.
        agent.batching.stage_pages = False
        agent.watchdog.register("records")
        sources.append(RecordsTask(cfg.records, agent.journal, cfg.state_path,
                                   password_hash=cfg.web.password_hash, heartbeat=agent.watchdog.heartbeat))
    if cfg.climate.enabled:
        from firmware_agent.climate.service import ClimateService

        # Not a watchdog loop: it sleeps a whole sampling period, and a stuck sensor read
        # must never get the scanning agent restarted.
        sources.append(ClimateService(cfg.climate, cfg.state_path / "climate.sqlite3"))
    return sources
