"""The search page's filter form through real HTTP, on SQLite and on PostgreSQL (design §5.15 "The search form"):
type, dates, commune, issuing body and mode filter the results and stay in the form; each role is offered only
what it may see; bad input answers a message in both languages (400), never a 500."""

from __future__ import annotations

import re

import pytest

from central.web import heartbeats, records
from central.web.records import Document
from central.web.search import TOTAL_CAP

PUBLIC, CONDITIONAL, SECRET = "H01.001.2024.001", "H01.001.2024.002", "H01.001.2024.003"
OLD_DECISION, REPORT, HIDDEN_DECISION = "H01.001.2023.010", "H01.001.2024.011", "H01.001.2024.012"
SON_VI = "H02.004.2024.001"
POLICE, LAND_OFFICE = "Công an xã Tân Lập", "Văn phòng đăng ký đất đai"
# (code, device, mode, title, doc_type, issuer, start date) beside the three samples of conftest.py
EXTRA = ((OLD_DECISION, "xa-tan-lap", "01", "Quyết định khen thưởng", "Quyết định", "Ủy ban nhân dân xã Tân Lập",
          "2023-06-01"),
         (REPORT, "xa-tan-lap", "01", "Báo cáo an toàn giao thông", "14", POLICE, "2024-01-10"),
         (HIDDEN_DECISION, "xa-tan-lap", "02", "Quyết định thu hồi đất", "02", LAND_OFFICE, "2024-01-20"),
         (SON_VI, "xa-son-vi", "01", "Quyết định thành lập tổ hòa giải", "02", "Ủy ban nhân dân xã Sơn Vi",
          "2024-01-15"))


@pytest.fixture
def search_site(tmp_path, kit, webkit, central_backend):
    async def make():
        site = await webkit.start_site(tmp_path, backends=central_backend.open)
        webkit.add_staff(site.state)
        webkit.add_samples(site.state, "xa-tan-lap")
        heartbeats.set_place(site.state, "xa-son-vi", commune="Sơn Vi", district="Lâm Thao", province="Phú Thọ")
        heartbeats.set_place(site.state, "xa-lang-son", commune="Hoàng Văn Thụ", district="Thành phố Lạng Sơn",
                             province="Lạng Sơn")
        for code, device, mode, title, kind, issuer, start in EXTRA:
            records.add_record(site.state, file_code=code, device_id=device, mode=mode, title=title,
                               fields={"doc_type": kind, "issuer": issuer, "start_date": start},
                               documents=[Document(1, {"title": {"value": title, "confidence": 0.9}})], pages=2)
        return site
    return make


def _codes(page: str) -> list[str]:
    return re.findall(r'<tr class="[a-z]*"><td><a href="/record/([^"]+)">', page)


def _selected(page: str, name: str) -> str:
    select = re.search(rf'<select name="{name}" id="{name}">(.*?)</select>', page, re.S)[1]
    found = re.search(r'<option (?:value="([^"]*)" )?selected>([^<]*)</option>', select)
    return (found[1] if found[1] is not None else found[2]) if found else ""


def _options(page: str, name: str) -> dict[str, str]:
    select = re.search(rf'<select name="{name}" id="{name}">(.*?)</select>', page, re.S)[1]
    return {m[1]: m[2] for m in re.finditer(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select)}


def _value(page: str, name: str) -> str:
    return re.search(rf'<input[^>]* name="{name}"[^>]*value="([^"]*)"', page)[1]


