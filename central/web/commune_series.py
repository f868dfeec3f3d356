"""A station's days for the commune page's quality and climate-rating charts (design §5.15).

Only figures the archive holds: the heartbeat's daily row (quality figures of the
day's fullest report, held record files at the day's last report, the room's
ratings, PI and mould risk) and the climate summaries of the station's catalogued
batches (formats 7.7, by the UTC day the batch was received). A day without a
figure shows none; nothing is filled in.
"""

from __future__ import annotations

import json
import time

# IPI's ratings (Image Permanence Institute), as the station's climate service rates a room: PI or TWPI in
# years good >= 75, ok 45-75, risk < 45; any mould risk above zero is risk. The archive rates the batch
# summaries' figures with the same limits (it does not import the station's code).
PI_GOOD, PI_OK = 75.0, 45.0
RATINGS = ("good", "ok", "risk")
_ORDER = {r: i for i, r in enumerate(RATINGS)}


def rate_pi(years: float) -> str:
    return "good" if years >= PI_GOOD else "ok" if years >= PI_OK else "risk"


def rate_mold(risk: float) -> str:
    return "risk" if risk > 0 else "good"


def _number(v) -> float | None:
    # canonical JSON writes a non-integer as a decimal string (formats 5.3)
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return None
    return None


def _worst(*ratings) -> str | None:
    known = [r for r in ratings if r in _ORDER]
    return max(known, key=_ORDER.__getitem__) if known else None


def _share(n, processed: int) -> float | None:
    return None if n is None or not processed else min(int(n), processed) / processed


def quality_days(history: list[dict]) -> list[dict]:
    """Per day, oldest first: processed pages, share with any warning, blank share, share per warning code
    (``warnings_known``: a code not named had no page), held record files by reason. Shares are None when the
    day has no processed page (or no figure)."""
    out = []
    for h in sorted(history, key=lambda h: h["day"]):
        q = h.get("quality") or {}
        processed = int(q.get("processed") or 0)
        warnings = q.get("warnings")
        out.append({"day": h["day"], "processed": processed, "warned": _share(q.get("warned"), processed),
                    "blank": _share(q.get("blank"), processed),
                    "warnings": {code: _share(n, processed) for code, n in sorted((warnings or {}).items())},
                    "warnings_known": isinstance(warnings, dict) and processed > 0,
                    "held": dict(sorted((h.get("held_reasons") or {}).items()))})
    return out


def batch_climate_by_day(state, device_id: str, limit: int = 400) -> dict[str, dict]:
    """``{day: {"pi": worst TWPI, "mold": highest cumulative mould risk}}`` of the station's batch summaries."""
    rows = state._all("SELECT received, climate FROM cat_batches WHERE device_id = ? AND climate IS NOT NULL "
                      "ORDER BY received DESC LIMIT ?", (device_id, limit))
    out: dict[str, dict] = {}
    for r in rows:
        try:
            summary = json.loads(r["climate"])
        except (TypeError, ValueError):
            continue
        if not isinstance(summary, dict) or summary.get("version") != 1:
            continue  # formats 7.7: a version not known is not guessed at
        day = time.strftime("%Y-%m-%d", time.gmtime(int(r["received"])))
        entry = out.setdefault(day, {"pi": None, "mold": None})
        for s in summary.get("sensors") or []:
            if not isinstance(s, dict):
                continue
            pi, mold = _number(s.get("twpi_years")), _number(s.get("mold_risk"))
            if pi is not None:
                entry["pi"] = pi if entry["pi"] is None else min(entry["pi"], pi)
            if mold is not None:
                entry["mold"] = mold if entry["mold"] is None else max(entry["mold"], mold)
    return out


def rating_days(history: list[dict], batches: dict[str, dict]) -> list[dict]:
    """Per day, oldest first: the room's PI (the lower of the heartbeat's and the batches'), its PI rating
    and mould rating (the worse of the heartbeat's and the batches'), and where they came from."""
    by_day = {h["day"]: h.get("climate") if isinstance(h.get("climate"), dict) else {} for h in history}
    out = []
    for day in sorted(set(by_day) | set(batches)):
        c, b = by_day.get(day, {}), batches.get(day, {})
        ratings = c.get("ratings") if isinstance(c.get("ratings"), dict) else {}
        hb_pi = _number(c.get("pi"))
        pis = [p for p in (hb_pi, b.get("pi")) if p is not None]
        pi_rating = _worst(ratings.get("natural_aging"), rate_pi(b["pi"]) if b.get("pi") is not None else None)
        mold_rating = _worst(ratings.get("mold"), rate_mold(b["mold"]) if b.get("mold") is not None else None)
        if pi_rating is None and mold_rating is None and not pis:
            continue
        sources = [name for name, has in (("heartbeat", bool(ratings) or hb_pi is not None), ("batch", bool(b)))
                   if has]
        out.append({"day": day, "pi": min(pis) if pis else None, "pi_rating": pi_rating,
                    "mold_rating": mold_rating, "sources": sources})
    return out
