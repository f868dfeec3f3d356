"""The /climate page, its JSON and the monthly report, served on loopback."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import math
import re
import time

import pikepdf
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from PIL import Image

from firmware_agent.climate.service import ClimateService
from firmware_agent.climate.report import month_bounds, render, report_data
from firmware_agent.climate.service import band_of
from firmware_agent.climate.settings import ClimateSettings, SensorConfig


def fill(svc: ClimateService, start: float, end: float, step: float = 300) -> None:
    rows = []
    ts = start
    while ts < end:
        phase = math.sin(2 * math.pi * (ts % 86400) / 86400)
        rows.append(("hwmon-sht3x", ts, 24 + 2 * phase, 62 + 5 * phase))
        rows.append(("w1-28-0316a2794aff", ts, 21 + phase, None))
        ts += step
    svc.store.add_many(rows)
    svc.store.compact(end)


@pytest.fixture
def service(tmp_path, sysfs):
    sysfs.hwmon(2, "sht3x", 24.0, 62.0)
    s = ClimateSettings(usb=False, room_name="Kho xã Tân Phú",
                        sensors=(SensorConfig(id="hwmon-sht3x", location="Kệ A <tầng 2>"),))
    svc = ClimateService(s, tmp_path / "climate.sqlite3", sysfs_root=sysfs.root)
    now = time.time()
    fill(svc, now - 62 * 86400, now - 120)  # the whole of the month 20 days ago, whatever today is
    svc.sample_once()
    yield svc
    svc.close()


def serve(service, check):
    async def go():
        app = web.Application()
        service.add_routes(app)
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            await check(client)
    asyncio.run(go())


def test_page_shows_readings_ratings_and_charts_with_band(service):
    async def check(client):
        resp = await client.get("/climate")
        assert resp.status == 200 and resp.content_type == "text/html"
        body = await resp.text()
        assert "Kho xã Tân Phú" in body
        assert "Kệ A &lt;tầng 2&gt;" in body and "<tầng 2>" not in body  # escaped
        assert "24.0 °C, 62.0 %" in body
        svgs = re.findall(r"<svg.*?</svg>", body, re.S)
        assert len(svgs) == 4  # T and RH, 24 h and 30 days
        for svg in svgs:
            assert 'class="band"' in svg and 'class="series"' in svg
        assert 'points="' in svgs[0] and len(re.search(r'points="([^"]+)"', svgs[0]).group(1).split()) > 200
        assert "Nguy cơ / Risk" in body  # 24 °C: PI well below 45 years
        assert "/climate/report?month=" in body
    serve(service, check)


def test_series_json_and_status_json(service):
    async def check(client):
        data = await (await client.get("/climate/series.json?range=30d")).json()
        assert data["bucket_s"] == 3600
        pts = data["sensors"]["hwmon-sht3x"]["points"]
        assert 30 * 24 - 2 <= len(pts) <= 30 * 24 + 1
        assert all(21.9 <= p[1] <= 26.1 and 56.9 <= p[2] <= 67.1 for p in pts)
        assert data["sensors"]["w1-28-0316a2794aff"]["points"][0][2] is None
        day = await (await client.get("/climate/series.json?range=24h")).json()
        assert day["bucket_s"] == 300 and len(day["sensors"]["hwmon-sht3x"]["points"]) >= 280
        assert (await client.get("/climate/series.json?range=1y")).status == 400
        status = await (await client.get("/climate/status.json")).json()
        assert status["sensors"][0]["id"] == "hwmon-sht3x"
        assert status["ratings"]["natural_aging"]["rating"] == "risk"
    serve(service, check)


def test_report_downloads(service):
    month = dt.datetime.fromtimestamp(time.time() - 20 * 86400).strftime("%Y-%m")

    async def check(client):
        resp = await client.get(f"/climate/report?month={month}&format=pdf")
        assert resp.status == 200 and resp.content_type == "application/pdf"
        assert f'filename="climate-{month}.pdf"' in resp.headers["Content-Disposition"]
        pdf = await resp.read()
        assert pdf.startswith(b"%PDF-")
        resp = await client.get(f"/climate/report?month={month}&format=png")
        img = Image.open(io.BytesIO(await resp.read()))
        assert img.format == "PNG" and img.size == (1240, 1754)
        assert (await client.get("/climate/report?month=2026-13")).status == 400
        assert (await client.get(f"/climate/report?month={month}&format=gif")).status == 400
    serve(service, check)


def test_report_data_and_pages(service, tmp_path):
    month = dt.datetime.fromtimestamp(time.time() - 20 * 86400).strftime("%Y-%m")
    start, end = month_bounds(month)
    assert dt.datetime.fromtimestamp(start).day == 1 and 28 * 86400 <= end - start <= 31 * 86400 + 3600
    data = report_data(service.store, month, band=band_of(service.settings), room="Kho",
                       period_s=60, locations={"hwmon-sht3x": "Kệ A"})
    sht = {s["id"]: s for s in data["sensors"]}["hwmon-sht3x"]
    assert sht["location"] == "Kệ A"
    assert sht["figures"]["out_of_band_pct"] == 100.0  # RH never in 45-55 %
    assert 22 <= sht["figures"]["t_c"]["mean"] <= 26
    assert all(row[2] is not None for row in sht["daily"])
    assert {dt.datetime.fromtimestamp(row[0]).hour for row in sht["daily"]} == {0}  # local days
    assert dt.datetime.fromtimestamp(sht["daily"][0][0]).day == 1
    # Seven sensors make three PDF pages.
    many = dict(data, sensors=[dict(sht, id=f"s{i}") for i in range(7)])
    pdf = render(many, "pdf")
    assert len(pikepdf.open(io.BytesIO(pdf)).pages) == 3
    empty = report_data(service.store, "2001-01", band=band_of(service.settings), room="Kho", period_s=60)
    assert empty["sensors"] == [] and render(empty, "png").startswith(b"\x89PNG")
    with pytest.raises(ValueError):
        month_bounds("2026-1")
