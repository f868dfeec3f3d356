"""Access to the central web through real HTTP: each role against each route and mode, the guard's
refusals (Host, cross-origin, CSRF, guess limiting), search with and without diacritics, the audit chain
(design §5.15, W1-W5, A03)."""

from __future__ import annotations

import pytest

from central.web import audit

PUBLIC, CONDITIONAL, SECRET = (code for code, *_ in
                               (("H01.001.2024.001",), ("H01.001.2024.002",), ("H01.001.2024.003",)))
PDF = b"%PDF-1.4\n% sample\n"

# route -> least role; record routes are checked per mode below.
ROUTES = {"/": "viewer", "/api/stations": "viewer", "/search?q=x": "viewer", "/api/search?q=x": "viewer",
          "/audit": "archivist", "/api/audit/verify": "archivist", "/reports/monthly.csv": "archivist",
          "/audit.csv": "administrator"}
LEVEL = {None: 0, "viewer": 1, "archivist": 2, "administrator": 3}
# (role, mode) -> may read the record file's content (A03: nobody reads 03 here)
READS = {("viewer", "01"), ("archivist", "01"), ("archivist", "02"), ("administrator", "01"),
         ("administrator", "02")}


async def _status(s, method, url, **kw):
    async with s.request(method, url, allow_redirects=False, **kw) as r:
        body = await r.read()
        return r.status, body


@pytest.fixture
def site_with_records(tmp_path, kit, webkit, central_backend):
    """A running receiver and web (SQLite, then PostgreSQL) with one station, its three sample record
    files, a PDF and staff."""
    app = kit.Appliance(tmp_path / "appliance", device_id="xa-tan-lap")

    async def make():
        site = await webkit.start_site(tmp_path, backends=central_backend.open)
        await app.enroll(site.rx)
        webkit.add_staff(site.state)
        webkit.add_samples(site.state, app.device_id, pdf_key=webkit.PDF_NAME, store=site.rx.core.store, pdf=PDF)
        return site
    return make


def test_each_role_against_each_route_and_mode(kit, webkit, site_with_records):
    async def body():
        site = await site_with_records()
        url = site.web_url
        try:
            for role in (None, *webkit.ROLES):
                async with webkit.session() as s:
                    if role:
                        assert await webkit.login(s, url, role) == 303
                    for route, least in ROUTES.items():
                        status, _ = await _status(s, "GET", url + route.lstrip("/"))
                        if role is None:
                            expected = {303} if not route.startswith("/api/") else {401}
                        else:
                            expected = {200} if LEVEL[role] >= LEVEL[least] else {403}
                        assert status in expected, (role, route, status)
                    for code, mode in ((PUBLIC, "01"), (CONDITIONAL, "02"), (SECRET, "03")):
                        for suffix in ("", "/pdf/1", "/export"):
                            status, page = await _status(s, "GET", f"{url}record/{code}{suffix}")
                            if role is None:
                                ok = {303}
                            elif (role, mode) not in READS:
                                ok = {403}
                            elif suffix == "/export" and role == "viewer":
                                ok = {403}
                            elif suffix == "/export":
                                ok = {404}  # samples without a package (real ones: test_export_web.py)
                            else:
                                ok = {200}
                            assert status in ok, (role, code, suffix, status)
                            if status == 200 and suffix == "/pdf/1":
                                assert page == PDF
                            if status == 200 and suffix == "":
                                assert "Quyết định" in page.decode() or mode == "02"
                            if mode == "03":
                                assert "an ninh" not in page.decode()  # A03: the title never leaves
                        # the record page as JSON: the same rule, answered as an API answers
                        status, page = await _status(s, "GET", f"{url}api/record/{code}")
                        assert status == (401 if role is None else 200 if (role, mode) in READS else 403), (
                            role, code, "api", status)
                        if status == 200:
                            assert b'"documents"' in page and (b"Quy" in page or mode == "02")
                        assert b"an ninh" not in page
                    # Search: every role finds the three codes, content only where it may read.
                    async with s.get(url + "api/search", params={"q": "H01.001.2024"}) as r:
                        if role is None:
                            assert r.status == 401
                            continue
                        found = await r.json()
                    assert found["total"] == 3
                    titles = {hit["file_code"]: hit["title"] for hit in found["results"]}
                    assert titles[SECRET] == ""
                    assert (titles[CONDITIONAL] != "") == (role != "viewer")
                    assert titles[PUBLIC].startswith("Quyết định")
            # Every refusal of a record file is in the audit trail, and the chain holds.
            refused = [e for e in audit.entries(site.state, action="view_refused", limit=1000)]
            assert {(e["actor"], e["target"]) for e in refused} >= {("viewer", CONDITIONAL), ("viewer", SECRET),
                                                                    ("archivist", SECRET)}
            assert all("an ninh" not in e["detail"] for e in audit.entries(site.state, limit=1000))
            assert {e["action"] for e in audit.entries(site.state, limit=1000)} >= {
                "login", "view", "download", "export", "view_refused"}
            assert audit.verify(site.state).first_bad is None
        finally:
            await site.close()
    kit.run(body())


