"""Inline SVG line charts of temperature or RH with the target band shaded.

No JavaScript and no chart library: the status page must work offline on a
commune's LAN and print cleanly. Gaps longer than three buckets break the line.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence

from firmware_agent.climate.store import Row
from firmware_agent.messages import CATALOGUE

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


def bucketed(rows: Sequence[Row], bucket_s: float, offset_s: float = 0.0) -> list[tuple[float, float, float | None]]:
    """Mean (ts, t, rh) per bucket of *bucket_s* seconds, weighting rows by sample count.

    *offset_s* shifts bucket edges (the local UTC offset makes day buckets local days).
    """
    acc: dict[int, list[float]] = {}
    for r in rows:
        key = int((r.ts + offset_s) // bucket_s)
        a = acc.setdefault(key, [0.0, 0.0, 0.0, 0.0])
        a[0] += r.n * r.t
        a[1] += r.n
        if r.rh is not None:
            a[2] += r.n * r.rh
            a[3] += r.n
    return [(k * bucket_s - offset_s, a[0] / a[1], a[2] / a[3] if a[3] else None)
            for k, a in sorted(acc.items()) if a[1]]


def svg_chart(series: Sequence[tuple[str, Sequence[tuple[float, float]]]], start: float, end: float, *,
              band: tuple[float, float] | None, unit: str, title: str, gap_s: float,
              width: int = 760, height: int = 220) -> str:
    """An SVG line chart; *series* is ``[(label, [(ts, value), ...]), ...]``."""
    left, right, top, bottom = 48, 12, 22, 28
    values = [v for _, pts in series for _, v in pts]
    if band is not None:
        values += list(band)
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    if hi - lo < 1.0:
        lo, hi = lo - 0.5, hi + 0.5
    pad = (hi - lo) * 0.08
    lo, hi = lo - pad, hi + pad
    pw, ph = width - left - right, height - top - bottom

    def x(ts: float) -> float:
        return left + (ts - start) / max(end - start, 1.0) * pw

    def y(v: float) -> float:
        return top + (hi - v) / (hi - lo) * ph

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
           f'height="{height}" role="img" aria-label="{html.escape(title)}" font-family="DejaVu Sans, sans-serif" '
           f'font-size="11">',
           f'<text x="{left}" y="14" font-weight="bold">{html.escape(title)}</text>',
           f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="#fff" stroke="#999"/>']
    if band is not None:
        y1, y2 = y(band[1]), y(band[0])
        out.append(f'<rect class="band" x="{left}" y="{y1:.1f}" width="{pw}" height="{y2 - y1:.1f}" '
                   f'fill="#2ca02c" fill-opacity="0.15"><title>{band[0]:g}–{band[1]:g} {unit}</title></rect>')
    for i in range(5):
        v = lo + (hi - lo) * i / 4
        out.append(f'<text x="{left - 4}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.1f}</text>')
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#eee"/>')
    span = end - start
    fmt = "%H:%M" if span <= 2 * 86400 else "%d/%m"
    for i in range(7):
        ts = start + span * i / 6
        label = dt.datetime.fromtimestamp(ts).strftime(fmt)
        out.append(f'<text x="{x(ts):.1f}" y="{height - 10}" text-anchor="middle">{label}</text>')
    out.append(f'<text x="{width - right}" y="14" text-anchor="end">{html.escape(unit)}</text>')
    for idx, (label, pts) in enumerate(series):
        colour = COLOURS[idx % len(COLOURS)]
        segments: list[list[str]] = []
        prev = None
        for ts, v in pts:
            if prev is None or ts - prev > gap_s:
                segments.append([])
            segments[-1].append(f"{x(ts):.1f},{y(v):.1f}")
            prev = ts
        for seg in segments:
            if len(seg) == 1:
                cx, cy = seg[0].split(",")
                out.append(f'<circle cx="{cx}" cy="{cy}" r="1.5" fill="{colour}"/>')
            else:
                out.append(f'<polyline class="series" fill="none" stroke="{colour}" stroke-width="1.5" '
                           f'points="{" ".join(seg)}"><title>{html.escape(label)}</title></polyline>')
        out.append(f'<text x="{left + 8 + 150 * idx}" y="{top + 14}" fill="{colour}">{html.escape(label)}</text>')
    if not any(pts for _, pts in series):
        out.append(f'<text x="{left + pw / 2}" y="{top + ph / 2}" text-anchor="middle" fill="#777">'
                   f'{html.escape(CATALOGUE["climate.chart.no_data"].text)}</text>')
    out.append("</svg>")
    return "".join(out)
