"""What the agent runs beside its core: one interface for every subsystem.

``wiring.py`` builds the subsystems the config asks for (records, climate,
upload; the demo adds its receiver); the agent then, for each one:

- starts ``run()`` under its supervisor when ``runs`` is true (a failure is
  journaled and the loop restarted with back-off);
- shows ``status()`` on the status page under ``name`` and serves ``metrics()``;
- lets it add its own pages with ``add_routes(app)`` (every state-changing
  route through the page's guard, design §3.1);
- at the end cancels ``run()`` and awaits ``stop()``.

``sohoa demo --once`` and the tests wait for a subsystem with ``wait_idle()``
and read what it did with ``demo_summary()``. Every method has a default that
does nothing, so a subsystem writes only what it has; nothing asks an object
whether it happens to have a method.
"""

from __future__ import annotations


class Subsystem:
    name: str = "subsystem"  # its key in /api/status and its task name
    runs: bool = True        # whether run() is a loop to supervise

    async def run(self) -> None:
        """The long-lived loop; runs until cancelled."""

    async def stop(self) -> None:
        """Release what the subsystem holds (files, processes), after its loop was cancelled."""

    def status(self) -> dict:
        return {}

    def metrics(self) -> list[str]:
        return []

    def add_routes(self, app) -> None:
        """Pages and actions of its own on the status page's aiohttp app."""

    async def wait_idle(self, timeout_s: float) -> None:
        """Return once nothing waits for this subsystem (or after *timeout_s*)."""

    def demo_summary(self) -> dict:
        """What ``sohoa demo --once`` reports of this subsystem (merged into its JSON line)."""
        return {}