def test_search_with_and_without_diacritics(kit, webkit, site_with_records):
    async def body():
        site = await site_with_records()
        url = site.web_url
        try:
            async with webkit.session() as s:
                assert await webkit.login(s, url, "archivist") == 303
                for q, expect in (("quyet dinh", {PUBLIC}), ("Quyết định", {PUBLIC}), ("QUYET DINH dat", {PUBLIC}),
                                  ("ho tich", {CONDITIONAL}), ("tan lap", {PUBLIC, CONDITIONAL}),
                                  ("an ninh", set()),  # a secret record file's words are nowhere
                                  ("2024.003", {SECRET}), ("quyet", {PUBLIC}), ("noi dung trang", {PUBLIC, CONDITIONAL}),
                                  ('" OR 1=1 --', set()), ("zzz", set())):
                    async with s.get(url + "api/search", params={"q": q}) as r:
                        assert r.status == 200, q
                        data = await r.json()
                    assert {hit["file_code"] for hit in data["results"]} == expect, q
                    assert data["total"] == len(expect)
                async with s.get(url + "api/search", params={"q": "h01", "mode": "02"}) as r:
                    assert [h["file_code"] for h in (await r.json())["results"]] == [CONDITIONAL]
                for params, expect in (({"type": "Quyết định"}, {PUBLIC}), ({"since": "2024-01-01"}, {PUBLIC}),
                                       ({"until": "2023-12-31"}, set()), ({"until": "2024-01-05"}, {PUBLIC}),
                                       ({"commune": "Tân Lập"}, {PUBLIC, CONDITIONAL, SECRET}),
                                       ({"commune": "Sơn Vi"}, set())):
                    async with s.get(url + "api/search", params={"q": "h01", **params}) as r:
                        assert {h["file_code"] for h in (await r.json())["results"]} == expect, params
                async with s.get(url + "search", params={"q": "quyet dinh"}) as r:
                    page = await r.text()
                assert "Quyết định về việc cấp giấy" in page and "1 kết quả" in page
        finally:
            await site.close()
    kit.run(body())


def test_forged_cross_origin_and_wrong_host_requests_are_refused(kit, webkit, site_with_records):
    async def body():
        site = await site_with_records()
        url = site.web_url
        host = url.split("/")[2]
        try:
            async with webkit.session() as s:
                # W1: a Host not on the allow-list, even with a session.
                assert (await _status(s, "GET", url, headers={"Host": "evil.example"}))[0] == 421
                # W2: a login posted from another site.
                st, _ = await _status(s, "POST", url + "login", data={"user": "viewer", "password": webkit.PASSWORD},
                                      headers={"Origin": "http://evil.example"})
                assert st == 403
                st, _ = await _status(s, "POST", url + "login", data={"user": "viewer", "password": webkit.PASSWORD},
                                      headers={"Sec-Fetch-Site": "cross-site"})
                assert st == 403
                assert await webkit.login(s, url, "administrator") == 303
                token = await webkit.csrf_token(s, url)
                assert token
                # W3: logout without the token, with a wrong one, from another origin: all refused.
                assert (await _status(s, "POST", url + "logout"))[0] == 403
                assert (await _status(s, "POST", url + "logout", data={"csrf_token": "x" * 43}))[0] == 403
                assert (await _status(s, "POST", url + "logout", data={"csrf_token": token},
                                      headers={"Origin": "http://evil.example"}))[0] == 403
                assert (await _status(s, "GET", url + "api/stations"))[0] == 200  # still logged in
                assert (await _status(s, "POST", url + "logout", data={"csrf_token": token},
                                      headers={"Origin": f"http://{host}"}))[0] == 303
                assert (await _status(s, "GET", url + "api/stations"))[0] == 401
            # A forged session cookie is nobody.
            async with webkit.session() as s:
                s.cookie_jar.update_cookies({"sohoa_central_session": "forged-session-id"})
                assert (await _status(s, "GET", url + "api/stations"))[0] == 401
            # W5: wrong passwords are limited; the right one then waits too; failures are audited.
            async with webkit.session() as s:
                statuses = [await webkit.login(s, url, "viewer", "wrong-password-x") for _ in range(7)]
                assert statuses[:5] == [401] * 5 and 429 in statuses[5:]
                assert await webkit.login(s, url, "viewer") == 429
                assert await webkit.login(s, url, "nobody-here", "whatever-pw") in (401, 429)
            failed = audit.entries(site.state, action="login_failed", limit=100)
            assert len(failed) >= 5 and all(e["actor"] == "viewer" for e in failed[-5:])
        finally:
            await site.close()
    kit.run(body())


