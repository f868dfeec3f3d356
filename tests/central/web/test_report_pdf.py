"""The monthly report as a PDF of real text (design 5.15): fetched over HTTP by an archivist, read back with
poppler's ``pdftotext``; the figures are those the heartbeats and the ingested record files gave."""

from __future__ import annotations

import asyncio
import calendar
import subprocess

from pathlib import Path

from central.web import audit, heartbeats
from sync import heartbeat

DOCS = Path(__file__).resolve().parents[3] / "docs"


def _pdftotext(data: bytes, tmp_path, name: str) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def _march(state, device: str, pages: int, warned: int, rating: str, alert_every: int) -> None:
    """Ten days of March 2026 reported by *device*."""
    for day in range(1, 11):
        at = calendar.timegm((2026, 3, day, 9, 0, 0)) + 0.0
        report = {"v": 1, "device": device, "seq": int(at * 1000), "sent_at": at, "queue_depth": day % 4,
                  "pages_today": pages, "pages_processed_today": pages, "pages_warned_today": warned,
                  "climate": {"rating": rating if day == 5 else "good",
                              "alerts": ["rh_high"] if day % alert_every == 0 else []}}
        heartbeats.record(state, heartbeat.Heartbeat(device, report["seq"], at, report), now=at)


async def _scenario(tmp_path, webkit) -> None:
    site = await webkit.start_site(tmp_path)
    try:
        webkit.add_staff(site.state)
        heartbeats.set_place(site.state, "xa-a", commune="Tân Lập", district="Cẩm Khê", province="Phú Thọ")
        heartbeats.set_place(site.state, "xa-b", commune="Hoàng Văn Thụ", district="TP", province="Lạng Sơn")
        _march(site.state, "xa-a", 100, 10, "risk", 2)
        _march(site.state, "xa-b", 50, 0, "good", 100)
        heartbeats.set_place(site.state, "xa-that", commune="Sơn Vi", district="Lâm Thao", province="Phú Thọ")
        pkgs = await webkit.ingest_real(site, tmp_path, ("01", "02", "03"), device_id="xa-that")
        url = site.web_url
        async with webkit.session() as s:
            assert await webkit.login(s, url, "viewer") in (302, 303)
            async with s.get(url + "reports/monthly.pdf") as r:
                assert r.status == 403
        async with webkit.session() as s:
            assert await webkit.login(s, url, "archivist") in (302, 303)
            async with s.get(url + "") as r:
                assert 'href="/reports/monthly.pdf"' in await r.text()
            async with s.get(url + "reports/monthly.pdf") as r:
                assert r.status == 200 and r.headers["Content-Type"] == "application/pdf"
                whole = await r.read()
            async with s.get(url + "reports/monthly.pdf", params={"month": "2026-03"}) as r:
                march = await r.read()
        assert audit.entries(site.state, action="export")[0]["target"] == "monthly.pdf"
        return whole, march, pkgs
    finally:
        await site.close()


def test_the_monthly_report_pdf_is_real_text_with_the_figures(tmp_path, webkit):
    whole, march, pkgs = asyncio.run(_scenario(tmp_path, webkit))
    text = _pdftotext(whole, tmp_path, "whole.pdf")
    assert "Báo cáo số hóa hằng tháng / Monthly digitization report" in text
    assert "Theo tỉnh, theo tháng" in text and "Theo xã, theo tháng" in text
    lines = text.splitlines()

    def line(*words: str) -> str:
        found = [ln for ln in lines if all(w in ln for w in words)]
        assert len(found) >= 1, (words, text)
        return found[0]
    # Per province, March: Phú Thọ is one station of 10 x 100 pages, 10 % warned, its worst day "risk", alerts on
    # 5 days; Lạng Sơn 10 x 50 pages, none warned.
    pt = line("2026-03", "Phú Thọ").split()
    assert pt[pt.index("Thọ") + 1:pt.index("Thọ") + 8] == ["1", "1000", "0", "0", "90%", "2", "risk"], pt
    assert pt[pt.index("risk") + 1] == "5"
    ls = line("2026-03", "Lạng Sơn").split()
    assert ls[ls.index("Sơn") + 1:ls.index("Sơn") + 8] == ["1", "500", "0", "0", "100%", "2", "good"], ls
    # The record files ingested this month, from the station of Sơn Vi: three, of 1 + 2 + 1 documents, the
    # secret one's type unknown here.
    sv = line("Sơn Vi").split()
    i = sv.index("Vi")
    documents = sum(p.documents for p in pkgs)
    assert sv[i + 1:i + 5] == ["1", "0", "3", str(documents)], sv
    assert "mật hoặc chưa rõ: " + str(pkgs[2].documents) in text

    # Its first page as a picture for the docs (poppler's pdftoppm), beside the web's screenshots.
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(tmp_path / "whole.pdf"),
                    str(DOCS / "central-web-9-report")], check=True)

    only = _pdftotext(march, tmp_path, "march.pdf")
    assert "2026-03" in only and "Sơn Vi" not in only
