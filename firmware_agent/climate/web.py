"""aiohttp routes of the climate page: ``/climate``, its JSON and the monthly report.

The page is server-rendered HTML with inline SVG charts (no script), so it
works offline and prints. Heavy work (queries, report drawing) runs in threads.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import time
from typing import TYPE_CHECKING

from aiohttp import web

from firmware_agent.climate.charts import bucketed, svg_chart
from firmware_agent.climate.report import render, report_data
from firmware_agent.messages import CATALOGUE

if TYPE_CHECKING:
    from firmware_agent.climate.service import ClimateService

RANGES = {"24h": (86400, 300), "30d": (30 * 86400, 3600)}  # span, bucket (s)


def series(service: ClimateService, range_name: str, now: float) -> dict:
    """Bucketed T and RH per sensor over a named range."""
    span, bucket = RANGES[range_name]
    out = {}
    for sid in service.store.sensor_names():
        # Hourly buckets read hourly rows; 5-minute buckets need the minutes.
        pts = bucketed(service.store.rows(sid, now - span, now, "coarse" if bucket >= 3600 else "auto"), bucket)
        if pts:
            out[sid] = {"location": service.location(sid),
                        "points": [[round(ts), round(t, 2), None if rh is None else round(rh, 2)] for ts, t, rh in pts]}
    return {"range": range_name, "start": now - span, "end": now, "bucket_s": bucket, "sensors": out}


def charts_html(service: ClimateService, now: float) -> str:
    band = service.band
    parts = []
    temperature, humidity = CATALOGUE["climate.term.temperature"], CATALOGUE["climate.term.humidity"]
    for name, span in (("24h", CATALOGUE["climate.chart.last_24h"]), ("30d", CATALOGUE["climate.chart.last_30d"])):
        data = series(service, name, now)
        bucket = data["bucket_s"]
        t_series = [(s["location"], [(p[0], p[1]) for p in s["points"]]) for s in data["sensors"].values()]
        rh_series = [(s["location"], [(p[0], p[2]) for p in s["points"] if p[2] is not None])
                     for s in data["sensors"].values()]
        rh_series = [s for s in rh_series if s[1]]
        parts.append(svg_chart(t_series, data["start"], data["end"], band=(band.t_low, band.t_high), unit="°C",
                               title=f"{temperature.vi}, {span.vi} / {temperature.en}, {span.en}", gap_s=3 * bucket))
        parts.append(svg_chart(rh_series, data["start"], data["end"], band=(band.rh_low, band.rh_high), unit="% RH",
                               title=f"{humidity.vi}, {span.vi} / {humidity.en}, {span.en}", gap_s=3 * bucket))
    return "\n".join(f'<figure>{p}</figure>' for p in parts)


def _when(ts: float | None) -> str:
    return "—" if ts is None else dt.datetime.fromtimestamp(ts).strftime("%d/%m/%Y %H:%M")


def page_html(service: ClimateService, now: float) -> str:
    st = service.status()
    e = html.escape

    def label(msg) -> str:
        return e(msg.text)

    years, dew_point = CATALOGUE["climate.term.years"], CATALOGUE["climate.term.dew_point"]
    rows = []
    for s in st["sensors"]:
        if s["state"] == "ok":
            m = s["metrics"] or {}
            value = f"{s['t_c']:.1f} °C" + (f", {s['rh_pct']:.1f} %" if s["rh_pct"] is not None else "")
            extra = (f"PI {m['pi_years']:.0f} {e(years.vi)}/{e(years.en)} · EMC {m['emc_pct']:.1f} % · "
                     f"{e(dew_point.vi)}/{e(dew_point.en)} {m['dew_point_c']:.1f} °C") if m else ""
            state = '<span class="ok">OK</span>'
        else:
            value, extra = "—", e(s["fault"]["detail"] or "")
            state = f'<span class="fault">{e(s["fault"]["message"])}</span>'
        rows.append(f"<tr><td>{e(s['location'])}<br><small>{e(s['id'])} {e(s['description'])}</small></td>"
                    f"<td>{value}</td><td>{state}</td><td><small>{extra}</small></td><td>{_when(s['at'])}</td></tr>")
    ratings = "".join(f"<li>{e(k)}: <b class=\"{e(v['rating'])}\">{e(v['message'])}</b></li>"
                      for k, v in st["ratings"].items()) or "<li>—</li>"
    alerts = "".join(f"<li class=\"fault\">{_when(a['started'])} {e(a['sensor'])}: {e(a['message'])}</li>"
                     for a in st["alerts"]) or f"<li>{label(CATALOGUE['climate.page.no_alerts'])}</li>"
    month = dt.datetime.fromtimestamp(now).strftime("%Y-%m")
    last_month = (dt.datetime.fromtimestamp(now).replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    band = st["band"]
    return f"""<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{label(CATALOGUE["climate.page.title"])} — {e(st['room'])}</title>
