"""Who may change what on the status page, over real HTTP on loopback (docs/design.md §3.1).

Each test runs the real agent (SANE test scanner, journal, records) and talks to
it as a browser or a script would. Sessions and guess limits read the guard's
clock; where a test needs minutes or hours to pass it hands the guard a clock it
moves by hand, and everything else stays real.
"""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from http.client import HTTPConnection

import pytest
from PIL import Image, ImageDraw
from yarl import URL

from firmware_agent.agent import Agent
from firmware_agent.config import load_config
from sync.passwords import check_password, hash_password
from records.fonts import pil_font
from firmware_agent.web.guard import Guard
from firmware_agent.wiring import optional_sources

PASSWORD = "technician password"
PIN = "246810"
STATION = "scan-station.local"


def config(tmp_path, records=False, **web):
    return load_config(None, {
        "agent": {"state_dir": str(tmp_path / "state"), "min_free_mb": 10},
        "scanner": {"device": "test:1", "test_picture": "Grid", "poll_ms": 50, "width_mm": 60.0, "height_mm": 80.0,
                    "profiles": {"default": {"resolution": 200, "mode": "gray"}}},
        "hotfolder": {"path": str(tmp_path / "inbox"), "settle_s": 0.2},
        "web": {"port": 0, "password_hash": hash_password(PASSWORD), "hostnames": [STATION], **web},
        "batch": {"max_age_s": 0.0},
        "records": {"enabled": records, "close_after_s": 1.0},  # held record files within seconds
    })


