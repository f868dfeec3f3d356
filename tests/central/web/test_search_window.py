"""Catalogue search beyond a handful of matches (design §5.15 "Search"), on SQLite FTS5 and on PostgreSQL,
through real HTTP: the total is exact up to 1,000 and "more than 1,000" beyond it, in the JSON and on the
page; results come most relevant first, ties by file code; filters and modes are applied inside the window."""

from __future__ import annotations

from central.web import records
from central.web.search import TOTAL_CAP

PHRASE = "khai sinh"


def _add(state, n: int, *, start: int, hits: int = 1, mode: str = "01", doc_type: str = "Báo cáo") -> list[str]:
    """*n* record files whose OCR text holds "khai sinh" *hits* times, all texts of the same length."""
    codes = []
    for i in range(start, start + n):
        code = f"H02.002.2025.{i:04d}"
        text = " ".join(["khai sinh"] * hits + ["ba mươi"] * (3 - hits))  # three pairs of words in each
        records.add_record(state, file_code=code, device_id="xa-tan-lap", mode=mode, title="Sổ đăng ký",
                           fields={"doc_type": doc_type}, documents=[], pages=1, ocr_text=text)
        codes.append(code)
    return codes


def test_capped_total_and_relevance_order(kit, webkit, central_backend, tmp_path):
    async def body():
        site = await webkit.start_site(tmp_path, backends=central_backend.open)
        try:
            webkit.add_staff(site.state)
            # 1,002 matches on the phrase: 995 with it once, 2 twice, 3 three times (written first, between and
            # late, so no physical order favours them); one of another type, and one conditional (02) written last.
            best = _add(site.state, 1, start=0, hits=3)
            plain = _add(site.state, 498, start=1)
            best += _add(site.state, 1, start=500, hits=3)
            plain += _add(site.state, 199, start=501)
            second = _add(site.state, 2, start=700, hits=2)
            plain += _add(site.state, 298, start=702)
            best += _add(site.state, 1, start=1002, hits=3)
            other_type = _add(site.state, 1, start=1000, doc_type="Quyết định")
            conditional = _add(site.state, 1, start=1001, mode="02")
            assert len(best + second + plain + other_type + conditional) == TOTAL_CAP + 2
            _add(site.state, 5, start=2000, hits=0)  # no match at all

            async with webkit.session() as s:
                assert await webkit.login(s, site.web_url, "archivist") == 303

                async def find(**params):
                    async with s.get(site.web_url + "api/search", params=params) as r:
                        assert r.status == 200
                        return await r.json()

                # More than the cap: a lower bound, and the best of the window first, ties by file code. The window
                # is the first 1,001 matches found: all but one (which one depends on the index's order).
                got = await find(q=PHRASE)
                assert (got["total"], got["total_is_lower_bound"]) == (TOTAL_CAP, True)
                codes = [h["file_code"] for h in got["results"]]
                assert len(codes) == 50 and len(set(codes)) == 50
                top = [c for c in codes if c in best + second]
                assert len(top) >= 4 and codes[:len(top)] == sorted(set(best) & set(top)) + sorted(set(second) & set(top))
                rest = codes[len(top):]
                assert set(rest) <= set(plain + other_type + conditional) and rest == sorted(rest)
                assert len(set(sorted(plain)[:len(rest)]) - set(rest)) <= 1
                # The last word as typed so far: a prefix, when the whole word "si" finds nothing.
                got = await find(q="khai si")
                assert (got["total"], got["total_is_lower_bound"]) == (TOTAL_CAP, True)
                assert [h["file_code"] for h in got["results"]][:len(top)] == codes[:len(top)]
                # Exactly the cap: one type, or one mode, filtered inside the window: exact, not a lower bound.
                got = await find(q=PHRASE, type="Báo cáo", mode="01")
                assert (got["total"], got["total_is_lower_bound"]) == (TOTAL_CAP, False)
                assert other_type[0] not in {h["file_code"] for h in got["results"]}
                got = await find(q=PHRASE, mode="02")
                assert (got["total"], got["total_is_lower_bound"]) == (1, False)
                assert [h["file_code"] for h in got["results"]] == conditional
                # Under the cap: exact, every match in relevance order; typed with its diacritics too.
                for q in ("khai sinh ba", "KHAI SINH Bá"):
                    got = await find(q=q)
                    assert (got["total"], got["total_is_lower_bound"]) == (len(second) + len(plain) + 2, False), q
                    codes = [h["file_code"] for h in got["results"]]
                    # Twice the phrase and one "ba mươi" ranks above once and two of it for "khai sinh ba": the
                    # order holds the same on both backends for what both rank alike: ties by file code.
                    assert codes == sorted(second + plain, key=lambda c: (c not in second, c))[:50], q
                # The page says it in words.
                async with s.get(site.web_url + "search", params={"q": PHRASE}) as r:
                    page = await r.text()
                assert f"Hơn {TOTAL_CAP} kết quả" in page and f"More than {TOTAL_CAP} results" in page
                async with s.get(site.web_url + "search", params={"q": PHRASE, "mode": "02"}) as r:
                    assert "1 kết quả / 1 results" in await r.text()
            # A viewer: the words of a conditional record file find nothing (they would tell what it holds);
            # its file code finds it, listed by code only.
            async with webkit.session() as s:
                assert await webkit.login(s, site.web_url, "viewer") == 303
                async with s.get(site.web_url + "api/search", params={"q": PHRASE, "mode": "02"}) as r:
                    assert (await r.json())["total"] == 0
                async with s.get(site.web_url + "api/search", params={"q": PHRASE}) as r:
                    found = await r.json()
                assert conditional[0] not in {h["file_code"] for h in found["results"]}
                assert (found["total"], found["total_is_lower_bound"]) == (TOTAL_CAP, True)  # 1,001 public ones
                part = conditional[0].split(".", 2)[2]  # "2025.1001": part of the code
                async with s.get(site.web_url + "api/search", params={"q": part, "mode": "02"}) as r:
                    (hit,) = (await r.json())["results"]
                assert hit["file_code"] == conditional[0] and hit["title"] == "" and hit["restricted"] is True
        finally:
            await site.close()
    kit.run(body())