<style>body{{font-family:"DejaVu Sans",sans-serif;margin:1em;max-width:60em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.3em .5em;vertical-align:top}}.ok,.good{{color:#060}}
.fault,.risk{{color:#a00}}figure{{margin:.5em 0}}</style></head><body>
<p><a href="/">← {label(CATALOGUE["climate.page.back"])}</a></p>
<h1>{label(CATALOGUE["climate.page.heading"])}: {e(st['room'])}</h1>
<p>{label(CATALOGUE["climate.term.target_band"])}: {band['t_c'][0]:g}–{band['t_c'][1]:g} °C,
{band['rh_pct'][0]:g}–{band['rh_pct'][1]:g} % RH. {label(CATALOGUE["climate.page.updated"])}: {_when(st['updated'])}</p>
<h2>{label(CATALOGUE["climate.page.sensors"])}</h2>
<table><tr><th>{label(CATALOGUE["climate.page.location"])}</th><th>{label(CATALOGUE["climate.page.reading"])}</th>\
<th>{label(CATALOGUE["climate.page.state"])}</th><th></th><th>{label(CATALOGUE["climate.page.at"])}</th></tr>
{''.join(rows) or f'<tr><td colspan="5">{label(CATALOGUE["climate.page.no_sensor"])}</td></tr>'}</table>
<h2>{label(CATALOGUE["climate.page.ratings"])}</h2><ul>{ratings}</ul>
<h2>{label(CATALOGUE["climate.page.alerts"])}</h2><ul>{alerts}</ul>
<h2>{label(CATALOGUE["climate.page.charts"])}</h2>
{charts_html(service, now)}
<h2>{label(CATALOGUE["climate.page.monthly_report"])}</h2>
<p><a href="/climate/report?month={month}&amp;format=pdf">PDF {month}</a> ·
<a href="/climate/report?month={month}&amp;format=png">PNG {month}</a> ·
<a href="/climate/report?month={last_month}&amp;format=pdf">PDF {last_month}</a></p>
</body></html>"""


def add_routes(app: web.Application, service: ClimateService) -> None:
    """``GET /climate``, ``/climate/status.json``, ``/climate/series.json``, ``/climate/report``."""

    async def page(_request: web.Request) -> web.Response:
        text = await asyncio.to_thread(page_html, service, time.time())
        return web.Response(text=text, content_type="text/html", charset="utf-8")

    async def status_json(_request: web.Request) -> web.Response:
        return web.json_response(service.status())

    async def series_json(request: web.Request) -> web.Response:
        name = request.query.get("range", "24h")
        if name not in RANGES:
            raise web.HTTPBadRequest(text=CATALOGUE["climate.bad_range"].format(ranges=", ".join(RANGES)).text)
        return web.json_response(await asyncio.to_thread(series, service, name, time.time()))

    async def report(request: web.Request) -> web.Response:
        month = request.query.get("month") or dt.datetime.now().strftime("%Y-%m")
        fmt = request.query.get("format", "pdf")
        if fmt not in ("png", "pdf"):
            raise web.HTTPBadRequest(text=CATALOGUE["climate.bad_format"].text)
        try:
            body = await asyncio.to_thread(build_report, service, month, fmt)
        except ValueError as exc:
            raise web.HTTPBadRequest(text=f"{CATALOGUE['climate.bad_month'].text}: {exc}") from None
        return web.Response(body=body, content_type="application/pdf" if fmt == "pdf" else "image/png",
                            headers={"Content-Disposition": f'attachment; filename="climate-{month}.{fmt}"'})

    app.router.add_get("/climate", page)
    app.router.add_get("/climate/status.json", status_json)
    app.router.add_get("/climate/series.json", series_json)
    app.router.add_get("/climate/report", report)


def build_report(service: ClimateService, month: str, fmt: str) -> bytes:
    """Render one month's report of this service's store."""
    service.store.compact(service.clock())
    locations = {c.id: c.location for c in service.settings.sensors if c.location}
    data = report_data(service.store, month, band=service.band, room=service.settings.room_name,
                       period_s=service.settings.period_s, locations=locations)
    return render(data, fmt)