def test_the_form_filters_and_keeps_what_was_asked(kit, webkit, search_site):
    async def body():
        site = await search_site()
        url = site.web_url
        try:
            async with webkit.session() as s:
                assert await webkit.login(s, url, "viewer") == 303
                # Nothing asked: the form alone, every field there, no result table.
                async with s.get(url + "search") as r:
                    assert r.status == 200
                    page = await r.text()
                assert 'id="hint"' in page and 'id="results"' not in page
                assert 'method="get" action="/search" id="search-form"' in page
                assert 'type="date" name="since"' in page and 'type="date" name="until"' in page
                assert 'id="clear" href="/search"' in page
                assert "Loại văn bản <span class=\"en\">Document type</span>" in page
                types = _options(page, "type")
                assert len(types) == 33 and types["02"] == "02 Quyết định" and types[""] == "Tất cả / All"
                # A viewer is offered every mode as it sees it: 02 and 03 by code and counts only.
                modes = _options(page, "mode")
                assert modes["01"] == "01 Công khai / 01 public"
                assert modes["02"] == ("02 Sử dụng có điều kiện: chỉ mã và số lượng / "
                                       "02 conditional: code and counts only")
                assert modes["03"] == "03 Mật: chỉ mã và số lượng / 03 secret: code and counts only"
                # Communes by province, as the overview has them; issuing bodies only of what a viewer may read.
                assert re.search(r'<optgroup label="Phú Thọ"><option>Sơn Vi</option><option>Tân Lập</option>'
                                 r'</optgroup>', page)
                assert '<optgroup label="Lạng Sơn"><option>Hoàng Văn Thụ</option>' in page
                bodies = re.findall(r'<option value="([^"]*)"></option>', page)
                assert POLICE in bodies and LAND_OFFICE not in bodies

                # A type and a date range, no words: the decisions of January 2024 a viewer may read.
                asked = {"type": "02", "since": "2024-01-01", "until": "2024-01-31"}
                async with s.get(url + "search", params=asked) as r:
                    assert r.status == 200
                    page = await r.text()
                assert sorted(_codes(page)) == [PUBLIC, SON_VI]
                assert "2 kết quả / 2 results" in page
                assert (_selected(page, "type"), _value(page, "since"), _value(page, "until")) == (
                    "02", "2024-01-01", "2024-01-31")
                active = re.search(r'<p id="active">(.*?)</p>', page)[1]
                assert "Đang lọc / Filtered by" in active and "<b>02 Quyết định</b>" in active
                assert "<b>2024-01-01</b>" in active and "<b>2024-01-31</b>" in active
                assert 'id="content-note"' in page  # the conditional decision was left out for a viewer
                assert "02 Quyết định" in page.split('id="results"')[1]  # the type column names the type
                # The same through the API, and with the commune too.
                async with s.get(url + "api/search", params=asked) as r:
                    assert sorted(h["file_code"] for h in (await r.json())["results"]) == [PUBLIC, SON_VI]
                async with s.get(url + "search", params=asked | {"commune": "Sơn Vi"}) as r:
                    page = await r.text()
                assert _codes(page) == [SON_VI] and _selected(page, "commune") == "Sơn Vi"
                # An issuing body alone; a type by its name, as older links send it.
                async with s.get(url + "search", params={"issuer": POLICE}) as r:
                    page = await r.text()
                assert _codes(page) == [REPORT] and _value(page, "issuer") == POLICE
                async with s.get(url + "search", params={"type": "Quyết định", "until": "2023"}) as r:
                    page = await r.text()
                assert _codes(page) == [OLD_DECISION] and _selected(page, "type") == "02"
                # A viewer asking for conditional decisions by type learns nothing of them.
                async with s.get(url + "api/search", params={"type": "02", "mode": "02"}) as r:
                    assert (await r.json())["total"] == 0
                # Words and a mode: the mode stays chosen; the secret record file by its code alone.
                async with s.get(url + "search", params={"q": "2024.003", "mode": "03"}) as r:
                    page = await r.text()
                assert _codes(page) == [SECRET] and _selected(page, "mode") == "03" and _value(page, "q") == "2024.003"
                assert "an ninh" not in page

            async with webkit.session() as s:
                assert await webkit.login(s, url, "archivist") == 303
                async with s.get(url + "search") as r:
                    page = await r.text()
                modes = _options(page, "mode")
                assert modes["02"] == "02 Sử dụng có điều kiện / 02 conditional" and "chỉ mã" in modes["03"]
                assert LAND_OFFICE in re.findall(r'<option value="([^"]*)"></option>', page)
                async with s.get(url + "search", params=asked) as r:
                    page = await r.text()
                assert sorted(_codes(page)) == [PUBLIC, HIDDEN_DECISION, SON_VI]
                assert 'id="content-note"' not in page  # nothing an archivist may read was left out
                async with s.get(url + "search", params=asked | {"mode": "02"}) as r:
                    page = await r.text()
                assert _codes(page) == [HIDDEN_DECISION] and _selected(page, "mode") == "02"
        finally:
            await site.close()
    kit.run(body())


