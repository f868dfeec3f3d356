"""Heartbeats and station places in the state database (design §5.15, H6 and the daily history).

Works on either backend: the queries are the shared SQL of :mod:`central.state_sql`
run through the state's ``tx()``.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone

from sync.heartbeat import Heartbeat, HeartbeatError

EVENTS_KEPT = 10000  # heartbeat_events rows kept (a flood of forged reports cannot grow it without bound)


def day_of(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d")


def record(state, hb: Heartbeat, *, now: float | None = None) -> None:
    """Keep *hb* as its device's latest and in its day's row; H6: refuse a seq not above the last one."""
    now = time.time() if now is None else now
    report = hb.report
    body = json.dumps(report, ensure_ascii=False, sort_keys=True)
    held = len(report.get("held", []))
    quality = json.dumps(quality_of(report), sort_keys=True)
    with state.tx() as db:
        if state.backend == "postgresql":
            row = db.execute("SELECT seq FROM heartbeats_latest WHERE device_id=? FOR UPDATE",
                             (hb.device_id,)).fetchone()
        else:
            row = db.execute("SELECT seq FROM heartbeats_latest WHERE device_id=?", (hb.device_id,)).fetchone()
        if row is not None and hb.seq <= row["seq"]:
            raise HeartbeatError(409, "replayed_heartbeat", "heartbeat seq not above the last accepted one")
        db.execute("INSERT INTO heartbeats_latest(device_id, seq, sent_at, received_at, report) VALUES (?,?,?,?,?) "
                   "ON CONFLICT(device_id) DO UPDATE SET seq=excluded.seq, sent_at=excluded.sent_at, "
                   "received_at=excluded.received_at, report=excluded.report",
                   (hb.device_id, hb.seq, hb.sent_at, now, body))
        day = day_of(hb.sent_at)
        # the quality figures of the day's fullest report (the station counts from its own midnight)
        db.execute("INSERT INTO heartbeats_daily(device_id, day, received_at, pages, processed, held, queue_depth, "
                   "report, quality) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(device_id, day) DO UPDATE SET "
                   "received_at=excluded.received_at, "
                   "quality=CASE WHEN excluded.processed >= heartbeats_daily.processed "
                   "OR heartbeats_daily.quality IS NULL THEN excluded.quality ELSE heartbeats_daily.quality END, "
                   "pages=CASE WHEN excluded.pages > heartbeats_daily.pages THEN excluded.pages "
                   "ELSE heartbeats_daily.pages END, "
                   "processed=CASE WHEN excluded.processed > heartbeats_daily.processed THEN excluded.processed "
                   "ELSE heartbeats_daily.processed END, "
                   "held=excluded.held, queue_depth=excluded.queue_depth, report=excluded.report",
                   (hb.device_id, day, now, int(report.get("pages_today", 0)),
                    int(report.get("pages_processed_today", 0)), held, int(report.get("queue_depth", 0)), body,
                    quality))


def quality_of(report: dict) -> dict:
    """A report's quality figures: pages processed, with a warning, blank and per code (None when not reported;
    a code a reporting station does not name had no page that day)."""
    blank = report.get("pages_blank_today")
    warnings = report.get("warnings_today")  # absent (a station before it): unknown, not zero
    return {"processed": int(report.get("pages_processed_today", 0)), "warned": int(report.get("pages_warned_today", 0)),
            "blank": None if blank is None else int(blank),
            "warnings": {str(k): int(v) for k, v in warnings.items()} if isinstance(warnings, dict) else None}


def add_event(state, device_id: str, kind: str, client: str, *, now: float | None = None) -> None:
    """A refused heartbeat, shown on the overview and the commune page."""
    now = time.time() if now is None else now
    with state.tx() as db:
        db.execute("INSERT INTO heartbeat_events(device_id, at, kind, client) VALUES (?,?,?,?)",
                   (device_id, now, kind, client or ""))
        db.execute("DELETE FROM heartbeat_events WHERE id <= (SELECT MAX(id) FROM heartbeat_events) - ?",
                   (EVENTS_KEPT,))


def set_place(state, device_id: str, *, commune: str, district: str, province: str) -> None:
    with state.tx() as db:
        db.execute("INSERT INTO stations(device_id, commune, district, province) VALUES (?,?,?,?) "
                   "ON CONFLICT(device_id) DO UPDATE SET commune=excluded.commune, district=excluded.district, "
                   "province=excluded.province", (device_id, commune, district, province))


def events(state, device_id: str | None = None, limit: int = 50) -> list[dict]:
    with state.tx() as db:
        if device_id is None:
            rows = db.execute("SELECT device_id, at, kind, client FROM heartbeat_events ORDER BY id DESC LIMIT ?",
                              (limit,)).fetchall()
        else:
            rows = db.execute("SELECT device_id, at, kind, client FROM heartbeat_events WHERE device_id=? "
                              "ORDER BY id DESC LIMIT ?", (device_id, limit)).fetchall()
    return [dict(r) for r in rows]


def latest_report(state, device_id: str) -> dict:
    """The device's last accepted report ({} before its first)."""
    with state.tx() as db:
        row = db.execute("SELECT report FROM heartbeats_latest WHERE device_id=?", (device_id,)).fetchone()
    return json.loads(row["report"]) if row else {}


