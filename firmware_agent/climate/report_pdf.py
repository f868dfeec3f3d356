"""The monthly room report as a PDF of real text and vector charts (fpdf2).

The same content and layout as the PNG (``report.py``): a PDF reader can search
and copy it, ``pdftotext`` reads it, a screen reader speaks it, and the charts
stay sharp when printed. Text is set in DejaVu Sans (embedded, subset), which
carries the Vietnamese diacritics.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from firmware_agent.climate.messages import RATING_MESSAGES, alert_text, both
from firmware_agent.climate.metrics import rate_mold, rate_pi
from firmware_agent.climate.period import Band
from firmware_agent.messages import CATALOGUE

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
SENSORS_PER_PAGE = 3
MARGIN = 14.0  # mm
BLUE = (31, 119, 180)


def _fmt(value: float | None, unit: str = "") -> str:
    return "—" if value is None else f"{value:.1f}{unit}"


def _fonts(pdf) -> str:
    for folder in FONT_DIRS:
        if (folder / "DejaVuSans.ttf").exists() and (folder / "DejaVuSans-Bold.ttf").exists():
            pdf.add_font("DejaVu", "", str(folder / "DejaVuSans.ttf"))
            pdf.add_font("DejaVu", "B", str(folder / "DejaVuSans-Bold.ttf"))
            return "DejaVu"
    raise ValueError("DejaVu Sans not found (Debian package fonts-dejavu-core): the report needs its diacritics")


def _chart(pdf, x0: float, y0: float, x1: float, y1: float, data: dict, sensor: dict, key: int,
           band: tuple[float, float], unit: str, font: str) -> None:
    pts = [(row[0], row[key]) for row in sensor["daily"] if row[key] is not None]
    values = [v for _, v in pts] + list(band)
    lo, hi = min(values) - 1, max(values) + 1
    start, end = data["start"], data["end"]

    def px(ts: float) -> float:
        return x0 + (ts + 43200 - start) / (end - start) * (x1 - x0)

    def py(v: float) -> float:
        return y1 - (v - lo) / (hi - lo) * (y1 - y0)

    pdf.set_draw_color(136, 136, 136)
    pdf.set_fill_color(255, 255, 255)
    pdf.rect(x0, y0, x1 - x0, y1 - y0, style="DF")
    pdf.set_fill_color(213, 239, 213)
    pdf.rect(x0, py(band[1]), x1 - x0, py(band[0]) - py(band[1]), style="F")
    pdf.set_font(font, "", 7)
    pdf.set_text_color(51, 51, 51)
    pdf.set_draw_color(230, 230, 230)
    pdf.set_line_width(0.2)
    for i in range(5):
        v = lo + (hi - lo) * i / 4
        pdf.line(x0, py(v), x1, py(v))
        pdf.text(x0 - 1 - pdf.get_string_width(f"{v:.0f}"), py(v) + 1, f"{v:.0f}")
    title = f"{unit}, {CATALOGUE['climate.report.daily_mean'].text}"
    pdf.text(x1 - pdf.get_string_width(title), y0 - 1.5, title)
    for day in (1, 8, 15, 22, 29):
        ts = start + (day - 1) * 86400
        if ts < end:
            pdf.text(px(ts) - pdf.get_string_width(str(day)) / 2, y1 + 3.5, str(day))
    pdf.set_draw_color(*BLUE)
    pdf.set_fill_color(*BLUE)
    pdf.set_line_width(0.5)
    if len(pts) > 1:
        pdf.polyline([(px(ts), py(v)) for ts, v in pts])
    for ts, v in pts:
        pdf.circle(px(ts), py(v), 0.6, style="F")
    pdf.set_line_width(0.2)


def _page(pdf, font: str, data: dict, sensors: list[dict], page_no: int, pages: int, with_alerts: bool) -> None:
    pdf.add_page()
    band: Band = data["band"]
    mean, years = CATALOGUE["climate.term.mean"], CATALOGUE["climate.term.years"]
    of_time, hours = CATALOGUE["climate.report.of_the_time"], CATALOGUE["climate.report.hours_of_data"]
    w = pdf.w - 2 * MARGIN
    pdf.set_text_color(0, 0, 0)
    pdf.set_xy(MARGIN, 12)
    pdf.set_font(font, "B", 16)
    pdf.multi_cell(w, 7, CATALOGUE["climate.report.title"].text)
    pdf.set_font(font, "B", 11)
    pdf.set_x(MARGIN)
    pdf.multi_cell(w, 6, f"{data['room']} — {CATALOGUE['climate.report.month'].text} {data['month']}")
    pdf.set_font(font, "", 8)
    pdf.set_text_color(68, 68, 68)
    pdf.set_x(MARGIN)
    pdf.multi_cell(w, 4.5, f"{CATALOGUE['climate.term.target_band'].text}: {band.t_low:g}–{band.t_high:g} °C, "
                           f"{band.rh_low:g}–{band.rh_high:g} % RH ({CATALOGUE['climate.report.band_default'].text})")
    y = pdf.get_y() + 3
    if not sensors:
        pdf.set_font(font, "B", 11)
        pdf.set_text_color(170, 0, 0)
        pdf.text(MARGIN, y + 6, CATALOGUE["climate.report.no_data"].text)
    for s in sensors:
        f = s["figures"]
        pdf.set_draw_color(136, 136, 136)
        pdf.set_line_width(0.4)
        pdf.line(MARGIN, y, pdf.w - MARGIN, y)
        pdf.set_line_width(0.2)
        pdf.set_text_color(0, 0, 0)
        pdf.set_font(font, "B", 10)
        pdf.text(MARGIN, y + 6, f"{s['location']}  ({s['id']})")
        y += 9
        rh, twpi = f["rh_pct"], f["twpi_years"]
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
        pdf.set_font(font, "", 9)
        for line in lines:
            pdf.text(MARGIN + 3, y + 3.5, line)
            y += 5
        y += 4
        _chart(pdf, MARGIN + 9, y + 2, MARGIN + 95, y + 34, data, s, 1, (band.t_low, band.t_high), "°C", font)
        if rh:
            _chart(pdf, MARGIN + 108, y + 2, pdf.w - MARGIN, y + 34, data, s, 2, (band.rh_low, band.rh_high), "% RH",
                   font)
        y += 42
    if with_alerts:
        pdf.set_text_color(0, 0, 0)
        pdf.set_font(font, "B", 11)
        pdf.text(MARGIN, y + 6, CATALOGUE["climate.report.alerts"].text)
        y += 10
        pdf.set_font(font, "", 9)
        alerts = data["alerts"]
        if not alerts:
            pdf.text(MARGIN + 3, y + 3, CATALOGUE["climate.report.none"].text)
        for n, a in enumerate(alerts):
            if y > pdf.h - 25:
                pdf.text(MARGIN + 3, y + 3, f"… {len(alerts) - n} {CATALOGUE['climate.report.more'].text}")
                break
            started = dt.datetime.fromtimestamp(a["started"]).strftime("%d/%m %H:%M")
            ended = dt.datetime.fromtimestamp(a["ended"]).strftime("%d/%m %H:%M") if a["ended"] else "…"
            pdf.text(MARGIN + 3, y + 3, f"{started} – {ended}  {a['sensor']}: {alert_text(a['kind'])}")
            y += 5
    pdf.set_font(font, "", 7)
    pdf.set_text_color(102, 102, 102)
    pdf.text(MARGIN, pdf.h - 10, "PI/TWPI: Padfield fit of IPI data; mould: Sedlbauer LIM B I + Hukka–Viitanen 1999; "
                                 "EMC: Simpson (Wood Handbook). sohoa.")
    label = f"{page_no}/{pages}"
    pdf.text(pdf.w - MARGIN - pdf.get_string_width(label), pdf.h - 10, label)


def render_pdf(data: dict) -> bytes:
    """The report's A4 pages as PDF bytes (three sensors a page, the alerts on the last).

    Raises
    ------
    ValueError
        When the DejaVu Sans fonts are missing.
    """
    from fpdf import FPDF

    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_title(f"{CATALOGUE['climate.report.title'].text} {data['month']}")
    pdf.set_creator("sohoa")
    font = _fonts(pdf)
    sensors = data["sensors"]
    chunks = [sensors[i:i + SENSORS_PER_PAGE] for i in range(0, len(sensors), SENSORS_PER_PAGE)] or [[]]
    for i, chunk in enumerate(chunks):
        _page(pdf, font, data, chunk, i + 1, len(chunks), i == len(chunks) - 1)
    return bytes(pdf.output())
