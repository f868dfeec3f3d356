"""Runs the agent's long-lived tasks and restarts one that fails, with back-off.

A task is an ``async def run()`` that is expected to run for ever. If it raises,
the failure is logged and journaled in plain words and the task is restarted
after 1, 2, 4 ... 60 s; the other tasks go on. Each loop beats the systemd
watchdog through ``heartbeat`` so that a stuck loop stops the pings.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Awaitable, Callable

log = logging.getLogger("sohoa.supervisor")


class Supervisor:
    def __init__(self, on_failure: Callable[[str, BaseException], None] = lambda name, exc: None,
                 max_backoff_s: float = 60.0):
        self._tasks: dict[str, asyncio.Task] = {}
        self._on_failure = on_failure
        self._max_backoff = max_backoff_s
        self.restarts: dict[str, int] = {}

    def start(self, name: str, factory: Callable[[], Awaitable[None]]) -> None:
        self.restarts[name] = 0
        self._tasks[name] = asyncio.create_task(self._keep(name, factory), name=name)

    async def _keep(self, name: str, factory: Callable[[], Awaitable[None]]) -> None:
        backoff = 1.0
        while True:
            started = time.monotonic()
            try:
                await factory()
                log.info("task %s ended", name)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a failing task must not take the agent down
                log.exception("task %s failed; restarting in %.0f s", name, backoff)
                self.restarts[name] += 1
                self._on_failure(name, exc)
            if time.monotonic() - started > 300:
                backoff = 1.0  # it ran fine for a while: start counting again
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self._max_backoff)

    async def stop(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self._tasks.clear()