# (query, the message's code, a phrase of its Vietnamese text)
BAD = (({"since": "2024-13-01"}, "search.bad_since", "Từ ngày không hợp lệ: 2024-13-01"),
       ({"since": "2024-02-30"}, "search.bad_since", "Từ ngày không hợp lệ: 2024-02-30"),
       ({"until": "hôm qua"}, "search.bad_until", "Đến ngày không hợp lệ: hôm qua"),
       ({"since": "2024-02-01", "until": "2024-01-31"}, "search.dates_reversed",
        "Từ ngày 2024-02-01 sau đến ngày 2024-01-31"),
       ({"mode": "04"}, "search.bad_mode", "Chế độ sử dụng không có: 04"),
       ({"type": "99"}, "search.bad_type", "Loại văn bản không có: 99"),
       ({"type": "Sổ hộ tịch"}, "search.bad_type", "Loại văn bản không có: Sổ hộ tịch"),
       ({"q": "quyết định " * 20}, "search.q_too_long", "Từ khóa quá dài: 219 ký tự, tối đa 200"),
       ({"issuer": "Ủy ban " * 40}, "search.issuer_too_long", "Tên cơ quan ban hành quá dài: 279 ký tự"),
       ({"commune": "x" * 101}, "search.commune_too_long", "Tên xã quá dài: 101 ký tự, tối đa 100"),
       ({"q": "<script>alert(1)</script>", "since": "<b>"}, "search.bad_since", "Từ ngày không hợp lệ: &lt;b&gt;"))


def test_bad_input_answers_a_message_never_a_500(kit, webkit, search_site):
    async def body():
        site = await search_site()
        url = site.web_url
        try:
            async with webkit.session() as s:
                assert await webkit.login(s, url, "archivist") == 303
                for params, code, phrase in BAD:
                    async with s.get(url + "search", params=params) as r:
                        assert r.status == 400, params
                        page = await r.text()
                    problem = re.search(r'<p id="problem" role="alert">(.*?)</p>', page)[1]
                    assert phrase in problem and " / " in problem, (params, problem)
                    assert 'id="search-form"' in page and 'id="results"' not in page
                    assert "<script>alert" not in page and "<b>" not in page.split('id="problem"')[1]
                    async with s.get(url + "api/search", params=params) as r:
                        assert r.status == 400, params
                        error = (await r.json())["error"]
                    assert error["code"] == code and error["vi"] and error["en"], params
                # What the form keeps: the reversed dates stay in it, to be mended.
                async with s.get(url + "search", params={"since": "2024-02-01", "until": "2024-01-31"}) as r:
                    page = await r.text()
                assert (_value(page, "since"), _value(page, "until")) == ("2024-02-01", "2024-01-31")
                assert "From 2024-02-01 is after to 2024-01-31" in page
                # Good input at the edges: a year or a month as a date, one day as a range, 200 characters.
                for params in ({"since": "2024", "until": "2024"}, {"since": "2024-01", "until": "2024-01-05"},
                               {"since": "2024-01-05", "until": "2024-01-05"}, {"q": "x" * 200}):
                    async with s.get(url + "search", params=params) as r:
                        assert r.status == 200, params
                async with s.get(url + "api/search", params={"since": "2024-01-05", "until": "2024-01-05"}) as r:
                    assert [h["file_code"] for h in (await r.json())["results"]] == [PUBLIC]
                # The index holds the fields' values, not their keys or confidences.
                for word in ("confidence", "value", "doc type", "issuer"):
                    async with s.get(url + "api/search", params={"q": word}) as r:
                        assert (await r.json())["total"] == 0, word
                async with s.get(url + "api/search", params={"q": "thu hoi dat"}) as r:
                    assert [h["file_code"] for h in (await r.json())["results"]] == [HIDDEN_DECISION]
        finally:
            await site.close()
    kit.run(body())


def test_more_than_the_cap_is_said_with_filters_alone(kit, webkit, tmp_path):
    async def body():
        site = await webkit.start_site(tmp_path)
        try:
            webkit.add_staff(site.state)
            for i in range(TOTAL_CAP + 1):
                records.add_record(site.state, file_code=f"H03.001.2024.{i:04d}", device_id="xa-tan-lap", mode="01",
                                   title="Biên bản họp", fields={"doc_type": "20", "start_date": "2024-03-01"},
                                   documents=[], pages=1)
            async with webkit.session() as s:
                assert await webkit.login(s, site.web_url, "viewer") == 303
                async with s.get(site.web_url + "search", params={"type": "20", "since": "2024-03-01"}) as r:
                    page = await r.text()
                assert f"Hơn {TOTAL_CAP} kết quả" in page and f"More than {TOTAL_CAP} results" in page
                assert len(_codes(page)) == 50
                async with s.get(site.web_url + "search", params={"type": "20", "until": "2024-02-29"}) as r:
                    assert "0 kết quả / 0 results" in await r.text()
        finally:
            await site.close()
    kit.run(body())
