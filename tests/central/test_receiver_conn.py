"""The receiver's listeners: /metrics on loopback only, and the header, idle and body limits (formats 5.8).

Real sockets on loopback. A slow client is an asyncio stream that writes a
byte at a time; the limits are set to a second so the tests stay short, and
every assertion that involves time is a bound the server must respect
(closed no earlier than the limit, and long before the client would have
finished), never a measure of speed.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp

from sync.auth import make_auth_header
from central.local import start_local_receiver
from central.receiver import ReceiverOptions

ROOT = Path(__file__).resolve().parents[2]
LIMIT_S = 1.0
SLOW_HEAD = (b"POST /enroll HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
             b"X-Padding: " + b"p" * 120 + b"\r\n\r\n")
GAP_S = 0.05  # the slow head would take about 10 s to send


def _port(url: str) -> int:
    return int(url.rstrip("/").rsplit(":", 1)[1].split("/")[0])


async def _trickle(port: int, head: bytes, *, prefix: bytes = b"") -> tuple[int, bytes, float]:
    """Send *prefix* at once (and read its answer), then *head* a byte every GAP_S until the server closes.

    Returns (bytes of *head* sent, what the server answered after the prefix's
    answer, seconds from the first trickled byte to the server's close).
    """
    loop = asyncio.get_running_loop()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        if prefix:
            writer.write(prefix)
            await reader.readuntil(b"\r\n\r\n")  # the answer to a complete request: no body
        t0 = loop.time()
        closed = asyncio.ensure_future(reader.read())  # everything until the server closes
        sent = 0
        try:
            for byte in head:
                if closed.done():
                    break
                writer.write(bytes([byte]))
                await writer.drain()
                sent += 1
                await asyncio.wait({closed}, timeout=GAP_S)
        except ConnectionError:
            pass
        answer = await asyncio.wait_for(closed, 30)
        return sent, answer, loop.time() - t0
    finally:
        writer.close()


def test_metrics_are_served_on_the_loopback_listener_only(tmp_path, kit):
    async def body():
        rx = await start_local_receiver(tmp_path / "rx", metrics_port=0)
        try:
            assert rx.metrics_url.startswith("http://127.0.0.1:") and _port(rx.metrics_url) != _port(rx.url)
            async with aiohttp.ClientSession() as s:
                async with s.get(rx.url + "metrics") as r:
                    assert r.status == 404
                async with s.get(rx.metrics_url) as r:
                    text = await r.text()
                    assert r.status == 200
            assert "sohoa_receiver_accepted_total 0" in text and "sohoa_receiver_log_size 0" in text
            assert "sohoa_receiver_header_timeouts_total 0" in text
            (metrics_runner,) = rx.listening.runners[1:]
            assert [a[0] for a in metrics_runner.addresses] == ["127.0.0.1"]
        finally:
            await rx.close()
    kit.run(body())


def test_receiver_serve_command_puts_metrics_on_its_own_port(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "central", "serve", "--root",
                             str(tmp_path / "rx"), "--port", "0", "--metrics-port", "0", "--no-sip-check"],
                            cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    try:
        seen = []
        for line in proc.stderr:
            seen.append(line)
            m = re.search(r"on (http://127\.0\.0\.1:\d+/)files/, metrics on (http://127\.0\.0\.1:\d+/metrics)", line)
            if m:
                break
        else:
            raise AssertionError("no start-up line: " + "".join(seen))
        public, metrics = m.groups()

        async def probe():
            async with aiohttp.ClientSession() as s:
                async with s.get(public + "metrics") as r:
                    assert r.status == 404
                async with s.get(metrics) as r:
                    assert r.status == 200 and "sohoa_receiver_devices 0" in await r.text()
        asyncio.run(probe())
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0


def test_serve_command_defaults_match_the_receiver_options():
    # Options not given come from the configuration, whose defaults are the receiver's.
    from central.cli import _config, build_parser
    args = build_parser().parse_args(["serve"])
    rc = _config(args).receiver
    d = ReceiverOptions()
    assert (rc.metrics_host, rc.metrics_port) == ("127.0.0.1", 8471)
    assert (rc.header_timeout_s, rc.idle_timeout_s, rc.body_idle_timeout_s, rc.retry_after_s) == (
        d.header_timeout_s, d.idle_timeout_s, d.body_idle_timeout_s, d.retry_after_s)
    assert rc.max_size_mib * 1024 * 1024 == d.max_size
    given = _config(build_parser().parse_args(["serve", "--header-timeout", "7", "--no-sip-check"])).receiver
    assert given.header_timeout_s == 7.0 and given.sip_check is False and given.idle_timeout_s == d.idle_timeout_s


def test_slow_request_head_is_cut_while_a_normal_client_is_served(tmp_path, kit):
    async def body():
        rx = await start_local_receiver(tmp_path / "rx", opts=ReceiverOptions(header_timeout_s=LIMIT_S))
        try:
            async def normal_client() -> list[int]:
                statuses = []
                async with aiohttp.ClientSession() as s:
                    for _ in range(8):
                        async with s.options(rx.url + "files/") as r:
                            statuses.append(r.status)
                        await asyncio.sleep(0.1)
                return statuses
            (sent, answer, took), statuses = await asyncio.gather(_trickle(_port(rx.url), SLOW_HEAD), normal_client())
            assert statuses == [204] * 8
            assert answer.startswith(b"HTTP/1.1 408 ")
            assert sent < len(SLOW_HEAD) // 2  # cut long before the head was complete
            assert took >= LIMIT_S  # and not before the limit
            assert rx.core.counters["header_timeouts"] == 1
        finally:
            await rx.close()
    kit.run(body())


def test_slow_head_of_a_second_request_on_a_kept_alive_connection_is_cut(tmp_path, kit):
    async def body():
        rx = await start_local_receiver(tmp_path / "rx", opts=ReceiverOptions(header_timeout_s=LIMIT_S))
        try:
            first = b"OPTIONS /files/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
            sent, answer, took = await _trickle(_port(rx.url), SLOW_HEAD, prefix=first)
            assert answer.startswith(b"HTTP/1.1 408 ") and sent < len(SLOW_HEAD) // 2 and took >= LIMIT_S
        finally:
            await rx.close()
    kit.run(body())


def test_idle_connection_is_closed(tmp_path, kit):
    async def body():
        rx = await start_local_receiver(tmp_path / "rx", opts=ReceiverOptions(idle_timeout_s=LIMIT_S))
        try:
            loop = asyncio.get_running_loop()
            # timed from before the connect: the receiver (on this loop) starts its idle clock at accept,
            # which can run before open_connection returns here
            t0 = loop.time()
            reader, writer = await asyncio.open_connection("127.0.0.1", _port(rx.url))
            assert await asyncio.wait_for(reader.read(), 30) == b""  # closed without a word
            assert loop.time() - t0 >= LIMIT_S
            writer.close()
            assert rx.core.counters["idle_closed"] == 1
            # A kept-alive connection between requests is idle too.
            async with aiohttp.ClientSession() as s:
                async with s.options(rx.url + "files/") as r:
                    assert r.status == 204
                await asyncio.sleep(LIMIT_S * 3)
            assert rx.core.counters["idle_closed"] == 2
        finally:
            await rx.close()
    kit.run(body())


def test_enrollment_body_that_does_not_arrive_is_answered_408(tmp_path, kit):
    async def body():
        rx = await start_local_receiver(tmp_path / "rx", opts=ReceiverOptions(body_idle_timeout_s=LIMIT_S))
        try:
            loop = asyncio.get_running_loop()
            reader, writer = await asyncio.open_connection("127.0.0.1", _port(rx.url))
            writer.write(b"POST /enroll HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 200\r\n\r\n{\"device\": ")
            t0 = loop.time()
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
            assert head.startswith(b"HTTP/1.1 408 ") and loop.time() - t0 >= LIMIT_S
            writer.close()
            (row,) = rx.core.state.enroll_refusals()
            assert row["address"] == "127.0.0.1" and "not received in time" in row["last_reason"]
            assert rx.core.counters["body_timeouts"] == 1
        finally:
            await rx.close()
    kit.run(body())


def test_stalled_patch_body_is_answered_408_and_nothing_is_counted(tmp_path, kit):
    appliance = kit.Appliance(tmp_path / "appliance")

    async def body():
        opts = ReceiverOptions(body_idle_timeout_s=LIMIT_S, takeover_idle_s=60)
        rx = await start_local_receiver(tmp_path / "rx", opts=opts)
        try:
            await appliance.enroll(rx)
            b = appliance.seal((200_000,))
            async with appliance.client(rx.url) as c:
                url, offset, _ = await c.create(b.size, b.metadata())
                assert offset == 0
                loop = asyncio.get_running_loop()
                reader, writer = await asyncio.open_connection("127.0.0.1", _port(rx.url))
                path = "/" + url.split("/", 3)[3]
                head = (f"PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\n"
                        f"Authorization: {make_auth_header(appliance.device_id, appliance.key)}\r\n"
                        f"Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\n"
                        f"Content-Length: {b.size}\r\n\r\n").encode()
                writer.write(head + b.path.read_bytes()[:b.size // 2])
                t0 = loop.time()
                answer = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
                assert answer.startswith(b"HTTP/1.1 408 ") and loop.time() - t0 >= LIMIT_S
                writer.close()
                assert (await c.head(url))[0] == 0  # the half body was cut back, nothing counted
                assert rx.core.counters["body_timeouts"] == 1
                receipt, _ = await kit.deliver_retrying(c, b, appliance.log_public)
            assert receipt["leaf"]["sha256"] == b.file_sha256
        finally:
            await rx.close()
    kit.run(body())