def history(state, device_id: str, days: int = 60) -> list[dict]:
    with state.tx() as db:
        rows = db.execute("SELECT day, pages, processed, held, queue_depth, report, quality FROM heartbeats_daily "
                          "WHERE device_id=? ORDER BY day DESC LIMIT ?", (device_id, days)).fetchall()
    out = []
    for r in rows:
        report = json.loads(r["report"])
        held_reasons: dict[str, int] = {}
        for h in report.get("held", []):
            held_reasons[h["reason"] or "?"] = held_reasons.get(h["reason"] or "?", 0) + 1
        out.append({"day": r["day"], "pages": r["pages"], "processed": r["processed"], "held": r["held"],
                    "queue_depth": r["queue_depth"], "climate": report.get("climate", {}),
                    "quality": json.loads(r["quality"]) if r["quality"] else quality_of(report),
                    "held_reasons": held_reasons})
    return out


def stations(state, *, now: float, red_after_s: float, week_start_day: str) -> list[dict]:
    """Every enrolled device with its place, last heartbeat, and pages since *week_start_day*."""
    with state.tx() as db:
        rows = db.execute(
            "SELECT d.device_id, d.revoked_at, s.commune, s.district, s.province, h.received_at, h.report, "
            "(SELECT COALESCE(SUM(pages), 0) FROM heartbeats_daily w WHERE w.device_id=d.device_id "
            " AND w.day >= ?) AS week_pages, "
            "(SELECT COUNT(*) FROM heartbeat_events e WHERE e.device_id=d.device_id AND e.at >= ?) AS events "
            "FROM devices d LEFT JOIN stations s ON s.device_id=d.device_id "
            "LEFT JOIN heartbeats_latest h ON h.device_id=d.device_id ORDER BY d.device_id",
            (week_start_day, now - 7 * 86400)).fetchall()
    out = []
    for r in rows:
        report = json.loads(r["report"]) if r["report"] else {}
        last = r["received_at"]
        age = None if last is None else max(0.0, now - last)
        processed, warned = report.get("pages_processed_today", 0), report.get("pages_warned_today", 0)
        climate = report.get("climate", {}) if isinstance(report.get("climate"), dict) else {}
        out.append({
            "device": r["device_id"], "revoked": r["revoked_at"] is not None,
            "commune": r["commune"] or "", "district": r["district"] or "", "province": r["province"] or "",
            "last_contact": last, "age_s": age, "red": age is None or age > red_after_s,
            "backlog": report.get("queue_depth"), "oldest_unsent_s": report.get("oldest_unsent_s"),
            "pages_week": int(r["week_pages"] or 0), "held": len(report.get("held", [])),
            "quality_share": (1.0 - min(warned, processed) / processed) if processed else None,
            "climate_rating": climate.get("rating", ""), "alerts": list(climate.get("alerts", [])),
            "scanner": report.get("scanner", ""), "disk_free_bytes": report.get("disk_free_bytes"),
            "version": report.get("version", ""), "events": int(r["events"] or 0),
        })
    return out
