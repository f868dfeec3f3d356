"""The guard on an app of its own, over real HTTP on loopback: the parts no agent route shows."""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp import web

from sync.passwords import hash_password
from firmware_agent.web.guard import Guard, add_action
from sync.limiter import client_key
from firmware_agent.web.sessions import OPERATOR

PASSWORD = "technician password"
PIN = "135790"


def serve(check, **guard):
    async def go():
        app = web.Application()
        Guard(password_hash=hash_password(PASSWORD), operator_pin_hash=hash_password(PIN), **guard).install(app)
        calls = []

        async def record(request):
            calls.append(request.path)
            return web.json_response({"ok": True})

        app.router.add_post("/api/undeclared", record)  # registered without a role
        add_action(app, "POST", "/api/declared", record, role=OPERATOR)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        try:
            await check(f"http://127.0.0.1:{runner.addresses[0][1]}", calls)
        finally:
            await runner.cleanup()
    asyncio.run(go())


def test_a_route_registered_without_a_role_is_the_technicians(web_client, web_login):
    async def check(base, calls):
        async with web_client(base) as operator, web_client(base) as technician:
            async with operator.post("/api/undeclared") as r:
                assert r.status == 401
            _, op = await web_login(operator, PIN)
            async with operator.post("/api/undeclared", headers={"X-CSRF-Token": op["csrf_token"]}) as r:
                assert r.status == 403 and "Technician login required" in await r.text()
            async with operator.post("/api/declared", headers={"X-CSRF-Token": op["csrf_token"]}) as r:
                assert r.status == 200
            assert calls == ["/api/declared"]
            _, tech = await web_login(technician, PASSWORD)
            async with technician.post("/api/undeclared", headers={"X-CSRF-Token": tech["csrf_token"]}) as r:
                assert r.status == 200
            async with technician.post("/api/nowhere", headers={"X-CSRF-Token": tech["csrf_token"]}) as r:
                assert r.status == 404
            assert calls == ["/api/declared", "/api/undeclared"]
    serve(check)


def test_login_form_works_without_script_and_only_sends_you_home(web_client):
    async def check(base, _calls):
        async with web_client(base) as browser:
            async with browser.get("/login?next=/climate") as r:
                page = await r.text()
                assert r.status == 200 and r.headers["X-Frame-Options"] == "DENY"
            assert page.index("Mật khẩu kỹ thuật viên") < page.index("Technician password")
            assert 'name="next" value="/climate"' in page
            async with browser.get('/login?next="><script>') as r:
                assert "<script>" not in (await r.text()).split("</style>")[1]
            for target, landing in (("/climate", "/climate"), ("//evil.example/x", "/"),
                                    ("https://evil.example/", "/"), ("/\\evil.example", "/"), ("", "/")):
                async with browser.post("/login", data={"password": PASSWORD, "next": target},
                                        allow_redirects=False) as r:
                    assert (r.status, r.headers["Location"]) == (303, landing), target
            async with browser.post("/login", data={"password": "nope", "next": "/climate"}) as r:
                page = await r.text()
                assert r.status == 401 and "Sai mật khẩu / Wrong password" in page
                assert 'value="/climate"' in page
            async with browser.post("/login", data={"password": ""}) as r:
                assert r.status == 400
            async with browser.post("/login", data={"password": "x" * 2000}) as r:
                assert r.status == 400  # never hashed
    serve(check)


def test_a_flood_of_kiosk_sessions_does_not_push_out_a_technician(web_client, web_login):
    async def check(base, calls):
        async with web_client(base) as technician, aiohttp.ClientSession(
                base, cookie_jar=aiohttp.DummyCookieJar()) as flood:
            _, tech = await web_login(technician, PASSWORD)
            first = None
            for _ in range(1100):  # every request without a cookie is handed a new kiosk session
                async with flood.get("/api/session") as r:
                    answer = await r.json()
                    if first is None:
                        first = (r.cookies["sohoa_session"].value, answer["csrf_token"])
            assert answer["role"] == "operator"
            async with flood.post("/api/declared", headers={"X-CSRF-Token": first[1],
                                                           "Cookie": f"sohoa_session={first[0]}"}) as r:
                assert r.status == 401  # the store stayed at its cap: the oldest kiosk session went
            async with technician.post("/api/undeclared", headers={"X-CSRF-Token": tech["csrf_token"]}) as r:
                assert r.status == 200
    serve(check, operator_open=True)


def test_an_ipv6_client_is_limited_by_its_64():
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("::ffff:192.0.2.7") == "192.0.2.7"
    assert client_key("192.0.2.7") != client_key("192.0.2.8")
