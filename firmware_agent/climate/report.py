"""The monthly room report a technician prints: PNG or PDF, drawn with Pillow.

One A4 page per three sensors at 150 dpi: figures for the month (min/mean/max,
TWPI and its IPI rating, cumulative mould risk, time out of band), a daily
chart of temperature and RH against the band, and the month's alerts. Text is
set in DejaVu Sans, which carries the Vietnamese diacritics.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from firmware_agent.climate.charts import bucketed
from firmware_agent.climate.messages import RATING_MESSAGES, alert_text, both
from firmware_agent.climate.metrics import rate_mold, rate_pi
from firmware_agent.climate.period import Band, period_figures
from firmware_agent.climate.store import ClimateStore
from firmware_agent.messages import CATALOGUE

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
PAGE_W, PAGE_H, DPI = 1240, 1754, 150
SENSORS_PER_PAGE = 3
_MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def month_bounds(month: str) -> tuple[float, float]:
    """Unix start and end of a ``YYYY-MM`` month in the appliance's local time.

    Raises
    ------
    ValueError
        When *month* is not ``YYYY-MM``.
    """
    m = _MONTH_RE.match(month)
    if m is None:
        raise ValueError(f"month must be YYYY-MM, got {month!r}")
    year, mon = int(m.group(1)), int(m.group(2))
    start = dt.datetime(year, mon, 1)
    end = dt.datetime(year + (mon == 12), mon % 12 + 1, 1)
    return start.timestamp(), end.timestamp()


def report_data(store: ClimateStore, month: str, *, band: Band, room: str, period_s: float,
                locations: dict[str, str] | None = None) -> dict:
    """Everything the report shows, as plain data (also what tests check)."""
    start, end = month_bounds(month)
    sensors = []
    for sid in store.sensor_names():
        rows = store.rows(sid, start, end, "coarse")
        fig = period_figures(rows, band, end, period_s)
        if fig is None:
            continue
        offset = dt.datetime.fromtimestamp(start).astimezone().utcoffset().total_seconds()
        daily = bucketed(rows, 86400, offset) if rows else []  # local days
        sensors.append({"id": sid, "location": (locations or {}).get(sid) or sid, "figures": fig,
                        "daily": [(ts, t, rh) for ts, t, rh in daily]})
    return {"room": room, "month": month, "start": start, "end": end, "band": band, "sensors": sensors,
            "alerts": store.alerts(start, end)}


def _font(size: int, bold: bool = False) -> ImageFont.ImageFont:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    for folder in FONT_DIRS:
        if (folder / name).exists():
            return ImageFont.truetype(str(folder / name), size)
    return ImageFont.load_default()  # no DejaVu: ASCII only, still a usable report


def _fmt(value: float | None, unit: str = "") -> str:
    return "—" if value is None else f"{value:.1f}{unit}"


def _chart(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], data: dict, sensor: dict,
           key: int, band: tuple[float, float], unit: str, font) -> None:
    x0, y0, x1, y1 = box
    pts = [(row[0], row[key]) for row in sensor["daily"] if row[key] is not None]
    values = [v for _, v in pts] + list(band)
    lo, hi = min(values) - 1, max(values) + 1
    start, end = data["start"], data["end"]

    def px(ts: float) -> float:
        return x0 + (ts + 43200 - start) / (end - start) * (x1 - x0)

    def py(v: float) -> float:
        return y1 - (v - lo) / (hi - lo) * (y1 - y0)

    draw.rectangle(box, outline="#888888", fill="#ffffff")
    draw.rectangle((x0, py(band[1]), x1, py(band[0])), fill="#d5efd5")
    for i in range(5):
        v = lo + (hi - lo) * i / 4
        draw.line((x0, py(v), x1, py(v)), fill="#eeeeee")
        draw.text((x0 - 6, py(v)), f"{v:.0f}", font=font, fill="#333333", anchor="rm")
    draw.text((x1, y0 - 4), f"{unit}, {CATALOGUE['climate.report.daily_mean'].text}", font=font, fill="#333333",
              anchor="rb")
    for day in (1, 8, 15, 22, 29):
        ts = start + (day - 1) * 86400
        if ts < end:
            draw.text((px(ts), y1 + 4), str(day), font=font, fill="#333333", anchor="ma")
    if len(pts) > 1:
        draw.line([(px(ts), py(v)) for ts, v in pts], fill="#1f77b4", width=3)
    for ts, v in pts:
        draw.ellipse((px(ts) - 3, py(v) - 3, px(ts) + 3, py(v) + 3), fill="#1f77b4")


def _page(data: dict, sensors: list[dict], page_no: int, pages: int, with_alerts: bool) -> Image.Image:
    img = Image.new("RGB", (PAGE_W, PAGE_H), "white")
    d = ImageDraw.Draw(img)
    big, mid, small, tiny = _font(34, True), _font(22, True), _font(19), _font(15)
    band: Band = data["band"]
    mean, years = CATALOGUE["climate.term.mean"], CATALOGUE["climate.term.years"]
    of_time, hours = CATALOGUE["climate.report.of_the_time"], CATALOGUE["climate.report.hours_of_data"]
    y = 60
    d.text((80, y), CATALOGUE["climate.report.title"].text, font=big, fill="black")
    y += 56
    d.text((80, y), f"{data['room']} — {CATALOGUE['climate.report.month'].text} {data['month']}", font=mid,
           fill="black")
    y += 40
    d.text((80, y), f"{CATALOGUE['climate.term.target_band'].text}: {band.t_low:g}–{band.t_high:g} °C, "
                    f"{band.rh_low:g}–{band.rh_high:g} % RH ({CATALOGUE['climate.report.band_default'].text})",
           font=tiny, fill="#444444")
    y += 40
    if not sensors:
        d.text((80, y + 20), CATALOGUE["climate.report.no_data"].text, font=mid, fill="#aa0000")
    for s in sensors:
        f = s["figures"]
        d.line((80, y, PAGE_W - 80, y), fill="#888888", width=2)
        y += 14
        d.text((80, y), f"{s['location']}  ({s['id']})", font=mid, fill="black")
        y += 38
        rh = f["rh_pct"]
        twpi = f["twpi_years"]
        lines = [
            f"{CATALOGUE['climate.term.temperature'].text}: min {_fmt(f['t_c']['min'])}  "
            f"{mean.vi}/{mean.en} {_fmt(f['t_c']['mean'])}  max {_fmt(f['t_c']['max'])} °C",
            f"{CATALOGUE['climate.term.rh'].text}: " + (
                f"min {_fmt(rh['min'])}  {mean.vi}/{mean.en} {_fmt(rh['mean'])}  max {_fmt(rh['max'])} %"
                if rh else f"— ({CATALOGUE['climate.report.temperature_only'].text})"),
            "TWPI: " + (f"{twpi:.1f} {years.text} — {both(RATING_MESSAGES[rate_pi(twpi)])}" if twpi else "—"),
            f"{CATALOGUE['climate.report.mould_risk'].text}: " + (
                f"{f['mold_risk']:.3f} — {both(RATING_MESSAGES[rate_mold(f['mold_risk'])])}"
                if f["mold_risk"] is not None else "—"),
            f"{CATALOGUE['climate.report.out_of_band'].text}: {f['out_of_band_pct']:.1f} % {of_time.text} "
            f"({f['hours']:.0f} {hours.text})",
        ]
        for line in lines:
            d.text((100, y), line, font=small, fill="black")
            y += 30
        y += 10
        _chart(d, (130, y + 10, 640, y + 200), data, s, 1, (band.t_low, band.t_high), "°C", tiny)
        if rh:
            _chart(d, (700, y + 10, PAGE_W - 80, y + 200), data, s, 2, (band.rh_low, band.rh_high), "% RH", tiny)
        y += 230
    if with_alerts:
        y += 10
        d.text((80, y), CATALOGUE["climate.report.alerts"].text, font=mid, fill="black")
        y += 36
        alerts = data["alerts"]
        if not alerts:
            d.text((100, y), CATALOGUE["climate.report.none"].text, font=small, fill="black")
        for a in alerts[:25]:
            if y > PAGE_H - 120:
                d.text((100, y), f"… {len(alerts) - 25} {CATALOGUE['climate.report.more'].text}", font=small,
                       fill="black")
                break
            started = dt.datetime.fromtimestamp(a["started"]).strftime("%d/%m %H:%M")
            ended = dt.datetime.fromtimestamp(a["ended"]).strftime("%d/%m %H:%M") if a["ended"] else "…"
            d.text((100, y), f"{started} – {ended}  {a['sensor']}: {alert_text(a['kind'])}", font=small, fill="black")
            y += 28
    d.text((80, PAGE_H - 70), "PI/TWPI: Padfield fit of IPI data; mould: Sedlbauer LIM B I + Hukka–Viitanen 1999; "
                              "EMC: Simpson (Wood Handbook). sohoa.", font=tiny, fill="#666666")
    d.text((PAGE_W - 80, PAGE_H - 70), f"{page_no}/{pages}", font=tiny, fill="#666666", anchor="ra")
    return img


def render(data: dict, fmt: str = "png") -> bytes:
    """The report as PNG (one tall image) or PDF (A4 pages).

    Raises
    ------
    ValueError
        For a format other than ``png`` or ``pdf``.
    """
    if fmt not in ("png", "pdf"):
        raise ValueError(f"format must be png or pdf, got {fmt!r}")
    sensors = data["sensors"]
    chunks = [sensors[i:i + SENSORS_PER_PAGE] for i in range(0, len(sensors), SENSORS_PER_PAGE)] or [[]]
    pages = [_page(data, chunk, i + 1, len(chunks), i == len(chunks) - 1) for i, chunk in enumerate(chunks)]
    out = io.BytesIO()
    if fmt == "pdf":
        pages[0].save(out, "PDF", resolution=DPI, save_all=True, append_images=pages[1:])
    else:
        sheet = Image.new("RGB", (PAGE_W, PAGE_H * len(pages)), "white")
        for i, page in enumerate(pages):
            sheet.paste(page, (0, i * PAGE_H))
        sheet.save(out, "PNG", optimize=True, dpi=(DPI, DPI))
    return out.getvalue()
