"""Failed enrollments cannot grow the database or the log, and are rate-limited (formats 5.7).

Real sockets on loopback; distinct client addresses are distinct loopback
addresses (Linux routes all of 127.0.0.0/8 to lo), chosen as the client's
source address. Row counts are read from the SQLite file itself.
"""

from __future__ import annotations

import logging
import sqlite3

import aiohttp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.keys import public_b64
from central.local import start_local_receiver
from central.receiver import ReceiverOptions
from central.receiver_limits import BucketSpec
from central.receiver_state import ENROLL_REFUSALS_KEPT

# Buckets that do not refill during a test: the counts below are exact.
NO_REFILL = 3600.0


def _rows(db_path) -> dict[str, int]:
    """Rows per table, read from the database file by a connection of its own."""
    db = sqlite3.connect(str(db_path))
    try:
        names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {n: db.execute(f"SELECT COUNT(*) FROM {n}").fetchone()[0] for n in names}
    finally:
        db.close()


async def _enroll(url: str, source: str, device: str, token: str, *, headers: dict | None = None):
    """One POST /enroll from the loopback address *source*; (status, headers)."""
    body = {"device": device, "public_key": public_b64(Ed25519PrivateKey.generate()), "token": token}
    conn = aiohttp.TCPConnector(local_addr=(source, 0), force_close=True)
    async with aiohttp.ClientSession(connector=conn) as s:
        async with s.post(url + "enroll", json=body, headers=headers or {}) as r:
            await r.read()
            return r.status, r.headers


def test_300_bad_enrollments_from_one_address(tmp_path, kit, caplog):
    opts = ReceiverOptions(enroll_per_address=BucketSpec(10, NO_REFILL), enroll_overall=BucketSpec(60, NO_REFILL))

    async def body():
        rx = await start_local_receiver(tmp_path / "rx", opts=opts)
        db = tmp_path / "rx" / "receiver.sqlite3"
        try:
            good = rx.core.state.mint_token("xa-02")
            before = _rows(db)
            statuses, retry_after = [], set()
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=("127.0.0.1", 0))) as s:
                for i in range(300):
                    req = {"device": "xa-01", "public_key": public_b64(Ed25519PrivateKey.generate()),
                           "token": f"bad-token-{i:04d}" + "x" * 30}
                    async with s.post(rx.url + "enroll", json=req) as r:
                        await r.read()
                        statuses.append(r.status)
                        if r.status == 429:
                            retry_after.add(int(r.headers["Retry-After"]))
            after = _rows(db)
            assert statuses[:10] == [403] * 10  # the burst, then nothing but 429
            assert statuses[10:] == [429] * 290
            assert retry_after and min(retry_after) >= 1
            # 300 requests, one row: the address's aggregate, counting the 10 that were looked at.
            grown = {t: after[t] - before.get(t, 0) for t in after if after[t] != before.get(t, 0)}
            assert grown == {"enroll_refusals": 1}
            (row,) = rx.core.state.enroll_refusals()
            assert row["address"] == "127.0.0.1" and row["attempts"] == 10 and row["last_device"] == "xa-01"
            assert rx.core.counters["enroll_refused"] == 10 and rx.core.counters["enroll_limited"] == 290
            # At most one warning line for all of it (the next one may come a minute later).
            warned = [r for r in caplog.records if r.levelno >= logging.WARNING and "enrollment" in r.getMessage()]
            assert len(warned) == 1

            # The limited address is refused whole, even with a correct token ...
            status, headers = await _enroll(rx.url, "127.0.0.1", "xa-02", good)
            assert status == 429 and int(headers["Retry-After"]) >= 1
            assert rx.core.state.device("xa-02") is None
            # ... while a correct token from another address still works.
            status, _ = await _enroll(rx.url, "127.0.0.2", "xa-02", good)
            assert status == 201 and rx.core.state.device("xa-02") is not None
        finally:
            await rx.close()
    caplog.set_level(logging.INFO, logger="sohoa.receiver")
    kit.run(body())


def test_bad_enrollments_from_300_addresses_keep_a_bounded_table(tmp_path, kit):
    n = 300
    opts = ReceiverOptions(enroll_per_address=BucketSpec(1, NO_REFILL), enroll_overall=BucketSpec(n, NO_REFILL))

    async def body():
        rx = await start_local_receiver(tmp_path / "rx", opts=opts)
        db = tmp_path / "rx" / "receiver.sqlite3"
        try:
            good = rx.core.state.mint_token("xa-03")
            before = _rows(db)
            sources = [f"127.0.{1 + i // 250}.{1 + i % 250}" for i in range(n)]
            for src in sources:
                status, _ = await _enroll(rx.url, src, "xa-01", "y" * 43)
                assert status == 403, src
            after = _rows(db)
            assert after["enroll_refusals"] == ENROLL_REFUSALS_KEPT < n
            assert sum(after.values()) - sum(before.values()) == ENROLL_REFUSALS_KEPT
            kept = {r["address"] for r in rx.core.state.enroll_refusals(limit=1000)}
            assert kept == set(sources[-ENROLL_REFUSALS_KEPT:])  # the least recently seen went first
            # The global bucket is empty now: a fresh address is refused whole, with a correct token too.
            status, headers = await _enroll(rx.url, "127.0.9.9", "xa-03", good)
            assert status == 429 and int(headers["Retry-After"]) >= 1
            assert rx.core.state.device("xa-03") is None
            assert _rows(db) == after
        finally:
            await rx.close()
    kit.run(body())


def test_forwarded_for_counts_only_behind_a_trusted_proxy(tmp_path, kit):
    opts = ReceiverOptions(enroll_per_address=BucketSpec(2, NO_REFILL), enroll_overall=BucketSpec(100, NO_REFILL),
                           trusted_proxies=("127.0.0.1",))

    async def body():
        rx = await start_local_receiver(tmp_path / "rx", opts=opts)
        try:
            async def from_(src, xff):
                status, _ = await _enroll(rx.url, src, "xa-01", "z" * 43, headers={"X-Forwarded-For": xff})
                return status
            # Through the trusted proxy: each client has its own bucket (the last entry is the one it saw).
            assert [await from_("127.0.0.1", "10.9.9.9, 203.0.113.7") for _ in range(3)] == [403, 403, 429]
            assert await from_("127.0.0.1", "203.0.113.8") == 403
            # Anyone else's X-Forwarded-For is ignored: its own address is what counts.
            assert [await from_("127.0.0.5", f"198.51.100.{i}") for i in range(3)] == [403, 403, 429]
            addresses = {r["address"] for r in rx.core.state.enroll_refusals()}
            assert addresses == {"203.0.113.7", "203.0.113.8", "127.0.0.5"}
        finally:
            await rx.close()
    kit.run(body())


def test_malformed_and_oversized_enrollments_are_charged_too(tmp_path, kit):
    opts = ReceiverOptions(enroll_per_address=BucketSpec(3, NO_REFILL), enroll_overall=BucketSpec(100, NO_REFILL))

    async def body():
        rx = await start_local_receiver(tmp_path / "rx", opts=opts)
        try:
            async with aiohttp.ClientSession() as s:
                statuses = []
                for data in (b"[1, 2]", b"{" * 5000, b"not json", b"{}"):
                    async with s.post(rx.url + "enroll", data=data,
                                      headers={"Content-Type": "application/json"}) as r:
                        statuses.append(r.status)
            assert statuses == [400, 400, 400, 429]
            (row,) = rx.core.state.enroll_refusals()
            assert row["attempts"] == 3 and row["last_device"] is None
        finally:
            await rx.close()
    kit.run(body())

