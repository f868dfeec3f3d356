"""Figures over a period of stored points: min/mean/max, TWPI, mould risk, time out of band.

Each point weighs the gap to the next point, capped (design §7.4 rule C3), so
hours with no data are neither good nor bad climate: they are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from firmware_agent.climate.metrics import cumulative_mold_risk, time_weighted_pi
from firmware_agent.climate.store import Row


@dataclass(frozen=True)
class Band:
    """The room's target band (°C and % RH, inclusive)."""

    t_low: float
    t_high: float
    rh_low: float
    rh_high: float

    def contains(self, t_c: float, rh_pct: float | None) -> bool:
        ok_t = self.t_low <= t_c <= self.t_high
        return ok_t and (rh_pct is None or self.rh_low <= rh_pct <= self.rh_high)


def weights(rows: Sequence[Row], until: float, period_s: float) -> list[float]:
    """Seconds each row stands for: gap to the next one, capped at 2x its resolution."""
    out = []
    for i, row in enumerate(rows):
        span = row.span or period_s
        cap = max(2 * span, 2 * period_s)
        nxt = rows[i + 1].ts if i + 1 < len(rows) else min(until, row.ts + span)
        out.append(max(0.0, min(nxt - row.ts, cap)))
    return out


def period_figures(rows: Sequence[Row], band: Band, until: float, period_s: float) -> dict | None:
    """Summary of one sensor's rows; None when there are none.

    Returns
    -------
    dict
        ``t_c`` and ``rh_pct`` as ``{min, mean, max}`` (rh None for temperature-only
        sensors), ``twpi_years``, ``mold_risk`` (cumulative fraction, None without RH),
        ``out_of_band_pct`` and ``hours`` of data covered.
    """
    if not rows:
        return None
    w = weights(rows, until, period_s)
    total = sum(w)
    if total <= 0:
        return None
    has_rh = all(r.rh is not None for r in rows)
    t_mean = sum(wi * r.t for wi, r in zip(w, rows)) / total
    out_s = sum(wi for wi, r in zip(w, rows) if not band.contains(r.t, r.rh))
    result = {
        "t_c": {"min": round(min(r.t_min for r in rows), 2), "mean": round(t_mean, 2),
                "max": round(max(r.t_max for r in rows), 2)},
        "rh_pct": None, "twpi_years": None, "mold_risk": None,
        "out_of_band_pct": round(100.0 * out_s / total, 2),
        "hours": round(total / 3600.0, 2),
    }
    if has_rh:
        samples = [(wi, r.t, r.rh) for wi, r in zip(w, rows)]
        rh_mean = sum(wi * r.rh for wi, r in zip(w, rows)) / total
        result["rh_pct"] = {"min": round(min(r.rh_min for r in rows), 2), "mean": round(rh_mean, 2),
                            "max": round(max(r.rh_max for r in rows), 2)}
        twpi = time_weighted_pi(samples)
        result["twpi_years"] = None if twpi is None else round(twpi, 2)
        result["mold_risk"] = round(cumulative_mold_risk(samples), 4)
    return result
