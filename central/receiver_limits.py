"""Limits on what requests nobody authenticated may cost the receiver (formats 5.6, 5.7).

Token buckets for failed enrollments (per client address and overall), the
client address behind a trusted proxy, and a log that writes at most one
line a minute per kind of event. No I/O here; the clock is injectable so the
arithmetic is tested without waiting.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Iterable


@dataclass(frozen=True)
class BucketSpec:
    """*burst* tokens at most, one more every *refill_s* seconds."""

    burst: int
    refill_s: float


class TokenBucket:
    def __init__(self, spec: BucketSpec, now: float):
        self.spec = spec
        self.tokens = float(spec.burst)
        self.stamp = now

    def _refill(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(float(self.spec.burst), self.tokens + (now - self.stamp) / self.spec.refill_s)
        self.stamp = now

    def wait_s(self, now: float) -> float:
        """Seconds until one token is there (0 if one is there now)."""
        self._refill(now)
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) * self.spec.refill_s

    def take(self, now: float) -> None:
        self._refill(now)
        self.tokens -= 1.0

    def give_back(self, now: float) -> None:
        self._refill(now)
        self.tokens = min(float(self.spec.burst), self.tokens + 1.0)


class FailureLimiter:
    """Two token buckets (one per client address, one overall) that only failures empty.

    A request calls :meth:`admit` first: it takes a token from both buckets,
    or returns how long to wait when either is empty (the request is then
    refused whole). :meth:`succeeded` gives the tokens back, so only failed
    requests stay charged. At most *max_addresses* per-address buckets are
    kept, the least recently used dropped first.
    """

    def __init__(self, per_address: BucketSpec, overall: BucketSpec, *, max_addresses: int = 4096,
                 clock: Callable[[], float] = time.monotonic):
        self.per_address, self.max_addresses, self.clock = per_address, max_addresses, clock
        self.overall = TokenBucket(overall, clock())
        self.buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def _bucket(self, address: str, now: float) -> TokenBucket:
        b = self.buckets.get(address)
        if b is None:
            b = self.buckets[address] = TokenBucket(self.per_address, now)
            while len(self.buckets) > self.max_addresses:
                self.buckets.popitem(last=False)
        else:
            self.buckets.move_to_end(address)
        return b

    def admit(self, address: str) -> int:
        """0 and a token taken from both buckets, or the whole seconds to wait (nothing taken)."""
        now = self.clock()
        mine = self._bucket(address, now)
        wait = max(mine.wait_s(now), self.overall.wait_s(now))
        if wait > 0:
            return max(1, math.ceil(wait - 1e-6))  # float residue must not add a second
        mine.take(now)
        self.overall.take(now)
        return 0

    def succeeded(self, address: str) -> None:
        now = self.clock()
        self._bucket(address, now).give_back(now)
        self.overall.give_back(now)


def address_key(text: str | None) -> str:
    """The limiting key of a peer address: IPv4 as is, IPv6 as its /64, a mapped IPv4 as the IPv4."""
    if not text:
        return "unknown"
    try:
        ip = ipaddress.ip_address(text.strip())
    except ValueError:
        return text.strip()[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def client_address(peer: str | None, forwarded_for: str | None, trusted_proxies: Iterable[str]) -> str:
    """The client's limiting key: the peer's, or the last ``X-Forwarded-For`` entry when the peer is trusted.

    Only the last entry: it is the one the trusted proxy appended (nginx's
    ``$proxy_add_x_forwarded_for``); anything before it came from the client.
    """
    if peer is not None and forwarded_for and address_key(peer) in {address_key(a) for a in trusted_proxies}:
        last = forwarded_for.split(",")[-1].strip()
        try:
            ipaddress.ip_address(last)
        except ValueError:
            return address_key(peer)
        return address_key(last)
    return address_key(peer)


class ThrottledLog:
    """Writes a warning at most once per *every_s* seconds; the next line says how many were held back."""

    def __init__(self, logger: logging.Logger, every_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic):
        self.logger, self.every_s, self.clock = logger, every_s, clock
        self.last = -math.inf
        self.held = 0

    def warning(self, msg: str, *args) -> bool:
        """Log *msg* % *args* now if the interval has passed (True), else count it (False)."""
        now = self.clock()
        if now - self.last < self.every_s:
            self.held += 1
            return False
        if self.held:
            msg += " (%d more like it since the last line)"
            args = (*args, self.held)
        self.logger.warning(msg, *args)
        self.last, self.held = now, 0
        return True
