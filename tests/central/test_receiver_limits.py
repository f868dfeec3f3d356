"""The arithmetic of the receiver's limits (formats 5.6, 5.7): token buckets, client addresses, the throttled log.

The clock is a plain counter the test moves, so no test waits for a bucket to refill.
"""

from __future__ import annotations

import logging

from central.receiver_limits import BucketSpec, FailureLimiter, ThrottledLog, address_key, client_address


class _Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_bucket_arithmetic_refill_refund_and_eviction():
    clock = _Clock()
    lim = FailureLimiter(BucketSpec(2, 6.0), BucketSpec(3, 100.0), max_addresses=2, clock=clock)
    assert lim.admit("a") == 0 and lim.admit("a") == 0
    assert lim.admit("a") == 6  # empty: one token back in 6 s
    clock.t += 5.5
    assert lim.admit("a") == 1  # rounded up, never 0 while refused
    clock.t += 0.5
    assert lim.admit("a") == 0
    # The overall bucket (3, one per 100 s) was charged by a's three admitted failures.
    assert lim.admit("b") == 94  # (1 - 6/100) * 100 s
    lim.succeeded("a")  # a success gives both tokens back
    assert lim.admit("b") == 0
    lim.admit("c")  # a third address: the least recently used one ("a") is forgotten
    assert set(lim.buckets) == {"b", "c"}


def test_client_address_keys():
    assert address_key("2001:db8:1:2:3:4:5:6") == address_key("2001:db8:1:2:ffff::1") == "2001:db8:1:2::/64"
    assert address_key("::ffff:192.0.2.1") == "192.0.2.1"
    assert address_key(None) == "unknown"
    assert client_address("127.0.0.1", "1.1.1.1, 192.0.2.9", ["127.0.0.1"]) == "192.0.2.9"
    assert client_address("127.0.0.1", "192.0.2.9, garbage", ["127.0.0.1"]) == "127.0.0.1"
    assert client_address("192.0.2.50", "192.0.2.9", ["127.0.0.1"]) == "192.0.2.50"


def test_throttled_log_writes_one_line_a_minute(caplog):
    clock = _Clock()
    tl = ThrottledLog(logging.getLogger("sohoa.test.throttle"), every_s=60.0, clock=clock)
    caplog.set_level(logging.WARNING, logger="sohoa.test.throttle")
    written = [tl.warning("refused %s", i) for i in range(100)]
    clock.t += 60.0
    written.append(tl.warning("refused %s", 100))
    assert written.count(True) == 2 and written[0] and written[-1]
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["refused 0", "refused 100 (99 more like it since the last line)"]
