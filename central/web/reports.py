"""Reports and a station's batch history for the central web (design §5.15).

The monthly report sums each station's daily heartbeat rows (pages scanned,
held record files at the month's last report, last backlog) and counts the
record files the catalogue holds from it, per province, district and commune.
"""

from __future__ import annotations

import csv
import io
import json
import time

COLUMNS = ("month", "province", "district", "commune", "device", "pages", "pages_processed", "days_reported",
           "held_last", "backlog_last", "record_files", "documents", "pages_warned", "quality_share",
           "climate_worst", "alert_days")
_RATING_ORDER = {"": 0, "good": 1, "ok": 2, "poor": 3, "risk": 4}


def batches(state, device_id: str, limit: int = 50) -> dict:
    """The station's accepted batches (log entries) and its rejections, newest first."""
    with state.tx() as db:
        accepted = db.execute("SELECT idx, seq, batch FROM log WHERE device_id=? ORDER BY seq DESC LIMIT ?",
                              (device_id, limit)).fetchall()
        refused = db.execute("SELECT at, seq, code, detail FROM rejections WHERE device_id=? ORDER BY id DESC "
                             "LIMIT ?", (device_id, limit)).fetchall()
    return {"accepted": [dict(r) for r in accepted], "rejected": [dict(r) for r in refused]}


def files_per_day(state, device_id: str) -> dict[str, int]:
    """Record files of *device_id* catalogued per day (UTC) their batch was received."""
    rows = state._all("SELECT b.received FROM cat_files f JOIN cat_batches b ON b.device_id = f.device_id "
                      "AND b.seq = f.seq WHERE f.device_id = ?", (device_id,))
    out: dict[str, int] = {}
    for r in rows:
        day = time.strftime("%Y-%m-%d", time.gmtime(int(r["received"])))
        out[day] = out.get(day, 0) + 1
    return out


def monthly_rows(state) -> list[dict]:
    """One row per station and month: heartbeat days summed, and the record files the web holds from it.

    ``record_files``/``documents`` count the record files fed in that month (by the day the web got them) and
    ``by_type`` their documents by document type (a secret record file's type is not known here: ``""``);
    ``quality_share`` is 1 - warned/processed pages; ``climate_worst`` the worst daily rating reported and
    ``alert_days`` the days with at least one climate alert.
    """
    with state.tx() as db:
        days = db.execute("SELECT h.device_id, h.day, h.pages, h.processed, h.held, h.queue_depth, h.report, "
                          "s.commune, s.district, s.province FROM heartbeats_daily h "
                          "LEFT JOIN stations s ON s.device_id=h.device_id ORDER BY h.device_id, h.day").fetchall()
        files = db.execute("SELECT r.device_id, r.added_at, r.documents, r.doc_type, s.commune, s.district, "
                           "s.province FROM web_records r LEFT JOIN stations s ON s.device_id=r.device_id").fetchall()
    out: dict[tuple[str, str], dict] = {}

    def row_for(month: str, d) -> dict:
        return out.setdefault((month, d["device_id"]), {
            "month": month, "province": d["province"] or "", "district": d["district"] or "",
            "commune": d["commune"] or "", "device": d["device_id"], "pages": 0, "pages_processed": 0,
            "days_reported": 0, "held_last": 0, "backlog_last": 0, "record_files": 0, "documents": 0,
            "pages_warned": 0, "quality_share": None, "climate_worst": "", "alert_days": 0, "by_type": {}})
    for d in days:
        row = row_for(d["day"][:7], d)
        report = _loads(d["report"])
        climate = report.get("climate") if isinstance(report.get("climate"), dict) else {}
        row["pages"] += d["pages"]
        row["pages_processed"] += d["processed"]
        row["pages_warned"] += min(int(report.get("pages_warned_today") or 0), int(d["processed"] or 0))
        row["days_reported"] += 1
        row["held_last"], row["backlog_last"] = d["held"], d["queue_depth"]
        rating = str(climate.get("rating") or "")
        if _RATING_ORDER.get(rating, 0) > _RATING_ORDER.get(row["climate_worst"], 0):
            row["climate_worst"] = rating
        row["alert_days"] += 1 if climate.get("alerts") else 0
    for f in files:
        month = time.strftime("%Y-%m", time.gmtime(f["added_at"]))
        row = row_for(month, f)
        row["record_files"] += 1
        row["documents"] += int(f["documents"] or 0)
        row["by_type"][f["doc_type"] or ""] = row["by_type"].get(f["doc_type"] or "", 0) + int(f["documents"] or 0)
    for row in out.values():
        if row["pages_processed"]:
            row["quality_share"] = round(1.0 - row["pages_warned"] / row["pages_processed"], 4)
    return sorted(out.values(), key=lambda r: (r["month"], r["province"], r["district"], r["commune"], r["device"]))


def _loads(text: str) -> dict:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def monthly_totals(rows: list[dict], key: str) -> list[dict]:
    """*rows* summed per month and *key* (``province`` or ``commune``), in the same shape."""
    out: dict[tuple[str, str], dict] = {}
    for r in rows:
        t = out.setdefault((r["month"], r[key]), {"month": r["month"], key: r[key], "stations": 0, "pages": 0,
                                                   "pages_processed": 0, "pages_warned": 0, "record_files": 0,
                                                   "documents": 0, "backlog_last": 0, "held_last": 0,
                                                   "alert_days": 0, "climate_worst": "", "by_type": {}})
        t["stations"] += 1
        for k in ("pages", "pages_processed", "pages_warned", "record_files", "documents", "backlog_last",
                  "held_last", "alert_days"):
            t[k] += r[k]
        if _RATING_ORDER.get(r["climate_worst"], 0) > _RATING_ORDER.get(t["climate_worst"], 0):
            t["climate_worst"] = r["climate_worst"]
        for doc_type, n in r["by_type"].items():
            t["by_type"][doc_type] = t["by_type"].get(doc_type, 0) + n
    for t in out.values():
        t["quality_share"] = round(1.0 - t["pages_warned"] / t["pages_processed"], 4) if t["pages_processed"] else None
    return sorted(out.values(), key=lambda t: (t["month"], t[key]))


def monthly_csv(state) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(monthly_rows(state))
    return out.getvalue()