def test_the_audit_chain_finds_a_changed_entry(kit, webkit, site_with_records):
    async def body():
        site = await site_with_records()
        try:
            async with webkit.session() as s:
                assert await webkit.login(s, site.web_url, "administrator") == 303
                for code in (PUBLIC, CONDITIONAL):
                    assert (await _status(s, "GET", f"{site.web_url}record/{code}"))[0] == 200
                st, csv_body = await _status(s, "GET", site.web_url + "audit.csv")
                assert st == 200 and csv_body.decode().count("\n") >= 4
                assert audit.verify(site.state).first_bad is None
                with site.state.tx() as db:
                    db.execute("UPDATE audit_log SET target=? WHERE seq=?", ("H99", 2))
                check = audit.verify(site.state)
                assert check.first_bad == 2 and check.checked == 1
                async with s.get(site.web_url + "audit") as r:
                    assert "2" in (await r.text()).split('id="chain">')[1][:120]
        finally:
            await site.close()
    kit.run(body())


def test_administration_needs_an_administrator_a_session_and_its_token(kit, webkit, site_with_records):
    async def body():
        site = await site_with_records()
        url = site.web_url
        try:
            for role in ("viewer", "archivist"):
                async with webkit.session() as s:
                    assert await webkit.login(s, url, role) == 303
                    token = await webkit.csrf_token(s, url)
                    assert (await _status(s, "GET", url + "admin"))[0] == 403
                    st, _ = await _status(s, "POST", url + "admin/users", data={
                        "csrf_token": token, "name": "mallory", "role": "administrator", "password": "x" * 12})
                    assert st == 403
            async with webkit.session() as s:
                assert await webkit.login(s, url, "administrator") == 303
                token = await webkit.csrf_token(s, url)
                new_user = {"name": "mallory", "role": "administrator", "password": "x" * 12}
                assert (await _status(s, "POST", url + "admin/users", data=new_user))[0] == 403  # no token
                st, page = await _status(s, "POST", url + "admin/users", data={**new_user, "csrf_token": token},
                                         headers={"Origin": "http://evil.example"})
                assert st == 403
                st, page = await _status(s, "POST", url + "admin/users",
                                         data={"csrf_token": token, "name": "chi.tran", "role": "archivist",
                                               "password": "mat-khau-du-dai"})
                assert st == 200 and "Đã lưu tài khoản chi.tran (archivist)" in page.decode()
                st, page = await _status(s, "POST", url + "admin/tokens", data={"csrf_token": token,
                                                                               "device": "xa-moi"})
                assert st == 200 and "xa-moi" in page.decode()
                st, page = await _status(s, "POST", url + "admin/revoke", data={"csrf_token": token,
                                                                               "device": "xa-tan-lap"})
                assert st == 200 and site.state.device("xa-tan-lap").revoked
            async with webkit.session() as s:
                assert await webkit.login(s, url, "chi.tran", "mat-khau-du-dai") == 303
                assert await webkit.login(s, url, "mallory", "x" * 12) == 401  # never created
            done = [(e["action"], e["target"]) for e in audit.entries(site.state, limit=100)]
            assert {("user_add", "chi.tran"), ("token_mint", "xa-moi"), ("device_revoke", "xa-tan-lap")} <= set(done)
        finally:
            await site.close()
    kit.run(body())
