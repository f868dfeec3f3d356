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
