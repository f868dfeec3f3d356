"""What the station says about itself in a heartbeat (docs/design.md §5.15), from its subsystems.

Codes and counts only: held record files by id and reason code, the scanner's
state code, climate rating and alert kinds; never a record's content.
"""

from __future__ import annotations

import time
from typing import Callable

_ORDER = {"good": 0, "ok": 1, "risk": 2}


def room_reading(climate_status: dict) -> dict:
    """The room's last reading (mean over the sensors that read) and the target band, for the
    archive's climate chart (design §5.15: ``t_c``, ``rh_pct``, ``band``); empty parts left out."""
    out: dict = {}
    read = [s for s in climate_status.get("sensors", []) if isinstance(s.get("t_c"), (int, float))]
    if read:
        out["t_c"] = round(sum(s["t_c"] for s in read) / len(read), 2)
        rh = [s["rh_pct"] for s in read if isinstance(s.get("rh_pct"), (int, float))]
        if rh:
            out["rh_pct"] = round(sum(rh) / len(rh), 2)
    band = climate_status.get("band") or {}
    if band.get("t_c") and band.get("rh_pct"):
        out["band"] = {"t": [float(x) for x in band["t_c"]], "rh": [float(x) for x in band["rh_pct"]]}
    return out


def room_ratings(climate_status: dict) -> dict:
    """The room's IPI ratings by kind, its worst preservation index (30-day TWPI where a sensor has one, else
    PI at the last reading) and its highest mould risk per day now, for the archive's rating chart."""
    out: dict = {"ratings": {k: v["rating"] for k, v in climate_status.get("ratings", {}).items()
                             if isinstance(v, dict) and isinstance(v.get("rating"), str)}}
    pis, molds = [], []
    for s in climate_status.get("sensors", []):
        month = s.get("month") or {}
        metrics = s.get("metrics") or {}
        pi = month.get("twpi_years") if month.get("twpi_years") is not None else metrics.get("pi_years")
        if isinstance(pi, (int, float)):
            pis.append(float(pi))
        if isinstance(metrics.get("mold_risk_per_day"), (int, float)):
            molds.append(float(metrics["mold_risk_per_day"]))
    out["pi"] = round(min(pis), 2) if pis else None
    out["mold"] = round(max(molds), 6) if molds else None
    return out


def station_report(agent, records=None, climate=None) -> Callable[[], dict]:
    def report() -> dict:
        status = agent.status()
        scanners = status.get("scanners") or []
        midnight = time.mktime(time.localtime()[:3] + (0, 0, 0, 0, 0, -1))
        out: dict = {"pages_today": int(status["pages"].get("today", 0)),
                     "scanner": scanners[0]["state"] if scanners else "none",
                     **agent.journal.quality_since(midnight)}
        if records is not None:
            out["held"] = [{"file_code": f.file_code or f"#{f.id}", "reason": f.hold_code or ""}
                           for f in records.store.files("held")][:200]
        if climate is not None:
            c = climate.status()
            ratings = [v["rating"] for v in c.get("ratings", {}).values()]
            out["climate"] = {"rating": max(ratings, key=lambda r: _ORDER.get(r, 0)) if ratings else "",
                              "alerts": sorted({a["kind"] for a in c.get("alerts", [])}),
                              **room_reading(c), **room_ratings(c)}
        return out
    return report