async def until(predicate, timeout=120.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if await asyncio.to_thread(predicate):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


@pytest.fixture
def station(tmp_path):
    def runner(body, *, clock=None, records=False, **web):
        async def main():
            cfg = config(tmp_path, records, **web)
            agent = Agent(cfg)
            if clock is not None:
                agent.web_guard = Guard.from_settings(cfg.web, clock=clock)
            agent.sources.extend(optional_sources(cfg, agent))
            await agent.start()
            try:
                await body(agent, agent.address.rstrip("/"))
            finally:
                await agent.stop()
        asyncio.run(main())
    return runner


async def post(http, path, *, token=None, **headers):
    """POST an empty JSON object; returns (status, text, response headers)."""
    if token is not None:
        headers["X-CSRF-Token"] = token
    async with http.post(path, json={}, headers=headers) as r:
        return r.status, await r.text(), r.headers


async def attempt(http, password):
    """One login as a script; returns (status, Retry-After or None)."""
    async with http.post("/login", data={"password": password}, headers={"Accept": "application/json"}) as r:
        await r.read()
        return r.status, r.headers.get("Retry-After")


async def role_of(http):
    async with http.get("/api/session") as r:
        return (await r.json())["role"]


def test_cross_origin_post_is_refused_even_with_the_browsers_session(station, web_client, web_login):
    async def body(agent, base):
        host = base.removeprefix("http://")
        async with web_client(base) as browser:
            async with browser.post("/login", data={"password": PASSWORD}, headers={"Origin": base},
                                    allow_redirects=False) as r:
                assert r.status == 303 and r.headers["Location"] == "/"
                cookie = r.headers["Set-Cookie"]
            assert cookie.startswith("sohoa_session=")
            attributes = {a.strip().lower() for a in cookie.split(";")[1:]}
            assert {"httponly", "samesite=strict", "path=/"} <= attributes
            assert "secure" not in attributes  # plain HTTP: a Secure cookie would never come back
            async with browser.get("/api/session") as r:
                token = (await r.json())["csrf_token"]
            # A page elsewhere cannot read the token, but even with it and the cookie, the origin gives it away.
            for headers in ({"Origin": "http://evil.example"}, {"Origin": "null"},
                            {"Origin": f"http://{host}.evil.example"}, {"Origin": f"ftp://{host}"},
                            {"Origin": base.replace("127.0.0.1", "localhost")},
                            {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
                            {"Origin": base, "Sec-Fetch-Site": "cross-site"}):
                for path in ("/api/scan", "/api/cancel", "/logout"):
                    status, text, _ = await post(browser, path, token=token, **headers)
                    assert status == 403 and "Cross-origin request refused" in text, (path, headers)
            assert await role_of(browser) == "technician"  # the forged logout did not log out
            # What a browser really sends from another site: no cookie (SameSite=Strict), no token.
            async with web_client(base) as forged:
                status, _, _ = await post(forged, "/api/scan", Origin="http://evil.example",
                                          **{"Sec-Fetch-Site": "cross-site"})
                assert status == 403
                status, _, _ = await post(forged, "/api/scan")
                assert status == 401
                async with forged.post("/login", data={"password": PASSWORD},
                                       headers={"Origin": "http://evil.example"}) as r:
                    assert r.status == 403  # no login from another site either
            assert agent.journal.recent_jobs() == []
            status, _, headers = await post(browser, "/api/scan", token=token, Origin=base,
                                            **{"Sec-Fetch-Site": "same-origin"})
            assert status == 202
            assert headers["X-Frame-Options"] == "DENY" and "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        await until(lambda: len(agent.journal.recent_jobs()) == 1)
    station(body)


def test_foreign_host_is_refused_for_reads_and_actions(station, web_client, web_login):
    async def body(agent, base):
        port = base.rsplit(":", 1)[1]
        async with web_client(base) as http:
            status, answer = await web_login(http, PASSWORD)
            token = answer["csrf_token"]
            for host in (f"evil.example:{port}", "evil.example", f"127.0.0.1.evil.example:{port}",
                         f"localhost.evil.example:{port}", f"{STATION}.evil.example", f"[::2]:{port}",
                         f"localhost:{port}x", "0.0.0.0"):
                for path in ("/", "/api/status", "/api/records", "/metrics", "/climate", "/api/session", "/login"):
                    async with http.get(path, headers={"Host": host}) as r:
                        assert r.status == 421, (host, path)
                        assert "Host name not allowed" in await r.text()
                status, _, _ = await post(http, "/api/scan", token=token, Host=host)
                assert status == 421
                async with http.post("/login", data={"password": PASSWORD}, headers={"Host": host}) as r:
                    assert r.status == 421
            assert agent.journal.recent_jobs() == []
            for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", f"{STATION}:{port}",
                         f"{STATION.upper()}.", "localhost"):
                async with http.get("/api/status", headers={"Host": host}) as r:
                    assert r.status == 200, host
        # HTTP/1.0 may leave out the Host header; such a request is refused too.
        reader, writer = await asyncio.open_connection("127.0.0.1", int(port))
        try:
            writer.write(b"GET /api/status HTTP/1.0\r\n\r\n")
            await writer.drain()
            assert (await reader.readline()).split()[1] == b"421"
        finally:
            writer.close()
    station(body)


def test_post_without_the_csrf_token_is_refused(station, web_client, web_login):
    async def body(agent, base):
        async with web_client(base) as http, web_client(base) as other:
            _, mine = await web_login(http, PASSWORD)
            _, theirs = await web_login(other, PASSWORD)
            for token in (None, "", "x" * 43, theirs["csrf_token"], mine["csrf_token"][:-1],
                          mine["csrf_token"] + "x", "ờ" * 10):
                for path in ("/api/scan", "/api/cancel", "/logout"):
                    status, text, _ = await post(http, path, token=token)
                    assert status == 403, (path, token)
                    assert "Thiếu hoặc sai mã chống giả mạo" in text and "Missing or wrong CSRF token" in text
            assert agent.journal.recent_jobs() == []
            assert await role_of(http) == "technician"
            status, _, _ = await post(http, "/api/scan", token=mine["csrf_token"])
            assert status == 202
    station(body)


def test_fifty_wrong_passwords_are_limited(station, web_client, manual_clock):
    async def body(agent, base):
        async with web_client(base) as guesser, web_client(base, local_ip="127.0.0.2") as colleague:
            answers = [await attempt(guesser, f"guess {i}") for i in range(50)]
            assert [s for s, _ in answers] == [401] * 5 + [429] * 45
            assert {r for _, r in answers[5:]} == {"1"}
            assert await attempt(guesser, PASSWORD) == (429, "1")  # the right one is refused while locked
            assert await role_of(guesser) is None
            # the lock is the guesser's: another client logs in
            assert (await attempt(colleague, PASSWORD))[0] == 200
            manual_clock.advance(1.0)
            assert (await attempt(guesser, "guess 50"))[0] == 401  # hashed again, and the wait doubles
            assert await attempt(guesser, PASSWORD) == (429, "2")
            manual_clock.advance(2.0)
            assert (await attempt(guesser, PASSWORD))[0] == 200
            assert await role_of(guesser) == "technician"
            # a success clears the client's count: five free guesses again
            assert [(await attempt(guesser, f"again {i}"))[0] for i in range(6)] == [401] * 5 + [429]
    station(body, clock=manual_clock)


def test_guesses_from_many_clients_hit_the_global_limit(station, web_client, manual_clock):
    async def body(agent, base):
        clients = [web_client(base, local_ip=f"127.0.0.{i}") for i in range(2, 7)]
        try:
            for http in clients[:4]:
                assert [(await attempt(http, "wrong"))[0] for _ in range(5)] == [401] * 5  # 20 in all
            assert await attempt(clients[4], PASSWORD) == (429, "1")  # a fresh client, the right password
            manual_clock.advance(1.0)
            assert (await attempt(clients[4], PASSWORD))[0] == 200
        finally:
            for http in clients:
                await http.close()
    station(body, clock=manual_clock)


def _timed(fn, *args) -> float:
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def test_event_loop_answers_while_a_burst_of_guesses_is_hashed(station, web_client):
    # A costlier hash (N = 2^15) makes each check long enough to see whether it holds the loop.
    slow_hash = hash_password(PASSWORD, n=2**15)
    # the least of three: one check timed while the shared machine was busy made "the burst took ten hashes"
    # fail when the burst then ran faster (0.47 s for one hash, 2.8 s for twenty)
    hash_s = min(_timed(check_password, "wrong", slow_hash) for _ in range(3))

    def poll(port: int, stop: threading.Event, latencies: list[float]) -> None:
        """A reader outside the agent's event loop (its own thread, plain http.client)."""
        while not stop.is_set():
            conn = HTTPConnection("127.0.0.1", port, timeout=30)
            t0 = time.perf_counter()
            conn.request("GET", "/api/status")
            response = conn.getresponse()
            response.read()
            latencies.append(time.perf_counter() - t0)
            conn.close()
            assert response.status == 200
            time.sleep(0.02)

    async def body(agent, base):
        clients = [web_client(base, local_ip=f"127.0.0.{i}") for i in range(2, 7)]
        latencies: list[float] = []
        stop = threading.Event()
        try:
            poller = asyncio.create_task(asyncio.to_thread(poll, int(base.rsplit(":", 1)[1]), stop, latencies))
            await asyncio.sleep(0.3)
            before = len(latencies)
            t0 = time.perf_counter()
            answers = await asyncio.gather(*(attempt(http, f"wrong {i}") for http in clients for i in range(5)))
            burst = time.perf_counter() - t0
            during = latencies[before:]
            stop.set()
            await poller
        finally:
            for http in clients:
                await http.close()
        # 25 sent at once from 5 clients: the global allowance (20) is hashed, the rest refused unhashed
        assert sorted(s for s, _ in answers) == [401] * 20 + [429] * 5
        # On the loop, a status request waits behind the guesses queued before it (measured: one answer
        # in a 5.8 s burst); in the guard's own thread they keep coming (about 150, median 2 ms, against
        # 0.17-0.28 s a hash). Generous bound: a median under a quarter of one hash.
        assert burst > 10 * hash_s, (burst, hash_s)  # the hashes really ran, one after another
        assert len(during) >= 5 and statistics.median(during) < hash_s / 4, (hash_s, len(during),
                                                                              statistics.median(during))
    station(body, password_hash=slow_hash)


def test_operator_scans_and_cancels_but_only_the_technician_decides_held_records(station, web_client, web_login,
                                                                                  tmp_path):
    async def body(agent, base):
        # a page with text and no cover sheet before it: its record file is held for the technician
        page = Image.new("L", (1654, 2339), 255)
        ImageDraw.Draw(page).text((200, 300), "Trang không có tờ bìa", font=pil_font(40), fill=0)
        page.save(tmp_path / "inbox" / ".writing.png", dpi=(200, 200))
        (tmp_path / "inbox" / ".writing.png").rename(tmp_path / "inbox" / "page.png")
        async with web_client(base) as operator, web_client(base) as technician:
            status, answer = await web_login(operator, PIN)
            assert status == 200 and answer["role"] == "operator"
            op = answer["csrf_token"]
            assert (await post(operator, "/api/scan", token=op))[0] == 202
            await until(lambda: [j.state for j in agent.journal.recent_jobs(2) if j.trigger == "web"] == ["done"])
            status, text, _ = await post(operator, "/api/cancel", token=op)
            assert status == 200 and '"ok": true' in text
            await until(lambda: agent.sources[0].store.files("held"))
            held = agent.sources[0].store.files("held")[0]
            cover = {"cover": {"file_code": "G.7", "paper_file_code": "p.7", "title": "Hồ sơ G"}}
            async with operator.post(f"/api/records/{held.id}/confirm", json=cover,
                                     headers={"X-CSRF-Token": op}) as r:
                assert r.status == 403 and "Technician login required" in await r.text()
            assert agent.sources[0].store.file(held.id).state == "held"
            status, answer = await web_login(technician, PASSWORD)
            assert status == 200 and answer["role"] == "technician"
            tech = answer["csrf_token"]
            async with technician.post(f"/api/records/{held.id}/confirm", json=cover,
                                       headers={"X-CSRF-Token": tech}) as r:
                assert r.status == 200 and (await r.json())["state"] == "ready"
            # a technician can do what an operator can
            assert (await post(technician, "/api/scan", token=tech))[0] == 202
            assert (await post(technician, "/api/cancel", token=tech))[0] == 200
        await until(lambda: len([j for j in agent.journal.recent_jobs() if j.trigger == "web"]) == 2)
    station(body, records=True, operator_pin_hash=hash_password(PIN))


def test_kiosk_scans_without_a_password_but_not_without_the_token(station, web_client, web_login):
    async def body(agent, base):
        async with web_client(base) as kiosk:
            assert (await post(kiosk, "/api/scan"))[0] == 401  # no session yet
            async with kiosk.get("/api/session") as r:
                answer = await r.json()
                assert r.headers["Cache-Control"] == "no-store" and "HttpOnly" in r.headers["Set-Cookie"]
            assert answer["role"] == "operator" and answer["kiosk"] is True
            token = answer["csrf_token"]
            assert (await post(kiosk, "/api/scan"))[0] == 403
            assert (await post(kiosk, "/api/scan", token=token, Origin="http://evil.example"))[0] == 403
            assert agent.journal.recent_jobs() == []
            assert (await post(kiosk, "/api/scan", token=token))[0] == 202
            async with kiosk.post("/api/records/1/confirm", json={}, headers={"X-CSRF-Token": token}) as r:
                assert r.status == 403  # held records stay the technician's
            status, answer = await web_login(kiosk, PASSWORD)
            assert status == 200 and answer["role"] == "technician"
        await until(lambda: len(agent.journal.recent_jobs()) == 1)
    station(body, records=True, operator_open=True)


def test_logout_ends_the_session_and_login_never_keeps_an_old_id(station, web_client, web_login):
    async def body(agent, base):
        async with web_client(base) as http:
            _, first = await web_login(http, PASSWORD)
            first_id = http.cookie_jar.filter_cookies(URL(base))["sohoa_session"].value
            _, second = await web_login(http, PASSWORD)
            second_id = http.cookie_jar.filter_cookies(URL(base))["sohoa_session"].value
            assert first_id != second_id and first["csrf_token"] != second["csrf_token"]
            assert len(second_id) >= 43  # 256 bits, URL-safe base64
        async with web_client(base) as replay:
            replay.cookie_jar.update_cookies({"sohoa_session": first_id})
            assert (await post(replay, "/api/cancel", token=first["csrf_token"]))[0] == 401
            replay.cookie_jar.update_cookies({"sohoa_session": second_id})
            assert (await post(replay, "/api/cancel", token=second["csrf_token"]))[0] == 200
            status, _, headers = await post(replay, "/logout", token=second["csrf_token"])
            assert status == 200 and 'sohoa_session=""' in headers["Set-Cookie"]
            assert await role_of(replay) is None
            # the old cookie and token, replayed after logout
            replay.cookie_jar.update_cookies({"sohoa_session": second_id})
            assert (await post(replay, "/api/cancel", token=second["csrf_token"]))[0] == 401
            assert (await post(replay, "/logout", token=second["csrf_token"]))[0] == 401
    station(body)


def test_sessions_expire_when_idle_and_at_their_absolute_limit(station, web_client, web_login, manual_clock):
    minute = 60.0

    async def body(agent, base):
        async with web_client(base) as http:
            _, answer = await web_login(http, PASSWORD)
            token = answer["csrf_token"]
            for _ in range(2):
                manual_clock.advance(29 * minute)
                assert (await post(http, "/api/cancel", token=token))[0] == 200  # each action restarts the clock
            manual_clock.advance(20 * minute)
            async with http.get("/api/status") as r:
                assert r.status == 200  # reading does not
            assert await role_of(http) == "technician"
            manual_clock.advance(10 * minute + 1)
            assert (await post(http, "/api/cancel", token=token))[0] == 401
            assert await role_of(http) is None

            _, answer = await web_login(http, PASSWORD)
            token = answer["csrf_token"]
            for _ in range(23):  # 7 h 40 min of a busy day
                manual_clock.advance(20 * minute)
                assert (await post(http, "/api/cancel", token=token))[0] == 200
            manual_clock.advance(20 * minute)  # 8 h after the login
            assert (await post(http, "/api/cancel", token=token))[0] == 401

            _, answer = await web_login(http, PIN)
            assert answer["role"] == "operator" and 0 < answer["expires_in_s"] <= 4 * 3600
            token = answer["csrf_token"]
            manual_clock.advance(4 * 3600 - 1)
            assert (await post(http, "/api/cancel", token=token))[0] == 200
            manual_clock.advance(4 * 3600)
            assert (await post(http, "/api/cancel", token=token))[0] == 401
    station(body, clock=manual_clock, operator_pin_hash=hash_password(PIN))


def test_only_the_technician_moves_a_separator_with_session_and_token(station, web_client, web_login, tmp_path):
    async def body(agent, base):
        inbox = tmp_path / "inbox"
        pages = []
        for n in range(2):
            page = Image.new("L", (1654, 2339), 255)
            ImageDraw.Draw(page).text((200, 300), f"Trang {n + 1}", font=pil_font(40), fill=0)
            pages.append(page)
        pages[0].save(inbox / ".two.part", format="PDF", save_all=True, append_images=pages[1:], resolution=200.0)
        (inbox / ".two.part").rename(inbox / "two.pdf")
        store = agent.sources[0].store
        await until(lambda: store.files("held"))
        (held,) = store.files("held")
        second = store.pages_of(held.id)[1][0]
        path = f"/api/pages/{second}/separator"
        async with web_client(base) as operator, web_client(base) as technician:
            status, answer = await web_login(operator, PIN)
            op = answer["csrf_token"]
            async with operator.post(path, json={"starts": "document"}, headers={"X-CSRF-Token": op}) as r:
                assert r.status == 403 and "Technician login required" in await r.text()
            async with technician.post(path, json={"starts": "document"}) as r:
                assert r.status == 401  # no session
            status, answer = await web_login(technician, PASSWORD)
            tech = answer["csrf_token"]
            async with technician.post(path, json={"starts": "document"}) as r:
                assert r.status == 403  # no CSRF token
            assert [d for _p, _r, d in store.pages_of(held.id)] == [1, 1]
            async with technician.post(path, json={"starts": "document"}, headers={"X-CSRF-Token": tech}) as r:
                answer = await r.json()
                assert r.status == 200 and answer["message"]["code"] == "page.separator.document_started"
            assert [d for _p, _r, d in store.pages_of(held.id)] == [1, 2]
            async with technician.post(path, json={"starts": "up"}, headers={"X-CSRF-Token": tech}) as r:
                assert r.status == 400 and (await r.json())["message"]["code"] == "page.separator.bad_value"
    station(body, records=True, operator_pin_hash=hash_password(PIN))
