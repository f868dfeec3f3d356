"""Reports and a station's batch history for the central web (design §5.15).

The monthly report sums each station's daily heartbeat rows (pages scanned,
held record files at the month's last report, last backlog) and counts the
record files the catalogue holds from it, per province, district and commune.
"""

from __future__ import annotations

import csv
import io

COLUMNS = ("month", "province", "district", "commune", "device", "pages", "pages_processed", "days_reported",
           "held_last", "backlog_last", "record_files")


def batches(state, device_id: str, limit: int = 50) -> dict:
    """The station's accepted batches (log entries) and its rejections, newest first."""
    with state.tx() as db:
        accepted = db.execute("SELECT idx, seq, batch FROM log WHERE device_id=? ORDER BY seq DESC LIMIT ?",
                              (device_id, limit)).fetchall()
        refused = db.execute("SELECT at, seq, code, detail FROM rejections WHERE device_id=? ORDER BY id DESC "
                             "LIMIT ?", (device_id, limit)).fetchall()
    return {"accepted": [dict(r) for r in accepted], "rejected": [dict(r) for r in refused]}


def monthly_rows(state) -> list[dict]:
    with state.tx() as db:
        days = db.execute("SELECT h.device_id, h.day, h.pages, h.processed, h.held, h.queue_depth, "
                          "s.commune, s.district, s.province FROM heartbeats_daily h "
                          "LEFT JOIN stations s ON s.device_id=h.device_id ORDER BY h.device_id, h.day").fetchall()
        files = db.execute("SELECT device_id, COUNT(*) AS n FROM web_records GROUP BY device_id").fetchall()
    per_device_files = {r["device_id"]: r["n"] for r in files}
    out: dict[tuple[str, str], dict] = {}
    for d in days:
        key = (d["day"][:7], d["device_id"])
        row = out.setdefault(key, {"month": key[0], "province": d["province"] or "", "district": d["district"] or "",
                                   "commune": d["commune"] or "", "device": d["device_id"], "pages": 0,
                                   "pages_processed": 0, "days_reported": 0, "held_last": 0, "backlog_last": 0,
                                   "record_files": per_device_files.get(d["device_id"], 0)})
        row["pages"] += d["pages"]
        row["pages_processed"] += d["processed"]
        row["days_reported"] += 1
        row["held_last"], row["backlog_last"] = d["held"], d["queue_depth"]
    return sorted(out.values(), key=lambda r: (r["month"], r["province"], r["district"], r["commune"], r["device"]))


def monthly_csv(state) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(monthly_rows(state))
    return out.getvalue()
