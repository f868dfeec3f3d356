"""Preservation metrics for paper records: PI, TWPI, EMC, dew point, mould risk, ratings.

Every function takes temperature in °C and relative humidity in % and is a
plain formula; the references are in each docstring (docs/design.md §7.5).
IPI's own look-up tables are not used.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

GAS_CONSTANT = 8.314  # J/(mol K)


def preservation_index(t_c: float, rh_pct: float) -> float:
    """Preservation Index in years (expected life of chemically unstable paper).

    ``PI = exp((95220 - 134.9 RH) / (8.314 T) + 0.0284 RH - 28.023) / 365`` with T
    in kelvin: Padfield's Arrhenius fit to the Image Permanence Institute's data
    (Sebera's isoperm idea; IPI, *New Tools for Preservation*, 1995).

    Examples
    --------
    >>> round(preservation_index(20, 50), 1)
    44.6
    """
    t_k = t_c + 273.15
    return math.exp((95220.0 - 134.9 * rh_pct) / (GAS_CONSTANT * t_k) + 0.0284 * rh_pct - 28.023) / 365.0


def time_weighted_pi(samples: Iterable[tuple[float, float, float]]) -> float | None:
    """TWPI: harmonic time-weighted mean of PI over ``(dt, t_c, rh_pct)`` samples.

    ``TWPI = sum(dt) / sum(dt / PI)`` (IPI, Reilly et al., *Climate Notebook*):
    damage accumulates as a rate, so a hot spell weighs more than a cool one.
    Returns None when the total time is zero.
    """
    total = 0.0
    rate = 0.0
    for dt, t_c, rh in samples:
        if dt <= 0:
            continue
        total += dt
        rate += dt / preservation_index(t_c, rh)
    return total / rate if rate > 0 else None


def equilibrium_moisture_content(t_c: float, rh_pct: float) -> float:
    """Equilibrium moisture content of wood/paper fibre in % (Hailwood-Horrobin).

    Simpson (1973) fit as given in the USDA FPL *Wood Handbook* (ch. 4), metric
    coefficients: ``W = 349 + 1.29T + 0.0135T²``, ``K = 0.805 + 0.000736T -
    2.73e-6T²``, ``K1 = 6.27 - 0.00938T - 0.000303T²``, ``K2 = 1.91 + 0.0407T -
    0.000293T²``; ``EMC = 1800/W [Kh/(1-Kh) + (K1Kh + 2K1K2K²h²)/(1 + K1Kh + K1K2K²h²)]``
    with h = RH/100.
    """
    t = t_c
    h = max(0.0, min(rh_pct, 100.0)) / 100.0
    w = 349.0 + 1.29 * t + 0.0135 * t * t
    k = 0.805 + 0.000736 * t - 0.00000273 * t * t
    k1 = 6.27 - 0.00938 * t - 0.000303 * t * t
    k2 = 1.91 + 0.0407 * t - 0.000293 * t * t
    kh = k * h
    return 1800.0 / w * (kh / (1.0 - kh) + (k1 * kh + 2.0 * k1 * k2 * kh * kh)
                         / (1.0 + k1 * kh + k1 * k2 * kh * kh))


def dew_point(t_c: float, rh_pct: float) -> float:
    """Dew point in °C by the Magnus formula (Sonntag 1990: a = 17.62, b = 243.12 °C).

    A wall or box colder than this gets condensation. Accurate to about 0.1 °C
    for -45..60 °C. RH of 0 has no dew point; it is clamped to 0.01 %.
    """
    a, b = 17.62, 243.12
    gamma = math.log(max(rh_pct, 0.01) / 100.0) + a * t_c / (b + t_c)
    return b * gamma / (a - gamma)


def mold_rh_critical(t_c: float) -> float:
    """Lowest isopleth for mould germination, RH % (Sedlbauer 2001, LIM B I fit).

    ``RH_crit = 0.03 T² - 1.78 T + 98`` (about 74 % at 20 °C).
    """
    return 0.03 * t_c * t_c - 1.78 * t_c + 98.0


def days_to_germination(t_c: float, rh_pct: float) -> float:
    """Days until mould germinates at a constant condition; ``inf`` when it never does.

    Below :func:`mold_rh_critical`, or outside 0.1-40 °C where the model holds
    and spores do not grow, there is no germination. Above the isopleth, the
    time is Hukka & Viitanen's (1999, *Wood Sci. Technol.* 33:475) regression
    for the most sensitive class (pine sapwood, W = 0, SQ = 0), in weeks:
    ``t = exp(-0.68 ln T - 13.9 ln RH + 66.02)``. This is our approximation of
    the mould-risk idea IPI uses, not IPI's table.
    """
    if t_c < 0.1 or t_c > 40.0 or rh_pct < mold_rh_critical(t_c):
        return math.inf
    weeks = math.exp(-0.68 * math.log(t_c) - 13.9 * math.log(max(rh_pct, 1.0)) + 66.02)
    return 7.0 * weeks


def mold_risk_per_day(t_c: float, rh_pct: float) -> float:
    """Fraction of the germination time used up per day at this condition (0 = no risk)."""
    days = days_to_germination(t_c, rh_pct)
    return 0.0 if math.isinf(days) else 1.0 / days


def cumulative_mold_risk(samples: Iterable[tuple[float, float, float]]) -> float:
    """``sum(dt_days / days_to_germination)`` over ``(dt_s, t_c, rh_pct)``; ≥ 1 means germination expected.

    A plain sum: time spent dry does not undo risk already taken, which errs
    on the side of warning (IPI's mould counter also only resets on a long dry spell).
    """
    return sum(dt / 86400.0 * mold_risk_per_day(t, rh) for dt, t, rh in samples if dt > 0)


def rate_pi(pi_years: float) -> str:
    """IPI rating for PI or TWPI: good ≥ 75, ok 45-75, risk < 45."""
    return "good" if pi_years >= 75 else "ok" if pi_years >= 45 else "risk"


def rate_emc_mechanical(emc_pct: float) -> str:
    """IPI mechanical-damage rating: ok for 5-12.5 % EMC, risk outside."""
    return "ok" if 5.0 <= emc_pct <= 12.5 else "risk"


def rate_emc_corrosion(emc_pct: float) -> str:
    """IPI metal-corrosion rating: good < 7, ok 7-10.5, risk ≥ 10.5 % EMC."""
    return "good" if emc_pct < 7.0 else "ok" if emc_pct < 10.5 else "risk"


def rate_mold(risk: float) -> str:
    """IPI mould rating: any risk above zero is risk."""
    return "risk" if risk > 0 else "good"


def point_metrics(t_c: float, rh_pct: float) -> dict:
    """Every metric and rating at one condition (what `sohoa climate metrics` prints)."""
    pi = preservation_index(t_c, rh_pct)
    emc = equilibrium_moisture_content(t_c, rh_pct)
    mold = mold_risk_per_day(t_c, rh_pct)
    return {
        "temp_c": t_c,
        "rh_pct": rh_pct,
        "pi_years": round(pi, 2),
        "emc_pct": round(emc, 2),
        "dew_point_c": round(dew_point(t_c, rh_pct), 2),
        "mold_risk_per_day": round(mold, 6),
        "ratings": {
            "natural_aging": rate_pi(pi),
            "mechanical_damage": rate_emc_mechanical(emc),
            "metal_corrosion": rate_emc_corrosion(emc),
            "mold": rate_mold(mold),
        },
    }
