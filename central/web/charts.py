"""Inline SVG charts for the commune page (design §5.15): vector, drawn here, no script and no library.

Every label is text in the SVG (a screen reader and a search find it); the
words come from the catalogue through the caller.
"""

from __future__ import annotations

from html import escape

W, H = 640, 200          # viewBox; the SVG scales to its box (width 100 %)
LEFT, RIGHT, TOP, BOTTOM = 44, 44, 14, 30
BAR = "#1f77b4"
LINE = "#e67e22"
BAND = "#d5efd5"


def _x(i: int, n: int) -> float:
    return LEFT + (i + 0.5) * (W - LEFT - RIGHT) / max(n, 1)


def _y(v: float, lo: float, hi: float) -> float:
    return H - BOTTOM - (v - lo) / ((hi - lo) or 1) * (H - TOP - BOTTOM)


def _axis_days(days: list[str]) -> str:
    step = max(1, len(days) // 8)
    return "".join(f'<text x="{_x(i, len(days)):.1f}" y="{H - 12}" text-anchor="middle" font-size="10">'
                   f'{escape(d[5:])}</text>' for i, d in enumerate(days) if i % step == 0 or i == len(days) - 1)


def _frame(chart_id: str, title: str, inner: str, legend: list[tuple[str, str]]) -> str:
    keys, x = "", LEFT
    for label, color in legend:  # side by side, each as wide as its label (about 5.6 units a letter at size 10)
        keys += (f'<rect x="{x}" y="2" width="10" height="10" fill="{color}"/>'
                 f'<text x="{x + 14}" y="11" font-size="10">{escape(label)}</text>')
        x += 30 + int(5.6 * len(label))
    return (f'<figure class="chart"><svg id="{escape(chart_id)}" role="img" viewBox="0 0 {W} {H}" width="100%" '
            f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
            f'<rect x="{LEFT}" y="{TOP}" width="{W - LEFT - RIGHT}" height="{H - TOP - BOTTOM}" fill="#fff" '
            f'stroke="#999"/>{inner}{keys}</svg><figcaption>{escape(title)}</figcaption></figure>')


def progress(chart_id: str, title: str, days: list[str], pages: list[int], files: list[int],
             pages_label: str, files_label: str) -> str:
    """Pages per day as bars (left scale) and record files per day as a line with dots (right scale)."""
    n = len(days)
    top_p, top_f = max(pages + [1]), max(files + [1])
    width = 0.7 * (W - LEFT - RIGHT) / max(n, 1)
    bars = "".join(f'<rect class="pages" data-day="{escape(d)}" data-value="{p}" x="{_x(i, n) - width / 2:.1f}" '
                   f'y="{_y(p, 0, top_p):.1f}" width="{width:.1f}" height="{_y(0, 0, top_p) - _y(p, 0, top_p):.1f}" '
                   f'fill="{BAR}"><title>{escape(d)}: {p}</title></rect>' for i, (d, p) in enumerate(zip(days, pages)))
    points = " ".join(f"{_x(i, n):.1f},{_y(f, 0, top_f):.1f}" for i, f in enumerate(files))
    dots = "".join(f'<circle class="files" data-day="{escape(d)}" data-value="{f}" cx="{_x(i, n):.1f}" '
                   f'cy="{_y(f, 0, top_f):.1f}" r="3" fill="{LINE}"><title>{escape(d)}: {f}</title></circle>'
                   for i, (d, f) in enumerate(zip(days, files)))
    scale = (f'<text x="{LEFT - 4}" y="{TOP + 9}" text-anchor="end" font-size="10">{top_p}</text>'
             f'<text x="{LEFT - 4}" y="{H - BOTTOM}" text-anchor="end" font-size="10">0</text>'
             f'<text x="{W - RIGHT + 4}" y="{TOP + 9}" font-size="10" fill="{LINE}">{top_f}</text>'
             f'<text x="{W - RIGHT + 4}" y="{H - BOTTOM}" font-size="10" fill="{LINE}">0</text>')
    line = f'<polyline points="{points}" fill="none" stroke="{LINE}" stroke-width="2"/>' if n > 1 else ""
    return _frame(chart_id, title, bars + line + dots + scale + _axis_days(days),
                  [(pages_label, BAR), (files_label, LINE)])


def banded(chart_id: str, title: str, days: list[str], values: list[float | None], band: tuple[float, float],
           unit: str, value_label: str, band_label: str) -> str:
    """One reading per day as a line, over the target band (a green strip); points outside it are red."""
    n = len(days)
    known = [v for v in values if v is not None]
    lo, hi = min(known + [band[0]]) - 2, max(known + [band[1]]) + 2
    strip = (f'<rect class="band" data-low="{band[0]:g}" data-high="{band[1]:g}" x="{LEFT}" '
             f'y="{_y(band[1], lo, hi):.1f}" width="{W - LEFT - RIGHT}" '
             f'height="{_y(band[0], lo, hi) - _y(band[1], lo, hi):.1f}" fill="{BAND}"/>'
             f'<text x="{LEFT - 4}" y="{_y(band[1], lo, hi) + 4:.1f}" text-anchor="end" font-size="10">'
             f'{band[1]:g}{escape(unit)}</text>'
             f'<text x="{LEFT - 4}" y="{_y(band[0], lo, hi) + 4:.1f}" text-anchor="end" font-size="10">'
             f'{band[0]:g}{escape(unit)}</text>')
    pts = [(i, v) for i, v in enumerate(values) if v is not None]
    line = (f'<polyline points="{" ".join(f"{_x(i, n):.1f},{_y(v, lo, hi):.1f}" for i, v in pts)}" fill="none" '
            f'stroke="{BAR}" stroke-width="2"/>' if len(pts) > 1 else "")
    dots = "".join(f'<circle class="reading{"" if band[0] <= v <= band[1] else " out"}" data-day="{escape(days[i])}" '
                   f'data-value="{v:g}" cx="{_x(i, n):.1f}" cy="{_y(v, lo, hi):.1f}" r="3" '
                   f'fill="{BAR if band[0] <= v <= band[1] else "#e63946"}"><title>{escape(days[i])}: {v:g}'
                   f'{escape(unit)}</title></circle>' for i, v in pts)
    return _frame(chart_id, title, strip + line + dots + _axis_days(days), [(value_label, BAR), (band_label, BAND)])


# Distinct colours for series (warning codes, hold reasons), assigned in order; ratings have their own.
PALETTE = ("#1f77b4", "#e67e22", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf", "#393b79", "#ad494a")
RATING_COLOURS = {"good": "#2a9d8f", "ok": "#e9c46a", "risk": "#e63946"}


def colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _figure(chart_id: str, title: str, inner: str, legend: list[tuple[str, str, str]], height: int = H) -> str:
    """An SVG with its legend as an HTML list below it (long bilingual labels wrap on a phone)."""
    keys = "".join(f'<li data-series="{escape(key)}"><span class="swatch" style="background:{c}"></span>'
                   f'{escape(label)}</li>' for key, label, c in legend)
    return (f'<figure class="chart"><svg id="{escape(chart_id)}" role="img" viewBox="0 0 {W} {height}" width="100%" '
            f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
            f'<rect x="{LEFT}" y="{TOP}" width="{W - LEFT - RIGHT}" height="{height - TOP - BOTTOM}" fill="#fff" '
            f'stroke="#999"/>{inner}</svg><figcaption>{escape(title)}<ul class="legend">{keys}</ul>'
            f'</figcaption></figure>')


def shares(chart_id: str, title: str, days: list[str], series: list[tuple[str, str, str, list[float | None]]]) -> str:
    """Shares (0..1) per day, one line with dots per series ``(key, label, colour, values)``; a day without a
    figure has no dot and breaks no line (the line joins the days that have one)."""
    n = len(days)
    known = [v for *_k, values in series for v in values if v is not None]
    top = max(0.1, -(-max(known + [0.0]) * 10 // 1) / 10)  # the highest share, rounded up to 10 %
    inner = (f'<text x="{LEFT - 4}" y="{TOP + 9}" text-anchor="end" font-size="10">{top * 100:.0f} %</text>'
             f'<text x="{LEFT - 4}" y="{H - BOTTOM}" text-anchor="end" font-size="10">0 %</text>')
    for key, label, c, values in series:
        pts = [(i, v) for i, v in enumerate(values) if v is not None]
        if len(pts) > 1:
            inner += (f'<polyline points="{" ".join(f"{_x(i, n):.1f},{_y(v, 0, top):.1f}" for i, v in pts)}" '
                      f'fill="none" stroke="{c}" stroke-width="1.5"/>')
        inner += "".join(f'<circle class="point" data-series="{escape(key)}" data-day="{escape(days[i])}" '
                         f'data-value="{v:.4f}" cx="{_x(i, n):.1f}" cy="{_y(v, 0, top):.1f}" r="2.5" fill="{c}">'
                         f'<title>{escape(days[i])} {escape(label)}: {v * 100:.1f} %</title></circle>' for i, v in pts)
    return _figure(chart_id, title, inner + _axis_days(days), [(k, lb, c) for k, lb, c, _v in series])


def stacked(chart_id: str, title: str, days: list[str], series: list[tuple[str, str, str, list[int]]]) -> str:
    """Counts per day as stacked bars, one segment per series ``(key, label, colour, counts)``."""
    n = len(days)
    totals = [sum(values[i] for *_k, values in series) for i in range(n)]
    top = max(totals + [1])
    width = 0.7 * (W - LEFT - RIGHT) / max(n, 1)
    inner = (f'<text x="{LEFT - 4}" y="{TOP + 9}" text-anchor="end" font-size="10">{top}</text>'
             f'<text x="{LEFT - 4}" y="{H - BOTTOM}" text-anchor="end" font-size="10">0</text>')
    for i, day in enumerate(days):
        base = 0
        for key, label, c, values in series:
            v = values[i]
            if not v:
                continue
            y0, y1 = _y(base, 0, top), _y(base + v, 0, top)
            inner += (f'<rect class="seg" data-series="{escape(key)}" data-day="{escape(day)}" data-value="{v}" '
                      f'x="{_x(i, n) - width / 2:.1f}" y="{y1:.1f}" width="{width:.1f}" height="{y0 - y1:.1f}" '
                      f'fill="{c}"><title>{escape(day)} {escape(label)}: {v}</title></rect>')
            base += v
    return _figure(chart_id, title, inner + _axis_days(days), [(k, lb, c) for k, lb, c, _v in series])


def rating_bands(chart_id: str, title: str, days: list[str], rows: list[tuple[str, str, str, list[str | None]]],
                 rating_labels: dict[str, str]) -> str:
    """One strip per row ``(key, short label, label, rating per day)``: each day a cell coloured by its
    rating (good, ok, risk); a day without a rating is left white."""
    n = len(days)
    strip = 26
    height = TOP + BOTTOM + strip * len(rows) + 6
    cell = (W - LEFT - RIGHT) / max(n, 1)
    inner = ""
    for r, (key, short, label, ratings) in enumerate(rows):
        y = TOP + 3 + r * strip
        for i, rating in enumerate(ratings):
            if rating not in RATING_COLOURS:
                continue
            inner += (f'<rect class="rating" data-row="{escape(key)}" data-day="{escape(days[i])}" '
                      f'data-rating="{rating}" x="{LEFT + i * cell:.1f}" y="{y}" width="{max(cell - 1, 1):.1f}" '
                      f'height="{strip - 4}" fill="{RATING_COLOURS[rating]}"><title>{escape(days[i])} '
                      f'{escape(label)}: {escape(rating_labels.get(rating, rating))}</title></rect>')
        inner += (f'<text x="{LEFT - 4}" y="{y + strip / 2 + 2:.1f}" text-anchor="end" font-size="10">'
                  f'{escape(short)}</text>')
    axis = "".join(f'<text x="{_x(i, n):.1f}" y="{height - 12}" text-anchor="middle" font-size="10">'
                   f'{escape(d[5:])}</text>' for i, d in enumerate(days)
                   if i % max(1, n // 8) == 0 or i == n - 1)
    legend = [(k, f"{short}: {lb}", "#fff") for k, short, lb, _r in rows] + [
        (r, rating_labels.get(r, r), RATING_COLOURS[r]) for r in RATING_COLOURS]
    return _figure(chart_id, title, inner + axis, legend, height)
