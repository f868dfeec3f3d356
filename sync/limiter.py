"""Password guess limiting with exponential back-off (docs/design.md §3.1, L1–L3).

A :class:`Backoff` counts failures for one key; a :class:`GuessLimiter` keeps one
per client and one for everybody, and admits an attempt only when both do.
Attempts in flight count against the free allowance, so a burst sent at once is
limited as if it had been sent one by one. Time comes from an injected
monotonic clock.
"""

from __future__ import annotations

import ipaddress
import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable


@dataclass
class Backoff:
    """Failures of one key: ``free`` of them cost nothing, then each locks for a doubling time."""

    free: int
    cap_s: float
    forget_s: float
    failures: int = 0
    inflight: int = 0
    last_failure: float = -math.inf
    locked_until: float = -math.inf

    def _forget(self, now: float) -> None:
        if self.failures and now - self.last_failure > self.forget_s:
            self.failures = 0
            self.locked_until = -math.inf

    def wait_s(self, now: float) -> float:
        """Seconds before an attempt may be made (0 = now)."""
        self._forget(now)
        if now < self.locked_until:
            return self.locked_until - now
        if self.inflight and self.failures + self.inflight >= self.free:
            return 1.0  # past the free allowance guesses go one at a time
        return 0.0

    def fail(self, now: float) -> None:
        self._forget(now)
        self.failures += 1
        self.last_failure = now
        if self.failures >= self.free:
            self.locked_until = now + min(2.0 ** (self.failures - self.free), self.cap_s)

    def clear(self) -> None:
        self.failures = 0
        self.locked_until = -math.inf


def client_key(address: str | None) -> str:
    """The unit a client is limited by: an IPv4 address, or the /64 an IPv6 address is in."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return address or "?"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class GuessLimiter:
    """Admits password attempts per client and globally; see ``begin`` and ``end``."""

    PER_CLIENT_FREE, PER_CLIENT_CAP_S, PER_CLIENT_FORGET_S = 5, 900.0, 86400.0
    GLOBAL_FREE, GLOBAL_CAP_S, GLOBAL_FORGET_S = 20, 60.0, 3600.0
    MAX_CLIENTS = 4096

    def __init__(self, clock: Callable[[], float]):
        self.clock = clock
        self.everyone = Backoff(self.GLOBAL_FREE, self.GLOBAL_CAP_S, self.GLOBAL_FORGET_S)
        self.clients: OrderedDict[str, Backoff] = OrderedDict()

    def _client(self, key: str) -> Backoff:
        entry = self.clients.get(key)
        if entry is None:
            entry = Backoff(self.PER_CLIENT_FREE, self.PER_CLIENT_CAP_S, self.PER_CLIENT_FORGET_S)
            self.clients[key] = entry
            while len(self.clients) > self.MAX_CLIENTS:
                oldest = next(iter(self.clients))
                if self.clients[oldest].inflight:
                    break  # never lose the count of an attempt still being checked
                del self.clients[oldest]
        self.clients.move_to_end(key)
        return entry

    def begin(self, key: str) -> int:
        """Reserve an attempt for *key*: 0 when admitted, else whole seconds to wait (at least 1).

        An admitted attempt must be ended with :meth:`end` exactly once.
        """
        now = self.clock()
        client = self._client(key)
        wait = max(client.wait_s(now), self.everyone.wait_s(now))
        if wait > 0:
            return max(1, math.ceil(wait))
        client.inflight += 1
        self.everyone.inflight += 1
        return 0

    def end(self, key: str, ok: bool) -> None:
        """Record the outcome of an attempt admitted by :meth:`begin`."""
        now = self.clock()
        client = self._client(key)
        client.inflight -= 1
        self.everyone.inflight -= 1
        if ok:
            client.clear()
        else:
            client.fail(now)
            self.everyone.fail(now)
