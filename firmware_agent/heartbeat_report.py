"""What the station says about itself in a heartbeat (docs/design.md §5.15), from its subsystems.

Codes and counts only: held record files by id and reason code, the scanner's
state code, climate rating and alert kinds; never a record's content.
"""

from __future__ import annotations

from typing import Callable

_ORDER = {"good": 0, "ok": 1, "risk": 2}


def station_report(agent, records=None, climate=None) -> Callable[[], dict]:
    def report() -> dict:
        status = agent.status()
        scanners = status.get("scanners") or []
        out: dict = {"pages_today": int(status["pages"].get("today", 0)),
                     "scanner": scanners[0]["state"] if scanners else "none"}
        if records is not None:
            out["held"] = [{"file_code": f.file_code or f"#{f.id}", "reason": f.hold_code or ""}
                           for f in records.store.files("held")][:200]
        if climate is not None:
            c = climate.status()
            ratings = [v["rating"] for v in c.get("ratings", {}).values()]
            out["climate"] = {"rating": max(ratings, key=lambda r: _ORDER.get(r, 0)) if ratings else "",
                              "alerts": sorted({a["kind"] for a in c.get("alerts", [])})}
        return out
    return report
