"""Optional subsystems the agent runs beside its core, built from the config.

Each returns a status source (``name``, ``run()``, ``status()``, ``metrics()``,
``add_routes(app)``). Kept apart from agent.py so the core does not import
every subsystem.
"""

from __future__ import annotations

from firmware_agent.config import Config


async def optional_sources(cfg: Config, agent, *, demo: bool = False) -> list:
    sources: list = []
    return sources
